import numpy as np
import pytest
from helpers_exact import all_states, brute_log_p, brute_log_z, random_rbm

from rbmlib import RBM, fit, log_likelihood, log_partition, reconstruction_error
from rbmlib.evaluate import beta_schedule, exact_log_probs, log_likelihood_gradient


@pytest.mark.parametrize("nv, nh", [(6, 4), (4, 6), (7, 7)])
def test_exact_log_z_equals_brute_force(nv, nh):
    rbm = random_rbm(nv, nh, seed=nv + nh)
    assert log_partition(rbm, "exact").log_z == pytest.approx(brute_log_z(rbm), abs=1e-10)


def test_exact_log_z_in_chunks_matches_one_chunk():
    from rbmlib.evaluate import _exact_log_z

    rbm = random_rbm(9, 11, seed=1)
    assert _exact_log_z(rbm, chunk=7) == pytest.approx(_exact_log_z(rbm, chunk=1 << 20), abs=1e-10)


def test_exact_refuses_large_models():
    with pytest.raises(ValueError, match="refusing beyond 25"):
        log_partition(RBM(30, 26), "exact")


def test_exact_log_probs_and_log_likelihood():
    rbm = random_rbm()
    V, ref = brute_log_p(rbm)
    states, log_p = exact_log_probs(rbm)
    d1 = {tuple(s): lp for s, lp in zip(states, log_p, strict=True)}
    for s, lp in zip(V, ref, strict=True):
        assert d1[tuple(s)] == pytest.approx(lp, abs=1e-10)
    assert np.exp(log_p).sum() == pytest.approx(1.0, abs=1e-12)
    v = V[[1, 5, 9]]
    assert log_likelihood(rbm, v, log_partition(rbm)) == pytest.approx(ref[[1, 5, 9]].mean(), abs=1e-10)


def test_gradient_matches_finite_differences():
    rbm = random_rbm(6, 4, seed=7)
    rng = np.random.default_rng(0)
    v = (rng.random((10, 6)) < 0.4).astype(float)
    grad = log_likelihood_gradient(rbm, v)

    def ll(m):
        return log_likelihood(m, v, log_partition(m, "exact"))

    eps = 1e-5
    for name in "Wab":
        param = getattr(rbm, name)
        num = np.zeros_like(param)
        for idx in np.ndindex(param.shape):
            old = param[idx]
            param[idx] = old + eps
            up = ll(rbm)
            param[idx] = old - eps
            down = ll(rbm)
            param[idx] = old
            num[idx] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grad[name], num, atol=1e-7, err_msg=name)


def test_beta_schedule():
    betas = beta_schedule(14500)
    assert betas[0] == 0 and betas[-1] == 1 and len(betas) == 14501
    assert np.all(np.diff(betas) > 0)
    with pytest.raises(ValueError, match="n_betas"):
        beta_schedule(3)


def test_ais_and_reverse_ais_bracket_exact_log_z():
    rbm = random_rbm(10, 6, scale=1.5, seed=11)
    exact = log_partition(rbm, "exact").log_z
    fwd = log_partition(rbm, "ais", n_betas=3000, n_runs=400, rng=0)
    # exact model samples for the reverse chains
    states, log_p = exact_log_probs(rbm)
    rng = np.random.default_rng(1)
    samples = states[rng.choice(len(states), size=400, p=np.exp(log_p))]
    rev = log_partition(rbm, "reverse_ais", samples=samples, n_betas=3000, rng=2)
    assert fwd.method == "ais" and rev.method == "reverse_ais"
    assert abs(fwd.log_z - exact) < 0.05 and abs(rev.log_z - exact) < 0.05
    assert fwd.low <= exact <= rev.high
    assert min(fwd.low, rev.low) <= exact <= max(fwd.high, rev.high)
    assert 0 < fwd.stderr < 0.05


def test_ais_detects_a_wrong_model():
    """AIS for one model is far from another model's exact log Z: the check has power."""
    rbm = random_rbm(10, 6, scale=1.5, seed=11)
    other = random_rbm(10, 6, scale=1.5, seed=12)
    est = log_partition(rbm, "ais", n_betas=1000, n_runs=100, rng=0).log_z
    assert abs(est - log_partition(other, "exact").log_z) > 0.5


def test_ais_same_seed_same_result():
    rbm = random_rbm(8, 5, seed=3)
    a = log_partition(rbm, "ais", n_betas=500, n_runs=20, rng=4)
    b = log_partition(rbm, "ais", n_betas=500, n_runs=20, rng=4)
    assert a.log_z == b.log_z


def test_log_partition_bad_args():
    rbm = random_rbm()
    with pytest.raises(ValueError, match="method"):
        log_partition(rbm, "magic")
    with pytest.raises(ValueError, match="n_runs"):
        log_partition(rbm, "ais", n_runs=1)
    with pytest.raises(TypeError, match="RBM"):
        log_partition("model")
    with pytest.raises(ValueError, match="binary"):
        log_partition(rbm, "reverse_ais", samples=np.full((4, 6), 0.5), n_betas=100)
    with pytest.raises(ValueError, match="finite"):
        log_likelihood(rbm, np.zeros((1, 6)), float("nan"))


