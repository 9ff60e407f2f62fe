"""Elementwise numpy kernels: the logistic function and Bernoulli draws.

They serve the conditionals of :class:`rbmlib.model.RBM` and annealed importance
sampling; the hot loops of training and sampling run on the fused engine
(``rbmlib._fast``). They do no validation (their callers do) and write into
preallocated buffers.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sigmoid", "bernoulli"]


def sigmoid(x, out=None):
    r"""The logistic function :math:`\sigma(x) = 1/(1+e^{-x}) = \tfrac12 + \tfrac12\tanh(x/2)`.

    Computed through ``np.tanh``, which numpy vectorises (several times faster than
    ``scipy.special.expit`` in float32) and which cannot overflow. The absolute error
    is a few units in the last place; probabilities below about ``1e-8`` (float32)
    round to 0. ``out`` may be ``x`` itself.
    """
    out = np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def bernoulli(p, rng: np.random.Generator, out=None):
    """Draw ``out = (u < p)`` with ``u`` uniform on [0, 1) in ``p``'s dtype; returns ``out``.

    ``out`` defaults to a new array of ``p``'s dtype and may be ``p`` itself.
    """
    u = rng.random(p.shape, dtype=p.dtype if p.dtype in (np.float32, np.float64) else np.float64)
    if out is None:
        out = np.empty(p.shape, dtype=p.dtype)
    return np.less(u, p, out=out, casting="unsafe")
