"""Tests for rbmlib.metrics.recall: scoring completions against the baselines."""

import numpy as np
import pytest

from rbmlib import RBM, fit
from rbmlib.metrics.recall import (
    completion_errors,
    paired_difference,
    recall_from_arrays,
    recall_to_arrays,
    score_recall,
)


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
        assert got[kind, "rbm_last"]["accuracy"] == 1.0
        assert got[kind, "rbm_last"]["pixel_error"] < got[kind, "mean_fill"]["pixel_error"]
        assert got[kind, "rbm_last"]["squared_error"] < got[kind, "mean_fill"]["squared_error"]
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


class _HalfInk:
    """Labels 1 when the bottom half holds more ink than the top half, else 0 (a two-class toy classifier)."""

    def predict(self, images):
        x = np.asarray(images).reshape(-1, 28, 28)
        return (x[:, 14:].sum(axis=(1, 2)) > x[:, :14].sum(axis=(1, 2))).astype(int)


def test_score_recall_with_every_estimator_and_knn(pattern_model):
    rbm, pattern = pattern_model
    images = np.tile(pattern, (6, 1))
    bank = np.vstack([pattern, np.zeros(784), np.ones(784) * 0.5])
    rows, pred = score_recall(
        rbm,
        images,
        np.ones(6, int),
        classifier=_PatternClassifier(pattern),
        mean_image=np.full(784, 0.5),
        steps=12,
        burn_in=4,
        n_chains=3,
        vote_every=4,
        estimators=("last", "mean", "vote"),
        knn_bank=bank,
        knn_k={"top": 1, "left": 1},
        kinds=["top", "left"],
        rng=0,
        return_predictions=True,
    )
    got = {(r["kind"], r["method"]): r for r in rows}
    methods = ["rbm_last", "rbm_mean", "rbm_vote", "knn", "mean_fill", "half_only"]
    assert [r["method"] for r in rows] == methods * 2
    for kind in ("top", "left"):
        # the nearest bank image on the known half is the pattern itself: k-NN with k = 1 restores it exactly
        assert got[kind, "knn"]["pixel_error"] == 0.0 and got[kind, "knn"]["accuracy"] == 1.0
        for m in ("rbm_mean", "rbm_vote"):
            assert got[kind, m]["accuracy"] == 1.0 and got[kind, m]["pixel_error"] < 0.05
        assert np.array_equal(pred[kind, "knn"], np.ones(6, int))
        assert pred[kind, "vote_share"].shape == (6,) and np.all(pred[kind, "vote_share"] == 1.0)
    back_rows, back_pred = recall_from_arrays(recall_to_arrays(rows, pred))
    assert back_rows == rows
    assert set(back_pred) == set(pred) and all(np.array_equal(back_pred[k], pred[k]) for k in pred)
    with pytest.raises(ValueError, match="knn_k has no value for random"):
        score_recall(
            rbm,
            images,
            np.ones(6, int),
            classifier=_HalfInk(),
            mean_image=np.full(784, 0.5),
            knn_bank=bank,
            knn_k={"top": 1},
            kinds=["top", "random"],
            rng=0,
        )
    with pytest.raises(ValueError, match="estimators"):
        score_recall(
            rbm,
            images,
            np.ones(6, int),
            classifier=_HalfInk(),
            mean_image=np.full(784, 0.5),
            estimators=["mode"],
            rng=0,
        )


def test_completion_errors_by_hand():
    v = np.array([[1.0, 0, 1, 0], [0, 0, 1, 1]])
    q = np.array([[1.0, 0.5, 0.25, 1.0], [0, 0, 0.5, 0.0]])
    mask = np.array([True, False, False, False])
    e = completion_errors(q, v, mask)
    # dropped: (0.5, 0.75, 1.0) and (0, 0.5, 1.0)
    assert e["pixel_error"] == pytest.approx((0.5 + 0.75 + 1.0 + 0 + 0.5 + 1.0) / 6)
    assert e["squared_error"] == pytest.approx((0.25 + 0.5625 + 1 + 0 + 0.25 + 1) / 6)
    with pytest.raises(ValueError, match="binary"):
        completion_errors(q, q, mask)
    with pytest.raises(ValueError, match="NaN"):
        completion_errors(np.full((2, 4), np.nan), v, mask)


def test_paired_difference_by_hand():
    y = np.array([0, 1, 2, 3, 4, 5])
    a = np.array([0, 1, 2, 3, 9, 9])  # 4 right
    b = np.array([0, 9, 2, 9, 4, 9])  # 3 right
    d = paired_difference(a, b, y)
    diffs = np.array([0, 1, 0, 1, -1, 0])
    assert d["difference"] == pytest.approx(1 / 6)
    half = 1.96 * diffs.std(ddof=1) / np.sqrt(6)
    assert d["low"] == pytest.approx(1 / 6 - half) and d["high"] == pytest.approx(1 / 6 + half)
    assert (d["a_only"], d["b_only"]) == (2, 1)
    with pytest.raises(ValueError, match="share one 1-D shape"):
        paired_difference(a[:3], b, y)
