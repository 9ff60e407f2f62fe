r"""The engine's one draw primitive: logistic function and Bernoulli draw, fused, on a block of rows.

Every half-step of rbmlib (a Gibbs sweep, clamped Gibbs, a tempered replica, an AIS
transition, the phases of a training update, :meth:`rbmlib.model.RBM.sample_hidden`) is
:func:`draw_block`: for each unit of each row, the logit

.. math::

    x = \beta\,(\text{pre} + \text{bias}) + (1 - \beta)\,\text{base}

(:math:`\beta = 1` and no base term unless the :class:`Layer` has them), then
:math:`d = 1 + e^{-x}`, a Bernoulli draw with probability :math:`1/d` and, when asked,
the probability itself; clamped units keep their value.

Why not numpy/numexpr: numpy's passes cost about 3 ns per unit (sigmoid, uniforms,
compare, each a pass over memory), numexpr about 8 ns (its wheel has no vectorised exp),
and neither can draw addressed random numbers. The float32 exp is Cephes' expf written
with plain float32 operations so that LLVM vectorises it (numba's ``np.exp`` would call
libm per element): 0.4 ns per unit, sigmoid error at most 9e-8 over [-90, 90].

Draw rules (tested in ``tests/test_engine.py``):

* Bernoulli of logit ``x`` in float32: ``1`` iff ``U * d < 2**24`` with ``U = u >> 8`` (a
  24-bit uniform) and ``d = 1 + exp(-x)``: :math:`P = \lceil 2^{24}\sigma(x)\rceil/2^{24}`
  up to one step of float32 rounding, the resolution of float32 uniforms; no division,
  and the sample never depends on whether :math:`p` is also returned. In float64: ``u * d
  < 2**32`` (32-bit resolution).
* Binarisation of a grey value ``x`` (uint8): ``1`` iff ``(u * 255) >> 32 < x``, so
  :math:`P = x/255` within :math:`2^{-32}`; of a probability ``x``: ``U < x * 2**24``.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

from .jit import OPT
from .philox import TAG_DATA, TAG_H, fill_row
from .records import Layer, Rows, Words, random_width

__all__ = [
    "P_INPLACE",
    "SAMPLE",
    "SAMPLE_P",
    "SAMPLE_P_INPLACE",
    "binarize",
    "binarize_rows",
    "draw_block",
    "half_step",
    "layer",
    "rows",
    "words",
]

#: What :func:`draw_block` writes: samples into S; samples into S and probabilities over the
#: pre-activations X; probabilities over X only (no random numbers); samples into S and
#: probabilities into P. (In-place writes go through the same array as the reads, which
#: lets LLVM vectorise without aliasing checks.)
SAMPLE, SAMPLE_P_INPLACE, P_INPLACE, SAMPLE_P = 0, 1, 2, 3


@nb.njit(inline="always", nogil=True)
def rows(x, s, p, chain, n):
    """:class:`Rows` with int64 fields (constants would otherwise make new compiled signatures)."""
    i64 = np.int64
    return Rows(i64(x), i64(s), i64(p), i64(chain), i64(n))


@nb.njit(inline="always", nogil=True)
def words(u, tag, step, counter, key):
    """:class:`Words` for layer ``tag``, Gibbs ``step`` and ``counter`` under ``key = (k0, k1)``."""
    i64 = np.int64
    return Words(u, i64(tag) * i64(65536) + i64(step), i64(counter), i64(key[0]), i64(key[1]))


@nb.njit(inline="always", nogil=True)
def layer(bias, beta, base, clamp):
    """A :class:`Layer`."""
    return Layer(bias, beta, base, clamp)


@intrinsic
def _i32_as_f32(typingctx, x):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return types.float32(types.int32), codegen


@nb.njit(inline="always", nogil=True, error_model="numpy")
def _exp_f32(x):
    """Cephes expf (plain float32 multiply-adds, about 1 ulp); the argument is clamped to [-87, 88]."""
    x = min(max(x, np.float32(-87.0)), np.float32(88.0))
    fx = np.floor(x * np.float32(1.44269504088896341) + np.float32(0.5))
    x = x - fx * np.float32(0.693359375)
    x = x - fx * np.float32(-2.12194440e-4)
    z = x * x
    y = np.float32(1.9875691500e-4)
    y = y * x + np.float32(1.3981999507e-3)
    y = y * x + np.float32(8.3334519073e-3)
    y = y * x + np.float32(4.1665795894e-2)
    y = y * x + np.float32(1.6666665459e-1)
    y = y * x + np.float32(5.0000001201e-1)
    y = y * z + x + np.float32(1.0)
    return y * _i32_as_f32((np.int32(fx) + np.int32(127)) << np.int32(23))


def _denom(x):
    """:math:`1 + e^{-x}` in the float type of ``x`` (numba only)."""


@overload(_denom, inline="always")
def _denom_impl(x):
    if x == types.float32:
        return lambda x: np.float32(1.0) + _exp_f32(-x)
    return lambda x: 1.0 + np.exp(-x)


def _draw(u, d):
    """Bernoulli draw with probability ``1/d`` from the 32-bit word ``u`` (numba only)."""


@overload(_draw, inline="always")
def _draw_impl(u, d):
    if d == types.float32:
        return lambda u, d: np.float32(np.int32(u >> np.uint32(8))) * d < np.float32(16777216.0)
    return lambda u, d: np.float64(u) * d < 4294967296.0


def _binarize_one(x, u):
    """1 with probability x/255 (uint8 x, within 2**-32) or x (float x, 24-bit) from the word ``u`` (numba only)."""


@overload(_binarize_one, inline="always")
def _binarize_one_impl(x, u):
    if isinstance(x, types.Integer):
        return lambda x, u: ((np.uint64(u) * np.uint64(255)) >> np.uint64(32)) < np.uint64(x)
    return lambda x, u: np.float32(np.int32(u >> np.uint32(8))) < np.float32(x) * np.float32(16777216.0)


@nb.njit(inline="always", nogil=True)
def _logit(x, bias, base, be, om, j, kind):
    """x + bias_j (kind 0), beta (x + bias_j) (kind 1), (1 - beta) base_j + beta (x + bias_j) (kind 2)."""
    if kind == 0:
        return x + bias[j]
    if kind == 1:
        return be * (x + bias[j])
    return om * base[j] + be * (x + bias[j])


@nb.njit(**OPT)
def draw_block(X, S, P, at, c0, c1, lay, rnd, mode):
    """One fused half-step on the block ``at`` of rows, columns ``c0:c1`` (``c0 % 4 == 0``).

    ``X`` holds the pre-activations; by ``mode`` (see :data:`SAMPLE`) the draws go to ``S``
    and the probabilities to ``P`` or over ``X``. The logit adds ``lay``'s bias (and its
    temperature and base); the random word of unit ``c`` of block row ``i`` has the address
    ``(c // 4, at.chain + i, rnd.c2, rnd.c3)``. Clamped units keep their value in ``S`` and
    show it in ``P``.
    """
    n = c1 - c0
    ng = (n + 3) // 4
    bs = lay.bias[c0:c1]
    nbeta = lay.beta.shape[0]
    kind = 0 if nbeta == 0 else (1 if lay.base.shape[0] == 0 else 2)
    bb = lay.base[c0:c1] if kind == 2 else bs
    ncl = lay.clamp.shape[0]
    one = X.dtype.type(1.0)
    u = rnd.u
    for i in range(at.n):
        ch = at.chain + i
        be = one
        if nbeta > 0:
            be = lay.beta[ch if nbeta > 1 else 0]
        om = one - be
        xr = X[at.x + i, c0:c1]
        if mode != P_INPLACE:
            fill_row(u, c0 // 4, ng, ch, rnd.c2, rnd.c3, rnd.k0, rnd.k1)
        if mode == P_INPLACE:
            for j in range(n):
                xr[j] = one / _denom(_logit(xr[j], bs, bb, be, om, j, kind))
        elif mode == SAMPLE_P_INPLACE:
            sr = S[at.s + i, c0:c1]
            for j in range(n):
                d = _denom(_logit(xr[j], bs, bb, be, om, j, kind))
                sr[j] = 1.0 if _draw(u[j], d) else 0.0
                xr[j] = one / d
        elif ncl > 0:
            sr = S[at.s + i, c0:c1]
            pr = P[at.p + i, c0:c1]
            cl = lay.clamp[ch if ncl > 1 else 0, c0:c1]
            for j in range(n):
                d = _denom(_logit(xr[j], bs, bb, be, om, j, kind))
                if cl[j] == 0:
                    sr[j] = 1.0 if _draw(u[j], d) else 0.0
                if mode == SAMPLE_P:
                    pr[j] = sr[j] if cl[j] != 0 else one / d
        elif mode == SAMPLE:
            sr = S[at.s + i, c0:c1]
            for j in range(n):
                sr[j] = 1.0 if _draw(u[j], _denom(_logit(xr[j], bs, bb, be, om, j, kind))) else 0.0
        else:
            sr = S[at.s + i, c0:c1]
            pr = P[at.p + i, c0:c1]
            for j in range(n):
                d = _denom(_logit(xr[j], bs, bb, be, om, j, kind))
                sr[j] = 1.0 if _draw(u[j], d) else 0.0
                pr[j] = one / d


@nb.njit(**OPT)
def binarize_rows(X, idx, V, c0, c1, rnd):
    """V[i, c0:c1] <- Bernoulli(X[idx[i], c0:c1]): grey values (uint8, P = x/255) or probabilities.

    The word of unit ``c`` of row ``i`` has the address ``(c // 4, i, rnd.c2, rnd.c3)``.
    """
    n = c1 - c0
    ng = (n + 3) // 4
    u = rnd.u
    for i in range(idx.shape[0]):
        fill_row(u, c0 // 4, ng, i, rnd.c2, rnd.c3, rnd.k0, rnd.k1)
        vr = V[i, c0:c1]
        xr = X[idx[i], c0:c1]
        for j in range(n):
            vr[j] = 1.0 if _binarize_one(xr[j], u[j]) else 0.0


@nb.njit(**OPT)
def _binarize_all(X, V, u, k0, k1):
    binarize_rows(X, np.arange(X.shape[0]), V, 0, X.shape[1], words(u, TAG_DATA, 0, 0, (k0, k1)))


def binarize(x, key, out) -> np.ndarray:
    """``out`` (same shape as ``x``, any float dtype) <- Bernoulli draws of ``x`` (grey values or probabilities).

    ``x`` must be validated already (``uint8``, or floats in [0, 1]); each row of its last
    axis is a row of the random address.
    """
    n = x.shape[-1] if x.ndim else 1
    X = np.ascontiguousarray(x.reshape(-1, n) if x.ndim != 1 else x.reshape(1, -1))
    V = np.empty(X.shape, np.float32)
    if X.size:
        u = np.empty(random_width(n), np.uint32)
        _binarize_all(X, V, u, np.int64(key[0]), np.int64(key[1]))
    out[...] = V.reshape(out.shape)
    return out


def half_step(pre, bias, key, *, row0=0, tag=TAG_H, step=0, counter=0, want_p=True):
    """One fused half-step on rows of pre-activations: the draw primitive, called from Python.

    Parameters
    ----------
    pre : ndarray, shape (R, n), float32 or float64
        Pre-activations (not modified).
    bias : ndarray, shape (n,)
    key : tuple of int
        Philox key.
    row0, tag, step, counter : int
        Random-number address: row ``row0 + i``, layer ``tag``, ``step`` and batch or sweep ``counter``.
    want_p : bool

    Returns
    -------
    sample : ndarray, shape (R, n)
        0/1 draws with probability ``sigmoid(pre + bias)``.
    p : ndarray, shape (R, n) or None
        ``sigmoid(pre + bias)`` when ``want_p``.
    """
    pre = np.ascontiguousarray(pre)
    bias = np.ascontiguousarray(bias, dtype=pre.dtype)
    R, n = pre.shape
    s = np.empty_like(pre)
    p = np.empty_like(pre) if want_p else s
    u = np.empty(random_width(n), np.uint32)
    none = np.empty(0, pre.dtype)
    lay = Layer(bias, none, none, np.empty((0, n), np.uint8))
    at = Rows(0, 0, 0, int(row0), R)
    rnd = Words(u, tag * 65536 + step, int(counter), int(key[0]), int(key[1]))
    draw_block(pre, s, p, at, 0, n, lay, rnd, SAMPLE_P if want_p else SAMPLE)
    return s, (p if want_p else None)
