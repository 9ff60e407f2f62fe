r"""The training loop: CD-k or PCD-k over epochs of freshly binarised minibatches.

CD-k estimates the model term of the gradient from a k-step Gibbs chain started at
the data; PCD-k keeps ``n_chains`` chains running across updates (Tieleman, 2008).
Optional extras, all off by default so the defaults are the assignment's plain CD-1:
momentum, L2 weight decay, a learning-rate schedule, visible biases set from the data
marginals, and *centering* (Montavon & Müller, 2012; Melchior et al., 2016), which
follows the gradient of the reparametrised energy
:math:`-(v-\mu)^\top W (h-\lambda) - a_c^\top v - b_c^\top h` with :math:`\mu` the data
mean and :math:`\lambda` a running mean of the hidden activations. The model itself is
always stored in the standard parametrisation. The update itself is in
:mod:`rbmlib.train.updates`, the resumable state in :mod:`rbmlib.train.state`.

The updates run on rbmlib's fused engine: the same seed gives the same parameters on
one thread or two, and however a run is cut into epochs, checkpoints and resumptions.
"""

from __future__ import annotations

import contextlib
import math
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from .._fast import key_from
from ..data import as_images, binarize
from ..evaluate import reconstruction_error
from ..model import RBM
from ..rng import as_rng
from .state import TrainState
from .updates import Optimizer, Updater

__all__ = ["fit", "TrainingDiverged", "lr_factor", "LR_SCHEDULES"]

#: Named learning-rate schedules: multiplier of ``lr`` at ``progress`` in [0, 1) of the run.
LR_SCHEDULES = {
    "constant": lambda progress: 1.0,
    "linear": lambda progress: max(1.0 - progress, 0.0),
    "cosine": lambda progress: 0.5 * (1.0 + math.cos(math.pi * progress)),
}


class TrainingDiverged(FloatingPointError):
    """The parameters became NaN or infinite during training."""


def lr_factor(schedule, progress: float) -> float:
    """Learning-rate multiplier of ``schedule`` (None, a name in :data:`LR_SCHEDULES` or a callable)."""
    if schedule is None:
        return 1.0
    if callable(schedule):
        return float(schedule(progress))
    if schedule in LR_SCHEDULES:
        return LR_SCHEDULES[schedule](progress)
    raise ValueError(f"lr_schedule must be None, one of {', '.join(LR_SCHEDULES)} or a callable, got {schedule!r}")


def _check_settings(rbm, method, epochs, batch_size, k, lr, momentum, weight_decay, lr_schedule, resume, checkpoint):
    if not isinstance(rbm, RBM):
        raise TypeError(f"rbm must be an RBM, got {type(rbm).__name__}")
    if method not in ("cd", "pcd"):
        raise ValueError(f"method must be 'cd' or 'pcd', got {method!r}")
    for name, val in (("epochs", epochs), ("batch_size", batch_size), ("k", k)):
        if not isinstance(val, (int, np.integer)) or isinstance(val, bool) or val < 1:
            raise ValueError(f"{name} must be a positive integer, got {val!r}")
    for name, val in (("lr", lr), ("momentum", momentum), ("weight_decay", weight_decay)):
        if not isinstance(val, (int, float)) or not math.isfinite(val) or val < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {val!r}")
    if lr == 0:
        raise ValueError("lr must be > 0")
    if momentum >= 1:
        raise ValueError(f"momentum must be < 1, got {momentum}")
    lr_factor(lr_schedule, 0.0)
    if resume and checkpoint is None:
        raise ValueError("resume=True needs a checkpoint path")


def _monitor(rbm: RBM, v_train, v_held, rng) -> dict:
    """Reconstruction error and the free-energy gap on fixed monitor sets.

    Its products run on one BLAS thread: idle BLAS workers keep spinning for about 0.1 s
    after a multi-threaded product and would slow the next epoch's first chunk (a
    10-hidden-unit epoch took 0.39 s instead of 0.17 s right after one).
    """
    with np.errstate(over="ignore", invalid="ignore"), threadpool_limits(limits=1, user_api="blas"):
        row = {
            "recon_error": reconstruction_error(rbm, v_train, rng=rng),
            "fe_train": float(rbm.free_energy(v_train).mean()),
        }
        if v_held is not None:
            row["fe_held_out"] = float(rbm.free_energy(v_held).mean())
            row["fe_gap"] = row["fe_held_out"] - row["fe_train"]
    return row


