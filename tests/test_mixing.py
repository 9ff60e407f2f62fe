import numpy as np
import pytest

from rbmlib.metrics.mixing import integrated_time, label_change_rate, mixing_report


def _ar1(phi, n=20000, chains=20, seed=0):
    rng = np.random.default_rng(seed)
    x = np.zeros((n, chains))
    noise = rng.standard_normal((n, chains))
    for t in range(1, n):
        x[t] = phi * x[t - 1] + noise[t]
    return x


@pytest.mark.parametrize("phi", [0.0, 0.5, 0.9])
def test_integrated_time_of_an_ar1_process(phi):
    """tau = (1 + phi) / (1 - phi) for x_t = phi x_{t-1} + noise."""
    assert integrated_time(_ar1(phi))[0] == pytest.approx((1 + phi) / (1 - phi), rel=0.1)


def test_agrees_with_emcee_where_emcee_is_defined():
    from emcee.autocorr import integrated_time as emcee_tau

    x = _ar1(0.8, n=5000, chains=10, seed=3)
    assert integrated_time(x)[0] == pytest.approx(emcee_tau(x[:, :, None], quiet=True)[0], rel=0.05)


def test_label_change_rate_and_report():
    labels = np.array([[0, 1], [0, 1], [2, 1], [2, 1]])  # chain 0 changes once in 3 gaps
    assert label_change_rate(labels, sweeps_between=10) == pytest.approx(1 / 6 * 100)
    rng = np.random.default_rng(1)
    iid = rng.integers(0, 10, size=(400, 30))
    energy = rng.standard_normal((4000, 30))
    rep = mixing_report(iid, np.arange(1, 401) * 10, energy, burn_in=0)
    assert rep["tau_label"] == pytest.approx(10, rel=0.2)  # independent records, 10 sweeps apart
    assert rep["tau_energy"] == pytest.approx(1, rel=0.2)
    assert rep["ess_energy"] == pytest.approx(30 * 4000, rel=0.2)
    assert rep["label_changes_per_1000"] == pytest.approx(90, rel=0.1)
    with pytest.raises(ValueError, match="n_steps"):
        integrated_time(np.zeros(5))


def test_stuck_chains_count_as_slow_mixing():
    """Chains that never change but differ from each other have a long autocorrelation time, not NaN."""
    rng = np.random.default_rng(2)
    stuck = np.repeat(rng.integers(0, 2, size=(1, 40)), 500, axis=0).astype(float)
    moving = _ar1(0.5, n=500, chains=40)
    tau = integrated_time(np.dstack([stuck + 0.01 * moving, moving]))
    assert tau[0] > 50 and tau[1] == pytest.approx(3, rel=0.2)


def test_split_rhat_is_one_at_equilibrium_and_flags_chains_that_disagree():
    from rbmlib.metrics.mixing import split_rhat

    rng = np.random.default_rng(0)
    same = rng.standard_normal((500, 40))
    assert abs(split_rhat(same) - 1) < 0.01
    apart = same + np.repeat([0.0, 1.0], 20)  # two groups of chains around different values
    assert split_rhat(apart) > 1.1
    drift = same + np.linspace(0, 2, 500)[:, None]  # every chain still moving: its halves disagree
    assert split_rhat(drift) > 1.1
    with pytest.raises(ValueError, match="n_records >= 4"):
        split_rhat(np.zeros((3, 5)))
