"""One update step of rbmlib.train against the same step computed by hand.

apply_gradient runs the fused engine's step code (the one every training batch runs) on
phases given here, so these hand-computed steps check the engine's algebra.
"""

import numpy as np
import pytest
from helpers_exact import random_rbm

from rbmlib import RBM, fit
from rbmlib.train import Optimizer, apply_gradient, lr_factor

B, NV, NH, LR = 5, 7, 3, 0.1


@pytest.fixture
def phases():
    rng = np.random.default_rng(0)
    return (
        (rng.random((B, NV)) < 0.5).astype(float),
        (rng.random((B, NV)) < 0.5).astype(float),
        rng.random((B, NH)),
        rng.random((B, NH)),
    )


def _step(rbm, phases, opt, lr=LR):
    before = {k: getattr(rbm, k).copy() for k in "Wab"}
    apply_gradient(rbm, *phases, lr, opt)
    return {k: getattr(rbm, k) - before[k] for k in "Wab"}


def _sgd(rbm, phases, lr=LR, decay=0.0):
    v_d, v_m, h_d, h_m = phases
    return {
        "W": lr / B * (v_d.T @ h_d - v_m.T @ h_m) - lr * decay * rbm.W,
        "a": lr / B * (v_d.sum(0) - v_m.sum(0)),
        "b": lr / B * (h_d.sum(0) - h_m.sum(0)),
    }


def test_plain_step_with_weight_decay(phases):
    rbm = random_rbm(NV, NH, seed=1)
    expect = _sgd(rbm, phases, decay=0.01)
    got = _step(rbm, phases, Optimizer.create(NV, NH, rbm.dtype, weight_decay=0.01))
    for k in "Wab":
        np.testing.assert_allclose(got[k], expect[k], atol=1e-12, err_msg=k)


def test_momentum_carries_the_previous_step(phases):
    rbm = random_rbm(NV, NH, seed=1)
    opt = Optimizer.create(NV, NH, rbm.dtype, momentum=0.9)
    first_expect = _sgd(rbm, phases)
    first = _step(rbm, phases, opt)
    second_grad = _sgd(rbm, phases)  # W changed, but without decay the gradient does not depend on it
    second = _step(rbm, phases, opt)
    for k in "Wab":
        np.testing.assert_allclose(first[k], first_expect[k], atol=1e-12)
        np.testing.assert_allclose(second[k], 0.9 * first[k] + second_grad[k], atol=1e-12)


def test_centred_step_and_running_mean(phases):
    v_d, v_m, h_d, h_m = phases
    rbm = random_rbm(NV, NH, seed=2)
    mu, lam = np.linspace(0.1, 0.9, NV), np.full(NH, 0.4)
    opt = Optimizer.create(NV, NH, rbm.dtype, mu=mu, lam=lam)
    dW = LR / B * ((v_d - mu).T @ (h_d - lam) - (v_m - mu).T @ (h_m - lam))
    expect = {
        "W": dW,
        "a": LR / B * (v_d.sum(0) - v_m.sum(0)) - dW @ lam,
        "b": LR / B * (h_d.sum(0) - h_m.sum(0)) - mu @ dW,
    }
    got = _step(rbm, phases, opt)
    for k in "Wab":
        np.testing.assert_allclose(got[k], expect[k], atol=1e-12, err_msg=k)
    np.testing.assert_allclose(opt.lam, lam + 0.01 * (h_d.mean(0) - lam), atol=1e-12)


@pytest.mark.parametrize(
    "schedule, progress, factor",
    [
        (None, 0.7, 1.0),
        ("constant", 0.7, 1.0),
        ("linear", 0.25, 0.75),
        ("linear", 1.5, 0.0),
        ("cosine", 0.0, 1.0),
        ("cosine", 0.5, 0.5),
        ("cosine", 1.0, 0.0),
        (lambda p: 2 * p, 0.3, 0.6),
    ],
)
def test_lr_schedules(schedule, progress, factor):
    assert lr_factor(schedule, progress) == pytest.approx(factor)


def test_fit_applies_the_schedule_per_batch():
    """History records the rate of each epoch's last batch: lr * (1 - (epoch + (n-1)/n) / epochs)."""
    data = (np.random.default_rng(0).random((40, 6)) < 0.5).astype(np.float32)
    hist = fit(RBM(6, 2, rng=0), data, epochs=2, lr=0.2, batch_size=4, lr_schedule="linear", rng=0, progress=False)
    assert [r["lr"] for r in hist] == pytest.approx([0.2 * (1 - 0.9 / 2), 0.2 * (1 - 1.9 / 2)])


@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_centred_step_with_more_chains_than_data_rows_decay_and_momentum(momentum):
    """B = 5 data rows, C = 9 model rows: each phase is averaged over its own rows."""
    rng = np.random.default_rng(3)
    C = 9
    v_d, v_m = (rng.random((B, NV)) < 0.5).astype(float), (rng.random((C, NV)) < 0.5).astype(float)
    h_d, h_m = rng.random((B, NH)), rng.random((C, NH))
    rbm = random_rbm(NV, NH, seed=4)
    W0 = rbm.W.copy()
    mu, lam, decay = np.linspace(0.2, 0.7, NV), np.full(NH, 0.3), 0.02
    vel = {"W": np.full((NV, NH), 0.01), "a": np.full(NV, -0.02), "b": np.full(NH, 0.03)}
    opt = Optimizer.create(NV, NH, rbm.dtype, momentum=momentum, weight_decay=decay, mu=mu, lam=lam, velocity=vel)
    grad_W = LR * ((v_d - mu).T @ (h_d - lam) / B - (v_m - mu).T @ (h_m - lam) / C) - LR * decay * W0
    grad_a = LR * (v_d.sum(0) / B - v_m.sum(0) / C)
    grad_b = LR * (h_d.sum(0) / B - h_m.sum(0) / C)
    if momentum:
        grad_W, grad_a, grad_b = (momentum * vel[k] + g for k, g in zip("Wab", (grad_W, grad_a, grad_b), strict=True))
    expect = {"W": grad_W, "a": grad_a - grad_W @ lam, "b": grad_b - mu @ grad_W}
    got = _step(rbm, (v_d, v_m, h_d, h_m), opt)
    for k in "Wab":
        np.testing.assert_allclose(got[k], expect[k], atol=1e-12, err_msg=k)
    if momentum:
        np.testing.assert_allclose(opt.vel_W, grad_W, atol=1e-12)
    np.testing.assert_allclose(opt.lam, lam + 0.01 * (h_d.mean(0) - lam), atol=1e-12)


def test_optimizer_record_checks_its_offsets():
    with pytest.raises(ValueError, match="both offsets"):
        Optimizer.create(NV, NH, np.float64, mu=np.zeros(NV))
    with pytest.raises(ValueError, match="shape"):
        Optimizer.create(NV, NH, np.float64, mu=np.zeros(NV + 1), lam=np.zeros(NH))
    opt = Optimizer.create(NV, NH, np.float32, momentum=0.5, mu=np.zeros(NV), lam=np.full(NH, 0.5))
    assert opt.centering and opt.vel_W.shape == (NV, NH) and opt.lam.dtype == np.float32
    assert not Optimizer.create(NV, NH, np.float32).centering