def _diverged(epoch: int, what: str, lr) -> TrainingDiverged:
    return TrainingDiverged(
        f"training diverged in epoch {epoch + 1}: {what} became NaN or infinite "
        f"(lr={lr}); the model keeps the last completed epoch. Try a smaller lr."
    )


def fit(
    rbm: RBM,
    images,
    *,
    epochs: int,
    lr: float = 0.1,
    batch_size: int = 64,
    method: str = "cd",
    k: int = 1,
    n_chains: int | None = None,
    rng=None,
    momentum: float = 0.0,
    weight_decay: float = 0.0,
    lr_schedule=None,
    init_visible_bias: bool = False,
    centering: bool = False,
    held_out=None,
    monitor_size: int = 1000,
    checkpoint=None,
    resume: bool = False,
    progress: bool = True,
    callback=None,
):
    r"""Train ``rbm`` in place with CD-k or PCD-k on stochastically binarised images.

    Every time an image is used it is binarised afresh: a pixel of intensity
    :math:`p` becomes 1 with probability :math:`p`. The data are shuffled every epoch.

    Parameters
    ----------
    rbm : RBM
        The model to train; updated in place and returned.
    images : array_like, shape (N, n_visible)
        ``uint8`` intensities (scaled by 1/255) or floats in [0, 1].
    epochs : int
        Total number of epochs (with ``resume``, including those already done).
    lr : float
        Learning rate (the assignment's :math:`\eta = 0.1`).
    batch_size : int
        Minibatch size (the assignment's :math:`M = 64`); also the number of
        persistent chains for PCD.
    method : {"cd", "pcd"}
    k : int
        Gibbs steps per update.
    n_chains : int, optional
        PCD only: the number of persistent chains (default ``batch_size``). The
        negative phase averages over all of them, the positive phase over the
        minibatch; more chains give a less noisy estimate of the model's expectation.
    rng : None, int or numpy.random.Generator
        Source of all randomness; the same seed gives bit-identical parameters, on any
        number of threads.
    momentum : float
        Momentum coefficient (0 = plain SGD).
    weight_decay : float
        L2 penalty :math:`\tfrac{\text{weight\_decay}}{2}\lVert W\rVert^2` on the weights.
    lr_schedule : None, "constant", "linear", "cosine" or callable
        Multiplier of ``lr`` as a function of the fraction of training done.
    init_visible_bias : bool
        Set :math:`a_i = \log(\bar p_i / (1-\bar p_i))` from the pixel means first.
    centering : bool
        Use the centred gradient (offsets: data mean and running hidden mean).
    held_out : array_like, optional
        Images never trained on; the free energy gap between ``monitor_size``
        training images and these is Hinton's overfitting monitor.
    monitor_size : int
        Images in each fixed monitor set.
    checkpoint : path, optional
        Written atomically after every epoch; a valid model file that also holds
        the training state.
    resume : bool
        Continue from ``checkpoint`` if it exists.
    progress : bool
        Show a ``tqdm.auto`` progress bar.
    callback : callable, optional
        ``callback(rbm, row) -> dict or None`` after each epoch; its entries are
        added to the history row (e.g. an exact log-likelihood).

    Returns
    -------
    rbm : RBM
    history : list of dict
        One row per epoch: ``epoch``, ``seconds`` (training time, monitoring
        excluded), ``lr``, ``recon_error``, ``fe_train``, ``fe_held_out``, ``fe_gap``
        and the callback's entries.

    Raises
    ------
    TrainingDiverged
        If a parameter becomes NaN or infinite; ``rbm`` keeps the last good epoch.
    KeyboardInterrupt
        Re-raised after restoring ``rbm`` to the last completed epoch.
    """
    _check_settings(rbm, method, epochs, batch_size, k, lr, momentum, weight_decay, lr_schedule, resume, checkpoint)
    if n_chains is not None:
        if method != "pcd":
            raise ValueError("n_chains is for method='pcd' (CD starts one chain at each image of the minibatch)")
        if not isinstance(n_chains, (int, np.integer)) or isinstance(n_chains, bool) or n_chains < 1:
            raise ValueError(f"n_chains must be a positive integer, got {n_chains!r}")
    x = as_images(images, rbm.n_visible, keep_uint8=True)
    for name in "Wab":  # the engine updates the parameters in place
        arr = getattr(rbm, name)
        if not (arr.flags.c_contiguous and arr.flags.writeable):
            setattr(rbm, name, np.array(arr, order="C"))
    n, B, nh, dt = x.shape[0], int(batch_size), rbm.n_hidden, rbm.dtype
    C = B if n_chains is None else int(n_chains)
    if B > n:
        raise ValueError(f"batch_size ({B}) is larger than the number of images ({n})")
    rng = as_rng(rng)
    mon_rng = np.random.default_rng(rng.integers(2**63))
    key = key_from(rng)
    config = dict(
        n_visible=rbm.n_visible,
        n_hidden=nh,
        epochs=int(epochs),
        lr=lr,
        batch_size=B,
        method=method,
        k=int(k),
        n_chains=C if method == "pcd" else None,
        momentum=momentum,
        weight_decay=weight_decay,
        lr_schedule=lr_schedule if isinstance(lr_schedule, (str, type(None))) else "callable",
        init_visible_bias=init_visible_bias,
        centering=centering,
        n_images=n,
        dtype=dt.name,
    )
    pixel_means = as_images(x, rbm.n_visible).mean(axis=0, dtype=np.float64) if init_visible_bias or centering else None

    # Fixed monitor sets, binarised once.
    v_mon = binarize(x[mon_rng.choice(n, size=min(monitor_size, n), replace=False)], mon_rng).astype(dt)
    v_held = None
    if held_out is not None:
        held = as_images(held_out, rbm.n_visible, name="held_out", keep_uint8=True)
        v_held = binarize(held[:monitor_size], mon_rng).astype(dt)

    opt = Optimizer(
        momentum=momentum,
        weight_decay=weight_decay,
        mu=pixel_means.astype(dt) if centering else None,
        lam=np.full(nh, 0.5, dtype=dt) if centering else None,
        velocity={k_: np.zeros_like(getattr(rbm, k_)) for k_ in "Wab"} if momentum else None,
    )
    state = TrainState(config, rng, mon_rng, key, opt, chains=np.zeros((C, nh), dtype=dt) if method == "pcd" else None)
    ckpt = Path(checkpoint) if checkpoint is not None else None
    if resume and ckpt.exists():
        state.restore(ckpt, rbm)
    else:
        if init_visible_bias:
            p = np.clip(pixel_means, 1e-3, 1 - 1e-3)
            rbm.a[:] = np.log(p / (1 - p))
        if method == "pcd":
            state.chains[:] = rng.random((C, nh), dtype=dt) < 0.5

    images_c = np.ascontiguousarray(x, dtype=np.uint8 if x.dtype == np.uint8 else np.float32)
    updater = Updater(rbm, batch_size=B, k=int(k), opt=state.opt, key=state.key, chains=state.chains)
    n_batches = n // B  # the last partial batch is dropped
    good = (rbm.W.copy(), rbm.a.copy(), rbm.b.copy())
    start_epoch = len(state.history)
    bar = (
        tqdm(total=(epochs - start_epoch) * n_batches, desc="training", unit="batch", leave=True) if progress else None
    )
    with contextlib.ExitStack() as stack:
        if bar is not None:
            stack.callback(bar.close)
        try:
            for epoch in range(start_epoch, epochs):
                t0 = time.perf_counter()
                perm = rng.permutation(n)
                lrs = [lr * lr_factor(lr_schedule, (epoch + i / n_batches) / epochs) for i in range(n_batches)]
                updater.run(images_c, perm, lrs, epoch * n_batches, done=bar.update if bar is not None else None)
                lr_now = lrs[-1]
                if not all(np.isfinite(p).all() for p in (rbm.W, rbm.a, rbm.b)):
                    raise _diverged(epoch, "W, a or b", lr)
                row = {
                    "epoch": epoch + 1,
                    "seconds": time.perf_counter() - t0,
                    "lr": lr_now,
                    **_monitor(rbm, v_mon, v_held, mon_rng),
                }
                if not all(math.isfinite(v) for v in row.values()):
                    raise _diverged(epoch, "the free energy", lr)
                if callback is not None:
                    row.update(callback(rbm, row) or {})
                state.history.append(row)
                if bar is not None:
                    bar.set_postfix(recon=f"{row['recon_error']:.1f}", refresh=False)
                good = (rbm.W.copy(), rbm.a.copy(), rbm.b.copy())
                rbm.metadata.update(config=config, history=state.history)
                if ckpt is not None:
                    state.save(ckpt, rbm)
        except TrainingDiverged:
            rbm.W[:], rbm.a[:], rbm.b[:] = good
            raise
        except KeyboardInterrupt:
            rbm.W[:], rbm.a[:], rbm.b[:] = good
            rbm.metadata.update(config=config, history=state.history, interrupted=True)
            raise
    rbm.metadata.update(config=config, history=state.history)
    rbm.metadata.pop("interrupted", None)
    return rbm, state.history
