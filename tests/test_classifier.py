"""Tests for rbmlib.classifier (fast: tiny synthetic problems plus one 10k-digit MNIST run)."""
import os

import numpy as np
import pytest

from rbmlib import classifier as C
from rbmlib.classifier import DigitClassifier, load_classifier, train_classifier


PROTOS = np.random.default_rng(99).random((10, 784)) < 0.3


def _prototype_problem(rng, n_per_class=120, flip=0.1, protos=PROTOS):
    """Ten random binary prototypes; examples are prototypes with pixels flipped at rate ``flip``."""
    y = np.repeat(np.arange(10), n_per_class)
    x = protos[y] ^ (rng.random((y.size, 784)) < flip)
    return x, y


@pytest.fixture(scope="module")
def small_clf():
    rng = np.random.default_rng(0)
    x, y = _prototype_problem(rng)
    return train_classifier(x, y, epochs=3, n_hidden=32, max_shift=0, seed=1)


def test_synthetic_problem_learned(small_clf):
    x, y = _prototype_problem(np.random.default_rng(1), n_per_class=50)  # held-out examples
    assert small_clf.accuracy(x, y) > 0.95
    x_noisier, y = _prototype_problem(np.random.default_rng(2), n_per_class=50, flip=0.15)
    assert small_clf.accuracy(x_noisier, y) > 0.9


def test_predict_proba_shapes_and_normalisation(small_clf, rng):
    x = (rng.random((7, 784)) < 0.3).astype(np.float32)
    p = small_clf.predict_proba(x)
    assert p.shape == (7, 10) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(small_clf.predict(x), np.argmax(p, axis=1))
    assert small_clf.predict(x[0]).shape == (1,)  # a single (784,) image is accepted
    # tiny batches give the same answer
    np.testing.assert_allclose(small_clf.predict_proba(x, batch_size=2), p, rtol=1e-5, atol=1e-7)


def test_uint8_bool_int_and_float_inputs_agree(small_clf, rng):
    u8 = rng.integers(0, 256, size=(5, 784), dtype=np.uint8)
    np.testing.assert_allclose(small_clf.predict_proba(u8),
                               small_clf.predict_proba(u8.astype(np.float64) / 255), rtol=1e-5)
    b = rng.random((5, 784)) < 0.5
    p = small_clf.predict_proba(b)
    np.testing.assert_allclose(small_clf.predict_proba(b.astype(np.int64)), p)
    np.testing.assert_allclose(small_clf.predict_proba(b.astype(np.float32)), p)


@pytest.mark.parametrize("bad, exc, match", [
    (np.zeros((3, 783)), ValueError, r"\(N, 784\)"),
    (np.zeros((2, 3, 784)), ValueError, r"\(N, 784\)"),
    (np.full((2, 784), 1.5), ValueError, r"\[0, 1\]"),
    (np.full((2, 784), -0.1), ValueError, r"\[0, 1\]"),
    (np.full((2, 784), np.nan), ValueError, "NaN"),
    (np.full((2, 784), 200, dtype=np.int64), ValueError, "uint8"),
    (np.full((2, 784), "a"), TypeError, "numeric"),
])
def test_bad_images_raise(small_clf, bad, exc, match):
    with pytest.raises(exc, match=match):
        small_clf.predict_proba(bad)


def test_bad_training_arguments():
    x = np.zeros((4, 784), np.float32)
    with pytest.raises(ValueError, match="labels"):
        train_classifier(x, np.zeros(3, int))
    with pytest.raises(ValueError, match="0..9"):
        train_classifier(x, np.array([0, 1, 2, 10]))
    with pytest.raises(ValueError, match="epochs"):
        train_classifier(x, np.zeros(4, int), epochs=0)
    with pytest.raises(ValueError, match="gray_fraction"):
        train_classifier(x, np.zeros(4, int), gray_fraction=2)
    with pytest.raises(ValueError, match="empty"):
        train_classifier(np.zeros((0, 784)), np.zeros(0, int))