def test_reconstruction_error_zero_for_a_deterministic_identity():
    rbm = RBM(4, 4, dtype=np.float64)
    rbm.W = np.eye(4) * 40  # with the biases at -20, h_j copies v_j and v_i copies h_i
    rbm.a = np.full(4, -20.0)
    rbm.b = np.full(4, -20.0)
    v = all_states(4)
    assert reconstruction_error(rbm, v, rng=0) < 1e-12
    assert reconstruction_error(RBM(4, 4, rng=0, dtype=np.float64), v, rng=0) == pytest.approx(1.0, abs=0.05)


@pytest.mark.slow
def test_ais_within_a_tenth_of_a_nat_on_an_mnist_model(mnist):
    """AIS on an MNIST-trained 15-hidden-unit model lands within 0.1 nats of exact log Z."""
    images = mnist[0][:20000]
    rbm = RBM(784, 15, rng=0)
    fit(rbm, images, epochs=2, rng=0, progress=False)
    exact = log_partition(rbm, "exact").log_z
    est = log_partition(rbm, "ais", data=images, n_betas=14500, n_runs=100, rng=1)
    assert abs(est.log_z - exact) < 0.1, (est, exact)


@pytest.mark.parametrize("start", ["pt", "gibbs"])
def test_reverse_ais_default_paths(start):
    """Without ``samples``, reverse AIS starts from the equilibrium sampler (PT) or from Gibbs chains
    started at binarised data rows; both are model samples here and the estimate lands on the exact log Z."""
    rbm = random_rbm(10, 6, scale=1.0, seed=11)
    exact = log_partition(rbm, "exact").log_z
    data = np.random.default_rng(0).integers(0, 256, size=(300, 10), dtype=np.uint8)
    rev = log_partition(rbm, "reverse_ais", data=data, n_runs=400, n_betas=2000, steps=100, reverse_start=start, rng=3)
    assert rev.method == "reverse_ais" and abs(rev.log_z - exact) < 0.05
    assert rev.low <= exact <= rev.high


def test_evaluate_model_ais_branch(monkeypatch):
    """Above MAX_EXACT_UNITS evaluate_model estimates log Z by AIS and reverse AIS (here on a model
    small enough to check against the exact value)."""
    import rbmlib.evaluate as ev
    from rbmlib.data import binarize_fixed

    rbm = random_rbm(12, 8, scale=0.8, seed=4)
    rng = np.random.default_rng(5)
    test, train = (rng.integers(0, 256, size=(n, 12), dtype=np.uint8) for n in (200, 500))
    exact = ev.evaluate_model(rbm, test)
    assert exact["log_z"]["method"] == "exact"
    monkeypatch.setattr(ev, "MAX_EXACT_UNITS", 4)
    out = ev.evaluate_model(rbm, test, train, rng=0, ais_runs=200, ais_betas=2000, ais_seeds=3, reverse=True)
    assert out["log_z"]["method"] == "ais" and out["reverse_ais"]["method"] == "reverse_ais"
    assert out["reverse_ais_consistent"]
    assert abs(out["log_z"]["log_z"] - exact["log_z"]["log_z"]) < 0.05
    assert abs(out["test_log_likelihood"] - exact["test_log_likelihood"]) < 0.05
    assert abs(out["test_log_likelihood_pessimistic"] - exact["test_log_likelihood"]) < 0.1
    lo, hi = out["test_log_likelihood_interval"]
    assert lo <= exact["test_log_likelihood"] <= hi
    assert len(out["ais_seeds"]["log_z"]) == 3 and 0 < out["ais_seeds"]["spread"] < 0.1
    ll = -rbm.free_energy(binarize_fixed(test)).mean() - exact["log_z"]["log_z"]
    assert exact["test_log_likelihood"] == pytest.approx(ll)


def test_reverse_ais_consistency_rule():
    """Reverse AIS may lie above forward AIS (both are then bounds in expectation) or below it
    by sampling noise; far below, its starts were not model samples."""
    from rbmlib.evaluate import LogZ, reverse_ais_consistent

    fwd = LogZ(log_z=100.0, stderr=0.3, method="ais")
    assert reverse_ais_consistent(fwd, LogZ(log_z=101.0, stderr=0.4, method="reverse_ais"))
    assert reverse_ais_consistent(fwd, LogZ(log_z=99.0, stderr=0.4, method="reverse_ais"))  # 2 sigma below
    assert not reverse_ais_consistent(fwd, LogZ(log_z=98.0, stderr=0.4, method="reverse_ais"))  # 4 sigma below
    assert not reverse_ais_consistent(fwd, LogZ(log_z=99.0, stderr=0.4, method="reverse_ais"), n_sigma=1.0)


def test_ais_base_is_an_array_and_any_covering_base_works():
    """``base`` is the base model's visible biases; AIS lands on the exact log Z from a uniform base and
    from base_biases' default, and refuses a base of the wrong shape."""
    from rbmlib.sampling import base_biases

    rbm = random_rbm(10, 6, scale=1.0, seed=2)
    exact = log_partition(rbm, "exact").log_z
    data = np.random.default_rng(0).integers(0, 256, size=(300, 10), dtype=np.uint8)
    for base in (np.zeros(10), base_biases(rbm, data, rng=1), base_biases(rbm, kind="model", rng=1)):
        est = log_partition(rbm, "ais", base=base, n_betas=2000, n_runs=200, rng=4)
        assert abs(est.log_z - exact) < 0.05, (est.log_z, exact)
    with pytest.raises(ValueError, match="base must be finite visible biases"):
        log_partition(rbm, "ais", base=np.zeros(9))
    with pytest.raises(ValueError, match="kind must be one of"):
        base_biases(rbm, data, kind="magic")
