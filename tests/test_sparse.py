"""Products with a 0/1 operand (rbmlib._engine.sparse): row sums against sgemm, and every kernel on both paths.

Each path is forced with ``products("dense")`` / ``products("sparse")`` on the same input
and compared to float tolerance; the exact tests (hand-computed update steps, enumeration
of the stationary distribution, the AIS log ratio) run on the sparse path with models wide
enough to take it (the row sums need outputs of at least ``MIN_WIDTH`` columns).
"""

import numba
import numpy as np
import pytest
from helpers_exact import all_states, random_rbm
from scipy import stats
from scipy.special import logsumexp

from rbmlib import RBM, fit
from rbmlib import _engine as F
from rbmlib._engine.sparse import AUTO, DENSE, MIN_WIDTH, SPARSE, products, support, up, use_sparse
from rbmlib.sampling import ParallelTempering, sample
from rbmlib.train import Optimizer, apply_gradient

two_threads = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 numba threads")
WIDE = 2 * MIN_WIDTH  # training splits the hidden layer into 2 blocks, each >= MIN_WIDTH


def _log_p(rbm):
    """log p(v) of every visible state, by enumeration over v and the free energy."""
    V = all_states(rbm.n_visible)
    log_w = V @ rbm.a + np.logaddexp(0, V @ rbm.W + rbm.b).sum(axis=1)
    return log_w - logsumexp(log_w)


def _chi2_pvalue(samples, log_p):
    idx = (samples.astype(int) * (1 << np.arange(samples.shape[1])[::-1])).sum(axis=1)
    counts = np.bincount(idx, minlength=len(log_p))
    return stats.chisquare(counts, np.exp(log_p) * len(samples)).pvalue


def test_products_rejects_an_unknown_mode():
    with pytest.raises(ValueError, match="products must be one of"):
        with products("fast"):
            pass


def test_support_lists_the_active_units_in_order():
    x = np.array([0, 1, 0, 0, 1, 1, 0, 1], np.float32)
    idx = np.full(8, -1, np.int32)
    from numba import njit

    n = njit(lambda x, idx: support(x, 2, 7, idx))(x, idx)  # units 2..6 only
    assert n == 2 and list(idx[2:4]) == [4, 5]
    assert idx[7] == -1  # nothing beyond the block is written


def test_cost_model_choices():
    from numba import njit

    choose = njit(lambda on, total, width, mode: use_sparse(on, total, width, mode))
    assert not choose(13, 100, 400, DENSE) and choose(90, 100, 400, SPARSE)
    assert not choose(1, 100, MIN_WIDTH - 1, SPARSE)  # too narrow, whatever the mode
    assert choose(13, 100, 400, AUTO) and not choose(50, 100, 400, AUTO)  # MNIST-like vs half on
    assert choose(30, 100, 500, AUTO) and not choose(30, 100, MIN_WIDTH, AUTO)  # wider outputs take denser operands


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("width", [MIN_WIDTH, 200, 500])
@pytest.mark.parametrize("density", [0.05, 0.5])
def test_up_row_sums_equal_sgemm(dtype, width, density):
    rng = np.random.default_rng(width)
    W = rng.standard_normal((784, width)).astype(dtype)
    V = (rng.random((70, 784)) < density).astype(dtype)
    idx = np.empty((70, 784), np.int32)
    out = {m: np.empty((60, width), dtype) for m in (DENSE, SPARSE)}
    for m in out:
        up(V, 5, 60, W, out[m], idx, m)
    np.testing.assert_allclose(out[SPARSE], V[5:65] @ W, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-4)
    np.testing.assert_allclose(out[DENSE], out[SPARSE], rtol=1e-5, atol=1e-4)


def test_up_takes_sgemm_for_rows_that_are_not_0_1():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((50, 100)).astype(np.float32)
    V = (rng.random((8, 50)) < 0.1).astype(np.float32)
    V[3, 7] = 0.5
    idx = np.empty((8, 50), np.int32)
    a, b = np.empty((8, 100), np.float32), np.empty((8, 100), np.float32)
    up(V, 0, 8, W, a, idx, SPARSE)
    up(V, 0, 8, W, b, idx, DENSE)
    assert np.array_equal(a, b)


