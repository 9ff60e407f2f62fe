"""Tests for rbmlib.metrics.classifier: tiny synthetic problems, the cache, and the real classifier."""

import os

import numpy as np
import pytest

from rbmlib.data import binarize_fixed
from rbmlib.metrics import classifier as C
from rbmlib.metrics.classifier import DigitClassifier, load_classifier, train_classifier

PROTOS = np.random.default_rng(99).random((10, 784)) < 0.3


def _prototype_problem(rng, n_per_class=120, flip=0.1, protos=PROTOS):
    """Ten random binary prototypes; examples are prototypes with pixels flipped at rate ``flip``."""
    y = np.repeat(np.arange(10), n_per_class)
    x = protos[y] ^ (rng.random((y.size, 784)) < flip)
    return x, y


@pytest.fixture(scope="module")
def small_clf():
    x, y = _prototype_problem(np.random.default_rng(0))
    return train_classifier(x, y, epochs=3, n_hidden=32, max_shift=0, rng=1)


def test_synthetic_problem_learned(small_clf):
    x, y = _prototype_problem(np.random.default_rng(1), n_per_class=50)  # held-out examples
    assert small_clf.accuracy(x, y) > 0.95
    x_noisier, y = _prototype_problem(np.random.default_rng(2), n_per_class=50, flip=0.15)
    assert small_clf.accuracy(x_noisier, y) > 0.9


def test_training_is_reproducible_from_the_seed():
    x, y = _prototype_problem(np.random.default_rng(0), n_per_class=20)
    kw = dict(epochs=2, n_hidden=8, average_last=2)
    a = train_classifier(x, y, rng=5, **kw)
    b = train_classifier(x, y, rng=np.random.default_rng(5), **kw)
    np.testing.assert_array_equal(a.W1, b.W1)
    np.testing.assert_array_equal(a.b2, b.b2)
    c = train_classifier(x, y, rng=6, **kw)
    assert not np.array_equal(a.W1, c.W1)


def test_predict_proba_is_a_softmax_over_batches(small_clf, rng):
    x = (rng.random((7, 784)) < 0.3).astype(np.float32)
    p = small_clf.predict_proba(x)
    assert p.shape == (7, 10) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(small_clf.predict(x), np.argmax(p, axis=1))
    assert small_clf.predict(x[0]).shape == (1,)  # a single (784,) image is accepted
    np.testing.assert_allclose(small_clf.predict_proba(x, batch_size=2), p, rtol=1e-5, atol=1e-7)
    # against a float64 forward pass written out here
    h = np.maximum(x.astype(np.float64) @ small_clf.W1 + small_clf.b1, 0)
    z = h @ small_clf.W2 + small_clf.b2
    ref = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(p, ref / ref.sum(axis=1, keepdims=True), rtol=1e-4, atol=1e-6)


def test_uint8_bool_int_and_float_inputs_agree(small_clf, rng):
    u8 = rng.integers(0, 256, size=(5, 784), dtype=np.uint8)
    np.testing.assert_allclose(
        small_clf.predict_proba(u8), small_clf.predict_proba(u8.astype(np.float64) / 255), rtol=1e-5
    )
    b = rng.random((5, 784)) < 0.5
    p = small_clf.predict_proba(b)
    np.testing.assert_allclose(small_clf.predict_proba(b.astype(np.int64)), p)
    np.testing.assert_allclose(small_clf.predict_proba(b.astype(np.float32)), p)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((3, 783)), r"\(N, 784\)"),
        (np.full((2, 784), 1.5), r"\[0, 1\]"),
        (np.full((2, 784), 200, dtype=np.int64), "uint8"),
    ],
)
def test_bad_images_raise(small_clf, bad, match):
    with pytest.raises(ValueError, match=match):
        small_clf.predict_proba(bad)


