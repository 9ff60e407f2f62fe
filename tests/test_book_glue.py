import hashlib
import json
import shutil

import numpy as np
import pytest

from rbmlib import RBM, ModelFileError, TrainConfig, load_pretrained, pretrained
from rbmlib.book import zoo
from rbmlib.book.nbtools import cached_chains, cached_evaluation, flatten
from rbmlib.book.tables import Table
from rbmlib.book.zoo import cached_result
from rbmlib.pretrained import PRETRAINED
from rbmlib.train import recipe


def test_flatten_nested_and_rejects_objects():
    out = flatten({"a": 1, "b": {"c": 2.5, "d": {"e": "x"}}, "f": [1, 2], "g": None})
    assert out["a"] == 1 and out["b.c"] == 2.5 and out["b.d.e"] == "x"
    assert np.array_equal(out["f"], [1.0, 2.0]) and np.isnan(out["g"])
    with pytest.raises(TypeError, match="h"):
        flatten({"h": object()})
    with pytest.raises(TypeError):
        flatten([1, 2])


def test_cached_evaluation_is_cached(tmp_path, monkeypatch, rng):
    monkeypatch.setenv("RBMLIB_CACHE", str(tmp_path))
    rbm = RBM(784, 5, rng=0)
    test = rng.integers(0, 256, size=(20, 784), dtype=np.uint8)
    first = cached_evaluation(rbm, test, rng=0)
    assert first["log_z.method"] == "exact" and np.isfinite(first["test_log_likelihood"])
    assert len(list((tmp_path / "results").glob("evaluate-*.npz"))) == 1
    second = cached_evaluation(rbm, test, rng=0)
    assert second["test_log_likelihood"] == first["test_log_likelihood"]
    assert second["log_z.method"] == "exact"


class _InkClassifier:
    """Labels an image by its number of on pixels, modulo 10 (a stand-in for the digit classifier)."""

    W1 = W2 = np.zeros(1)

    def predict(self, images):
        return np.asarray(images).sum(axis=1).astype(int) % 10


@pytest.mark.parametrize("method", ["gibbs", "pt"])
def test_cached_chains_shapes_reuse_and_mixing(tmp_path, monkeypatch, method):
    monkeypatch.setenv("RBMLIB_CACHE", str(tmp_path))
    rbm = RBM(784, 8, rng=1)
    train = np.random.default_rng(0).integers(0, 256, size=(50, 784), dtype=np.uint8)
    kw = dict(steps=(2, 40), rng=3, method=method, classifier=_InkClassifier(), trace_every=4, train_images=train)
    a = cached_chains(rbm, 4, **kw)
    b = cached_chains(rbm, 4, **kw)
    assert len(list((tmp_path / "results").glob("chains-*.npz"))) == 1
    assert set(a["snapshots"]) == {2, 40}
    for t in (2, 40):
        v, p = a["snapshots"][t]
        assert v.shape == p.shape == (4, 784) and v.dtype == np.float32
        assert set(np.unique(v)) <= {0.0, 1.0} and 0 <= p.min() and p.max() <= 1
        assert np.array_equal(v, b["snapshots"][t][0]) and np.array_equal(p, b["snapshots"][t][1])
    assert a["labels"].shape == (10, 4) and np.array_equal(a["labels"][-1], _InkClassifier().predict(v))
    assert list(a["trace_sweeps"]) == list(range(4, 41, 4))
    assert a["mixing"]["n_sweeps"] == 36 and a["mixing"]["label_changes_per_1000"] >= 0
    assert (len(a["acceptance"]) > 0) == (method == "pt") and a["betas"][-1] == 1


def test_cached_result_caches_and_refuses_objects(tmp_path, monkeypatch):
    monkeypatch.setenv("RBMLIB_CACHE", str(tmp_path))
    rbm = RBM(4, 2, rng=0)
    calls = []

    def compute():
        calls.append(1)
        return {"x": 1.5, "arr": np.arange(3)}

    first = cached_result("k", rbm, {"p": 1}, compute)
    second = cached_result("k", rbm, {"p": 1}, compute)
    assert len(calls) == 1 and second["x"] == 1.5 and np.array_equal(second["arr"], first["arr"])
    cached_result("k", rbm, {"p": 2}, compute)
    assert len(calls) == 2
    with pytest.raises(TypeError, match="flatten it first"):
        cached_result("k", rbm, {"p": 3}, lambda: {"nested": {"a": 1}})


def test_cached_result_rebuilds_a_corrupt_file(tmp_path, monkeypatch):
    monkeypatch.setenv("RBMLIB_CACHE", str(tmp_path))
    rbm = RBM(4, 2, rng=0)
    cached_result("k", rbm, {}, lambda: {"x": 1.0})
    (path,) = (tmp_path / "results").glob("k-*.npz")
    path.write_bytes(b"not an npz")
    with pytest.warns(RuntimeWarning, match="unusable"):
        assert cached_result("k", rbm, {}, lambda: {"x": 2.0})["x"] == 2.0


