"""Tests for rbmlib.metrics.recall: scoring completions against the baselines."""

import numpy as np
import pytest

from rbmlib import RBM, fit
from rbmlib.metrics.recall import score_recall


@pytest.fixture(scope="module")
def pattern_model():
    """An RBM trained on one repeated binary pattern (a thick ring)."""
    yy, xx = np.mgrid[:28, :28]
    r = np.hypot(yy - 13.5, xx - 13.5)
    pattern = ((r > 6) & (r < 10)).astype(np.float32).ravel()
    rbm = RBM(784, 8, rng=0)
    fit(rbm, np.tile(pattern, (640, 1)), epochs=10, lr=0.1, batch_size=64, rng=0, progress=False)
    return rbm, pattern


class _PatternClassifier:
    """Labels an image 1 when it is within 20 pixels of the pattern, else 0."""

    def __init__(self, pattern):
        self.pattern = pattern

    def predict(self, images):
        return (np.abs(np.asarray(images) - self.pattern).sum(axis=1) < 20).astype(int)


def test_score_recall_beats_the_baselines_on_the_pattern(pattern_model):
    rbm, pattern = pattern_model
    images = np.tile(pattern, (8, 1))
    rows = score_recall(
        rbm,
        images,
        np.ones(8, int),
        classifier=_PatternClassifier(pattern),
        mean_image=np.full(784, 0.5),
        steps=20,
        kinds=["top", "random"],
        rng=0,
    )
    got = {(r["kind"], r["method"]): r for r in rows}
    assert len(rows) == 6 and set(rows[0]) == {"kind", "method", "pixel_error", "squared_error", "accuracy"}
    for kind in ("top", "random"):
        assert got[kind, "rbm"]["accuracy"] == 1.0
        assert got[kind, "rbm"]["pixel_error"] < got[kind, "mean_fill"]["pixel_error"]
        assert got[kind, "rbm"]["squared_error"] < got[kind, "mean_fill"]["squared_error"]
        assert got[kind, "half_only"]["accuracy"] == 0.0
        # mean fill with 0.5 is off by exactly 0.5 on every dropped pixel of a binary image
        assert got[kind, "mean_fill"]["pixel_error"] == pytest.approx(0.5)


def test_score_recall_is_reproducible_and_binarises_grey_images(pattern_model):
    rbm, pattern = pattern_model
    grey = np.tile(pattern * 0.9 + 0.05, (4, 1))  # probabilities, binarised with rng
    kw = dict(classifier=_PatternClassifier(pattern), mean_image=np.full(784, 0.5), steps=5, kinds=["left"])
    a = score_recall(rbm, grey, np.ones(4, int), rng=1, **kw)
    b = score_recall(rbm, grey, np.ones(4, int), rng=np.random.default_rng(1), **kw)
    assert a == b
    with pytest.raises(ValueError, match="labels"):
        score_recall(rbm, grey, np.ones(3, int), rng=1, **kw)
    with pytest.raises(ValueError, match="mean_image"):
        score_recall(rbm, grey, np.ones(4, int), rng=1, **dict(kw, mean_image=np.zeros(10)))
