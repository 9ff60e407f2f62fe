r"""The Gibbs engine: fused numba kernels behind training and sampling.

Every hot loop of rbmlib (a CD-k/PCD-k update, a block Gibbs sweep, a tempered sweep of
parallel tempering) is a handful of matrix products, a logistic function and Bernoulli
draws. This module runs them so that

* the **results do not depend on the number of threads** (nor on how a run is cut into
  calls): same seed, same bits, on one thread or two;
* the elementwise work costs about 1 ns per unit on one core instead of about 3 ns with
  numpy (measured: 31 µs against 78 µs for a 64×400 half-step, 635 µs against 1505 µs for
  1000×500);
* a training epoch does not collapse when another program holds the cores (measured on 2
  cores beside a 2-thread NumPy job: 2-3× the quiet epoch time, against 40-68× with
  numpy and OpenBLAS threads).

How (each hand-written piece says below why it exists):

* **Matrix products** are single-threaded ``sgemm``/``dgemm`` calls (scipy's
  ``cython_blas``, called from numba) on **fixed blocks** of their output: column blocks
  of a layer for training, blocks of chains for sampling (:func:`chain_block`). The blocks
  depend only on the problem's shape, never on the thread count.
* **Elementwise work** is one fused loop per block row: pre-activation + bias →
  :math:`d = 1 + e^{-x}` → Bernoulli draw (and :math:`p = 1/d` when asked).
* **Random numbers** are Philox4x32-10 (Salmon et al., 2011), counter based: the 32-bit
  word for unit ``c`` of row ``r`` is word ``c % 4`` of
  ``philox((c // 4, r, tag * 65536 + step, counter), key)``, where ``counter`` is the
  batch (training) or the sweep (sampling). Nothing is stored per stream; every draw is
  addressed, so the bits cannot depend on who computes them. The 64-bit ``key`` is drawn
  from the caller's ``rng`` (:func:`key_from`).
* **Threads**: numba ``prange`` over the fixed blocks (OpenMP layer); one thread runs a
  separately compiled serial variant. :class:`Chooser` picks 1 or 2+ threads per chunk of
  work by measured speed, because a per-batch fork/join collapses when a helper thread is
  descheduled by another program; since the bits do not depend on the choice, switching
  costs nothing in reproducibility.

Draw rules (shared by all kernels, tested in ``tests/test_fast.py``):

* Bernoulli of logit ``x`` in float32: ``1`` iff ``U * d < 2**24`` with ``U = u >> 8`` (a
  24-bit uniform) and ``d = 1 + exp(-x)``: :math:`P = \lceil 2^{24}\sigma(x)\rceil/2^{24}`
  up to one step of float32 rounding, the resolution of float32 uniforms; no division,
  and the sample never depends on whether :math:`p` is also returned. In float64: ``u * d
  < 2**32`` (32-bit resolution).
* Binarisation of a grey value ``x`` (uint8): ``1`` iff ``(u * 255) >> 32 < x``, so
  :math:`P = x/255` within :math:`2^{-32}`; of a float probability ``x``: ``U < x * 2**24``.

Process-wide effects: ``GOMP_SPINCOUNT`` gets a default of 20000 (see
:func:`_threading_layer`), and while a kernel runs, BLAS libraries are limited to one
thread (threadpoolctl), which other threads of the process see meanwhile.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading
import time
import types as pytypes
from collections import deque

import numba as nb
import numpy as np
from llvmlite import binding as llvm
from llvmlite import ir
from numba import prange, types
from numba.core import cgutils
from numba.extending import intrinsic, overload
from scipy.linalg import cython_blas
from threadpoolctl import ThreadpoolController

__all__ = [
    "MAX_THREADS",
    "N_COL_BLOCKS",
    "Chooser",
    "GibbsChains",
    "TemperedChains",
    "TrainKernel",
    "apply_gradient",
    "chain_block",
    "half_step",
    "key_from",
    "max_threads",
    "philox4x32",
    "shared_chooser",
    "threads",
]

#: Column blocks per layer in training, so at most this many threads train. Measured on
#: 2 cores (seconds per epoch, 2 threads): 2 blocks are 4-7 % faster than 4 (fewer and
#: larger GEMM calls; CD-1 at 400 hidden units 1.18 s against 1.23 s).
N_COL_BLOCKS = 2
#: Most threads the samplers use (untested beyond 2).
MAX_THREADS = 4


def chain_block(n: int) -> int:
    """Chains per block of the samplers, for ``n`` chains: half of them (two blocks, so that two
    threads share the work), rounded up to 16, within [64, 512].

    A block's sweeps run on one thread without synchronising; its matrix products get faster
    with more rows (1000 chains at 500 hidden units, 2 threads: 1.10x the GEMM bound with
    blocks of 512, 1.14x with 256). It depends on ``n`` only, never on the thread count.
    """
    half = -(-n // 2)
    return int(min(512, max(64, -(-half // 16) * 16)))


# Strict IEEE arithmetic (no fast-math, no FMA contraction): a plain numpy replay of the
# sigmoid and the draws gives the same bits (tests/test_fast.py). cache=True keeps the
# compiled code in __pycache__ (or numba's user cache directory if that is read-only):
# measured, compiling the float32 kernels once takes about 13 s for training and 3 s for
# each sampler and each thread variant; a new process loads them in under 0.2 s.
_OPT = dict(nogil=True, cache=True, error_model="numpy")


def _variants(f):
    """``(parallel, serial)`` compilations of ``f``, each under its own name.

    numba's on-disk cache is keyed by the function's qualified name, so two dispatchers
    of one function would share one cache entry and the second would silently load the
    first one's code.
    """
    out = []
    for suffix, parallel in (("_par", True), ("_ser", False)):
        g = pytypes.FunctionType(f.__code__, f.__globals__, f.__name__ + suffix, f.__defaults__, f.__closure__)
        g.__qualname__ = f.__qualname__ + suffix
        g.__doc__ = f.__doc__
        out.append(nb.njit(g, parallel=parallel, **_OPT))
    return out


# ============================================================ single-threaded BLAS
# Why not numpy's products: OpenBLAS's own threading changes the bits of a product with
# the thread count (V @ W at 400 and 500 hidden units differs between 1 and 2 threads),
# and its per-product fork/join is what collapses under load (66 s instead of 1.6 s per
# epoch beside one other 2-thread job). Column blocks of single-threaded sgemm on two
# threads run as fast as numpy's 2-thread products (0.83-0.90 s against 0.85 s for an
# epoch's products at 400 hidden units). The functions are registered with LLVM by name
# so that numba can cache code that calls them (a raw pointer could not be cached).
def _capsule_address(name: str) -> int:
    api = ctypes.pythonapi
    api.PyCapsule_GetName.restype = ctypes.c_char_p
    api.PyCapsule_GetName.argtypes = [ctypes.py_object]
    api.PyCapsule_GetPointer.restype = ctypes.c_void_p
    api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    cap = cython_blas.__pyx_capi__[name]
    return api.PyCapsule_GetPointer(cap, api.PyCapsule_GetName(cap))


llvm.add_symbol("rbmlib_sgemm", _capsule_address("sgemm"))
llvm.add_symbol("rbmlib_dgemm", _capsule_address("dgemm"))
_sgemm = types.ExternalFunction("rbmlib_sgemm", types.void(*[types.voidptr] * 13))
_dgemm = types.ExternalFunction("rbmlib_dgemm", types.void(*[types.voidptr] * 13))


@intrinsic
def _voidptr(typingctx, address):
    """The integer ``address`` as a ``void*``."""

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], ir.IntType(8).as_pointer())

    return types.voidptr(types.intp), codegen


@nb.njit(**_OPT)
def _gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, double):
    """Fortran ``sgemm`` (``dgemm`` if ``double``) on raw data addresses ``a``, ``b``, ``c``.

    Addresses and float64 scalars keep this to one compiled signature (every array
    layout would otherwise compile its own).
    """
    iv = np.empty(6, np.int32)
    ch = np.empty(2, np.uint8)
    ch[0] = ta
    ch[1] = tb
    iv[0] = m
    iv[1] = n
    iv[2] = k
    iv[3] = lda
    iv[4] = ldb
    iv[5] = ldc
    A, B, C = _voidptr(a), _voidptr(b), _voidptr(c)
    if double:
        fd = np.empty(2, np.float64)
        fd[0] = alpha
        fd[1] = beta
        _dgemm(ch.ctypes, ch[1:].ctypes, iv.ctypes, iv[1:].ctypes, iv[2:].ctypes, fd.ctypes, A, iv[3:].ctypes, B,
               iv[4:].ctypes, fd[1:].ctypes, C, iv[5:].ctypes)  # fmt: skip
    else:
        fs = np.empty(2, np.float32)
        fs[0] = alpha
        fs[1] = beta
        _sgemm(ch.ctypes, ch[1:].ctypes, iv.ctypes, iv[1:].ctypes, iv[2:].ctypes, fs.ctypes, A, iv[3:].ctypes, B,
               iv[4:].ctypes, fs[1:].ctypes, C, iv[5:].ctypes)  # fmt: skip


# Row-major 2-D views with unit column stride (not checked); C = alpha op(A) op(B) + beta C,
# computed as the column-major product C^T = op(B)^T op(A)^T.
_N, _T = 78, 84  # "N" and "T"


@nb.njit(inline="always", nogil=True)
def _mm_any(tb, ta, n, m, k, alpha, B, A, beta, C):
    s = C.itemsize
    lda, ldb, ldc = A.strides[0] // s, B.strides[0] // s, C.strides[0] // s
    a, b, c = A.ctypes.data, B.ctypes.data, C.ctypes.data
    _gemm(np.int64(tb), np.int64(ta), n, m, k, np.float64(alpha), b, ldb, a, lda, np.float64(beta), c, ldc, s == 8)


# These wrappers are inlined into their callers (inline="always") so that only _gemm is
# compiled, once, whatever the layouts of the arrays.
@nb.njit(inline="always", nogil=True)
def _mm(A, B, C, alpha=1.0, beta=0.0):
    """C = alpha A @ B + beta C."""
    _mm_any(_N, _N, B.shape[1], A.shape[0], A.shape[1], alpha, B, A, beta, C)


@nb.njit(inline="always", nogil=True)
def _mm_bt(A, B, C, alpha=1.0, beta=0.0):
    """C = alpha A @ B.T + beta C (B has shape (N, K))."""
    _mm_any(_T, _N, B.shape[0], A.shape[0], A.shape[1], alpha, B, A, beta, C)


@nb.njit(inline="always", nogil=True)
def _mm_at(A, B, C, alpha=1.0, beta=0.0):
    """C = alpha A.T @ B + beta C (A has shape (K, M))."""
    _mm_any(_N, _T, B.shape[1], A.shape[1], A.shape[0], alpha, B, A, beta, C)


# ============================================================ Philox4x32-10
# Why a counter-based generator written here: numpy's Generators are sequential streams,
# so the numbers a thread gets would depend on how the work is split; numpy's own Philox
# cannot be called from numba. Vectorised by LLVM it costs about 0.4 ns per 32-bit word.
_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint32(0x9E3779B9)
_W1 = np.uint32(0xBB67AE85)
_LO = np.uint64(0xFFFFFFFF)
_TAG_DATA, _TAG_H, _TAG_V, _TAG_SWAP = 0, 1, 2, 3


@nb.njit(inline="always", nogil=True)
def _philox(c0, c1, c2, c3, k0, k1):
    for _ in range(10):
        p0 = _M0 * np.uint64(c0)
        p1 = _M1 * np.uint64(c2)
        n0 = np.uint32(p1 >> np.uint64(32)) ^ c1 ^ k0
        n1 = np.uint32(p1 & _LO)
        n2 = np.uint32(p0 >> np.uint64(32)) ^ c3 ^ k1
        n3 = np.uint32(p0 & _LO)
        c0, c1, c2, c3 = n0, n1, n2, n3
        k0 = np.uint32(k0 + _W0)
        k1 = np.uint32(k1 + _W1)
    return c0, c1, c2, c3


@nb.njit(**_OPT)
def philox4x32(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 of one counter ``(c0, c1, c2, c3)`` under the key ``(k0, k1)``.

    Returns
    -------
    tuple of 4 uint32
        The four output words (checked against Random123's known answers).
    """
    return _philox(np.uint32(c0), np.uint32(c1), np.uint32(c2), np.uint32(c3), np.uint32(k0), np.uint32(k1))


