import json
import subprocess
import sys

import numpy as np
import pytest

from rbmlib import RBM, fit, sample
from rbmlib.cli import main
from rbmlib.validation import MemoryRequestError


def _run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_train_sample_evaluate(tmp_path, capsys, mnist):
    model = tmp_path / "m.npz"
    code, out, err = _run(capsys, "train", "--hidden", "10", "--epochs", "1", "--no-progress", "--out", str(model))
    assert code == 0, err
    assert json.loads(out)["epochs"] == 1
    rbm = RBM.load(model)
    assert rbm.n_hidden == 10 and rbm.metadata["config"]["lr"] == 0.1
    assert rbm.metadata["config"]["batch_size"] == 64 and rbm.metadata["config"]["method"] == "cd"

    code, out, err = _run(capsys, "evaluate", "--model", str(model))
    assert code == 0, err
    report = json.loads(out)
    assert report["log_z"]["method"] == "exact" and report["n_test"] == 10000
    # a 10-unit CD-1 model after one epoch is far better than uniform (-543 nats) but far from good
    assert -400 < report["test_log_likelihood"] < -120

    samples = tmp_path / "s.npz"
    code, out, err = _run(capsys, "sample", "--model", str(model), "--n", "7", "--steps", "3", "--out", str(samples))
    assert code == 0, err
    with np.load(samples) as z:
        assert z["v"].shape == z["p"].shape == (7, 784) and z["v"].dtype == bool
        assert np.all((z["p"] >= 0) & (z["p"] <= 1))

    code, out, err = _run(
        capsys, "sample", "--model", str(model), "--n", "5", "--steps", "4", "--method", "pt", "--out", str(samples)
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["method"] == "pt" and report["replicas"] >= 2 and 0 <= report["swap_acceptance_min"] <= 1
    with np.load(samples) as z:
        assert z["v"].shape == (5, 784)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--hidden", "0", "--out", "x.npz"], "expected a positive integer"),
        (["train", "--method", "sgd", "--out", "x.npz"], "invalid choice"),
        (["train", "--hidden", "3"], "required: --out"),
        (["train", "--lr", "-1", "--out", "x.npz"], "finite number >= 0"),
        (["evaluate"], "required: --model"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(capsys, argv, message):
    code, out, err = _run(capsys, *argv)
    assert code == 2
    assert message in err and err.count("\n") == 1 and err.startswith("rbmlib: error:")


def test_file_errors_exit_2_with_one_line(tmp_path, capsys):
    code, _, err = _run(capsys, "evaluate", "--model", str(tmp_path / "missing.npz"))
    assert code == 2 and "model file not found" in err and err.count("\n") == 1
    bad = tmp_path / "bad.npz"
    bad.write_text("garbage")
    code, _, err = _run(capsys, "sample", "--model", str(bad), "--out", str(tmp_path / "s.npz"))
    assert code == 2 and "not a valid .npz" in err and err.count("\n") == 1
    small = RBM(5, 2, rng=0).save(tmp_path / "small.npz")
    code, _, err = _run(capsys, "evaluate", "--model", str(small))
    assert code == 2 and "784" in err


def test_a_request_too_large_for_memory_exits_2_with_one_line(tmp_path, capsys):
    """``sample --n 100000000000`` would need tens of terabytes: a one-line error naming the size, not a
    MemoryError traceback; and the same from the library."""
    model = RBM(784, 10, rng=0).save(tmp_path / "m.npz")
    out = tmp_path / "s.npz"
    code, _, err = _run(
        capsys, "sample", "--model", str(model), "--n", "100000000000", "--steps", "10", "--out", str(out)
    )
    assert code == 2 and err.count("\n") == 1 and not out.exists()
    assert "100000000000 chains of 784 units with their snapshots needs" in err and "TB" in err
    with pytest.raises(MemoryRequestError, match="needs .* TB; .* of memory is available"):
        sample(RBM(784, 10), 10**11, 10)
    with pytest.raises(MemoryRequestError, match="an update with 100000000000 chains needs"):
        fit(RBM(784, 10), np.zeros((10, 784), np.uint8), method="pcd", n_chains=10**11, batch_size=5, progress=False)


def test_resume_needs_checkpoint(tmp_path, capsys):
    code, _, err = _run(capsys, "train", "--resume", "--out", str(tmp_path / "m.npz"))
    assert code == 2 and "--resume needs --checkpoint" in err


@pytest.mark.parametrize("sub", [[], ["train"], ["sample"], ["evaluate"]])
def test_help(sub):
    res = subprocess.run([sys.executable, "-m", "rbmlib", *sub, "--help"], capture_output=True, text=True)
    assert res.returncode == 0 and "usage:" in res.stdout
