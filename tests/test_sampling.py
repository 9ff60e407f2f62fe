import numpy as np
import pytest
from helpers_exact import random_rbm

from rbmlib import RBM
from rbmlib.sampling import sample


def test_snapshots_do_not_disturb_the_chains():
    """The snapshot after t steps is what a run of t steps alone gives: the chain is continued, not restarted."""
    rbm = random_rbm(8, 4, seed=1)
    both = sample(rbm, 50, (3, 7), rng=5)
    assert both.steps == [3, 7]
    for t in (3, 7):
        alone = sample(rbm, 50, t, rng=5)  # an int: one snapshot, at the end
        assert alone.steps == [t]
        assert np.array_equal(both.samples(t), alone.samples()) and np.array_equal(both.probs(t), alone.probs())
    v, p = both.samples(7), both.probs(7)
    assert v.shape == p.shape == (50, 8) and set(np.unique(v)) <= {0.0, 1.0} and 0 <= p.min() <= p.max() <= 1
    assert not np.array_equal(both.samples(3), v)
    with pytest.raises(KeyError, match="no snapshot after 5 sweeps"):
        both.samples(5)


def test_sample_from_given_starts_and_bad_steps():
    rbm = RBM(6, 3, rng=0)
    start = np.ones((4, 6))
    assert sample(rbm, 4, 1, rng=0, start=start).samples().shape == (4, 6)
    with pytest.raises(ValueError, match="start must have 4 rows"):
        sample(rbm, 4, 1, start=np.ones((3, 6)))
    for steps in [(), (0, 1), (5, 5), (5, 3), 0, 2.5]:
        with pytest.raises(ValueError, match="steps must be"):
            sample(rbm, 4, steps)


def _tempered_log_p(rbm, beta, base):
    from helpers_exact import all_states
    from scipy.special import logsumexp

    V = all_states(rbm.n_visible)
    log_w = V @ ((1 - beta) * base + beta * rbm.a) + np.logaddexp(0, beta * (V @ rbm.W + rbm.b)).sum(axis=1)
    return V, log_w - logsumexp(log_w)


def _chi2_pvalue(samples, log_p):
    from scipy import stats

    idx = (samples.astype(int) * (1 << np.arange(samples.shape[1])[::-1])).sum(axis=1)
    counts = np.bincount(idx, minlength=len(log_p))
    return stats.chisquare(counts, np.exp(log_p) * len(samples)).pvalue


def test_parallel_tempering_samples_every_rung_exactly():
    """Goodness of fit of the beta = 1 replicas (the RBM) and of an intermediate rung against enumeration,
    on a model whose modes make plain Gibbs slow."""
    from rbmlib.sampling import ParallelTempering

    rbm = random_rbm(5, 3, scale=2.0, seed=6)
    base = np.linspace(-1, 1, 5)
    betas = np.array([0.0, 0.3, 0.6, 1.0])
    pt = ParallelTempering(rbm, betas, base, n_chains=4000, rng=1)
    for _ in range(40):
        pt.sweep()
    _, log_p = _tempered_log_p(rbm, 1.0, base)
    assert _chi2_pvalue(pt.v_model, log_p) > 1e-4
    _, log_q = _tempered_log_p(rbm, 0.6, base)
    assert _chi2_pvalue(pt.v[2 * 4000 : 3 * 4000], log_q) > 1e-4
    # the test has power: the rung at beta = 0.6 is not the RBM
    assert _chi2_pvalue(pt.v[2 * 4000 : 3 * 4000], log_p) < 1e-6
    assert np.all((pt.acceptance > 0) & (pt.acceptance < 1))


def test_goodness_of_fit_detects_a_wrong_swap_rule():
    """Swapping the top rungs unconditionally breaks exactness, and the test above would see it."""
    from rbmlib.sampling import ParallelTempering

    rbm = random_rbm(5, 3, scale=2.0, seed=6)
    base = np.zeros(5)
    pt = ParallelTempering(rbm, [0.0, 0.5, 1.0], base, n_chains=4000, rng=2)
    orig = pt.sweep

    def always_swap():
        e = orig()
        # the beta = 1 rung then holds beta = 0.5 states every other sweep
        top, mid = slice(8000, 12000), slice(4000, 8000)
        pt.v[top], pt.v[mid] = pt.v[mid].copy(), pt.v[top].copy()
        return e

    for _ in range(41):
        always_swap()
    _, log_p = _tempered_log_p(rbm, 1.0, base)
    assert _chi2_pvalue(pt.v_model, log_p) < 1e-6


