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