@pytest.mark.parametrize("name", PRETRAINED)
def test_committed_models_load_with_their_provenance(name):
    rbm = load_pretrained(name)
    record = json.loads((pretrained.MODELS_DIR / f"{name}.json").read_text())
    assert rbm.metadata["provenance"]["sha256"] == record["sha256"]
    assert hashlib.sha256((pretrained.MODELS_DIR / f"{name}.npz").read_bytes()).hexdigest() == record["sha256"]
    config = recipe(name).config
    assert rbm.n_visible == 784 and rbm.n_hidden == recipe(name).n_hidden
    assert {k: record["config"][k] for k in ("lr", "batch_size", "method", "k")} == {
        k: getattr(config, k) for k in ("lr", "batch_size", "method", "k")
    }


@pytest.fixture
def corrupt_models(tmp_path, monkeypatch):
    """A models folder whose best.npz has one flipped bit (its digest no longer matches best.json)."""
    shutil.copy(pretrained.MODELS_DIR / "best.json", tmp_path / "best.json")
    raw = bytearray((pretrained.MODELS_DIR / "best.npz").read_bytes())
    raw[-1] ^= 0xFF
    (tmp_path / "best.npz").write_bytes(bytes(raw))
    monkeypatch.setattr(pretrained, "MODELS_DIR", tmp_path)
    return tmp_path


def test_a_digest_mismatch_is_an_error_not_a_silent_retraining(corrupt_models, monkeypatch):
    calls = []
    monkeypatch.setattr(zoo, "trained_model", lambda **kw: calls.append(kw) or "trained")
    with pytest.raises(ModelFileError, match="does not match .* in best.json .*retrain it with: python -m rbmlib"):
        load_pretrained("best")
    with pytest.raises(ModelFileError, match="does not match"):
        zoo.book_model("best", progress=False)
    assert calls == []
    (corrupt_models / "best.json").unlink()
    with pytest.raises(ModelFileError, match="provenance record of 'best' is missing"):
        load_pretrained("best")
    with pytest.raises(ValueError, match="unknown pretrained model"):
        load_pretrained("worst")


def test_the_book_retrains_a_corrupt_committed_model_only_when_asked(corrupt_models, monkeypatch):
    calls = []
    monkeypatch.setattr(zoo, "trained_model", lambda **kw: calls.append(kw) or "trained")
    with pytest.warns(RuntimeWarning, match="does not match.*training the 'best' recipe instead"):
        assert zoo.book_model("best", retrain=True, progress=False) == "trained"
    best = recipe("best")
    assert calls[0]["name"] == "best-seed0" and calls[0]["n_hidden"] == best.n_hidden
    assert TrainConfig(**{k: v for k, v in calls[0].items() if k in TrainConfig.__dataclass_fields__}) == best.config


def test_table_renders_text_and_html():
    t = Table([{"a": 1, "b": 0.12345}, {"a": 22, "c": "x"}], formats={"b": ".2f"})
    text = repr(t)
    assert text.splitlines()[0].split() == ["a", "b"] and "0.12" in text and "22" in text
    assert "<table>" in t._repr_html_() and "0.12" in t._repr_html_()


def test_recipe_model_caches_both_stages(tmp_path, monkeypatch, mnist):
    """A two-stage recipe: the first stage is a trained_model file, the second cached beside it and reused."""
    from rbmlib.book.zoo import recipe_model
    from rbmlib.train import PhaseStage, Recipe

    monkeypatch.setenv("RBMLIB_CACHE", str(tmp_path))
    tiny = Recipe(5, TrainConfig(epochs=1, batch_size=600), PhaseStage("persistent", 1, 0.01, 16))
    a = recipe_model("tiny", rng=1, recipe=tiny, progress=False)
    assert len(list(tmp_path.glob("tiny-seed1-5h-*.npz"))) == 1  # the first stage
    assert len(list(tmp_path.glob("tiny-seed1-then-5h-*.npz"))) == 1  # the second
    b = recipe_model("tiny", rng=1, recipe=tiny, progress=False)
    np.testing.assert_array_equal(a.W, b.W)
    assert b.metadata["then"]["phase"] == "persistent" and b.metadata["phases"][-1]["phase"] == "PersistentPhase"
    other = recipe_model(
        "tiny", rng=1, recipe=Recipe(5, tiny.config, PhaseStage("persistent", 1, 0.02, 16)), progress=False
    )
    assert not np.array_equal(other.W, a.W)  # another stage is another model, on the same first stage
    assert len(list(tmp_path.glob("tiny-seed1-5h-*.npz"))) == 1