# ------------------------------------------------------------------ the update step, by hand
@pytest.mark.parametrize("mode", ["dense", "sparse"])
@pytest.mark.parametrize("momentum", [0.0, 0.5])
@pytest.mark.parametrize("centred", [False, True])
def test_update_step_equals_the_formula_on_both_paths(mode, momentum, centred):
    """B = 6 data rows, C = 11 model rows, 0/1 visible phases: the step of the hand-written formulas."""
    NV, NH, B, C, lr, decay = 40, WIDE, 6, 11, 0.1, 0.02
    rng = np.random.default_rng(3)
    v_d, v_m = (rng.random((B, NV)) < 0.15).astype(float), (rng.random((C, NV)) < 0.15).astype(float)
    h_d, h_m = rng.random((B, NH)), rng.random((C, NH))
    rbm = random_rbm(NV, NH, seed=4)
    before = {k: getattr(rbm, k).copy() for k in "Wab"}
    mu, lam = (np.linspace(0.1, 0.4, NV), np.full(NH, 0.3)) if centred else (np.zeros(NV), np.zeros(NH))
    vel = {"W": np.full((NV, NH), 0.01), "a": np.full(NV, -0.02), "b": np.full(NH, 0.03)}
    opt = Optimizer.create(
        NV, NH, rbm.dtype, momentum=momentum, weight_decay=decay, velocity=vel,
        **(dict(mu=mu, lam=lam) if centred else {}),
    )  # fmt: skip
    grad_W = lr * ((v_d - mu).T @ (h_d - lam) / B - (v_m - mu).T @ (h_m - lam) / C) - lr * decay * before["W"]
    grad_a = lr * (v_d.sum(0) / B - v_m.sum(0) / C)
    grad_b = lr * (h_d.sum(0) / B - h_m.sum(0) / C)
    if momentum:
        grad_W, grad_a, grad_b = (momentum * vel[k] + g for k, g in zip("Wab", (grad_W, grad_a, grad_b), strict=True))
    expect = {"W": grad_W, "a": grad_a - grad_W @ lam, "b": grad_b - mu @ grad_W}
    with products(mode):
        apply_gradient(rbm, v_d, v_m, h_d, h_m, lr, opt)
    for k in "Wab":
        np.testing.assert_allclose(getattr(rbm, k) - before[k], expect[k], atol=1e-12, err_msg=k)


# ------------------------------------------------------------------ training
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(method="cd", k=1, lr=0.05),
        dict(method="pcd", k=2, n_chains=40, centering=True, momentum=0.5, weight_decay=1e-4, lr=0.02),
    ],
)
def test_fit_gives_the_same_model_on_both_paths(kwargs):
    """float64 (32-bit draws): rounding differences of the two paths flip no draw, so the models agree."""
    images = np.random.default_rng(2).integers(0, 256, size=(480, 60), dtype=np.uint8)
    images[:, ::2] //= 8  # about 15 % of the pixels on after binarisation, like MNIST
    models = {}
    for mode in ("dense", "sparse", "auto"):
        rbm = RBM(60, WIDE, rng=3, dtype=np.float64)
        with products(mode):
            fit(rbm, images, epochs=2, batch_size=16, rng=4, progress=False, monitor_size=10, **kwargs)
        models[mode] = rbm
    for mode in ("sparse", "auto"):
        for k in "Wab":
            np.testing.assert_allclose(getattr(models[mode], k), getattr(models["dense"], k), atol=1e-9, err_msg=k)


@two_threads
@pytest.mark.parametrize("mode", ["sparse", "auto"])
def test_fit_same_bits_on_1_and_2_threads_with_row_sums(mode):
    images = np.random.default_rng(2).integers(0, 64, size=(640, 60), dtype=np.uint8)
    runs = []
    for T in (1, 2, None):
        rbm = RBM(60, WIDE, rng=3)
        with F.threads(T), products(mode):
            fit(rbm, images, epochs=1, batch_size=16, rng=4, progress=False, monitor_size=10, method="pcd",
                centering=True, n_chains=24, lr=0.05)  # fmt: skip
        runs.append((rbm.W, rbm.a, rbm.b))
    for other in runs[1:]:
        for x, y in zip(runs[0], other, strict=True):
            assert np.array_equal(x, y)


