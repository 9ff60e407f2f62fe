r"""One parameter update of CD-k or PCD-k: the step's algebra.

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

:func:`rbmlib.train.fit` runs whole epochs of updates in the engine's training kernel
(sampling, step and the next batch's binarisation fused); :func:`apply_gradient` runs the
same step code on phases given by the caller, which is how the tests check it by hand.
"""

from __future__ import annotations

import numpy as np

from .. import _engine
from .._engine.records import Optimizer, Params
from ..model import RBM

__all__ = ["apply_gradient"]


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
    ``opt.lam_rate``. This is the code that the training kernel runs after its sweeps.

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
    opt : rbmlib.train.Optimizer
        From ``Optimizer.create`` (:class:`rbmlib.train.Optimizer`); its ``lam`` and velocities are
        updated in place.
    """
    dt = rbm.dtype
    V = np.concatenate([np.asarray(v_data, dt), np.asarray(v_model, dt)])
    H = np.concatenate([np.asarray(h_data, dt), np.asarray(h_model, dt)])
    _engine.apply_gradient(Params(rbm.W, rbm.a, rbm.b), V, H, len(v_data), lr, opt)
