r"""Training with a chosen negative phase (:mod:`rbmlib.train.negative`): :func:`fit_phase`.

:func:`rbmlib.train.fit` fuses CD/PCD sweeps, the step and the next batch's binarisation
in one engine kernel. This loop is the readable alternative for any negative phase: per
update it binarises a minibatch afresh, asks the phase for its model rows, and applies the
same step (:func:`rbmlib.train.apply_gradient`, centred as in ``fit``). It is how the
``equilibrium`` recipe continues a PCD-trained model.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .._engine.records import Optimizer
from ..data import as_images, binarize
from ..model import RBM
from ..rng import as_rng
from ..validation import check_int, check_number
from .config import lr_factor
from .guard import TrainingDiverged, keep_last_good, pixel_means, progress_bar
from .step import apply_gradient

__all__ = ["fit_phase", "training_seconds"]


def fit_phase(
    rbm: RBM,
    images,
    phase,
    *,
    epochs: int,
    lr: float,
    batch_size: int = 64,
    lr_schedule="linear",
    centering: bool = True,
    rng=None,
    progress: bool = True,
) -> list[dict]:
    r"""Train ``rbm`` in place, the model term of every update from ``phase``.

    Parameters
    ----------
    rbm : RBM
    images : array_like, shape (N, n_visible)
        ``uint8`` intensities or floats in [0, 1]; every minibatch is binarised afresh.
    phase : negative phase
        One of :mod:`rbmlib.train.negative` (e.g. ``RestartedPhase()``); it is started here.
    epochs : int
    lr : float
    batch_size : int
    lr_schedule : None, "constant", "linear", "cosine" or callable
        Multiplier of ``lr`` over the run (:data:`rbmlib.train.config.LR_SCHEDULES`).
    centering : bool
        Centred steps: offsets the pixel means :math:`\mu` and a running mean :math:`\lambda`
        of :math:`p(h \mid v)`, started at its mean over 1000 images.
    rng : None, int or numpy.random.Generator
    progress : bool

    Returns
    -------
    list of dict
        One row per epoch: ``epoch``, ``seconds``, ``lr`` and the phase's diagnostics; also
        appended to ``rbm.metadata["history"]`` under ``rbm.metadata["phase"]``.

    Raises
    ------
    TrainingDiverged
        If a parameter becomes NaN or infinite; ``rbm`` keeps the last good epoch.
    """
    if not isinstance(rbm, RBM):
        raise TypeError(f"rbm must be an RBM, got {type(rbm).__name__}")
    x = as_images(images, rbm.n_visible, keep_uint8=True)
    epochs, batch_size = check_int(epochs, "epochs"), check_int(batch_size, "batch_size")
    lr = check_number(lr, "lr", low=0.0, open_low=True)
    if batch_size > len(x):
        raise ValueError(f"batch_size ({batch_size}) is larger than the number of images ({len(x)})")
    lr_factor(lr_schedule, 0.0)
    rng = as_rng(rng)
    for name in "Wab":  # the step and the phase's kernels work on the parameters in place
        setattr(rbm, name, np.ascontiguousarray(getattr(rbm, name)))
    opt = _optimizer(rbm, x, centering, rng)
    phase.start(rbm, rng=rng)
    n_batches = len(x) // batch_size
    history = []
    with progress_bar(progress, epochs * n_batches) as bar, keep_last_good(rbm) as keep:
        for epoch in range(epochs):
            t0 = time.perf_counter()
            perm = rng.permutation(len(x))
            for i in range(n_batches):
                rate = lr * lr_factor(lr_schedule, (epoch + i / n_batches) / epochs)
                v_data = binarize(x[perm[i * batch_size : (i + 1) * batch_size]], rng=rng).astype(rbm.dtype)
                v_model = phase.draw(rbm)
                h_data, h_model = rbm.hidden_probs(v_data), rbm.hidden_probs(v_model)
                apply_gradient(rbm, v_data, v_model, h_data, h_model, rate, opt)
                phase.after_step(rbm)
                if bar is not None:
                    bar.update()
            if not all(np.isfinite(p).all() for p in (rbm.W, rbm.a, rbm.b)):
                raise TrainingDiverged(f"training diverged in epoch {epoch + 1} (lr={lr}); try a smaller lr")
            row = {"epoch": epoch + 1, "seconds": time.perf_counter() - t0, "lr": rate, **phase.diagnostics()}
            history.append({k: v for k, v in row.items() if not isinstance(v, float) or math.isfinite(v)})
            keep()
    rbm.metadata.setdefault("phases", []).append({"phase": type(phase).__name__, "history": history})
    return history


def _optimizer(rbm: RBM, x, centering: bool, rng) -> Optimizer:
    """The step's record: centring offsets from the pixel means and 1000 images' hidden means."""
    nv, nh = rbm.n_visible, rbm.n_hidden
    if not centering:
        return Optimizer.create(nv, nh, rbm.dtype)
    sample = binarize(x[rng.choice(len(x), size=min(1000, len(x)), replace=False)], rng=rng)
    lam = rbm.hidden_probs(sample.astype(rbm.dtype)).mean(axis=0)
    return Optimizer.create(nv, nh, rbm.dtype, mu=pixel_means(x), lam=lam)


def training_seconds(rbm: RBM) -> float:
    """Seconds of training recorded in ``rbm``'s metadata: the epochs of ``fit`` and of every later stage."""
    later = [row for stage in rbm.metadata.get("phases", []) for row in stage["history"]]
    return float(sum(row["seconds"] for row in [*rbm.metadata.get("history", []), *later]))