@nb.njit(inline="always", nogil=True)
def _fill_row(u, g0, ng, c1, c2, c3, k0, k1):
    """u[4j + l] = word l of philox((g0 + j, c1, c2, c3), key), j < ng rounded up to 16 (whole SIMD steps)."""
    _fill_row_k(u, np.int64(g0), np.int64(ng), np.int64(c1), np.int64(c2), np.int64(c3), np.int64(k0), np.int64(k1))


# Helpers called with constant arguments go through such inlined wrappers that make every
# integer an int64: numba would otherwise compile one version per constant value.
@nb.njit(**_OPT)
def _fill_row_k(u, g0, ng, c1, c2, c3, k0, k1):
    c1 = np.uint32(c1)
    c2 = np.uint32(c2)
    c3 = np.uint32(c3)
    k0 = np.uint32(k0)
    k1 = np.uint32(k1)
    for j in range((ng + 15) // 16 * 16):
        x0, x1, x2, x3 = _philox(np.uint32(g0 + j), c1, c2, c3, k0, k1)
        u[4 * j] = x0
        u[4 * j + 1] = x1
        u[4 * j + 2] = x2
        u[4 * j + 3] = x3


def key_from(rng) -> tuple[int, int]:
    """A 64-bit Philox key ``(k0, k1)`` drawn from the :class:`numpy.random.Generator` ``rng`` (advances it)."""
    k = rng.integers(0, 2**32, size=2, dtype=np.uint64)
    return int(k[0]), int(k[1])


# ============================================================ logistic function and draws
# Why not numpy/numexpr: numpy's passes cost about 3 ns per unit (sigmoid, uniforms,
# compare, each a pass over memory), numexpr about 8 ns (its wheel has no vectorised exp)
# and neither can draw addressed random numbers. The float32 exp is Cephes' expf written
# with plain float32 operations so that LLVM vectorises it (numba's np.exp would call
# libm per element): 0.4 ns per unit, sigmoid error at most 9e-8 over [-90, 90].
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


# Row dot products (energies of sampled states, PT swaps): a plain float loop is a serial
# chain of additions (0.36 ns per element); allowing reassociation here alone vectorises
# it (0.11 ns). The order is then fixed by the compiled code and the length, never by
# the thread count.
@nb.njit(nogil=True, cache=True, error_model="numpy", fastmath={"reassoc", "nsz"})
def _dot(x, y):
    s = x.dtype.type(0.0)
    for j in range(x.shape[0]):
        s += x[j] * y[j]
    return s


@nb.njit(nogil=True, cache=True, error_model="numpy", fastmath={"reassoc", "nsz"})
def _dot_sum(x, y, z):
    """sum_j x_j (y_j + z_j)."""
    s = x.dtype.type(0.0)
    for j in range(x.shape[0]):
        s += x[j] * (y[j] + z[j])
    return s


@nb.njit(nogil=True, cache=True, error_model="numpy", fastmath={"reassoc", "nsz"})
def _dot_sum_diff(x, y, z, w):
    """sum_j x_j (y_j + z_j - w_j)."""
    s = x.dtype.type(0.0)
    for j in range(x.shape[0]):
        s += x[j] * (y[j] + z[j] - w[j])
    return s


# ============================================================ fused half-steps on a block
# Rows x0 .. x0+R of X hold pre-activations; columns c0:c1 (c0 % 4 == 0) are handled; the
# random-number row of block row i is crow0 + i. Modes:
_SAMPLE, _SAMPLE_P_INPLACE, _P_INPLACE, _SAMPLE_P = 0, 1, 2, 3


@nb.njit(inline="always", nogil=True)
def _draw_rows(X, x0, S, s0, P, p0, R, c0, c1, bias, mode, u, crow0, c2, c3, k0, k1):
    i64 = np.int64
    _draw_rows_k(X, i64(x0), S, i64(s0), P, i64(p0), i64(R), i64(c0), i64(c1), bias, i64(mode), u, i64(crow0), i64(c2),
                 i64(c3), i64(k0), i64(k1))  # fmt: skip


@nb.njit(**_OPT)
def _draw_rows_k(X, x0, S, s0, P, p0, R, c0, c1, bias, mode, u, crow0, c2, c3, k0, k1):
    """One fused half-step on a block of rows.

    x = X + bias, d = 1 + exp(-x) and, by ``mode``: ``_SAMPLE``: S <- draw;
    ``_SAMPLE_P_INPLACE``: S <- draw, X <- 1/d; ``_P_INPLACE``: X <- 1/d (no random
    numbers); ``_SAMPLE_P``: S <- draw, P <- 1/d. (In-place writes go through the same
    array as the reads, which lets LLVM vectorise without aliasing checks.)
    """
    n = c1 - c0
    ng = (n + 3) // 4
    bs = bias[c0:c1]
    one = X.dtype.type(1.0)
    for i in range(R):
        xr = X[x0 + i, c0:c1]
        if mode != _P_INPLACE:
            _fill_row(u, c0 // 4, ng, crow0 + i, c2, c3, k0, k1)
        if mode == _SAMPLE:
            sr = S[s0 + i, c0:c1]
            for j in range(n):
                sr[j] = 1.0 if _draw(u[j], _denom(xr[j] + bs[j])) else 0.0
        elif mode == _SAMPLE_P_INPLACE:
            sr = S[s0 + i, c0:c1]
            for j in range(n):
                d = _denom(xr[j] + bs[j])
                sr[j] = 1.0 if _draw(u[j], d) else 0.0
                xr[j] = one / d
        elif mode == _P_INPLACE:
            for j in range(n):
                xr[j] = one / _denom(xr[j] + bs[j])
        else:
            sr = S[s0 + i, c0:c1]
            pr = P[p0 + i, c0:c1]
            for j in range(n):
                d = _denom(xr[j] + bs[j])
                sr[j] = 1.0 if _draw(u[j], d) else 0.0
                pr[j] = one / d


@nb.njit(inline="always", nogil=True)
def _binarize_rows(Xu, Xf, idx, V, c0, c1, u, c2, c3, k0, k1):
    i64 = np.int64
    _binarize_rows_k(Xu, Xf, idx, V, i64(c0), i64(c1), u, i64(c2), i64(c3), i64(k0), i64(k1))


@nb.njit(**_OPT)
def _binarize_rows_k(Xu, Xf, idx, V, c0, c1, u, c2, c3, k0, k1):
    """V[i, c0:c1] <- Bernoulli(images[idx[i], c0:c1]): uint8 ``Xu`` (P = x/255) if it has rows, else float ``Xf``."""
    n = c1 - c0
    ng = (n + 3) // 4
    for i in range(idx.shape[0]):
        _fill_row(u, c0 // 4, ng, i, c2, c3, k0, k1)
        vr = V[i, c0:c1]
        if Xu.shape[0] > 0:
            xr = Xu[idx[i], c0:c1]
            for j in range(n):
                vr[j] = 1.0 if _binarize_one(xr[j], u[j]) else 0.0
        else:
            xf = Xf[idx[i], c0:c1]
            for j in range(n):
                vr[j] = 1.0 if _binarize_one(xf[j], u[j]) else 0.0


def _random_width(n: int) -> int:
    """Words of a random-number row for n units (groups of 4 padded to 16 groups)."""
    return ((n + 3) // 4 + 15) // 16 * 64


def half_step(pre, bias, key, *, row0=0, tag=1, step=0, counter=0, want_p=True):
    """One fused half-step on a block of rows (the building block of every kernel; for tests).

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
    u = np.empty(_random_width(n), np.uint32)
    mode = _SAMPLE_P if want_p else _SAMPLE
    _draw_rows(pre, 0, s, 0, p, 0, R, 0, n, bias, mode, u, row0, tag * 65536 + step, counter, key[0], key[1])
    return s, (p if want_p else None)


# ============================================================ threads
# Why adaptive: a per-batch fork/join across 2 threads is fastest on a quiet machine but
# collapses when another program holds the cores (the partner thread is descheduled and
# the batch waits for it: 2.3 s against 0.53 s per epoch at 10 hidden units). One thread
# never waits. The bits do not depend on the choice, so it can follow the load.
_forced = threading.local()
_layer: list = []


@nb.njit(parallel=True, cache=True)
def _probe(x):
    for i in prange(x.shape[0]):
        x[i] = i


def _threading_layer() -> str:
    """Start numba's threading layer once and return its name.

    libgomp's idle workers spin ``GOMP_SPINCOUNT`` iterations before sleeping; its default
    (milliseconds of spinning) burns a loaded machine's cores between our forks, which
    made the 2-thread chunks collapse (25 s instead of 1.1 s per epoch beside another job).
    20000 (tens of µs) keeps the forks of one batch warm. It is a ``setdefault``: a value
    set by the user wins, and it only acts if libgomp is loaded after this point.
    """
    if not _layer:
        os.environ.setdefault("GOMP_SPINCOUNT", "20000")
        _probe(np.zeros(2))
        _layer.append(nb.threading_layer())
    return _layer[0]


def max_threads() -> int:
    """Threads the kernels may use: ``min(NUMBA_NUM_THREADS, MAX_THREADS)``, or 1 without a safe threading layer.

    numba's fallback layer (``workqueue``, used when libgomp is missing) costs about 100 µs
    per parallel region and must not be entered from two Python threads at once; the
    kernels then run on one thread, with the same results.
    """
    forced = _fixed_threads()
    if forced is not None:
        return forced
    n = min(nb.config.NUMBA_NUM_THREADS, MAX_THREADS)
    if n < 2 or _threading_layer() not in ("omp", "tbb"):
        return 1
    return n


@contextlib.contextmanager
def threads(n: int | None):
    """Run this thread's kernels on exactly ``n`` threads (None: the default adaptive choice).

    For tests and benchmarks; results are the same for every ``n``.
    """
    if n is not None and not 1 <= n <= nb.config.NUMBA_NUM_THREADS:
        raise ValueError(f"threads must be between 1 and NUMBA_NUM_THREADS={nb.config.NUMBA_NUM_THREADS}, got {n}")
    old = getattr(_forced, "n", None)
    _forced.n = n
    try:
        yield
    finally:
        _forced.n = old


def _fixed_threads():
    return getattr(_forced, "n", None)


_controller: list = []


@contextlib.contextmanager
def _run_on(T: int):
    """BLAS at one thread (our products must not fork) and numba at ``T`` threads."""
    if not _controller:
        _controller.append(ThreadpoolController())
    with _controller[0].limit(limits=1, user_api="blas"):
        if T > 1:
            old = nb.get_num_threads()
            nb.set_num_threads(T)
            try:
                yield
            finally:
                nb.set_num_threads(old)
        else:
            yield


class Chooser:
    """The thread count for each chunk of work, from measured seconds per unit of work.

    Work starts on ``tmax`` threads (at most :func:`max_threads`), the faster mode on a
    quiet machine. Every ``interval`` chunks (8 at first, doubling to 32 while the choice
    stands) the other mode runs one chunk of a quarter of the usual size, and the mode
    with the better median of its last 3 chunks is kept; a fresh probe replaces the old
    figures, so the choice follows load that comes and goes. Chunks last about
    ``chunk_seconds``, so load is noticed within about half a second. The first chunk is
    not measured (it may load compiled code). With :func:`threads` in force, that count is
    used throughout.
    """

    def __init__(self, tmax: int, chunk_seconds: float = 0.05):
        tmax = max(1, min(tmax, max_threads()))
        self.modes = [tmax, 1] if tmax > 1 else [1]
        self.rate = {m: deque(maxlen=3) for m in self.modes}
        self.seen = dict.fromkeys(self.modes, 0)
        self.n, self.interval, self.next_probe, self.best = 0, 8, 8, self.modes[0]
        self.probing = False
        self.chunk_seconds = chunk_seconds

    def _pick(self) -> int:
        self.n += 1
        other = [m for m in self.modes if m != self.best]
        self.probing = bool(other) and self.n >= self.next_probe
        return other[0] if self.probing else self.best

    def _record(self, mode: int, sec_per_unit: float) -> None:
        self.seen[mode] += 1
        if self.probing:
            self.next_probe = self.n + self.interval
            self.rate[mode].clear()
        elif self.seen[mode] == 1:
            return
        self.rate[mode].append(sec_per_unit)
        if all(len(self.rate[m]) for m in self.modes):
            best = min(self.modes, key=lambda m: float(np.median(self.rate[m])))
            if self.probing:
                self.interval = 8 if best != self.best else min(2 * self.interval, 32)
                self.next_probe = self.n + self.interval
            if best != self.best:
                self.rate[best] = deque([self.rate[best][-1]], maxlen=3)
            self.best = best

    def _size(self, mode: int) -> int:
        r = self.rate[mode] or self.rate[self.best]
        if not r:
            return 4
        share = 0.25 if self.probing else 1.0
        return int(np.clip(share * self.chunk_seconds / float(np.median(r)), 2, 512))

    def run(self, n: int, fn, done=None) -> None:
        """Call ``fn(start, count, threads)`` over ``range(n)`` in chunks; ``done(count)`` after each."""
        fixed = _fixed_threads()
        t = 0
        while t < n:  # always in chunks (at most 512 units), so that Ctrl-C is seen between them
            if fixed is not None or len(self.modes) == 1:
                T = fixed if fixed is not None else 1
                m = min(512, n - t)
                fn(t, m, T)
            else:
                T = self._pick()
                m = min(self._size(T), n - t)
                t0 = time.perf_counter()
                fn(t, m, T)
                self._record(T, (time.perf_counter() - t0) / m)
            if done is not None:
                done(m)
            t += m


_choosers: dict = {}
_choosers_lock = threading.Lock()


def shared_chooser(key: tuple, tmax: int) -> Chooser:
    """The :class:`Chooser` of one kind and shape of work, shared by every call in this process.

    The machine's load is the same for all of them, so a new call (a fresh ``sample`` or
    ``fit``) continues the measurements instead of probing one thread anew: on 60-sweep
    runs of parallel tempering that probe cost 3 %.
    """
    with _choosers_lock:
        chooser = _choosers.get(key)
        if chooser is None:
            chooser = _choosers[key] = Chooser(tmax)
        return chooser


# ============================================================ atomic block claiming
@intrinsic
def _fetch_add(typingctx, arr, idx, val):
    """Atomic ``old = arr[idx]; arr[idx] += val`` on an int64 array; returns ``old``."""

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]])
        return builder.atomic_rmw("add", ptr, args[2], "seq_cst")

    return types.int64(arr, idx, val), codegen


@nb.njit(**_OPT)
def _next_block(counter, nblk, R, N):
    """Claim the next block of ``R`` rows of ``N`` (shared ``counter``): (first row, rows), or (0, 0) when done."""
    j = _fetch_add(counter, 0, 1)
    if j >= nblk:
        return 0, 0
    r0 = j * R
    return r0, min(N, r0 + R) - r0


# ============================================================ plain Gibbs sweeps
def _gibbs(V, P, W, a, b, k, sweep0, k0, k1, counter, nslots, HP, HS, PV, U, want_p, clamp, want_e, E):
    """``k`` sweeps v -> h -> v of the chains V (N, nv), in place, in blocks of HP.shape[1] rows.

    Each of ``nslots`` threads claims whole blocks and runs all k sweeps of a block without
    synchronising. ``clamp`` (0 or 1 or N rows of 0/1): units kept at their value in V.
    ``P`` gets p(v | h) of the last sweep when ``want_p``; ``E[t, n]`` the energy E(v, h) after
    sweep t when ``want_e``.
    """
    N = V.shape[0]
    nv, nh = W.shape
    R = HP.shape[1]
    nblk = (N + R - 1) // R
    ncl = clamp.shape[0]
    for s in prange(nslots):
        hp = HP[s]
        hs = HS[s]
        pv = PV[s]
        u = U[s]
        while True:
            r0, m = _next_block(counter, nblk, R, N)
            if m == 0:
                break
            for t in range(k):
                sw = sweep0 + t
                _mm(V[r0 : r0 + m], W, hp[:m])
                _draw_rows(hp, 0, hs, 0, hs, 0, m, 0, nh, b, _SAMPLE, u, r0, _TAG_H * 65536, sw, k0, k1)
                _mm_bt(hs[:m], W, pv[:m])
                last_p = want_p and t == k - 1
                if ncl == 0:
                    mode = _SAMPLE_P if last_p else _SAMPLE
                    _draw_rows(pv, 0, V, r0, P, r0, m, 0, nv, a, mode, u, r0, _TAG_V * 65536, sw, k0, k1)
                else:
                    one = V.dtype.type(1.0)
                    for i in range(m):
                        r = r0 + i
                        _fill_row(u, 0, (nv + 3) // 4, r, _TAG_V * 65536, sw, k0, k1)
                        cl = clamp[r if ncl > 1 else 0]
                        vr = V[r]
                        pr = P[r]
                        xr = pv[i]
                        for c in range(nv):
                            d = _denom(xr[c] + a[c])
                            if cl[c] == 0:
                                vr[c] = 1.0 if _draw(u[c], d) else 0.0
                            if last_p:
                                pr[c] = vr[c] if cl[c] != 0 else one / d
                if want_e:
                    for i in range(m):
                        E[t, r0 + i] = -(_dot_sum(V[r0 + i], pv[i], a) + _dot(hs[i], b))


_gibbs_par, _gibbs_ser = _variants(_gibbs)


class _Scratch:
    """Per-thread buffers of a sampler: pre-activations, hidden samples, random words."""

    def __init__(self, slots: int, rows: int, nv: int, nh: int, dtype):
        self.HP = np.empty((slots, rows, nh), dtype)
        self.HS = np.empty((slots, rows, nh), dtype)
        self.PV = np.empty((slots, rows, nv), dtype)
        self.U = np.empty((slots, _random_width(max(nv, nh))), np.uint32)

    @classmethod
    def reuse(cls, current, slots: int, rows: int, nv: int, nh: int, dtype):
        """``current`` if it has room for ``slots`` threads, else new buffers."""
        return current if current is not None and current.HP.shape[0] >= slots else cls(slots, rows, nv, nh, dtype)


def _contiguous(x, dtype):
    return np.ascontiguousarray(x, dtype=dtype)


class GibbsChains:
    """Block Gibbs chains :math:`v \\to h \\to v` over the rows of ``v``, advanced in place.

    The chains of block ``i`` (rows ``i * chain_block(N)`` onwards) are advanced together; the
    random numbers of chain ``n`` at sweep ``t`` are addressed by ``(unit, n, layer, t)``
    under ``key``, so any number of threads, and any cut of a run into :meth:`run` calls,
    gives the same chains.

    Parameters
    ----------
    W, a, b : ndarray
        Parameters, shapes (n_visible, n_hidden), (n_visible,), (n_hidden,); copied to
        C-contiguous arrays of ``v``'s dtype if they are not.
    v : ndarray, shape (N, n_visible), float32 or float64, C-contiguous
        The chains' visible states (0/1), updated in place.
    key : tuple of int
        Philox key (:func:`key_from`).
    clamp : ndarray of bool, shape (n_visible,) or (N, n_visible), optional
        Units that keep their value in ``v``.

    Attributes
    ----------
    sweeps : int
        Sweeps done (the counter of the next sweep's random numbers).
    p : ndarray, shape (N, n_visible)
        :math:`p(v \\mid h)` of the last sweep of the last :meth:`run` with ``want_p``;
        clamped units show their value.
    """

    def __init__(self, W, a, b, v, key, clamp=None):
        if not (
            isinstance(v, np.ndarray) and v.flags.c_contiguous and v.ndim == 2 and v.dtype in (np.float32, np.float64)
        ):
            raise TypeError("v must be a C-contiguous 2-D float32 or float64 array (it is updated in place)")
        dt = v.dtype
        self.W, self.a, self.b = _contiguous(W, dt), _contiguous(a, dt), _contiguous(b, dt)
        self.v, self.key, self.sweeps = v, (int(key[0]), int(key[1])), 0
        nv = self.W.shape[0]
        self.clamp = np.zeros((0, nv), np.uint8)
        if clamp is not None:
            cl = np.asarray(clamp, dtype=bool)
            self.clamp = np.ascontiguousarray(cl.reshape(-1, nv), dtype=np.uint8)
        self.p = np.empty_like(v)
        self._scratch = None

    def run(self, k: int, *, want_p: bool = True, energies=None):
        """Advance every chain by ``k`` sweeps.

        Parameters
        ----------
        k : int
        want_p : bool
            Also compute :attr:`p` at the last sweep.
        energies : ndarray, shape (k, N), float64, optional
            Filled with :math:`E(v, h)` of each chain's joint state after each sweep.

        Returns
        -------
        ndarray or None
            :attr:`p` if ``want_p``.
        """
        N = self.v.shape[0]
        if k < 1 or N == 0:
            return self.p if want_p else None
        nv, nh = self.W.shape
        R = chain_block(N)
        nblk = -(-N // R)
        fixed = _fixed_threads()
        T = fixed if fixed is not None else max_threads()
        T = max(1, min(T, nblk))
        sc = self._scratch = _Scratch.reuse(self._scratch, T, min(N, R), nv, nh, self.v.dtype)
        want_e = energies is not None
        done, m = 0, 1
        while done < k:  # calls of about 0.25 s, so that Ctrl-C is seen between them (same chains)
            m = min(m, k - done)
            E = energies[done : done + m] if want_e else np.empty((0, 0))
            args = (self.v, self.p, self.W, self.a, self.b, m, self.sweeps, *self.key, np.zeros(1, np.int64), T)
            args += (sc.HP, sc.HS, sc.PV, sc.U, bool(want_p and done + m == k), self.clamp, want_e, E)
            t0 = time.perf_counter()
            with _run_on(T):
                (_gibbs_par if T > 1 else _gibbs_ser)(*args)
            elapsed = time.perf_counter() - t0
            self.sweeps += m
            done += m
            m = int(np.clip(m * 0.25 / max(elapsed, 1e-6), 1, 2 * m + 16))
        return self.p if want_p else None


# ============================================================ tempered sweeps and swaps
def _tempered(V, P, W, a, b, beta, base, betas, M, k, sweep0, k0, k1, counter, nslots, HP, HS, PV, U, G, acc,
              att, want_p, want_e, E):  # fmt: skip
    """``k`` sweeps of parallel tempering over the replicas V (R * M, nv): rung r holds rows r*M .. (r+1)*M.

    Each sweep: every row n draws h ~ sigmoid(beta_n (b + vW)) and
    v ~ sigmoid((1 - beta_n) base + beta_n (a + h W^T)) (blocks claimed by ``nslots``
    threads) and records G = -E(v, h) - base.v; then the pairs (r, r+1) with r of the
    sweep's parity swap their states with probability min(1, exp((beta_r - beta_{r+1})
    (G_{r+1} - G_r))) (serial). ``E[t, m]``: E(v, h) of the beta = 1 chains after sweep
    t's swaps. ``P``: the visible probabilities of the last sweep, moved with the states.
    """
    N = V.shape[0]
    nv, nh = W.shape
    nR = betas.shape[0]
    R = HP.shape[1]
    nblk = (N + R - 1) // R
    for t in range(k):
        sw = sweep0 + t
        last_p = want_p and t == k - 1
        counter[0] = 0
        for s in prange(nslots):
            hp = HP[s]
            hs = HS[s]
            pv = PV[s]
            u = U[s]
            one = V.dtype.type(1.0)
            while True:
                r0, m = _next_block(counter, nblk, R, N)
                if m == 0:
                    break
                _mm(V[r0 : r0 + m], W, hp[:m])
                for i in range(m):
                    be = beta[r0 + i]
                    _fill_row(u, 0, (nh + 3) // 4, r0 + i, _TAG_H * 65536, sw, k0, k1)
                    xr = hp[i]
                    sr = hs[i]
                    for c in range(nh):
                        sr[c] = 1.0 if _draw(u[c], _denom(be * (xr[c] + b[c]))) else 0.0
                _mm_bt(hs[:m], W, pv[:m])
                for i in range(m):
                    r = r0 + i
                    be = beta[r]
                    om = one - be
                    _fill_row(u, 0, (nv + 3) // 4, r, _TAG_V * 65536, sw, k0, k1)
                    xr = pv[i]
                    vr = V[r]
                    if last_p:
                        pr = P[r]
                        for c in range(nv):
                            d = _denom(om * base[c] + be * (xr[c] + a[c]))
                            vr[c] = 1.0 if _draw(u[c], d) else 0.0
                            pr[c] = one / d
                    else:
                        for c in range(nv):
                            vr[c] = 1.0 if _draw(u[c], _denom(om * base[c] + be * (xr[c] + a[c]))) else 0.0
                    G[r] = np.float64(_dot_sum_diff(vr, xr, a, base)) + np.float64(_dot(hs[i], b))
        # Replica exchange between the rung pairs of this sweep's parity (serial: cheap).
        for r in range(sw % 2, nR - 1, 2):
            dbeta = betas[r] - betas[r + 1]
            for mc in range(M):
                lo = r * M + mc
                hi = lo + M
                log_ratio = dbeta * (G[hi] - G[lo])
                ok = log_ratio >= 0.0
                if not ok:
                    w = _philox(np.uint32(mc), np.uint32(r), np.uint32(_TAG_SWAP * 65536), np.uint32(sw),
                                np.uint32(k0), np.uint32(k1))[0]  # fmt: skip
                    ok = (np.float64(w) + 0.5) * 2.3283064365386963e-10 < np.exp(log_ratio)
                if ok:
                    for c in range(nv):
                        x = V[lo, c]
                        V[lo, c] = V[hi, c]
                        V[hi, c] = x
                    if last_p:
                        for c in range(nv):
                            x = P[lo, c]
                            P[lo, c] = P[hi, c]
                            P[hi, c] = x
                    G[lo], G[hi] = G[hi], G[lo]
                    acc[r] += 1
            att[r] += M
        if want_e:
            top = (nR - 1) * M  # E = -(G + base.v) of the states now at beta = 1
            for mc in range(M):
                E[t, mc] = -(G[top + mc] + np.float64(_dot(V[top + mc], base)))


_tempered_par, _tempered_ser = _variants(_tempered)


class TemperedChains:
    """The sweeps of parallel tempering: ``R`` rungs of ``M`` chains in the rows of ``v``, in place.

    Parameters
    ----------
    W, a, b : ndarray
        Parameters (copied to C-contiguous arrays of ``v``'s dtype if they are not).
    v : ndarray, shape (R * M, n_visible), C-contiguous, float32 or float64
        Rung ``r`` holds rows ``r * M`` to ``(r + 1) * M``.
    p : ndarray, like ``v``
        Receives the visible probabilities of the last sweep of a :meth:`run` with ``want_p``.
    base : ndarray, shape (n_visible,)
        Visible biases of the :math:`\\beta = 0` model.
    M : int
    key : tuple of int

    Attributes
    ----------
    sweeps : int
        Sweeps done; sweep ``t`` proposes swaps between the pairs ``(r, r + 1)`` with ``r = t mod 2``.
    accepted, attempted : ndarray, shape (R - 1,)
        Swap counts between rungs ``r`` and ``r + 1`` (float64).
    """

    def __init__(self, W, a, b, v, p, base, M: int, key):
        dt = v.dtype
        self.W, self.a, self.b = _contiguous(W, dt), _contiguous(a, dt), _contiguous(b, dt)
        self.base = _contiguous(base, dt)
        self.v, self.p, self.M, self.key = v, p, int(M), (int(key[0]), int(key[1]))
        self.sweeps = 0
        self.G = np.zeros(v.shape[0])
        self.accepted = np.zeros(v.shape[0] // self.M - 1)
        self.attempted = np.zeros_like(self.accepted)
        N, nv, nh = v.shape[0], self.W.shape[0], self.W.shape[1]
        self.chooser = shared_chooser(("tempered", N, nv, nh, dt.str), -(-N // chain_block(N)))
        self._scratch = None

    def run(self, k: int, betas, *, want_p: bool = True, energies=None) -> None:
        """``k`` sweeps, each followed by its swaps, on the ladder ``betas`` (shape (R,)).

        ``energies`` (shape (k, M), float64), if given, receives :math:`E(v, h)` of the
        :math:`\\beta = 1` chains after each sweep.
        """
        betas = np.ascontiguousarray(betas, dtype=np.float64)
        beta_rows = np.repeat(betas, self.M).astype(self.v.dtype)
        nv, nh = self.W.shape
        N = self.v.shape[0]
        R = chain_block(N)
        E = np.empty((0, 0)) if energies is None else energies

        def chunk(t0, m, T):
            sc = self._scratch = _Scratch.reuse(self._scratch, T, min(N, R), nv, nh, self.v.dtype)
            last = t0 + m == k
            args = (self.v, self.p, self.W, self.a, self.b, beta_rows, self.base, betas, self.M, m, self.sweeps)
            args += (*self.key, np.zeros(1, np.int64), T, sc.HP, sc.HS, sc.PV, sc.U, self.G)
            args += (self.accepted, self.attempted, bool(want_p and last), energies is not None, E[t0 : t0 + m])
            with _run_on(T):
                (_tempered_par if T > 1 else _tempered_ser)(*args)
            self.sweeps += m

        self.chooser.run(int(k), chunk)


# ============================================================ training: one update's algebra
# The update of CD-k/PCD-k (rbmlib.train.updates.apply_gradient gives the formulas) in
# three parts that the fused kernel runs per block, so that a test can also run them on
# given phases. Buffers: V = [v_data (B rows); v_model (C rows)], H likewise with
# p(h | v). After _prep_cols, H holds the scaled, centred hidden factors
# Ht = [lr/B (h_d - lam); lr/C (lam - h_m)], so that the weight step is Vc^T Ht, one GEMM
# fused with the update through its beta (which saves a pass over W per batch).
@nb.njit(**_OPT)
def _sum_and_scale(H, r0, r1, c0, c1, acc, scale, centering, lm):
    """acc += the column sums of H[r0:r1, c0:c1]; then those entries <- scale (h - lam), or scale h."""
    n = c1 - c0
    for r in range(r0, r1):
        hr = H[r, c0:c1]
        if centering:
            for c in range(n):
                acc[c] += hr[c]
                hr[c] = scale * (hr[c] - lm[c])
        else:
            for c in range(n):
                acc[c] += hr[c]
                hr[c] = scale * hr[c]


@nb.njit(**_OPT)
def _prep_cols(j, c0, c1, H, B, sd, sm, centering, lam, SH, PH, gp):
    """Hidden columns c0:c1: raw sums (PH: data, SH: the bias step), then H <- Ht; gp[j] = Ht[:, c0:c1] lam[c0:c1]."""
    f = H.dtype.type
    sd, sm = f(sd), f(sm)
    n = c1 - c0
    ph = PH[c0:c1]
    sh = SH[c0:c1]
    lm = lam[c0:c1]
    ph[:] = 0.0
    sh[:] = 0.0
    N = H.shape[0]
    # Raw sums and the transform in one pass; for the model rows, (-sm) (h - lam) is bit for bit
    # sm (lam - h): IEEE negation is exact.
    _sum_and_scale(H, 0, B, c0, c1, ph, sd, centering, lm)
    _sum_and_scale(H, B, N, c0, c1, sh, -sm, centering, lm)
    for c in range(n):
        sh[c] = sd * ph[c] - sm * sh[c]
    if centering:
        _mm(H[:, c0:c1], lam.reshape((lam.shape[0], 1))[c0:c1], gp[j].reshape((N, 1)))


@nb.njit(**_OPT)
def _update_rows(i, w0, w1, V, H, B, sd, sm, lr, W, a, momentum, wd, centering, mu, lam, vel_W, vel_a, gp, qp, dbp,
                 GS, DA):  # fmt: skip
    """Weights of visible rows w0:w1 and their biases a; partial sums for the hidden biases (qp, dbp)."""
    f = W.dtype.type
    sd, sm, mom, decay = f(sd), f(sm), f(momentum), f(lr * wd)
    n = w1 - w0
    N = V.shape[0]
    nh = W.shape[1]
    da = DA[i, :n]
    dm = DA[i, n : 2 * n]  # the model rows' sum
    da[:] = 0.0
    dm[:] = 0.0
    mi = mu[w0:w1]
    for r in range(N):  # raw sums and the centring in one pass
        vr = V[r, w0:w1]
        acc = da if r < B else dm
        if centering:
            for c in range(n):
                acc[c] += vr[c]
                vr[c] -= mi[c]
        else:
            for c in range(n):
                acc[c] += vr[c]
    for c in range(n):
        da[c] = sd * da[c] - sm * dm[c]
    if momentum != 0.0:
        va = vel_a[w0:w1]
        for c in range(n):
            va[c] = mom * va[c] + da[c]
            da[c] = va[c]
    lam2 = lam.reshape((nh, 1))
    da2 = da.reshape((n, 1))
    Wi = W[w0:w1]
    if centering:
        _mm(V[:, w0:w1], mu.reshape((mu.shape[0], 1))[w0:w1], qp[i].reshape((N, 1)))
    mu_row = mu.reshape((1, mu.shape[0]))[:, w0:w1]
    if momentum != 0.0:
        Vi = vel_W[w0:w1]
        _mm_at(V[:, w0:w1], H, Vi, 1.0, mom)  # vel_W <- momentum vel_W + Vc^T Ht
        for r in range(n):
            vr = Vi[r]
            wr = Wi[r]
            if wd != 0.0:
                for c in range(nh):
                    vr[c] -= decay * wr[c]
            for c in range(nh):
                wr[c] += vr[c]
        if centering:
            _mm(Vi, lam2, da2, -1.0, 1.0)  # da -= vel_W lam
            _mm(mu_row, Vi, dbp[i].reshape((1, nh)))  # db -= mu^T vel_W (summed over the row blocks)
    else:
        if centering:
            if wd != 0.0:
                _mm(Wi, lam2, da2, decay, 1.0)  # the decay's part of -step_W lam
                _mm(mu_row, Wi, dbp[i].reshape((1, nh)), decay, 0.0)  # and of -mu^T step_W
            else:
                dbp[i, :] = 0.0
            g = GS[i]
            g[:] = 0.0
            for jj in range(gp.shape[0]):
                for r in range(N):
                    g[r] += gp[jj, r]
            _mm_at(V[:, w0:w1], g.reshape((N, 1)), da2, -1.0, 1.0)  # da -= Vc^T Ht lam
        _mm_at(V[:, w0:w1], H, Wi, 1.0, 1.0 - lr * wd)  # W <- (1 - lr wd) W + Vc^T Ht
    ai = a[w0:w1]
    for c in range(n):
        ai[c] += da[c]


@nb.njit(**_OPT)
def _update_hidden(j, c0, c1, H, B, b, momentum, centering, vel_b, lam, lam_rate, SH, PH, qp, dbp, QS, QH):
    """Hidden biases of columns c0:c1 (after every row block's _update_rows), and the running mean lam."""
    f = b.dtype.type
    mom, rate, inv_b = f(momentum), f(lam_rate), f(1.0 / B)
    n = c1 - c0
    N = H.shape[0]
    if centering and momentum == 0.0:
        q = QS[j]
        q[:] = 0.0
        for ii in range(qp.shape[0]):
            for r in range(N):
                q[r] += qp[ii, r]
        _mm(q.reshape((1, N)), H[:, c0:c1], QH[j, :n].reshape((1, n)))  # mu^T Vc^T Ht for these columns
    for c in range(c0, c1):
        db = SH[c]
        if momentum != 0.0:
            vel_b[c] = mom * vel_b[c] + db
            db = vel_b[c]
        if centering:
            s = f(0.0)
            for ii in range(dbp.shape[0]):
                s += dbp[ii, c]
            if momentum != 0.0:
                db -= s
            else:
                db += s - QH[j, c - c0]
        b[c] += db
        if centering:
            lam[c] += rate * (PH[c] * inv_b - lam[c])


@nb.njit(**_OPT)
def _width(n):
    """Width of the column blocks of an n-unit layer: n / N_COL_BLOCKS rounded up to a multiple of 8."""
    w = -(-n // N_COL_BLOCKS)
    return -(-w // 8) * 8


@nb.njit(**_OPT)
def _apply(V, H, B, lr, W, a, b, momentum, wd, centering, mu, lam, lam_rate, vel_W, vel_a, vel_b, SH, PH, gp, qp, dbp,
           QS, QH, GS, DA):  # fmt: skip
    """One update from given phases V, H (the three parts of the fused kernel, serially)."""
    nv, nh = W.shape
    C = V.shape[0] - B
    ch = _width(nh)
    cv = _width(nv)
    for j in range(gp.shape[0]):
        _prep_cols(j, j * ch, min(nh, (j + 1) * ch), H, B, lr / B, lr / C, centering, lam, SH, PH, gp)
    for i in range(qp.shape[0]):
        w0 = i * cv
        _update_rows(i, w0, min(nv, w0 + cv), V, H, B, lr / B, lr / C, lr, W, a, momentum, wd, centering, mu, lam,
                     vel_W, vel_a, gp, qp, dbp, GS, DA)  # fmt: skip
    for j in range(gp.shape[0]):
        _update_hidden(j, j * ch, min(nh, (j + 1) * ch), H, B, b, momentum, centering, vel_b, lam, lam_rate, SH, PH,
                       qp, dbp, QS, QH)  # fmt: skip


# ============================================================ training: the fused kernel
# Each phase of a batch is a prange over FIXED column blocks (_width) of a layer, and each
# block's work is one call of a compiled helper (numba outlines every prange body into a
# function of its own; calls keep those small and fast to compile).
@nb.njit(**_OPT)
def _phase_data(j, t, it, pcd, V, W, H, HS, b, B, U, k0, k1, momentum, centering, vel_b, lam, lam_rate, SH, PH, qp,
                dbp, QS, QH):  # fmt: skip
    """P1, hidden block j: [hidden biases of the previous batch] H[:B] = V[:B] W -> p(h|v) (and h ~ p for CD)."""
    nh = W.shape[1]
    ch = _width(nh)
    c0 = j * ch
    c1 = min(nh, c0 + ch)
    if t > 0:
        _update_hidden(j, c0, c1, H, B, b, momentum, centering, vel_b, lam, lam_rate, SH, PH, qp, dbp, QS, QH)
    _mm(V[:B], W[:, c0:c1], H[:B, c0:c1])
    mode = _P_INPLACE if pcd else _SAMPLE_P_INPLACE
    _draw_rows(H, 0, HS, 0, H, 0, B, c0, c1, b, mode, U[j], 0, _TAG_H * 65536, it, k0, k1)


@nb.njit(**_OPT)
def _phase_down(i, step, it, pcd, chains, HS, W, PV, V, a, B, U, k0, k1):
    """P2, visible block i: PV = h W^T -> v ~ p(v|h) into V[B:]."""
    nv = W.shape[0]
    cv = _width(nv)
    c0 = i * cv
    c1 = min(nv, c0 + cv)
    _mm_bt(chains if pcd else HS, W[c0:c1], PV[:, c0:c1])
    C = PV.shape[0]
    _draw_rows(PV, 0, V, B, PV, 0, C, c0, c1, a, _SAMPLE, U[i], 0, _TAG_V * 65536 + step, it, k0, k1)


@nb.njit(**_OPT)
def _phase_model(j, step, k, it, pcd, V, W, H, chains, HS, b, B, U, k0, k1, lr, centering, lam, SH, PH, gp):
    """P3, hidden block j: H[B:] = V[B:] W -> p (and h: the PCD chains or CD's next step); the step's hidden factors."""
    nh = W.shape[1]
    ch = _width(nh)
    c0 = j * ch
    c1 = min(nh, c0 + ch)
    C = H.shape[0] - B
    _mm(V[B:], W[:, c0:c1], H[B:, c0:c1])
    tag = _TAG_H * 65536 + step + 1
    last = step == k - 1
    if pcd:
        _draw_rows(H, B, chains, 0, H, B, C, c0, c1, b, _SAMPLE_P_INPLACE, U[j], 0, tag, it, k0, k1)
    else:
        mode = _P_INPLACE if last else _SAMPLE_P_INPLACE
        _draw_rows(H, B, HS, 0, H, B, C, c0, c1, b, mode, U[j], 0, tag, it, k0, k1)
    if last:
        _prep_cols(j, c0, c1, H, B, lr / B, lr / C, centering, lam, SH, PH, gp)


@nb.njit(**_OPT)
def _phase_weights(i, t, it, lrs, Xu, Xf, perm, V, H, B, W, a, momentum, wd, centering, mu, lam, vel_W, vel_a, gp, qp,
                   dbp, GS, DA, U, k0, k1):  # fmt: skip
    """P4, visible block i: weights and visible biases, then the next batch's data into V[:B] (t = -1: only that)."""
    nv = W.shape[0]
    cv = _width(nv)
    w0 = i * cv
    w1 = min(nv, w0 + cv)
    if t >= 0:
        lr = lrs[t]
        C = V.shape[0] - B
        _update_rows(i, w0, w1, V, H, B, lr / B, lr / C, lr, W, a, momentum, wd, centering, mu, lam, vel_W, vel_a, gp,
                     qp, dbp, GS, DA)  # fmt: skip
    if t + 1 < lrs.shape[0]:
        idx = perm[(t + 1) * B : (t + 2) * B]
        _binarize_rows(Xu, Xf, idx, V, w0, w1, U[i], _TAG_DATA * 65536, it + 1, k0, k1)


_P_DATA, _P_DOWN, _P_MODEL, _P_WEIGHTS, _P_HIDDEN = 0, 1, 2, 3, 4


@nb.njit(**_OPT)
def _phase(kind, blk, t, step, it0, Xu, Xf, perm, lrs, k0, k1, W, a, b, B, k, pcd, chains, momentum, wd, centering, mu,
           lam, lam_rate, vel_W, vel_a, vel_b, V, H, HS, PV, U, SH, PH, gp, qp, dbp, QS, QH, GS, DA):  # fmt: skip
    """Block ``blk`` of phase ``kind`` of batch ``t`` (and Gibbs ``step``)."""
    it = it0 + t
    if kind == _P_DATA:
        _phase_data(blk, t, it, pcd, V, W, H, HS, b, B, U, k0, k1, momentum, centering, vel_b, lam, lam_rate, SH, PH,
                    qp, dbp, QS, QH)  # fmt: skip
    elif kind == _P_DOWN:
        _phase_down(blk, step, it, pcd, chains, HS, W, PV, V, a, B, U, k0, k1)
    elif kind == _P_MODEL:
        _phase_model(blk, step, k, it, pcd, V, W, H, chains, HS, b, B, U, k0, k1, lrs[t], centering, lam, SH, PH, gp)
    elif kind == _P_WEIGHTS:
        _phase_weights(blk, t, it, lrs, Xu, Xf, perm, V, H, B, W, a, momentum, wd, centering, mu, lam, vel_W, vel_a,
                       gp, qp, dbp, GS, DA, U, k0, k1)  # fmt: skip
    else:
        nh = W.shape[1]
        ch = _width(nh)
        _update_hidden(blk, blk * ch, min(nh, (blk + 1) * ch), H, B, b, momentum, centering, vel_b, lam, lam_rate, SH,
                       PH, qp, dbp, QS, QH)  # fmt: skip


def _train(Xu, Xf, perm, lrs, it0, k0, k1, W, a, b, B, k, pcd, chains, momentum, wd, centering, mu, lam, lam_rate,
           vel_W, vel_a, vel_b, V, H, HS, PV, U, SH, PH, gp, qp, dbp, QS, QH, GS, DA):  # fmt: skip
    """CD-k / PCD-k updates for the batches perm[t*B:(t+1)*B] at learning rates lrs[t], t < len(lrs).

    Batch ``t`` draws its random numbers with counter ``it0 + t``. Per batch:

    * P1, hidden blocks: [hidden biases of the previous batch] H[:B] = V[:B] W -> p(h|v)
      (and h ~ p for CD);
    * P2, visible blocks: PV = h W^T -> v ~ p(v|h) into V[B:] (k times with P3);
    * P3, hidden blocks: H[B:] = V[B:] W -> p (and h: the PCD chains, or CD's next step);
      after the last step, the gradient's hidden factors (_prep_cols);
    * P4, visible blocks: the weight rows and visible biases (_update_rows), then the
      next batch's data are binarised into V[:B].

    Before the first batch, P4 only binarises; after the last, the hidden biases are
    updated. The phases are run by one prange over the blocks of each (numba compiles
    every prange loop into a function of its own, about a second each).
    """
    nv, nh = W.shape
    nbh = -(-nh // _width(nh))
    nbv = -(-nv // _width(nv))
    nbatch = lrs.shape[0]
    per_batch = 2 + 2 * k
    for q in range(2 + nbatch * per_batch):
        if q == 0:
            kind, t, step = _P_WEIGHTS, -1, 0
        elif q == 1 + nbatch * per_batch:
            kind, t, step = _P_HIDDEN, nbatch - 1, 0
        else:
            t = (q - 1) // per_batch
            r = (q - 1) % per_batch
            step = (r - 1) // 2
            if r == 0:
                kind = _P_DATA
            elif r == per_batch - 1:
                kind = _P_WEIGHTS
            else:
                kind = _P_DOWN if r % 2 == 1 else _P_MODEL
        nblk = nbv if kind == _P_DOWN or kind == _P_WEIGHTS else nbh
        for jb in prange(nblk):
            _phase(kind, np.int64(jb), t, step, it0, Xu, Xf, perm, lrs, k0, k1, W, a, b, B, k, pcd, chains, momentum,
                   wd, centering, mu, lam, lam_rate, vel_W, vel_a, vel_b, V, H, HS, PV, U, SH, PH, gp, qp, dbp, QS, QH,
                   GS, DA)  # fmt: skip


_train_par, _train_ser = _variants(_train)


class _UpdateBuffers:
    """Buffers of one update: phases V, H, and the partial sums of the blocks."""

    def __init__(self, B: int, C: int, nv: int, nh: int, dtype):
        ch, cv = int(_width(nh)), int(_width(nv))
        nbh, nbv = -(-nh // ch), -(-nv // cv)
        self.V = np.zeros((B + C, nv), dtype)
        self.H = np.zeros((B + C, nh), dtype)
        self.SH, self.PH = np.zeros(nh, dtype), np.zeros(nh, dtype)
        self.gp, self.QS = np.zeros((nbh, B + C), dtype), np.zeros((nbh, B + C), dtype)
        self.QH = np.zeros((nbh, ch), dtype)
        self.qp, self.GS = np.zeros((nbv, B + C), dtype), np.zeros((nbv, B + C), dtype)
        self.dbp, self.DA = np.zeros((nbv, nh), dtype), np.zeros((nbv, 2 * cv), dtype)
        self.U = np.zeros((max(nbh, nbv), _random_width(max(ch, cv))), np.uint32)


class _Optimizer:
    """Scalars and state arrays of an update, in the kernels' argument order."""

    def __init__(self, nv, nh, dtype, momentum, weight_decay, mu, lam, lam_rate, velocity):
        self.momentum, self.weight_decay, self.lam_rate = float(momentum), float(weight_decay), float(lam_rate)
        self.centering = mu is not None
        self.mu = mu if mu is not None else np.zeros(nv, dtype)
        self.lam = lam if lam is not None else np.zeros(nh, dtype)
        if velocity is not None and self.momentum:
            self.vel = (velocity["W"], velocity["a"], velocity["b"])
        else:
            self.vel = (np.zeros((0, nh), dtype), np.zeros(0, dtype), np.zeros(0, dtype))
        for x in (self.mu, self.lam, *self.vel):
            if x.dtype != dtype or not x.flags.c_contiguous or not x.flags.writeable:
                raise TypeError("optimizer arrays must be writable, C-contiguous and of the model's dtype")


def _check_params(W, a, b):
    for name, x in (("W", W), ("a", a), ("b", b)):
        if not (x.flags.c_contiguous and x.flags.writeable) or x.dtype not in (np.float32, np.float64):
            raise TypeError(f"{name} must be a writable C-contiguous float32 or float64 array (updated in place)")
    if not W.dtype == a.dtype == b.dtype:
        raise TypeError("W, a and b must share one dtype")


def apply_gradient(W, a, b, V, H, B, lr, *, momentum=0.0, weight_decay=0.0, mu=None, lam=None, lam_rate=0.01,
                   velocity=None):  # fmt: skip
    r"""Apply one CD/PCD step computed from given phases, with the fused kernel's code.

    Parameters
    ----------
    W, a, b : ndarray
        Parameters, shapes (n_visible, n_hidden), (n_visible,), (n_hidden,); updated in place.
    V : ndarray, shape (B + C, n_visible)
        ``B`` data rows, then ``C`` model rows (overwritten).
    H : ndarray, shape (B + C, n_hidden)
        :math:`p(h \mid v)` of each row of ``V`` (overwritten).
    B : int
    lr : float
    momentum, weight_decay : float
    mu, lam : ndarray, shapes (n_visible,) and (n_hidden,), optional
        Centering offsets (both or neither); ``lam`` is updated in place.
    lam_rate : float
    velocity : dict of ndarray, optional
        ``W``, ``a``, ``b`` velocities (momentum), updated in place.
    """
    _check_params(W, a, b)
    nv, nh = W.shape
    opt = _Optimizer(nv, nh, W.dtype, momentum, weight_decay, mu, lam, lam_rate, velocity)
    C = V.shape[0] - B
    buf = _UpdateBuffers(B, C, nv, nh, W.dtype)
    buf.V[:], buf.H[:] = V, H
    _apply(buf.V, buf.H, int(B), float(lr), W, a, b, opt.momentum, opt.weight_decay, opt.centering, opt.mu, opt.lam,
           opt.lam_rate, *opt.vel, buf.SH, buf.PH, buf.gp, buf.qp, buf.dbp, buf.QS, buf.QH, buf.GS, buf.DA)  # fmt: skip


class TrainKernel:
    """CD-k / PCD-k updates of ``W, a, b`` in place, on the fused kernel.

    Parameters
    ----------
    W, a, b : ndarray
        Parameters (writable, C-contiguous, float32 or float64), updated in place.
    batch_size : int
        ``B``: data rows per update.
    k : int
        Gibbs steps per update.
    chains : ndarray, shape (C, n_hidden), optional
        PCD's persistent hidden states (updated in place); ``None`` for CD (``C = B``).
    key : tuple of int
        Philox key.
    momentum, weight_decay, mu, lam, lam_rate, velocity
        As :func:`apply_gradient`.
    """

    def __init__(self, W, a, b, *, batch_size, k, chains, key, momentum=0.0, weight_decay=0.0, mu=None, lam=None,
                 lam_rate=0.01, velocity=None):  # fmt: skip
        _check_params(W, a, b)
        nv, nh = W.shape
        self.W, self.a, self.b = W, a, b
        self.B, self.k, self.key = int(batch_size), int(k), (int(key[0]), int(key[1]))
        self.pcd = chains is not None
        self.C = chains.shape[0] if self.pcd else self.B
        if self.pcd and (chains.dtype != W.dtype or not chains.flags.c_contiguous or chains.shape[1] != nh):
            raise TypeError("chains must be C-contiguous (n_chains, n_hidden) arrays of the model's dtype")
        self.chains = chains if self.pcd else np.zeros((0, nh), W.dtype)
        self.opt = _Optimizer(nv, nh, W.dtype, momentum, weight_decay, mu, lam, lam_rate, velocity)
        self.buf = _UpdateBuffers(self.B, self.C, nv, nh, W.dtype)
        self.HS = np.zeros((self.B, nh), W.dtype)
        self.PV = np.zeros((self.C, nv), W.dtype)
        shape = ("train", self.B, self.C, self.k, self.pcd, nv, nh, W.dtype.str)
        self.chooser = shared_chooser(shape, N_COL_BLOCKS)

    def run(self, images, perm, lrs, iteration: int, done=None) -> None:
        """Update on the batches ``perm[t*B:(t+1)*B]`` with learning rates ``lrs[t]``.

        Parameters
        ----------
        images : ndarray, shape (N, n_visible), uint8 or float32, C-contiguous
            Grey values (P = x/255) or probabilities, binarised afresh for every batch.
        perm : ndarray of int, shape (>= len(lrs) * B,)
        lrs : ndarray, shape (n_batches,)
        iteration : int
            Counter of the first batch's random numbers (the batch's global index).
        done : callable, optional
            ``done(n)`` after every chunk of ``n`` batches (a progress bar).
        """
        if images.dtype == np.uint8:
            Xu, Xf = images, np.zeros((0, images.shape[1]), np.float32)
        else:
            Xu, Xf = np.zeros((0, images.shape[1]), np.uint8), images
        perm = np.ascontiguousarray(perm, dtype=np.int64)
        lrs = np.ascontiguousarray(lrs, dtype=np.float64)
        o, bf = self.opt, self.buf

        def chunk(t0, m, T):
            args = (Xu, Xf, perm[t0 * self.B : (t0 + m) * self.B], lrs[t0 : t0 + m], int(iteration) + t0, *self.key)
            args += (self.W, self.a, self.b, self.B, self.k, self.pcd, self.chains, o.momentum, o.weight_decay)
            args += (o.centering, o.mu, o.lam, o.lam_rate, *o.vel, bf.V, bf.H, self.HS, self.PV, bf.U, bf.SH, bf.PH)
            args += (bf.gp, bf.qp, bf.dbp, bf.QS, bf.QH, bf.GS, bf.DA)
            with _run_on(T):
                (_train_par if T > 1 else _train_ser)(*args)

        self.chooser.run(len(lrs), chunk, done)
