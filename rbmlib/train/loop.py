r"""The training loop: CD-k or PCD-k over epochs of freshly binarised minibatches.

CD-k estimates the model term of the gradient from a k-step Gibbs chain started at
the data; PCD-k keeps ``batch_size`` chains running across updates (Tieleman, 2008).
Optional extras, all off by default so the defaults are the assignment's plain CD-1:
momentum, L2 weight decay, a learning-rate schedule, visible biases set from the data
marginals, and *centering* (Montavon & Müller, 2012; Melchior et al., 2016), which
follows the gradient of the reparametrised energy
:math:`-(v-\mu)^\top W (h-\lambda) - a_c^\top v - b_c^\top h` with :math:`\mu` the data
mean and :math:`\lambda` a running mean of the hidden activations. The model itself is
always stored in the standard parametrisation. The update itself is in
:mod:`rbmlib.train.updates`, the resumable state in :mod:`rbmlib.train.state`.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from ..data import as_images, binarize, uint8_thresholds
from ..evaluate import reconstruction_error
from ..model import RBM
from ..rng import as_rng
from .state import TrainState
from .updates import Buffers, Optimizer, apply_gradient, cd_negative, pcd_negative, positive_phase

__all__ = ["fit", "TrainingDiverged", "lr_factor", "LR_SCHEDULES"]

#: Named learning-rate schedules: multiplier of ``lr`` at ``progress`` in [0, 1) of the run.
LR_SCHEDULES = {
    "constant": lambda progress: 1.0,
    "linear": lambda progress: max(1.0 - progress, 0.0),
    "cosine": lambda progress: 0.5 * (1.0 + math.cos(math.pi * progress)),
}

#: Up to this many hidden units, an epoch is dominated by random numbers and
#: elementwise work rather than by GEMMs: BLAS then runs on one thread and the random
#: numbers are drawn in a second thread (measured: 0.21 s instead of 0.34 s per epoch
#: at 10 hidden units on 2 cores). Above it, BLAS keeps all cores and a second busy
#: thread would only slow its GEMMs down.
PREFETCH_MAX_HIDDEN = 64


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


class _RandomNumbers:
    """All random numbers of an epoch's updates, drawn chunk by chunk in a fixed order.

    For small models the next chunk is drawn in a second thread while this one trains
    (numpy releases the GIL while it fills arrays). The draws happen in the same order
    either way, so results do not depend on timing or on the thread, and an epoch's
    draws are all done before its checkpoint records the generator's state.
    """

    def __init__(self, x, rng, batch_size, n_chains, k, n_hidden, dtype, prefetch: bool):
        self.x, self.rng, self.B, self.C, self.k, self.nh, self.dt = x, rng, batch_size, n_chains, k, n_hidden, dtype
        self.pool = ThreadPoolExecutor(max_workers=1) if prefetch else None

    def _draw(self, idx):
        nb, (C, k) = len(idx) // self.B, (self.C, self.k)
        u = (
            uint8_thresholds(idx.shape + self.x.shape[1:], self.rng)
            if self.x.dtype == np.uint8
            else self.rng.random((len(idx), self.x.shape[1]), dtype=np.float32)
        )
        return (
            self.x[idx],
            u,
            self.rng.random((nb, k, C, self.nh), dtype=self.dt),
            self.rng.random((nb, k, C, self.x.shape[1]), dtype=self.dt),
        )

    def epoch(self, perm, n_batches: int, chunk: int):
        """Yield ``(x, u, uh, uv)`` per batch: images, binarisation thresholds, hidden and visible uniforms."""
        starts = list(range(0, n_batches, chunk))
        B = self.B

        def submit(c0):
            idx = perm[c0 * B : min(c0 + chunk, n_batches) * B]
            return self.pool.submit(self._draw, idx) if self.pool else _Done(self._draw(idx))

        pending = submit(0)
        for j in range(len(starts)):
            xs, us, uhs, uvs = pending.result()
            if j + 1 < len(starts):
                pending = submit(starts[j + 1])
            for i in range(len(uhs)):
                yield xs[i * B : (i + 1) * B], us[i * B : (i + 1) * B], uhs[i], uvs[i]

    def close(self):
        if self.pool is not None:
            self.pool.shutdown(wait=True)


class _Done:
    """A finished stand-in for a Future (random numbers drawn inline)."""

    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


def _monitor(rbm: RBM, v_train, v_held, rng) -> dict:
    """Reconstruction error and the free-energy gap on fixed monitor sets."""
    with np.errstate(over="ignore", invalid="ignore"):
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
        Source of all randomness; the same seed gives bit-identical parameters.
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
    n, B, nh, dt = x.shape[0], int(batch_size), rbm.n_hidden, rbm.dtype
    C = B if n_chains is None else int(n_chains)
    if B > n:
        raise ValueError(f"batch_size ({B}) is larger than the number of images ({n})")
    rng = as_rng(rng)
    mon_rng = np.random.default_rng(rng.integers(2**63))
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
    state = TrainState(config, rng, mon_rng, opt, chains=np.zeros((C, nh), dtype=dt) if method == "pcd" else None)
    ckpt = Path(checkpoint) if checkpoint is not None else None
    if resume and ckpt.exists():
        state.restore(ckpt, rbm)
    else:
        if init_visible_bias:
            p = np.clip(pixel_means, 1e-3, 1 - 1e-3)
            rbm.a[:] = np.log(p / (1 - p))
        if method == "pcd":
            state.chains[:] = rng.random((C, nh), dtype=dt) < 0.5

    buf = Buffers(B, rbm.n_visible, nh, dt, n_chains=C)
    n_batches = n // B  # the last partial batch is dropped
    chunk = max(1, 1024 // B)  # batches whose random numbers are drawn together
    prefetch = nh <= PREFETCH_MAX_HIDDEN and (os.cpu_count() or 1) > 1
    numbers = _RandomNumbers(x, rng, B, C, k, nh, dt, prefetch)
    good = (rbm.W.copy(), rbm.a.copy(), rbm.b.copy())
    start_epoch = len(state.history)
    bar = (
        tqdm(total=(epochs - start_epoch) * n_batches, desc="training", unit="batch", leave=True) if progress else None
    )
    with contextlib.ExitStack() as stack:
        stack.callback(numbers.close)
        if bar is not None:
            stack.callback(bar.close)
        if prefetch:
            stack.enter_context(threadpool_limits(limits=1, user_api="blas"))
        try:
            for epoch in range(start_epoch, epochs):
                t0 = time.perf_counter()
                perm = rng.permutation(n)
                for i, (xb, ub, uh, uv) in enumerate(numbers.epoch(perm, n_batches, chunk)):
                    lr_now = lr * lr_factor(lr_schedule, (epoch + i / n_batches) / epochs)
                    np.less(ub, xb, out=buf.v_data, casting="unsafe")  # fresh binarisation
                    positive_phase(rbm, buf)
                    if method == "cd":
                        cd_negative(rbm, buf, uh, uv)
                    else:
                        pcd_negative(rbm, buf, state.chains, uh, uv)
                    apply_gradient(rbm, buf, lr_now, opt)
                    if bar is not None:
                        bar.update(1)
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