def test_tune_ladder_reaches_the_target_acceptance():
    from rbmlib.sampling import ParallelTempering, tune_ladder

    rbm = random_rbm(12, 6, scale=1.5, seed=3)
    base = np.zeros(12)
    betas = tune_ladder(rbm, base, target=0.5, n_chains=200, n_replicas=3, rng=0)
    assert betas[0] == 0 and betas[-1] == 1 and np.all(np.diff(betas) > 0) and len(betas) > 3
    pt = ParallelTempering(rbm, betas, base, n_chains=500, rng=1)
    for _ in range(100):
        pt.sweep()
    assert pt.acceptance.min() > 0.4


@pytest.mark.parametrize("method", ["gibbs", "pt"])
def test_sample_run_records(method):
    from rbmlib.sampling import sample

    rbm = random_rbm(8, 4, seed=1)
    run = sample(
        rbm, 30, steps=(5, 20), method=method, rng=0, trace_every=5, betas=[0.0, 0.5, 1.0] if method == "pt" else None
    )
    assert set(run.snapshots) == {5, 20}
    assert run.trace.shape == (4, 30, 8) and run.trace.dtype == bool and list(run.trace_sweeps) == [5, 10, 15, 20]
    assert run.energy.shape == (20, 30)
    v = run.samples(20)
    assert np.array_equal(run.trace[-1], v.astype(bool))
    x = v @ rbm.W + rbm.b  # E(v, h) is -a.v - h.x: between its extremes over h, and h is 0/1
    e_lo, e_hi = -(v @ rbm.a) - np.maximum(x, 0).sum(axis=1), -(v @ rbm.a) - np.minimum(x, 0).sum(axis=1)
    assert np.all((run.energy[-1] >= e_lo - 1e-4) & (run.energy[-1] <= e_hi + 1e-4))
    # -E(v, h) - a.v = h.x for some 0/1 vector h: reconstruct h greedily for the first chain and check it
    h = np.array([list(s) for s in np.ndindex(*(2,) * 4)], float)
    assert np.min(np.abs(h @ x[0] - (-run.energy[-1, 0] - v[0] @ rbm.a))) < 1e-4
    assert (len(run.acceptance) == 2) == (method == "pt")


def test_sample_trace_fn_records_a_summary():
    from rbmlib.sampling import sample

    rbm = random_rbm(8, 4, seed=1)
    run = sample(rbm, 10, steps=(6,), rng=0, trace_every=2, trace_fn=lambda v: v.sum(axis=1))
    assert run.trace.shape == (3, 10) and np.array_equal(run.trace[-1], run.samples(6).sum(axis=1))


def test_round_trips_count_walkers_that_cross_the_whole_ladder():
    """On a model whose replicas all have the same distribution (zero parameters, zero base) every swap is
    accepted, so the walkers' paths are fixed by the swap schedule: the count equals a replay of that
    schedule with the rule "bottom -> top -> bottom is one trip"."""
    from rbmlib.sampling import ParallelTempering

    flat = RBM(6, 3, rng=0, dtype=np.float64)
    flat.W[:] = 0
    flat.a[:] = 0
    R, M, sweeps = 4, 5, 37
    pt = ParallelTempering(flat, np.linspace(0, 1, R), np.zeros(6), n_chains=M, rng=1)
    pt.run(sweeps)
    assert np.all(pt.acceptance == 1)
    rung = np.repeat(np.arange(R), M)  # the rung of each walker (walkers start at their row)
    last, trips = np.where(rung == 0, 1, 0), 0
    for t in range(sweeps):
        for r in range(t % 2, R - 1, 2):  # every proposed swap is accepted
            up, down = rung == r, rung == r + 1
            rung[up], rung[down] = r + 1, r
        trips += int(np.sum((rung == 0) & (last == 2)))
        last = np.where(rung == 0, 1, np.where((rung == R - 1) & (last == 1), 2, last))
    assert pt.round_trips == trips > 0