def test_bad_training_arguments():
    x = np.zeros((4, 784), np.float32)
    with pytest.raises(ValueError, match="labels"):
        train_classifier(x, np.zeros(3, int))
    with pytest.raises(ValueError, match="0..9"):
        train_classifier(x, np.array([0, 1, 2, 10]))
    with pytest.raises(ValueError, match="average_last"):
        train_classifier(x, np.zeros(4, int), epochs=2, average_last=3)
    with pytest.raises(ValueError, match="empty"):
        train_classifier(np.zeros((0, 784)), np.zeros(0, int))


def test_random_shift_matches_roll(rng):
    x = rng.random((200, 784)).astype(np.float32)
    shifted = C._random_shift(x, np.random.default_rng(3), 2)
    offsets = np.random.default_rng(3).integers(-2, 3, size=(200, 2))
    for i in range(200):
        dy, dx = offsets[i]
        expect = np.roll(np.pad(x[i].reshape(28, 28), 2), (dy, dx), axis=(0, 1))[2:30, 2:30]
        np.testing.assert_array_equal(shifted[i].reshape(28, 28), expect)


def test_save_load_roundtrip(small_clf, tmp_path, rng):
    path = small_clf.save(tmp_path / "sub" / "clf.npz")
    assert sorted(os.listdir(path.parent)) == ["clf.npz"]  # no temporary file left behind
    loaded = DigitClassifier.load(path)
    x = rng.random((6, 784)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict_proba(x), small_clf.predict_proba(x))
    assert loaded.metadata == small_clf.metadata
    assert "784-32-10" in repr(loaded)


def test_load_refuses_missing_corrupt_and_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        DigitClassifier.load(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not a valid"):
        DigitClassifier.load(junk)
    np.savez(tmp_path / "other.npz", W=np.zeros(3))
    with pytest.raises(ValueError, match="not a valid"):
        DigitClassifier.load(tmp_path / "other.npz")


def test_load_classifier_trains_once_caches_and_rebuilds_a_corrupt_file(monkeypatch, tmp_path):
    x, y = _prototype_problem(np.random.default_rng(0), n_per_class=30)
    calls = []

    def fake_load_mnist(split="train", data_dir=None):
        calls.append(split)
        return (x * 255).astype(np.uint8), y.astype(np.uint8)

    monkeypatch.setenv("RBMLIB_CACHE", str(tmp_path))
    monkeypatch.setattr(C, "load_mnist", fake_load_mnist)
    monkeypatch.setattr(
        C, "DEFAULT_HYPERPARAMETERS", dict(C.DEFAULT_HYPERPARAMETERS, epochs=1, n_hidden=16, average_last=1)
    )
    clf = load_classifier(rng=3)
    assert calls == ["train", "test"]
    files = [p.name for p in tmp_path.iterdir() if p.suffix == ".npz"]
    assert len(files) == 1 and f"v{C.CLASSIFIER_VERSION}_seed3_" in files[0]
    assert 0 <= clf.metadata["test_accuracy_binarized"] <= 1
    again = load_classifier(rng=3)  # from the cache: no data loaded
    assert calls == ["train", "test"]
    np.testing.assert_array_equal(again.W1, clf.W1)
    (tmp_path / files[0]).write_bytes(b"garbage")
    with pytest.warns(RuntimeWarning, match="unusable"):
        rebuilt = load_classifier(rng=3)
    assert calls == ["train", "test"] * 2
    np.testing.assert_array_equal(rebuilt.W1, clf.W1)  # same seed, same classifier
    for bad in ("0", None, np.random.default_rng(0)):
        with pytest.raises(TypeError, match="rng must be an int"):
            load_classifier(rng=bad)


@pytest.mark.slow
def test_the_cached_classifier_labels_binarised_test_digits(mnist):
    """The classifier the book uses (trained once per machine, ~40 s on 2 idle cores; cached)."""
    _, _, x_test, y_test = mnist
    clf = load_classifier()
    assert clf.accuracy(binarize_fixed(x_test), y_test) > 0.97
    assert clf.accuracy(x_test, y_test) > 0.97
