"""The linear probe of rbmlib.metrics.features and the book's re-written scikit-learn example."""

import numpy as np
import pytest

from rbmlib.book import nbtools
from rbmlib.book.examples import _shift, nudged_digits
from rbmlib.metrics.features import linear_probe, pca_features


def test_linear_probe_scores_a_separable_and_a_hopeless_problem():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 600)
    separable = np.eye(3)[y] + 0.05 * rng.standard_normal((600, 3))
    out = linear_probe(separable[:400], y[:400], separable[400:], y[400:])
    assert out["accuracy"] == 1.0 and out["dimensions"] == 3 and out["predictions"].shape == (200,)
    noise = rng.standard_normal((600, 5))  # features that say nothing about the labels
    out = linear_probe(noise[:400], y[:400], noise[400:], y[400:])
    assert out["low"] <= 1 / 3 <= out["high"] and out["low"] < out["accuracy"] < out["high"]
    with pytest.raises(ValueError, match=r"\(N, d\) and \(M, d\)"):
        linear_probe(noise[:10], y[:10], noise[:5, :4], y[:5])


def test_pca_features_are_reproducible_projections():
    x = np.random.default_rng(1).random((300, 20))
    a, at = pca_features(x[:200], x[200:], 4, rng=0)
    b, _ = pca_features(x[:200], x[200:], 4, rng=0)
    assert a.shape == (200, 4) and at.shape == (100, 4) and np.array_equal(a, b)
    assert np.allclose(a.mean(axis=0), 0, atol=1e-12)  # centred on the training mean


def test_nudged_digits_are_the_digits_and_their_four_one_pixel_shifts():
    x, y = nudged_digits()
    assert x.shape == (5 * 1797, 64) and np.array_equal(y[:1797], y[1797:3594]) and 0 <= x.min() <= x.max() <= 1
    img = np.arange(64.0).reshape(1, 64)
    down = _shift(img, 1, 0).reshape(8, 8)
    assert np.all(down[0] == 0) and np.array_equal(down[1:], img.reshape(8, 8)[:-1])
    right = _shift(img, 0, 1).reshape(8, 8)
    assert np.all(right[:, 0] == 0) and np.array_equal(right[:, 1:], img.reshape(8, 8)[:, :-1])


def test_glue_stores_plain_python_numbers(monkeypatch):
    seen = {}
    monkeypatch.setattr(nbtools, "_myst_glue", lambda name, value, display: seen.update({name: value}))
    nbtools.glue("x", np.float64(96.5))
    nbtools.glue("s", "better than")
    assert type(seen["x"]) is float and seen["x"] == 96.5 and seen["s"] == "better than"
