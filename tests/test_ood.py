"""Tests for rbmlib.metrics.ood: the AUROC, the out-of-distribution scores and the typicality test."""

import itertools

import numpy as np
import pytest
from scipy import stats

from rbmlib.metrics.ood import (
    COMPRESSORS,
    TypicalityTest,
    auroc,
    code_length,
    combined_score,
    complexity_score,
    likelihood_ratio,
    standardize,
)


# ----------------------------------------------------------------------------- AUROC
def _brute_auroc(pos, neg):
    wins = sum((p > n) + 0.5 * (p == n) for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def test_auroc_known_values(rng):
    a = rng.standard_normal(50)
    assert auroc(a + 100, a) == 1.0
    assert auroc(a, a + 100) == 0.0
    assert auroc(a, a) == 0.5
    assert auroc(np.zeros(7), np.zeros(3)) == 0.5  # all tied


def test_auroc_matches_pair_count_with_ties(rng):
    for _ in range(5):
        pos = rng.integers(0, 6, size=int(rng.integers(1, 40)))
        neg = rng.integers(0, 6, size=int(rng.integers(1, 40)))
        assert auroc(pos, neg) == pytest.approx(_brute_auroc(pos, neg), abs=1e-12)
    pos, neg = rng.standard_normal(60) + 1, rng.standard_normal(70)
    assert auroc(pos, neg) == pytest.approx(_brute_auroc(pos, neg), abs=1e-12)
    assert auroc(pos, neg) + auroc(neg, pos) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "pos, neg, exc",
    [
        ([], [1.0], ValueError),
        ([1.0], [[1.0]], ValueError),
        ([np.nan], [1.0], ValueError),
        (["a"], [1.0], TypeError),
    ],
)
def test_auroc_validates(pos, neg, exc):
    with pytest.raises(exc):
        auroc(pos, neg)


# ----------------------------------------------------------------------------- scores
@pytest.fixture(scope="module")
def tiny_densities():
    from helpers_exact import all_states, brute_log_z, random_rbm

    from rbmlib.metrics.background import IndependentPixels, RBMDensity

    rbm = random_rbm(6, 4, seed=5)
    images = all_states(6)
    return RBMDensity(rbm, brute_log_z(rbm)), IndependentPixels().fit(images[::3]), images


def test_likelihood_ratio_of_a_model_against_itself_is_zero(tiny_densities):
    model, _, images = tiny_densities
    lr = likelihood_ratio(model, model, images)
    assert lr.shape == (64,) and np.all(lr == 0)
    # a background equal to the model cannot tell anything apart: AUROC 1/2
    assert auroc(lr[:32], lr[32:]) == 0.5


def test_likelihood_ratio_is_the_difference_of_log_probabilities(tiny_densities):
    model, background, images = tiny_densities
    lr = likelihood_ratio(model, background, images)
    np.testing.assert_allclose(lr, model.log_prob(images) - background.log_prob(images))
    # both normalised: the ratio's expectation under the model is a KL divergence, >= 0
    p = np.exp(model.log_prob(images))
    assert p @ lr > 0 and np.exp(background.log_prob(images)) @ lr < 0


def test_likelihood_ratio_validates(tiny_densities):
    model, background, images = tiny_densities
    with pytest.raises(ValueError, match="binary"):
        likelihood_ratio(model, background, np.full((2, 6), 0.5))
    with pytest.raises(ValueError, match="NaN"):
        likelihood_ratio(model, background, np.full((2, 6), np.nan))
    with pytest.raises(TypeError, match="log_prob"):
        likelihood_ratio(model, object(), images)


def test_code_length_tracks_content():
    rng = np.random.default_rng(0)
    blank = np.zeros((3, 784))
    stroke = np.zeros((1, 784))
    stroke[0, 14 * 28 + 5 : 14 * 28 + 23] = 1
    noise = (rng.random((3, 784)) < 0.5).astype(float)
    for compressor in COMPRESSORS:
        lb, ls, ln = (code_length(x, compressor) for x in (blank, stroke, noise))
        assert np.all(lb == lb[0]) and lb[0] > 0  # same image, same length (format overhead included)
        assert lb[0] < ls[0] < ln.min()
        # lengths are whole bytes, in nats
        assert np.allclose(ln / (8 * np.log(2)), np.round(ln / (8 * np.log(2))))
    with pytest.raises(ValueError, match="compressor"):
        code_length(blank, "gzip")
    with pytest.raises(ValueError, match="binary"):
        code_length(np.full((1, 784), 0.5))


def test_complexity_score_adds_the_code_length():
    from helpers_exact import random_rbm

    from rbmlib.metrics.background import RBMDensity

    rbm = random_rbm(16, 3, seed=1)
    model = RBMDensity(rbm, 0.0)
    images = (np.random.default_rng(2).random((5, 16)) < 0.5).astype(float)
    np.testing.assert_allclose(
        complexity_score(model, images, "zlib"), model.log_prob(images) + code_length(images, "zlib", side=4)
    )
    with pytest.raises(ValueError, match="square"):
        complexity_score(RBMDensity(random_rbm(6, 2), 0.0), np.zeros((1, 6)))


