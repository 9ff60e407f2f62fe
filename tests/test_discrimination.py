"""Tests for rbmlib.metrics.discrimination: every out-of-distribution score in one report."""

import numpy as np
import pytest
from scipy.stats import norm

from rbmlib import RBM, fit
from rbmlib.metrics.discrimination import SCORES, comparison_sets, discrimination_report, score_sets, split


@pytest.fixture(scope="module")
def ring_world():
    """Rings of varying radius with a few flipped pixels (the 'digits'), an RBM trained on them, and noise."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:28, :28]
    r = np.hypot(yy - 13.5, xx - 13.5)

    def rings(n):
        radius = rng.uniform(5, 9, size=(n, 1))
        x = (np.abs(r.ravel()[None, :] - radius) < 1.5).astype(np.float32)
        flip = rng.random(x.shape) < 0.01
        return np.where(flip, 1 - x, x)

    train, digits = rings(2000), rings(400)
    rbm = RBM(784, 16, rng=0)
    fit(rbm, train, epochs=5, lr=0.05, batch_size=50, rng=0, progress=False)
    others = {
        "noise": (rng.random((100, 784)) < 0.5).astype(np.float32),
        "sparse noise": (rng.random((100, 784)) < digits.mean()).astype(np.float32),
    }
    return rbm, train, digits, others


def test_report_structure_and_sanity(ring_world):
    rbm, train, digits, others = ring_world
    rep = discrimination_report(rbm, digits, others, train, n_batches=2000, rng=1)
    assert len(rep["auroc"]) == len(SCORES) * 2
    assert len(rep["batch"]) == len(SCORES) * 2 * 3
    cal, ev = rep["calibration"], rep["evaluation"]
    assert len(cal) == len(ev) == 200 and not set(cal) & set(ev)
    a = {(r["score"], r["set"]): r["auroc"] for r in rep["auroc"]}
    for score in ("log_likelihood", "combined"):
        assert a[score, "noise"] > 0.99 and a[score, "sparse noise"] > 0.99
    for r in rep["batch"]:
        if r["set"] == "digits":
            assert 0.0 < r["rejected"] < 0.15, r  # calibrated on the other half: about 5 %
    # the combined score is calibrated on the calibration digits (Fisher's method on normal tails)
    d = rep["scores"]["digits"]
    z = [(d[k] - d[k][cal].mean()) / d[k][cal].std(ddof=1) for k in ("log_likelihood", "ratio_context")]
    np.testing.assert_allclose(d["combined"], np.log(norm.cdf(z[0]) * norm.cdf(z[1])), rtol=1e-9)


def test_a_subset_of_scores(ring_world):
    rbm, train, digits, others = ring_world
    rep = discrimination_report(rbm, digits, others, train, scores=["combined"], n_batches=500, rng=2)
    assert {r["score"] for r in rep["auroc"]} == {"combined"}
    assert set(rep["scores"]["noise"]) == {"combined"}
    with pytest.raises(ValueError, match="scores must be"):
        discrimination_report(rbm, digits, others, train, scores=["likelihood"], rng=2)


def test_score_sets_shifts_with_log_z_only_where_it_should(ring_world):
    from rbmlib.metrics.discrimination import fit_backgrounds

    rbm, train, digits, others = ring_world
    bg = fit_backgrounds(train, rng=0)
    a = score_sets(rbm, {"digits": digits}, bg, log_z=0.0)["digits"]
    b = score_sets(rbm, {"digits": digits}, bg, log_z=10.0)["digits"]
    for k in ("log_likelihood", "ratio_independent", "ratio_context", "complexity_png"):
        np.testing.assert_allclose(a[k] - b[k], 10.0)
    np.testing.assert_allclose(a["combined"], b["combined"])  # standardised: no shift
    with pytest.raises(ValueError, match="digits"):
        score_sets(rbm, {"letters": digits}, bg)


def test_validation(ring_world):
    rbm, train, digits, others = ring_world
    with pytest.raises(ValueError, match="binary"):
        discrimination_report(rbm, digits * 0.5, others, train, rng=0)
    with pytest.raises(ValueError, match="must not be called"):
        discrimination_report(rbm, digits, {"digits": digits}, train, rng=0)
    with pytest.raises(ValueError, match="fraction"):
        split(10, rng=0, fraction=1.0)


def test_comparison_sets_are_reproducible():
    a, labels = comparison_sets(12, rng=3, return_labels=True)
    b = comparison_sets(12, rng=np.random.default_rng(3))
    assert set(a) == {"uniform noise", "density noise", "letters"} and labels.shape == (12,)
    for name in a:
        assert a[name].shape == (12, 784) and set(np.unique(a[name])) <= {0.0, 1.0}
        assert np.array_equal(a[name], b[name])
