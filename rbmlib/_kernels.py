"""Elementwise kernels of the Gibbs sampler's hot path: the logistic function and Bernoulli draws.

They do no validation (their callers do) and write into preallocated buffers.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sigmoid", "bernoulli", "gibbs_sweep"]


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


def gibbs_sweep(W, a, b, v, h, p, rng: np.random.Generator, beta=None, base=None):
    r"""One block Gibbs sweep :math:`v \to h \to v` for the rows of ``v``, in place.

    Without ``beta``: :math:`h \sim \sigma(b + vW)`, then :math:`v \sim \sigma(a + hW^\top)`.
    With a column ``beta`` (shape ``(N, 1)``) and visible biases ``base``, row ``n``
    samples the tempered model :math:`p_\beta(v, h) \propto e^{(1-\beta) a_{\text{base}}^\top v
    - \beta E(v, h)}`: :math:`h \sim \sigma(\beta(b + vW))`,
    :math:`v \sim \sigma((1-\beta) a_{\text{base}} + \beta(a + hW^\top))`.

    Parameters
    ----------
    W, a, b : ndarray
        Parameters, shapes (n_visible, n_hidden), (n_visible,), (n_hidden,).
    v : ndarray, shape (N, n_visible)
        The visible states; overwritten with the new sample.
    h : ndarray, shape (N, n_hidden)
        Overwritten with the hidden sample drawn from the old ``v``.
    p : ndarray, shape (N, n_visible)
        Overwritten with :math:`a + hW^\top` (untempered), then with :math:`p(v \mid h)`.
    rng : numpy.random.Generator
    beta : ndarray, shape (N, 1), optional
    base : ndarray, shape (n_visible,), optional

    Returns
    -------
    ndarray, shape (N,) or None
        With ``beta``: :math:`-E(v, h) - a_{\text{base}}^\top v` of the new joint state,
        the quantity that replica-exchange moves need; else None.
    """
    np.dot(v, W, out=h)
    h += b
    if beta is not None:
        h *= beta
    bernoulli(sigmoid(h, out=h), rng, out=h)
    np.dot(h, W.T, out=p)
    p += a
    g = None
    if beta is not None:
        hb = h @ b
        field = p * beta
        field += (1 - beta) * base
        sigmoid(field, out=field)
        bernoulli(field, rng, out=v)
        g = np.einsum("ij,ij->i", v, p) + hb - v @ base
        p[:] = field
    else:
        sigmoid(p, out=p)
        bernoulli(p, rng, out=v)
    return g