def test_save_load_roundtrip(small_clf, tmp_path, rng):
    path = small_clf.save(tmp_path / "sub" / "clf.npz")
    assert path.is_file()
    assert sorted(os.listdir(path.parent)) == ["clf.npz"]  # no temporary file left behind
    loaded = DigitClassifier.load(path)
    x = rng.random((6, 784)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict_proba(x), small_clf.predict_proba(x))
    assert loaded.metadata == small_clf.metadata
    assert loaded.n_hidden == 32 and loaded.n_classes == 10
    assert "784-32-10" in repr(loaded)


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        DigitClassifier.load(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not a valid"):
        DigitClassifier.load(junk)
    np.savez(tmp_path / "other.npz", W=np.zeros(3))
    with pytest.raises(ValueError, match="not a valid"):
        DigitClassifier.load(tmp_path / "other.npz")


def test_constructor_checks_shapes():
    with pytest.raises(ValueError, match="W1"):
        DigitClassifier(np.zeros((10, 5)), np.zeros(5), np.zeros((5, 10)), np.zeros(10))
    with pytest.raises(ValueError, match="b2"):
        DigitClassifier(np.zeros((784, 5)), np.zeros(5), np.zeros((5, 10)), np.zeros(9))


def test_random_shift_matches_roll(rng):
    x = rng.random((200, 784)).astype(np.float32)
    shifted = C._random_shift(x, np.random.default_rng(3), 2)
    offsets = np.random.default_rng(3).integers(-2, 3, size=(200, 2))
    for i in range(200):
        dy, dx = offsets[i]
        pad = np.pad(x[i].reshape(28, 28), 2)
        expect = np.roll(pad, (dy, dx), axis=(0, 1))[2:30, 2:30]
        np.testing.assert_array_equal(shifted[i].reshape(28, 28), expect)


def test_default_cache_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("RBMLIB_CACHE", str(tmp_path))
    assert C.default_cache_dir() == tmp_path
    monkeypatch.delenv("RBMLIB_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert C.default_cache_dir() == tmp_path / "xdg" / "rbmlib" / "models"


def test_load_classifier_trains_once_and_caches(monkeypatch, tmp_path):
    import rbmlib.data

    rng = np.random.default_rng(0)
    x, y = _prototype_problem(rng, n_per_class=30)
    x8 = (x * 255).astype(np.uint8)
    calls = []

    def fake_load_mnist(split="train", data_dir=None):
        calls.append(split)
        return x8, y.astype(np.uint8)

    monkeypatch.setattr(rbmlib.data, "load_mnist", fake_load_mnist)
    monkeypatch.setitem(C.DEFAULT_HYPERPARAMETERS, "epochs", 1)
    monkeypatch.setitem(C.DEFAULT_HYPERPARAMETERS, "n_hidden", 16)
    clf = load_classifier(cache_dir=tmp_path, seed=3)
    assert calls == ["train", "test"]
    files = [p.name for p in tmp_path.iterdir() if p.suffix == ".npz"]
    assert len(files) == 1 and f"v{C.CLASSIFIER_VERSION}" in files[0] and "seed3" in files[0]
    assert 0 <= clf.metadata["test_accuracy_binarized"] <= 1
    again = load_classifier(cache_dir=tmp_path, seed=3)  # from the cache: no data loaded
    assert calls == ["train", "test"]
    np.testing.assert_array_equal(again.W1, clf.W1)
    # a corrupt cache file is replaced by retraining
    (tmp_path / files[0]).write_bytes(b"garbage")
    load_classifier(cache_dir=tmp_path, seed=3)
    assert calls == ["train", "test"] * 2
    with pytest.raises(TypeError, match="seed"):
        load_classifier(cache_dir=tmp_path, seed="0")


def test_mnist_subset_short_training(mnist):
    """Real digits: 10 000 training digits, 5 short epochs (~2 s): ~92 % on binarized test digits.

    (The full recipe of load_classifier -- 60 000 digits, 15 epochs -- reaches ~98.4 %.)
    """
    x_train, y_train, x_test, y_test = mnist
    clf = train_classifier(x_train[:10000], y_train[:10000], epochs=5, lr=2e-3, n_hidden=256, seed=0)
    rng = np.random.default_rng(1)
    x_bin = (rng.random((2000, 784)) < x_test[:2000] / 255.0).astype(np.float32)
    assert clf.accuracy(x_bin, y_test[:2000]) > 0.89
    assert clf.accuracy(x_test[:2000], y_test[:2000]) > 0.90
