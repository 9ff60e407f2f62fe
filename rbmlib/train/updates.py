r"""One parameter update of CD-k or PCD-k: the step's algebra, and the engine that runs updates.

The log-likelihood gradient of a binary RBM is a difference of two expectations,

.. math::

    \frac{\partial \log p(v)}{\partial W_{ij}}
      = \langle v_i h_j \rangle_{\text{data}} - \langle v_i h_j \rangle_{\text{model}},

with :math:`h_j` replaced by :math:`p(h_j = 1 \mid v)` in both terms. An update takes a
binarised minibatch :math:`v^{(0)}` (the positive phase), runs Gibbs sweeps for the
negative phase (CD-k: ``k`` sweeps from the data; PCD-k: ``k`` sweeps continuing
persistent chains) and applies the step (:func:`apply_gradient` gives its formula). The
phases are stacked, ``V = [v_data; v_model]`` and ``H = [p(h|v_data); p(h|v_model)]``, so
that one matrix product :math:`V^\top H'` gives the whole weight step.

:class:`Updater` runs whole runs of updates on rbmlib's fused engine (sampling, step and
the next batch's binarisation in one compiled loop per chunk of batches, with random
numbers that do not depend on the number of threads); :func:`apply_gradient` runs the
same step code on phases given by the caller, which is how the tests check it by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._fast import TrainKernel
from .._fast import apply_gradient as _apply_gradient
from ..model import RBM

__all__ = ["Optimizer", "Updater", "apply_gradient"]


@dataclass
class Optimizer:
    r"""The parts of an update beyond plain SGD, and their state.

    Attributes
    ----------
    momentum : float
        Velocity :math:`u \leftarrow \text{momentum}\, u + \Delta`, step :math:`u`.
    weight_decay : float
        L2 penalty :math:`\tfrac{\text{weight\_decay}}{2}\lVert W\rVert^2`.
    mu, lam : ndarray or None
        Centering offsets (Montavon & Müller, 2012; Melchior et al., 2016): the data
        mean of :math:`v` (fixed) and a running mean of :math:`p(h \mid v_{\text{data}})`
        (rate :attr:`lam_rate`), in the model's dtype. ``None`` for the standard gradient.
    velocity : dict or None
        ``W``, ``a``, ``b`` velocities (when ``momentum > 0``), in the model's dtype.
    """

    momentum: float = 0.0
    weight_decay: float = 0.0
    mu: np.ndarray | None = None
    lam: np.ndarray | None = None
    velocity: dict | None = None
    lam_rate: float = 0.01

    @property
    def centering(self) -> bool:
        return self.mu is not None

    def _kwargs(self) -> dict:
        return dict(
            momentum=self.momentum,
            weight_decay=self.weight_decay,
            mu=self.mu,
            lam=self.lam,
            lam_rate=self.lam_rate,
            velocity=self.velocity,
        )


def apply_gradient(rbm: RBM, v_data, v_model, h_data, h_model, lr: float, opt: Optimizer) -> None:
    r"""Apply one step of the (centred) gradient of the given phases to ``rbm``, in place.

    With :math:`B` data rows and :math:`C` model rows,

    .. math::

        \Delta W = \text{lr} \Bigl(\frac1B\sum_{\text{data}} (v-\mu)(h-\lambda)^\top
                   - \frac1C\sum_{\text{model}} (v-\mu)(h-\lambda)^\top\Bigr)
                   - \text{lr}\cdot\text{weight\_decay}\, W,

    :math:`\Delta a = \text{lr}(\frac1B\sum_\text{data} v - \frac1C\sum_\text{model} v)`,
    :math:`\Delta b` likewise with :math:`h`; :math:`\mu = \lambda = 0` without
    centering. With momentum the velocity :math:`u \leftarrow \text{momentum}\,u + \Delta`
    is the step. A centred step is mapped back to the standard biases by
    :math:`a \mathrel{-}= \Delta W \lambda` and :math:`b \mathrel{-}= \mu^\top \Delta W`,
    and :math:`\lambda` then moves towards the minibatch mean of :math:`p(h \mid v)` by
    ``opt.lam_rate``. This is the code that :class:`Updater` runs after its sweeps.

    Parameters
    ----------
    rbm : RBM
        Updated in place (its arrays must be writable and C-contiguous).
    v_data : array_like, shape (B, n_visible)
    v_model : array_like, shape (C, n_visible)
    h_data : array_like, shape (B, n_hidden)
        :math:`p(h \mid v)` of the data rows.
    h_model : array_like, shape (C, n_hidden)
        :math:`p(h \mid v)` of the model rows.
    lr : float
    opt : Optimizer
        Its ``lam`` and ``velocity`` are updated in place.
    """
    dt = rbm.dtype
    V = np.concatenate([np.asarray(v_data, dt), np.asarray(v_model, dt)])
    H = np.concatenate([np.asarray(h_data, dt), np.asarray(h_model, dt)])
    _apply_gradient(rbm.W, rbm.a, rbm.b, V, H, len(v_data), lr, **opt._kwargs())


class Updater:
    """CD-k or PCD-k updates of an RBM's parameters, in place, on the fused engine.

    Parameters
    ----------
    rbm : RBM
        Its ``W``, ``a``, ``b`` must be writable and C-contiguous; they are updated in place.
    batch_size : int
        Data rows per update.
    k : int
        Gibbs sweeps per update.
    opt : Optimizer
    key : tuple of int
        Philox key of all random numbers (binarisation, sweeps).
    chains : ndarray, shape (n_chains, n_hidden), optional
        PCD's persistent hidden states (advanced in place); ``None`` for CD.
    """

    def __init__(self, rbm: RBM, *, batch_size: int, k: int, opt: Optimizer, key, chains=None):
        self.kernel = TrainKernel(
            rbm.W, rbm.a, rbm.b, batch_size=batch_size, k=k, chains=chains, key=key, **opt._kwargs()
        )

    def run(self, images, perm, lrs, iteration: int, done=None) -> None:
        """Updates on the minibatches ``images[perm[t*B:(t+1)*B]]`` at the learning rates ``lrs[t]``.

        Parameters
        ----------
        images : ndarray, shape (N, n_visible), uint8 or float32, C-contiguous
            ``uint8`` grey values (a pixel is 1 with probability :math:`x/255`) or
            probabilities; each batch is binarised afresh.
        perm : ndarray of int
            Image indices, ``B`` per update.
        lrs : array_like of float, shape (n_updates,)
        iteration : int
            Global index of the first update: batch ``t`` draws its random numbers with
            the counter ``iteration + t``, so a run cut anywhere (epochs, checkpoints)
            gives the same bits.
        done : callable, optional
            ``done(n)`` after every ``n`` updates (a progress bar).
        """
        self.kernel.run(images, perm, lrs, iteration, done)