# ------------------------------------------------------------------ samplers, exactly
def _wide_rbm(seed=6):
    """6 visible units (64 states to enumerate), 64 hidden units: the samplers' row sums apply."""
    return random_rbm(6, MIN_WIDTH, scale=0.35, seed=seed)


def test_gibbs_on_the_sparse_path_samples_the_model_exactly():
    rbm = _wide_rbm()
    log_p = _log_p(rbm)
    assert log_p.max() - log_p.min() > 2  # far from uniform
    with products("sparse"):
        run = sample(rbm, 4000, (30,), method="gibbs", rng=1)
    assert _chi2_pvalue(run.snapshots[30][0], log_p) > 1e-4
    # the test has power: another model's distribution is rejected
    assert _chi2_pvalue(run.snapshots[30][0], _log_p(_wide_rbm(seed=7))) < 1e-6


def test_clamped_gibbs_on_the_sparse_path_samples_the_conditional_exactly():
    """Units 0 and 3 clamped at (1, 0): the free units follow p(v_free | v_0 = 1, v_3 = 0)."""
    rbm = _wide_rbm(seed=8)
    clamp = np.zeros(6, bool)
    clamp[[0, 3]] = True
    v = np.zeros((4000, 6))
    v[:, 0] = 1.0
    chains = F.GibbsChains(rbm.W, rbm.a, rbm.b, v, (3, 4), clamp=clamp)
    with products("sparse"):
        chains.run(30, want_p=False)
    assert np.all(v[:, 0] == 1) and np.all(v[:, 3] == 0)
    log_p = _log_p(rbm)
    states = all_states(6)
    keep = (states[:, 0] == 1) & (states[:, 3] == 0)
    log_q = log_p[keep] - logsumexp(log_p[keep])
    assert _chi2_pvalue(v[:, ~clamp], log_q) > 1e-4


def test_tempering_on_the_sparse_path_samples_the_model_exactly():
    rbm = _wide_rbm()
    with products("sparse"):
        pt = ParallelTempering(rbm, [0.0, 0.5, 1.0], np.zeros(6), n_chains=4000, rng=2)
        for _ in range(30):
            pt.sweep()
    assert _chi2_pvalue(pt.v_model, _log_p(rbm)) > 1e-4


def test_anneal_on_the_sparse_path_is_the_exact_log_ratio():
    rbm = _wide_rbm()
    base = np.linspace(-1, 1, 6)
    v = (np.random.default_rng(1).random((20, 6)) < 0.3).astype(float)
    with products("sparse"):
        logw = F.anneal(rbm.W, rbm.a, rbm.b, base, np.array([0.0, 1.0]), (1, 2), v=v, dtype=np.float64)
    x = v @ rbm.W + rbm.b
    expect = v @ base + MIN_WIDTH * np.log(2) - (v @ rbm.a + np.logaddexp(0, x).sum(axis=1))
    np.testing.assert_allclose(logw, expect, rtol=0, atol=1e-10)


@two_threads
def test_samplers_same_bits_on_1_and_2_threads_with_row_sums():
    rbm = random_rbm(50, WIDE, scale=0.1, seed=5)
    rbm.a -= 1.5  # about 20 % of the visible units on
    runs = []
    for T in (1, 2):
        with F.threads(T), products("auto"):
            g = sample(rbm, 300, (5,), method="gibbs", rng=6)
            p = sample(rbm, 300, (5,), method="pt", betas=[0.0, 0.5, 1.0], rng=6)
            w = F.anneal(rbm.W, rbm.a, rbm.b, np.zeros(50), np.linspace(0, 1, 20), (5, 6), n_runs=150)
        runs.append((g.snapshots[5][0], p.snapshots[5][0], w))
    for x, y in zip(*runs, strict=True):
        assert np.array_equal(x, y)
