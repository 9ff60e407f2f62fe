"""``python -m rbmlib evaluate`` reports the cheap discrimination numbers in its JSON."""

import json

import numpy as np
import pytest

from rbmlib import RBM
from rbmlib.cli import CLI_DISCRIMINATION, main
from rbmlib.sampling import independent_pixel_biases


@pytest.mark.slow
def test_evaluate_reports_discrimination(tmp_path, capsys, mnist):
    rbm = RBM(784, 5, rng=0)
    rbm.a = independent_pixel_biases(mnist[0]).astype(np.float32)  # the pixel means, no weights to speak of
    path = rbm.save(tmp_path / "m.npz")
    assert main(["evaluate", "--model", str(path)]) == 0
    report = json.loads(capsys.readouterr().out)
    d = report["discrimination"]
    assert d["n_per_set"] == CLI_DISCRIMINATION["n_per_set"]
    assert set(d["auroc"]) == set(CLI_DISCRIMINATION["scores"])
    for score, by_set in d["auroc"].items():
        assert set(by_set) == {"uniform noise", "density noise", "letters"}
        assert all(0 <= a <= 1 for a in by_set.values())
        for test in ("two-sided", "one-sided"):
            rates = d["batch_of_5_rejected"][score][test]
            assert set(rates) == {"digits", "uniform noise", "density noise", "letters"}
            assert 0.0 < rates["digits"] < 0.12  # calibrated on the other half of the test digits
    # even the independent-pixel model (the visible biases at the pixel means) rejects uniform noise
    assert d["auroc"]["log_likelihood"]["uniform noise"] > 0.99
    assert main(["evaluate", "--model", str(path), "--no-discrimination"]) == 0
    assert "discrimination" not in json.loads(capsys.readouterr().out)
