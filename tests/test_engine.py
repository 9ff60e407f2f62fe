"""The engine (rbmlib._engine): its random numbers, its one draw primitive and thread-count independence.

The numba kernels are checked against a plain-numpy replay of the same arithmetic (bit for
bit), the Bernoulli draw's probability against an exhaustive count over all its 2**24
thresholds, and the samplers and training against themselves on 1 and 2 threads.
"""

import numba
import numpy as np
import pytest
from helpers_exact import random_rbm

from rbmlib import RBM, fit
from rbmlib import _engine as F
from rbmlib._engine.draw import SAMPLE_P, binarize_rows, draw_block, rows, words
from rbmlib._engine.records import Layer, random_width
from rbmlib.sampling import ParallelTempering, sample

two_threads = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 numba threads")


# ---------------------------------------------------------------- numpy replay of the kernels
def _philox_np(c0, c1, c2, c3, k0, k1):
    M0, M1, W0, W1 = (np.uint64(x) for x in (0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85))
    lo = np.uint64(0xFFFFFFFF)
    c0, c1, c2, c3 = (np.asarray(c, dtype=np.uint64) for c in (c0, c1, c2, c3))
    k0, k1 = np.uint64(k0), np.uint64(k1)
    for _ in range(10):
        p0, p1 = M0 * c0, M1 * c2
        c0, c1, c2, c3 = (p1 >> np.uint64(32)) ^ c1 ^ k0, p1 & lo, (p0 >> np.uint64(32)) ^ c3 ^ k1, p0 & lo
        k0, k1 = (k0 + W0) & lo, (k1 + W1) & lo
    return c0, c1, c2, c3


def _words_np(R, n, key, row0, c2, c3):
    """The random words of units 0..n-1 of rows row0..row0+R-1: word c % 4 of philox((c // 4, row, c2, c3))."""
    ng = (n + 3) // 4
    shape = (R, ng)
    c0 = np.broadcast_to(np.arange(ng, dtype=np.uint64), shape)
    c1 = np.broadcast_to((row0 + np.arange(R, dtype=np.uint64))[:, None], shape)
    out = _philox_np(c0, c1, np.full(shape, c2), np.full(shape, c3), *key)
    return np.stack(out, axis=-1).reshape(R, 4 * ng)[:, :n].astype(np.uint32)


def _denom_f32(x):
    """1 + exp(-x) with Cephes expf, in the kernels' float32 operation order."""
    f = np.float32
    y = np.clip(-x, f(-87.0), f(88.0))
    fx = np.floor(y * f(1.44269504088896341) + f(0.5))
    r = y - fx * f(0.693359375)
    r = r - fx * f(-2.12194440e-4)
    z = r * r
    q = np.full_like(r, f(1.9875691500e-4))
    for c in (1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1):
        q = q * r + f(c)
    q = q * z + r + f(1.0)
    return f(1.0) + q * ((fx.astype(np.int32) + np.int32(127)) << np.int32(23)).view(np.float32)


