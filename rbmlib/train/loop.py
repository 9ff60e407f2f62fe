r"""The training loop: CD-k or PCD-k over epochs of freshly binarised minibatches.

CD-k estimates the model term of the gradient from a k-step Gibbs chain started at the
data; PCD-k keeps ``n_chains`` chains running across updates (Tieleman, 2008). Optional
extras, all off by default so that the defaults are the assignment's plain CD-1: momentum,
L2 weight decay, a learning-rate schedule, visible biases set from the data marginals, and
*centering* (Montavon & Müller, 2012; Melchior et al., 2016), which follows the gradient of
the reparametrised energy :math:`-(v-\mu)^\top W (h-\lambda) - a_c^\top v - b_c^\top h` with
:math:`\mu` the data mean and :math:`\lambda` a running mean of the hidden activations. The
model itself is always stored in the standard parametrisation. The settings are a
:class:`~rbmlib.train.config.TrainConfig`; the step's algebra is :func:`rbmlib.train.apply_gradient`;
the resumable state is :class:`~rbmlib.train.state.TrainState`.

The updates run in the engine's training kernel: the same seed gives the same parameters on
one thread or two, and however a run is cut into epochs, checkpoints and resumptions.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from .. import _engine
from .._engine.records import Optimizer, Params
from ..data import as_images, binarize, random_bits
from ..evaluate import reconstruction_error
from ..model import RBM
from ..rng import as_rng
from ..validation import check_int, check_memory
from .config import TrainConfig, lr_factor
from .guard import TrainingDiverged, keep_last_good, pixel_means, progress_bar
from .recipes import Recipe
from .state import TrainState

__all__ = ["fit"]


def fit(
    rbm: RBM,
    images,
    config: TrainConfig | Recipe | None = None,
    *,
    rng=None,
    held_out=None,
    monitor_size: int = 1000,
    checkpoint=None,
    resume: bool = False,
    progress: bool = True,
    callback=None,
    **settings,
) -> list[dict]:
    r"""Train ``rbm`` in place with CD-k or PCD-k on stochastically binarised images.

    Every time an image is used it is binarised afresh: a pixel of intensity
    :math:`p` becomes 1 with probability :math:`p`. The data are shuffled every epoch.

    Parameters
    ----------
    rbm : RBM
        The model to train; its parameters are updated in place.
    images : array_like, shape (N, n_visible)
        ``uint8`` intensities (scaled by 1/255) or floats in [0, 1].
    config : rbmlib.train.config.TrainConfig or rbmlib.train.recipes.Recipe, optional
        The settings (a recipe's ``config``; its ``n_hidden`` must be the model's). Default:
        ``TrainConfig()``, the assignment's CD-1.
    rng : None, int or numpy.random.Generator
        Source of all randomness; the same seed gives bit-identical parameters, on any
        number of threads.
    held_out : array_like, optional
        Images never trained on; the free-energy gap between ``monitor_size`` training
        images and these is Hinton's overfitting monitor.
    monitor_size : int
        Images in each fixed monitor set.
    checkpoint : path, optional
        Written atomically after every epoch; a valid model file that also holds the
        training state.
    resume : bool
        Continue from ``checkpoint`` if it exists.
    progress : bool
        Show a ``tqdm.auto`` progress bar.
    callback : callable, optional
        ``callback(rbm, row) -> dict or None`` after each epoch; its entries are added to
        the history row (e.g. an exact log-likelihood).
    **settings
        Fields of :class:`~rbmlib.train.config.TrainConfig` (``epochs``, ``lr``, ``batch_size``, ``method``,
        ``k``, ``n_chains``, ...), replacing those of ``config``.

    Returns
    -------
    list of dict
        The history, one row per epoch: ``epoch``, ``seconds`` (training time, monitoring
        excluded), ``lr``, ``recon_error``, ``fe_train``, ``fe_held_out``, ``fe_gap`` and the
        callback's entries. The same list is ``rbm.metadata["history"]``, beside
        ``rbm.metadata["config"]`` (the settings), so that a saved model carries both.

    Raises
    ------
    TrainingDiverged
        If a parameter becomes NaN or infinite; ``rbm`` keeps the last good epoch.
    KeyboardInterrupt
        Re-raised after restoring ``rbm`` to the last completed epoch.
    """
    config = _config(rbm, config, settings)
    if resume and checkpoint is None:
        raise ValueError("resume=True needs a checkpoint path")
    x = as_images(images, rbm.n_visible, keep_uint8=True)
    if config.batch_size > len(x):
        raise ValueError(f"batch_size ({config.batch_size}) is larger than the number of images ({len(x)})")
    state, monitor, pixel_means = _start(rbm, x, config, as_rng(rng), held_out, check_int(monitor_size, "monitor_size"))
    ckpt = Path(checkpoint) if checkpoint is not None else None
    if resume and ckpt.exists():
        state.restore(ckpt, rbm)
    else:
        _initialise(rbm, state, pixel_means)
    rbm.metadata.update(config=state.record(), history=state.history)
    params = Params(rbm.W, rbm.a, rbm.b)
    kernel = _engine.TrainKernel(
        params, state.opt, batch_size=config.batch_size, k=config.k, chains=state.chains, key=state.key
    )
    images_c = np.ascontiguousarray(x, dtype=np.uint8 if x.dtype == np.uint8 else np.float32)
    n_batches = len(x) // config.batch_size  # the last partial batch is dropped
    start = len(state.history)
    with progress_bar(progress, (config.epochs - start) * n_batches) as bar, keep_last_good(rbm) as keep:
        done = None if bar is None else bar.update
        for epoch in range(start, config.epochs):
            t0 = time.perf_counter()
            lrs = _rates(config, epoch, n_batches)
            kernel.run(images_c, state.rng.permutation(len(x)), lrs, epoch * n_batches, done=done)
            if not all(np.isfinite(p).all() for p in (rbm.W, rbm.a, rbm.b)):
                raise _diverged(epoch, "W, a or b", config.lr)
            row = {"epoch": epoch + 1, "seconds": time.perf_counter() - t0, "lr": lrs[-1], **monitor(rbm)}
            if not all(math.isfinite(v) for v in row.values()):
                raise _diverged(epoch, "the free energy", config.lr)
            if callback is not None:
                row.update(callback(rbm, row) or {})
            state.history.append(row)
            if bar is not None:
                bar.set_postfix(recon=f"{row['recon_error']:.1f}", refresh=False)
            keep()
            if ckpt is not None:
                state.save(ckpt, rbm)
    rbm.metadata.pop("interrupted", None)
    return state.history


def _config(rbm, config, settings) -> TrainConfig:
    """The run's :class:`~rbmlib.train.config.TrainConfig`: ``config`` (or a recipe's) with ``settings`` applied."""
    if not isinstance(rbm, RBM):
        raise TypeError(f"rbm must be an RBM, got {type(rbm).__name__}")
    if isinstance(config, Recipe):
        if config.n_hidden != rbm.n_hidden:
            raise ValueError(f"the recipe is for {config.n_hidden} hidden units, the model has {rbm.n_hidden}")
        config = config.config
    if config is None:
        config = TrainConfig()
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig or a Recipe, got {type(config).__name__}")
    unknown = sorted(set(settings) - set(TrainConfig.__dataclass_fields__))
    if unknown:
        raise TypeError(f"fit() got unknown settings {', '.join(unknown)} (fields of TrainConfig are accepted)")
    return config.replace(**settings) if settings else config


def _rates(config: TrainConfig, epoch: int, n_batches: int) -> list[float]:
    """The learning rate of every batch of ``epoch`` under the schedule."""
    return [
        config.lr * lr_factor(config.lr_schedule, (epoch + i / n_batches) / config.epochs) for i in range(n_batches)
    ]


def _start(rbm, x, config, rng, held_out, monitor_size):
    """A fresh :class:`TrainState`, the monitor (fixed monitor sets, binarised once) and the pixel means."""
    for name in "Wab":  # the engine updates the parameters in place
        arr = getattr(rbm, name)
        if not (arr.flags.c_contiguous and arr.flags.writeable):
            setattr(rbm, name, np.array(arr, order="C"))
    nv, nh, dt = rbm.n_visible, rbm.n_hidden, rbm.dtype
    C = config.chains
    check_memory(float(C) * (2 * nv + 3 * nh) * dt.itemsize, f"an update with {C} chains")
    mon_rng = np.random.default_rng(rng.integers(2**63))
    key = _engine.key_from(rng)
    centred = config.centering
    mu = pixel_means(x) if config.init_visible_bias or centred else None
    v_mon = binarize(x[mon_rng.choice(len(x), size=min(monitor_size, len(x)), replace=False)], rng=mon_rng).astype(dt)
    v_held = None
    if held_out is not None:
        held = as_images(held_out, nv, name="held_out", keep_uint8=True)
        v_held = binarize(held[:monitor_size], rng=mon_rng).astype(dt)
    opt = Optimizer.create(
        nv,
        nh,
        dt,
        momentum=config.momentum,
        weight_decay=config.weight_decay,
        mu=mu if centred else None,
        lam=np.full(nh, 0.5) if centred else None,
    )
    facts = {"n_visible": nv, "n_hidden": nh, "n_images": len(x), "dtype": dt.name}
    chains = np.zeros((C, nh), dtype=dt) if config.method == "pcd" else None
    state = TrainState(config, facts, rng, mon_rng, key, opt, chains)
    return state, lambda m: _monitor(m, v_mon, v_held, mon_rng), mu


def _initialise(rbm: RBM, state: TrainState, pixel_means) -> None:
    """The start of a fresh run: visible biases from the pixel means, random persistent chains."""
    if state.config.init_visible_bias:
        p = np.clip(pixel_means, 1e-3, 1 - 1e-3)
        rbm.a[:] = np.log(p / (1 - p))
    if state.chains is not None:
        state.chains[:] = random_bits(*state.chains.shape, rng=state.rng, dtype=rbm.dtype)


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