def test_standardize_and_combined_score(rng):
    ref = rng.normal(3.0, 2.0, 1000)
    z = standardize(ref, ref)
    assert z.mean() == pytest.approx(0, abs=1e-12) and z.std(ddof=1) == pytest.approx(1)
    a, b = rng.normal(size=50), rng.normal(size=50) * 10
    ra, rb = rng.normal(size=200), rng.normal(size=200) * 10
    za, zb = standardize(a, ra), standardize(b, rb)
    np.testing.assert_allclose(combined_score([a, b], [ra, rb], method="sum"), za + zb)
    np.testing.assert_allclose(combined_score([a, b], [ra, rb]), np.log(stats.norm.cdf(za) * stats.norm.cdf(zb)))
    with pytest.raises(ValueError, match="method"):
        combined_score([a], [ra], method="max")
    with pytest.raises(ValueError, match="two different scores"):
        standardize(a, np.ones(5))
    with pytest.raises(ValueError, match="one reference per score"):
        combined_score([a, b], [ra])
    with pytest.raises(ValueError, match="same length"):
        combined_score([a, b[:10]], [ra, rb])
    with pytest.raises(ValueError, match="NaN"):
        standardize([np.nan], ra)


# ----------------------------------------------------------------------------- typicality test
def test_typicality_test_is_calibrated_and_has_power(rng):
    """Normal scores: a batch mean of 5 has sd 1/sqrt(5), so the power against a shift is known exactly."""
    calibration, fresh = rng.normal(size=20000), rng.normal(size=20000)
    sd = 1 / np.sqrt(5)
    for two_sided in (True, False):
        test = TypicalityTest(batch_size=5, alpha=0.05, two_sided=two_sided).fit(calibration, rng=1)
        false_alarm = test.rejection_rate(fresh, rng=2)
        assert 0.035 < false_alarm < 0.065, (two_sided, false_alarm)
        z = stats.norm.ppf(0.975 if two_sided else 0.95)
        power = stats.norm.cdf((1.5 - z * sd) / sd)
        assert test.rejection_rate(rng.normal(-1.5, 1.0, 20000), rng=3) == pytest.approx(power, abs=0.02)
    # a batch that scores too high: the two-sided (typicality) test rejects it, the one-sided one does not
    high = rng.normal(1.5, 1.0, 20000)
    power = stats.norm.cdf((1.5 - stats.norm.ppf(0.975) * sd) / sd)
    assert TypicalityTest(5).fit(calibration, rng=1).rejection_rate(high, rng=4) == pytest.approx(power, abs=0.02)
    assert TypicalityTest(5, two_sided=False).fit(calibration, rng=1).rejection_rate(high, rng=4) < 0.01


def test_typicality_test_by_hand():
    test = TypicalityTest(batch_size=2, alpha=0.5).fit([0.0, 0.0, 2.0, 2.0], rng=0)
    assert test.centre == 1.0
    # batch means of pairs drawn without replacement are 0, 1 or 2: |mean - 1| is 1 or 0
    assert test.threshold in (0.0, 1.0)
    assert test.reject([[5.0, 5.0]]).tolist() == [True]
    assert test.reject([[1.0, 1.0]]).tolist() == [False]


def test_typicality_test_validates():
    with pytest.raises(ValueError, match="batch_size"):
        TypicalityTest(0)
    with pytest.raises(ValueError, match="alpha"):
        TypicalityTest(5, alpha=1.0)
    with pytest.raises(RuntimeError, match="fit"):
        TypicalityTest(5).reject(np.zeros((1, 5)))
    test = TypicalityTest(3).fit(np.arange(10.0), rng=0)
    with pytest.raises(ValueError, match="shape"):
        test.reject(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="NaN"):
        test.reject(np.full((1, 3), np.nan))
    with pytest.raises(ValueError, match="exceeds"):
        test.rejection_rate(np.zeros(2))
    with pytest.raises(ValueError, match="n_batches"):
        test.rejection_rate(np.zeros(20), n_batches=0)


def test_batches_are_drawn_without_replacement(rng):
    from rbmlib.metrics.ood import _batches

    for n in (6, 50):  # the dense and the sparse way
        b = _batches(np.arange(n), 5, 4000, rng)
        assert b.shape == (4000, 5)
        assert all(len(set(row)) == 5 for row in b)
        counts = np.bincount(b.ravel(), minlength=n)  # every score equally often
        assert stats.chisquare(counts).pvalue > 1e-4


def test_fisher_combination_lets_no_score_outvote_another(rng):
    """An image far too unlikely for one score stays suspicious however digit-like the other finds it."""
    ref_a, ref_b = rng.normal(size=1000), rng.normal(size=1000)
    digits = [rng.normal(size=500), rng.normal(size=500)]
    odd = [np.full(100, -30.0), np.full(100, 30.0)]  # score a says "no" loudly, score b says "yes" loudly
    fisher = [combined_score(x, [ref_a, ref_b]) for x in (digits, odd)]
    plain = [combined_score(x, [ref_a, ref_b], method="sum") for x in (digits, odd)]
    assert auroc(*fisher) == 1.0
    assert auroc(*plain) < 0.6
