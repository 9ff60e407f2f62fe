import numpy as np
import pytest

from rbmlib import RBM
from rbmlib.nbtools import cached_chains, cached_evaluation, flatten


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
    rbm = RBM(784, 5, seed=0)
    test = rng.integers(0, 256, size=(20, 784), dtype=np.uint8)
    first = cached_evaluation(rbm, test, seed=0)
    assert first["log_z.method"] == "exact" and np.isfinite(first["test_log_likelihood"])
    assert len(list((tmp_path / "results").glob("evaluate-*.npz"))) == 1
    second = cached_evaluation(rbm, test, seed=0)
    assert second["test_log_likelihood"] == first["test_log_likelihood"]
    assert second["log_z.method"] == "exact"


def test_cached_chains_shapes_and_reuse(tmp_path, monkeypatch):
    monkeypatch.setenv("RBMLIB_CACHE", str(tmp_path))
    rbm = RBM(784, 8, seed=1)
    a = cached_chains(rbm, 4, steps=(2, 5), seed=3)
    b = cached_chains(rbm, 4, steps=(2, 5), seed=3)
    assert set(a) == {2, 5}
    for t in (2, 5):
        v, p = a[t]
        assert v.shape == p.shape == (4, 784) and v.dtype == np.float32
        assert set(np.unique(v)) <= {0.0, 1.0} and 0 <= p.min() and p.max() <= 1
        assert np.array_equal(v, b[t][0]) and np.array_equal(p, b[t][1])


def test_cached_result_caches_and_refuses_objects(tmp_path, monkeypatch):
    from rbmlib import RBM
    from rbmlib.zoo import cached_result

    monkeypatch.setenv("RBMLIB_CACHE", str(tmp_path))
    rbm = RBM(4, 2, seed=0)
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