def test_philox_known_answers():
    """Random123's known-answer vectors for Philox4x32-10, in numba and in the numpy replay."""
    kat = [
        ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
        (
            (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
            (0xA4093822, 0x299F31D0),
            (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
        ),
    ]
    for counter, key, expect in kat:
        assert tuple(int(x) for x in F.philox4x32(*counter, *key)) == expect
        assert tuple(int(x) for x in _philox_np(*counter, *key)) == expect


@pytest.mark.parametrize("want_p", [True, False])
def test_half_step_equals_the_numpy_replay_bit_for_bit(want_p):
    rng = np.random.default_rng(0)
    pre = (rng.standard_normal((64, 203)) * 6).astype(np.float32)
    bias = rng.standard_normal(203).astype(np.float32)
    key = (12345, 678)
    s, p = F.half_step(pre, bias, key, row0=5, tag=2, step=3, counter=77, want_p=want_p)
    u = _words_np(64, 203, key, 5, 2 * 65536 + 3, 77)
    d = _denom_f32(pre + bias)
    expect = ((u >> np.uint32(8)).astype(np.int32).astype(np.float32) * d < np.float32(2**24)).astype(np.float32)
    assert s.dtype == np.float32 and np.array_equal(s, expect)
    if want_p:
        assert np.array_equal(p, np.float32(1.0) / d)


def test_float64_half_step_uses_32_bit_draws():
    rng = np.random.default_rng(1)
    pre, bias, key = rng.standard_normal((16, 50)) * 4, rng.standard_normal(50), (3, 4)
    s, p = F.half_step(pre, bias, key, counter=9)
    d = 1.0 + np.exp(-(pre + bias))
    np.testing.assert_allclose(p, 1 / d, rtol=1e-15)
    assert s.dtype == np.float64 and np.array_equal(s, (_words_np(16, 50, key, 0, 65536, 9) * d < 2.0**32) * 1.0)


def test_sigmoid_is_accurate_to_float32_rounding():
    x = np.linspace(-90, 90, 400_001, dtype=np.float32).reshape(1, -1)
    _, p = F.half_step(x, np.zeros(x.shape[1], np.float32), (1, 2))
    exact = 1 / (1 + np.exp(-x.astype(np.float64)))
    assert np.abs(p - exact).max() < 1e-7


@pytest.mark.parametrize("x", [-17.0, -6.5, -1.0, -0.3, 0.0, 0.7, 2.0, 9.0, 16.5])
def test_bernoulli_draw_resolution_by_exhaustive_count(x):
    """P(draw = 1) = #{U < 2**24 : U * d < 2**24} / 2**24 with d = 1 + exp(-x): within 2**-23 of sigmoid(x)."""
    d = _denom_f32(np.array([x], np.float32))[0]
    U = np.arange(2**24, dtype=np.float32)
    prob = np.count_nonzero(U * d < np.float32(2**24)) / 2**24
    exact = 1 / (1 + np.exp(-x))
    assert abs(prob - exact) <= 2.0**-23, (prob, exact)


def test_bernoulli_frequencies_z_scores():
    """Draws of the kernel at fixed probabilities: 400,000 each, |z| < 5."""
    logits = np.array([-8, -3, -1, -0.2, 0, 0.4, 1.5, 4, 10], np.float32)
    pre = np.tile(logits, (4000, 1))
    total = np.zeros(len(logits))
    for counter in range(100):
        s, _ = F.half_step(pre, np.zeros(len(logits), np.float32), (7, 8), counter=counter, want_p=False)
        total += s.sum(axis=0)
    n = 100 * pre.shape[0]
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    z = (total / n - p) / np.sqrt(p * (1 - p) / n)
    assert np.all(np.abs(z) < 5), z


def test_uint8_binarisation_probability_is_x_over_255():
    grey = np.array([[0, 1, 51, 128, 254, 255, 0, 0]], np.uint8)
    X = np.repeat(grey, 50000, axis=0)
    V = np.empty(X.shape, np.float32)
    binarize_rows(X, np.arange(len(X)), V, 0, 8, words(np.empty(64, np.uint32), 0, 0, 5, (1, 2)))
    freq = V.mean(axis=0)
    assert freq[0] == 0 and freq[5] == 1  # 0 is always off, 255 always on
    p = grey[0] / 255
    mid = slice(1, 5)
    assert np.all(np.abs(freq[mid] - p[mid]) < 5 * np.sqrt(p[mid] * (1 - p[mid]) / len(X)))


# ---------------------------------------------------------------- threads and chunking
def _model(nv=40, nh=24, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    rbm = RBM(nv, nh, rng=seed, dtype=dtype)
    rbm.W[:] = rng.normal(0, 0.3, (nv, nh))
    rbm.a[:] = rng.normal(0, 0.5, nv)
    rbm.b[:] = rng.normal(0, 0.5, nh)
    return rbm


@two_threads
@pytest.mark.parametrize("clamped", [False, True])
def test_gibbs_chains_same_bits_on_1_and_2_threads_and_in_chunks(clamped):
    rbm = _model()
    v0 = (np.random.default_rng(1).random((600, 40)) < 0.5).astype(np.float32)  # 3 blocks of chains
    clamp = np.arange(40) % 3 == 0 if clamped else None
    runs = []
    for T, cuts in ((1, (7,)), (2, (7,)), (2, (3, 1, 3))):
        v = v0.copy()
        chains = F.GibbsChains(rbm.W, rbm.a, rbm.b, v, (11, 12), clamp=clamp)
        energies = []
        with F.threads(T):
            for k in cuts:
                e = np.empty((k, len(v)))
                p = chains.run(k, energies=e)
                energies.append(e)
        runs.append((v, p, np.concatenate(energies)))
    for other in runs[1:]:
        for x, y in zip(runs[0], other, strict=True):
            assert np.array_equal(x, y)
    v, p, e = runs[0]
    if clamped:
        assert np.array_equal(v[:, clamp], v0[:, clamp]) and np.array_equal(p[:, clamp], v0[:, clamp])
    assert not np.array_equal(v, v0) and np.all(np.isfinite(e))


@two_threads
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(method="cd", k=1, lr=0.1),
        dict(method="cd", k=2, momentum=0.5, weight_decay=1e-3, lr=0.05),
        dict(method="pcd", k=1, centering=True, lr_schedule="linear", init_visible_bias=True, lr=0.05),
        dict(method="pcd", k=2, n_chains=48, centering=True, momentum=0.5, weight_decay=1e-4, lr=0.02),
    ],
)
@pytest.mark.parametrize("uint8", [True, False])
def test_fit_same_parameters_on_1_and_2_threads_and_adaptive(kwargs, uint8):
    images = np.random.default_rng(2).integers(0, 256, size=(640, 40), dtype=np.uint8)
    if not uint8:
        images = images / 255.0
    runs = []
    for T in (1, 2, None):
        rbm = RBM(40, 24, rng=3)
        with F.threads(T):
            fit(rbm, images, epochs=2, batch_size=16, rng=4, progress=False, monitor_size=10, **kwargs)
        runs.append((rbm.W, rbm.a, rbm.b))
    for other in runs[1:]:
        for x, y in zip(runs[0], other, strict=True):
            assert np.array_equal(x, y)


@two_threads
@pytest.mark.parametrize("method", ["gibbs", "pt"])
def test_sample_same_chains_on_1_and_2_threads(method):
    rbm = _model(seed=5)
    kw = dict(method=method, rng=6, trace_every=3, betas=[0.0, 0.4, 1.0] if method == "pt" else None)
    runs = []
    for T in (1, 2, None):  # None: the default (adaptive), i.e. the same seed twice
        with F.threads(T):
            runs.append(sample(rbm, 300, steps=(4, 9), **kw))
    a = runs[0]
    for b in runs[1:]:
        for t in (4, 9):
            for x, y in zip(a.snapshots[t], b.snapshots[t], strict=True):
                assert np.array_equal(x, y)
        assert np.array_equal(a.energy, b.energy) and np.array_equal(a.trace, b.trace)
        assert np.array_equal(a.acceptance, b.acceptance)
    other = sample(rbm, 300, steps=(4, 9), **(kw | dict(rng=7)))
    assert not np.array_equal(other.snapshots[9][0], a.snapshots[9][0])


def test_fit_trains_a_float64_model_in_float64():
    """The engine is generic: a float64 model trains with float64 products and draws."""
    images = np.random.default_rng(2).integers(0, 256, size=(320, 40), dtype=np.uint8)
    runs = {}
    for dtype in (np.float32, np.float64):
        rbm = RBM(40, 8, rng=3, dtype=dtype)
        fit(rbm, images, epochs=2, batch_size=16, rng=4, progress=False, monitor_size=10, method="pcd", centering=True)
        assert rbm.W.dtype == rbm.a.dtype == rbm.b.dtype == dtype and np.all(np.isfinite(rbm.W))
        runs[dtype] = rbm
    # same random numbers, so the two precisions follow nearly the same path
    assert np.abs(runs[np.float32].W - runs[np.float64].W).max() < 5e-2


def test_parallel_tempering_run_equals_single_sweeps():
    rbm = random_rbm(6, 4, seed=2)
    one, many = (ParallelTempering(rbm, [0.0, 0.5, 1.0], np.zeros(6), n_chains=50, rng=3) for _ in range(2))
    energies = np.array([one.sweep() for _ in range(5)])
    e = np.empty((5, 50))
    many.run(5, want_p=True, energies=e)
    assert np.array_equal(one.v, many.v) and np.array_equal(one.p, many.p) and np.array_equal(energies, e)
    assert np.array_equal(one.accepted, many.accepted) and one.sweeps == many.sweeps == 5


def test_energies_are_those_of_the_joint_state():
    """E(v, h) from the engine lies between its extremes over h given the new v and, at stationarity,
    its mean is the mean over the chains of E(v, h) averaged over h ~ p(h | v) (float64, 20,000 chains)."""
    rbm = random_rbm(5, 3, seed=1)
    v = (np.random.default_rng(0).random((20000, 5)) < 0.5).astype(float)
    chains = F.GibbsChains(rbm.W, rbm.a, rbm.b, v, (1, 1))
    chains.run(30, want_p=False)  # (v, h) now follow the RBM
    e = np.empty((1, len(v)))
    chains.run(1, energies=e)
    x = v @ rbm.W + rbm.b
    lo, hi = -(v @ rbm.a) - np.maximum(x, 0).sum(1), -(v @ rbm.a) - np.minimum(x, 0).sum(1)
    assert np.all((e[0] >= lo - 1e-12) & (e[0] <= hi + 1e-12))
    mean_e = -(v @ rbm.a) - (x / (1 + np.exp(-x))).sum(1)  # E(v, h) averaged over h ~ p(h | v)
    var_e = (x**2 * np.exp(-x) / (1 + np.exp(-x)) ** 2).sum(1)
    assert abs(e[0].mean() - mean_e.mean()) < 5 * np.sqrt(var_e.mean() / len(v))


def test_threads_rejects_impossible_counts():
    with pytest.raises(ValueError, match="threads must be between"), F.threads(0):
        pass


# ---------------------------------------------------------------- the draw primitive's options
def _block(pre, lay, s=None, chain0=0):
    """draw_block (SAMPLE_P) on all rows of ``pre``, random words (tag 2, counter 4, key (9, 10)): samples, probs."""
    R, n = pre.shape
    s = np.zeros_like(pre) if s is None else s
    p = np.zeros_like(pre)
    rnd = words(np.empty(random_width(n), np.uint32), 2, 0, 4, (9, 10))
    draw_block(pre.copy(), s, p, rows(0, 0, 0, chain0, R), 0, n, lay, rnd, SAMPLE_P)
    return s, p


def _expected_draws(logit, R, n, chain0):
    d = _denom_f32(logit.astype(np.float32))
    u = _words_np(R, n, (9, 10), chain0, 2 * 65536, 4)
    return ((u >> np.uint32(8)).astype(np.int32).astype(np.float32) * d < np.float32(2**24)).astype(np.float32), d


@pytest.mark.parametrize("with_base", [False, True])
def test_tempered_draw_equals_the_numpy_replay_bit_for_bit(with_base):
    """With an inverse temperature per chain (and a base), the logit is beta (x + bias) (+ (1 - beta) base)."""
    rng = np.random.default_rng(3)
    pre = (rng.standard_normal((40, 70)) * 5).astype(np.float32)
    bias, base = rng.standard_normal(70).astype(np.float32), rng.standard_normal(70).astype(np.float32)
    beta = rng.random(40 + 7).astype(np.float32)  # the block is chains 7 .. 46
    lay = Layer(bias, beta, base if with_base else np.zeros(0, np.float32), np.zeros((0, 70), np.uint8))
    s, p = _block(pre, lay, chain0=7)
    be = beta[7:, None]
    logit = (np.float32(1) - be) * base + be * (pre + bias) if with_base else be * (pre + bias)
    expect, d = _expected_draws(logit, 40, 70, 7)
    assert np.array_equal(s, expect) and np.array_equal(p, np.float32(1.0) / d)


def test_clamped_units_keep_their_value_and_show_it_as_their_probability():
    rng = np.random.default_rng(4)
    pre = (rng.standard_normal((30, 16)) * 3).astype(np.float32)
    clamp = (rng.random((30, 16)) < 0.4).astype(np.uint8)
    none, bias = np.zeros(0, np.float32), np.zeros(16, np.float32)
    free, _ = _block(pre, Layer(bias, none, none, np.zeros((0, 16), np.uint8)))
    s, p = _block(pre, Layer(bias, none, none, clamp), s=np.full_like(pre, 0.5))  # 0.5: the kept value
    on = clamp == 1
    assert np.all(s[on] == 0.5) and np.all(p[on] == 0.5)
    assert np.array_equal(s[~on], free[~on])  # the free units draw exactly as without a clamp


def test_training_schedule_lists_every_phase_in_order():
    from rbmlib._engine.train import DATA, DOWN, HIDDEN, MODEL, WEIGHTS, schedule

    got = [tuple(r) for r in schedule(2, 2)]
    batch = lambda t: [(DATA, t, 0), (DOWN, t, 0), (MODEL, t, 0), (DOWN, t, 1), (MODEL, t, 1), (WEIGHTS, t, 0)]
    assert got == [(WEIGHTS, -1, 0), *batch(0), *batch(1), (HIDDEN, 1, 0)]


def test_anneal_two_steps_is_the_exact_log_ratio():
    """With betas (0, 1) AIS makes no move: its log weight is log p*_1(v) - log p*_0(v) at the base draw."""
    rbm = random_rbm(7, 5, seed=8)
    base = np.linspace(-1, 1, 7)
    v = (np.random.default_rng(1).random((20, 7)) < 0.5).astype(float)
    logw = F.anneal(rbm.W, rbm.a, rbm.b, base, np.array([0.0, 1.0]), (1, 2), v=v, dtype=np.float64)
    x = v @ rbm.W + rbm.b
    # reverse: from beta = 1 to 0, the weight is log p*_0(v) - log p*_1(v)
    expect = v @ base + 5 * np.log(2) - (v @ rbm.a + np.logaddexp(0, x).sum(axis=1))
    np.testing.assert_allclose(logw, expect, rtol=0, atol=1e-12)


@two_threads
def test_anneal_same_weights_on_1_and_2_threads():
    rbm = _model(nv=30, nh=20, seed=3)
    runs = []
    for T in (1, 2):
        with F.threads(T):
            runs.append(F.anneal(rbm.W, rbm.a, rbm.b, np.zeros(30), np.linspace(0, 1, 50), (5, 6), n_runs=150))
    assert np.array_equal(*runs) and np.all(np.isfinite(runs[0]))
