r"""One parameter update of CD-k or PCD-k, written into preallocated buffers.

The log-likelihood gradient of a binary RBM is a difference of two expectations,

.. math::

    \frac{\partial \log p(v)}{\partial W_{ij}}
      = \langle v_i h_j \rangle_{\text{data}} - \langle v_i h_j \rangle_{\text{model}},

with :math:`h_j` replaced by :math:`p(h_j = 1 \mid v)` in both terms. An update takes a
binarised minibatch :math:`v^{(0)}` (the positive phase), runs Gibbs sweeps for the
negative phase (:func:`cd_negative` from the data, :func:`pcd_negative` from
persistent chains) and applies the step (:func:`apply_gradient`). The buffers hold
the two phases stacked, ``V = [v_data; v_model]`` and ``H = [p(h|v_data); p(h|v_model)]``,
so that one GEMM :math:`V^\top H'` gives the whole weight gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._kernels import sigmoid
from ..model import RBM

__all__ = ["Buffers", "Optimizer", "positive_phase", "cd_negative", "pcd_negative", "apply_gradient"]


class Buffers:
    """Preallocated arrays of one update: ``batch_size`` data rows (``B``) and ``n_chains`` model rows (``C``)."""

    def __init__(self, batch_size: int, n_visible: int, n_hidden: int, dtype, n_chains: int | None = None):
        B = self.B = int(batch_size)
        C = self.C = B if n_chains is None else int(n_chains)
        self.V = np.empty((B + C, n_visible), dtype=dtype)  # [v_data; v_model]
        self.H = np.empty((B + C, n_hidden), dtype=dtype)  # [p(h|v_data); p(h|v_model)]
        self.pv = np.empty((C, n_visible), dtype=dtype)  # p(v|h) of a sweep
        self.h = np.empty((C, n_hidden), dtype=dtype)  # sampled h of a sweep
        self.dW = np.empty((n_visible, n_hidden), dtype=dtype)

    @property
    def v_data(self):
        return self.V[: self.B]


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
        (rate :attr:`lam_rate`). ``None`` for the standard gradient.
    velocity : dict or None
        ``W``, ``a``, ``b`` velocities (when ``momentum > 0``).
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


def positive_phase(rbm: RBM, buf: Buffers) -> np.ndarray:
    """:math:`p(h \\mid v^{(0)})` of the minibatch in ``buf.V[:B]``, written to ``buf.H[:B]``."""
    ph0 = buf.H[: buf.B]
    np.dot(buf.v_data, rbm.W, out=ph0)
    ph0 += rbm.b
    return sigmoid(ph0, out=ph0)


def _sweeps(rbm: RBM, h, uh, uv, buf: Buffers) -> np.ndarray:
    """Gibbs sweeps :math:`h \\to v \\to h` from ``h``, one per row of ``uv``.

    Leaves :math:`v^{(k)}` in ``buf.V[B:]`` and :math:`p(h \\mid v^{(k)})` in ``buf.H[B:]``.
    ``uh`` holds the uniforms of the hidden samples after each sweep (as many as
    ``uv`` for PCD; one fewer for CD, whose last hidden sample is not needed).
    Returns the last hidden sample (or ``h`` unchanged if none was drawn).
    """
    B = buf.B
    vk, phk = buf.V[B:], buf.H[B:]
    for step in range(len(uv)):
        np.dot(h, rbm.W.T, out=buf.pv)
        buf.pv += rbm.a
        sigmoid(buf.pv, out=buf.pv)
        np.less(uv[step], buf.pv, out=vk, casting="unsafe")
        np.dot(vk, rbm.W, out=phk)
        phk += rbm.b
        sigmoid(phk, out=phk)
        if step < len(uh):
            h = np.less(uh[step], phk, out=buf.h, casting="unsafe")
    return h


def cd_negative(rbm: RBM, buf: Buffers, uh, uv) -> None:
    """CD-k: ``k = len(uv)`` sweeps from :math:`h^{(0)} \\sim p(h \\mid v^{(0)})` (``uh[0]``).

    Call after :func:`positive_phase`; needs ``C = B``. ``uh`` has shape ``(k, B, n_hidden)``,
    ``uv`` ``(k, B, n_visible)``: uniforms on [0, 1).
    """
    h0 = np.less(uh[0], buf.H[: buf.B], out=buf.h, casting="unsafe")
    _sweeps(rbm, h0, uh[1:], uv, buf)


def pcd_negative(rbm: RBM, buf: Buffers, chains: np.ndarray, uh, uv) -> None:
    """PCD-k: ``k = len(uv)`` sweeps continuing the persistent hidden states ``chains`` (``C`` rows, in place)."""
    chains[:] = _sweeps(rbm, chains, uh, uv, buf)


def apply_gradient(rbm: RBM, buf: Buffers, lr: float, opt: Optimizer) -> None:
    r"""Apply one step of the (centred) gradient held in the buffers to ``rbm``, in place.

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
    ``opt.lam_rate``. The buffers are overwritten.
    """
    B, V, H, dt = buf.B, buf.V, buf.H, rbm.dtype.type
    s_data, s_model = dt(lr / B), dt(lr / buf.C)
    da = V[:B].sum(axis=0) * s_data - V[B:].sum(axis=0) * s_model
    db = H[:B].sum(axis=0) * s_data - H[B:].sum(axis=0) * s_model
    if opt.centering:
        ph0_mean = H[:B].mean(axis=0)
        V -= opt.mu  # the gradient becomes sum (v - mu)(h - lam)^T
        H[:B] -= opt.lam
        np.subtract(opt.lam, H[B:], out=H[B:])
    else:
        np.negative(H[B:], out=H[B:])
    H[:B] *= s_data
    H[B:] *= s_model
    np.dot(V.T, H, out=buf.dW)  # both phases in one GEMM
    step_W = buf.dW
    if opt.weight_decay:
        step_W -= dt(lr * opt.weight_decay) * rbm.W
    if opt.momentum:
        vel = opt.velocity
        for name, grad in (("W", step_W), ("a", da), ("b", db)):
            vel[name] *= dt(opt.momentum)
            vel[name] += grad
        step_W, da, db = vel["W"], vel["a"].copy(), vel["b"].copy()
    if opt.centering:
        da -= step_W @ opt.lam
        db -= opt.mu @ step_W
        opt.lam += dt(opt.lam_rate) * (ph0_mean - opt.lam)
    rbm.W += step_W
    rbm.a += da
    rbm.b += db
