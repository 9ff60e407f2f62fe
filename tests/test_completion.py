import itertools

import numpy as np
import pytest
from helpers_exact import all_states, brute_log_p, random_rbm
from scipy import stats
from scipy.special import logsumexp

from rbmlib import RBM, fit, half_mask, recall
from rbmlib.completion import HALVES, clamped_chains, recall_estimates


def test_half_masks_split_the_image():
    for kind in HALVES:
        m = half_mask(kind, rng=0)
        assert m.shape == (784,) and m.dtype == bool and m.sum() == 392
    img = half_mask("top").reshape(28, 28)
    assert not img[:14].any() and img[14:].all()
    assert half_mask("left").reshape(28, 28)[:, 14:].all()
    assert np.array_equal(half_mask("random", rng=1), half_mask("random", rng=1))
    with pytest.raises(ValueError, match="kind must be one of"):
        half_mask("middle")


@pytest.fixture(scope="module")
def pattern_model():
    """An RBM trained on one repeated binary pattern (a thick ring)."""
    yy, xx = np.mgrid[:28, :28]
    r = np.hypot(yy - 13.5, xx - 13.5)
    pattern = ((r > 6) & (r < 10)).astype(np.float32).ravel()
    rbm = RBM(784, 8, rng=0)
    fit(rbm, np.tile(pattern, (640, 1)), epochs=10, lr=0.1, batch_size=64, rng=0, progress=False)
    return rbm, pattern


@pytest.mark.parametrize("kind", HALVES)
def test_recall_restores_the_single_pattern(pattern_model, kind):
    rbm, pattern = pattern_model
    known = half_mask(kind, rng=3)
    noisy = np.tile(pattern, (5, 1))
    dropped = ~known
    for start in ("zeros", "random"):
        v, p = recall(rbm, noisy, known, steps=20, rng=4, start=start)
        assert np.array_equal(v[:, known], noisy[:, known])
        assert np.abs(p[:, dropped] - pattern[dropped]).mean() < 0.05
    # an untrained model does not restore it: the check has power
    _, p0 = recall(RBM(784, 8, rng=0), noisy, known, steps=20, rng=4)
    assert np.abs(p0[:, dropped] - pattern[dropped]).mean() > 0.3


def test_recall_bad_arguments(pattern_model):
    rbm, pattern = pattern_model
    with pytest.raises(TypeError, match="boolean"):
        recall(rbm, pattern[None], np.ones(784), 1)
    with pytest.raises(ValueError, match="mask must have shape"):
        recall(rbm, pattern[None], np.ones(100, bool), 1)
    known = half_mask("top")
    with pytest.raises(ValueError, match="estimator must be one of"):
        recall(rbm, pattern[None], known, 5, estimator="median")
    with pytest.raises(ValueError, match="one chain"):
        recall(rbm, pattern[None], known, 5, n_chains=2)
    with pytest.raises(ValueError, match="needs a classifier"):
        recall(rbm, pattern[None], known, 5, estimator="vote")
    with pytest.raises(ValueError, match="burn_in must be smaller"):
        recall(rbm, pattern[None], known, 5, estimator="mean", burn_in=5)
    with pytest.raises(ValueError, match="start must be one of"):
        recall(rbm, pattern[None], known, 5, start="ones")
    with pytest.raises(ValueError, match="steps"):
        recall(rbm, pattern[None], known, 0)
    with pytest.raises(ValueError, match="chains"):
        recall(rbm, pattern[None], known, 5, estimator="mean", n_chains=0)
    with pytest.raises(ValueError, match="NaN"):
        recall(rbm, np.full((1, 784), np.nan), known, 5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        recall(rbm, np.full((1, 784), 2.0), known, 5)
    with pytest.raises(TypeError, match="predict"):
        recall_estimates(rbm, pattern[None], known, 5, classifier=object())
    with pytest.raises(ValueError, match="no completion was labelled"):
        recall_estimates(rbm, pattern[None], known, 5, burn_in=3, classifier=_FirstPixel(), vote_every=10)


# ----------------------------------------------------------------------------- exactness on a tiny model
GIVEN = np.array([1.0, 0, 0, 0, 1, 0])
KNOWN = np.array([True, False, False, False, True, False])


def _exact_conditional(rbm):
    """p(v_U | v_K = GIVEN_K) over the 2**4 unknown states, in the order of all_states(4)."""
    V, log_p = brute_log_p(rbm)
    keep = np.all(V[:, KNOWN] == GIVEN[KNOWN], axis=1)
    log_c = log_p[keep] - logsumexp(log_p[keep])
    return V[keep][:, ~KNOWN], log_c


def _index(u):
    return (u.astype(int) * (1 << np.arange(u.shape[1])[::-1])).sum(axis=1)


@pytest.fixture(scope="module")
def tiny():
    rbm = random_rbm(6, 4, scale=1.0, seed=7)
    states, log_c = _exact_conditional(rbm)
    assert np.array_equal(states, all_states(4))  # the unknown states come in the order _index counts them
    return rbm, np.exp(log_c)


@pytest.mark.parametrize("start", ["zeros", "random"])
def test_clamped_chains_sample_the_conditional(tiny, start):
    rbm, cond = tiny
    n = 20000
    *_, (v, p) = clamped_chains(rbm, GIVEN, KNOWN, 30, burn_in=29, n_chains=n, start=start, rng=11)
    v = v[:, 0]
    assert v.shape == (n, 6) and np.all(v[:, KNOWN] == GIVEN[KNOWN]) and np.all(p[:, 0][:, KNOWN] == GIVEN[KNOWN])
    counts = np.bincount(_index(v[:, ~KNOWN]), minlength=16)
    assert stats.chisquare(counts, cond * n).pvalue > 1e-4
    # the test has power: the unclamped marginal of the same pixels is rejected
    V, log_p = brute_log_p(rbm)
    marginal = np.array([np.exp(logsumexp(log_p[np.all(V[:, ~KNOWN] == u, axis=1)])) for u in all_states(4)])
    assert stats.chisquare(counts, marginal * n).pvalue < 1e-6


@pytest.mark.parametrize("estimator", ["mean", "last"])
def test_posterior_mean_matches_enumeration(tiny, estimator):
    """Every row is an independent chain, so the rows' spread gives the standard error of their average."""
    rbm, cond = tiny
    exact = cond @ all_states(4)  # P(v_i = 1 | v_K) for the unknown pixels
    n = 4000
    images = np.tile(GIVEN, (n, 1))
    kw = {"burn_in": 20} if estimator == "mean" else {}
    _, p = recall(rbm, images, KNOWN, 40, rng=12, estimator=estimator, **kw)
    assert np.all(p[:, KNOWN] == GIVEN[KNOWN])
    est = p[:, ~KNOWN]
    z = (est.mean(axis=0) - exact) / (est.std(axis=0, ddof=1) / np.sqrt(n))
    assert np.all(np.abs(z) < 4.5), z
    # power: another model's conditional is far outside the interval
    other = cond[::-1] @ all_states(4)
    assert np.max(np.abs((est.mean(axis=0) - other) / (est.std(axis=0, ddof=1) / np.sqrt(n)))) > 10
    if estimator == "mean":  # averaging over 20 steps shrinks the spread of a single step's p(v_U | h)
        _, p_last = recall(rbm, images[:500], KNOWN, 40, rng=13)
        assert est.std(axis=0).mean() < 0.8 * p_last[:, ~KNOWN].std(axis=0).mean()


def test_posterior_mean_pools_chains(tiny):
    rbm, cond = tiny
    exact = cond @ all_states(4)
    out = recall_estimates(rbm, GIVEN[None], KNOWN, 30, burn_in=10, n_chains=6000, rng=14)
    assert out["mean"].shape == (1, 6)
    # 6000 chains x 20 correlated steps: the error is at most that of 6000 independent draws
    assert np.all(np.abs(out["mean"][0, ~KNOWN] - exact) < 4.5 * np.sqrt(0.25 / 6000))


class _FirstPixel:
    """Labels a completion by its first unknown pixel: 1 when p(v_1 | h) > 1/2."""

    def predict(self, images):
        return (np.asarray(images)[:, 1] > 0.5).astype(int)


def test_vote_label_frequencies_match_enumeration(tiny):
    """The labels are a function of h, so P(label) = sum_h p(h | v_K) [label(h)], by enumeration."""
    rbm, _ = tiny
    U, H = all_states(4), all_states(4)
    V = np.tile(GIVEN, (16, 1))
    V[:, ~KNOWN] = U
    neg_e = V @ rbm.a[:, None] + (H @ rbm.b)[None, :] + V @ rbm.W @ H.T  # (v_U, h)
    p_h = np.exp(logsumexp(neg_e, axis=0) - logsumexp(neg_e))
    label_h = _FirstPixel().predict(rbm.visible_probs(H))
    p_one = p_h[label_h == 1].sum()
    n = 4000
    out = recall_estimates(rbm, GIVEN[None], KNOWN, 30, burn_in=10, n_chains=n, classifier=_FirstPixel(), rng=15)
    assert abs(p_one - 0.5) > 0.1  # a clear majority, so the vote has one right answer
    winner = int(p_one > 0.5)
    assert out["vote_label"][0] == winner
    share = out["vote_share"][0]  # over 2 labelled completions per chain (steps 20 and 30)
    assert abs(share - max(p_one, 1 - p_one)) < 4.5 * np.sqrt(0.25 / n)


def test_vote_is_the_mean_of_the_completions_with_the_winning_label(tiny):
    rbm, _ = tiny
    images = np.tile(GIVEN, (3, 1))
    out = recall_estimates(
        rbm, images, KNOWN, 25, burn_in=5, n_chains=4, classifier=_FirstPixel(), vote_every=5, rng=16
    )
    snaps, every_step = [], []
    for i, (_, p) in enumerate(clamped_chains(rbm, images, KNOWN, 25, burn_in=5, n_chains=4, rng=16)):
        every_step.append(p.copy())
        if (i + 1) % 5 == 0:
            snaps.extend(p.copy())  # the same stream: the classifier draws no random numbers
    snaps = np.array(snaps)  # (4 snapshots x 4 chains, 3 images, 6)
    # the posterior mean averages every step after the burn-in, over all chains
    np.testing.assert_allclose(out["mean"], np.mean(every_step, axis=(0, 1)), rtol=1e-12)
    labels = np.array([_FirstPixel().predict(s) for s in snaps])
    for n in range(3):
        values, counts = np.unique(labels[:, n], return_counts=True)
        win = values[np.argmax(counts)]
        assert out["vote_label"][n] == win and out["vote_share"][n] == counts.max() / len(labels)
        np.testing.assert_allclose(out["vote"][n], snaps[labels[:, n] == win, n].mean(axis=0), rtol=1e-12)


def test_estimates_are_reproducible_and_keep_known_pixels(pattern_model):
    rbm, pattern = pattern_model
    known = half_mask("random", rng=2)
    grey = np.tile(pattern * 0.8 + 0.1, (3, 1))
    a = recall_estimates(rbm, grey, known, 12, n_chains=2, rng=5)
    b = recall_estimates(rbm, grey, known, 12, n_chains=2, rng=np.random.default_rng(5))
    for key in ("sample", "last", "mean"):
        assert np.array_equal(a[key], b[key])
        assert a[key].shape == (3, 784)
        assert set(np.unique(a[key][:, known])) <= {0.0, 1.0}
    assert np.all((a["mean"] >= 0) & (a["mean"] <= 1))
    # the per-image mask form gives the same completion as the shared mask
    c = recall_estimates(rbm, grey, np.tile(known, (3, 1)), 12, n_chains=2, rng=5)
    assert np.array_equal(a["mean"], c["mean"])


def test_clamped_chains_yield_after_burn_in(tiny):
    rbm, _ = tiny
    steps = list(itertools.islice(clamped_chains(rbm, GIVEN, KNOWN, 10, burn_in=7, n_chains=3, rng=0), 100))
    assert len(steps) == 3 and steps[0][0].shape == (3, 1, 6)
