"""Matrix and vector products of the engine: single-threaded BLAS ``gemm`` and row dot products.

Why not numpy's products: OpenBLAS's own threading changes the bits of a product with the
thread count (``V @ W`` at 400 and 500 hidden units differs between 1 and 2 threads), and
its per-product fork/join is what collapses under load (66 s instead of 1.6 s per epoch
beside one other 2-thread job). The engine instead calls single-threaded ``sgemm`` /
``dgemm`` on fixed blocks of each product's output, from several threads at once.

The BLAS functions are scipy's ``cython_blas`` exports, found through numba's documented
route (:func:`numba.extending.get_cython_function_address`) and registered with LLVM by
name, so that numba can cache code that calls them (a raw pointer could not be cached).
"""

from __future__ import annotations

import numba as nb
import numpy as np
from llvmlite import binding as llvm
from llvmlite import ir
from numba import types
from numba.extending import get_cython_function_address, intrinsic

from .jit import OPT

__all__ = ["mm", "mm_at", "mm_bt", "dot", "dot_sum", "dot_sum_diff"]

llvm.add_symbol("rbmlib_sgemm", get_cython_function_address("scipy.linalg.cython_blas", "sgemm"))
llvm.add_symbol("rbmlib_dgemm", get_cython_function_address("scipy.linalg.cython_blas", "dgemm"))
_sgemm = types.ExternalFunction("rbmlib_sgemm", types.void(*[types.voidptr] * 13))
_dgemm = types.ExternalFunction("rbmlib_dgemm", types.void(*[types.voidptr] * 13))


@intrinsic
def _voidptr(typingctx, address):
    """The integer ``address`` as a ``void*``."""

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], ir.IntType(8).as_pointer())

    return types.voidptr(types.intp), codegen


@nb.njit(**OPT)
def _gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, double):
    """Fortran ``sgemm`` (``dgemm`` if ``double``) on raw data addresses ``a``, ``b``, ``c``.

    The argument list is BLAS's own. Addresses and float64 scalars keep this to one
    compiled signature (every array layout would otherwise compile its own).
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
def mm(A, B, C, alpha=1.0, beta=0.0):
    """C = alpha A @ B + beta C."""
    _mm_any(_N, _N, B.shape[1], A.shape[0], A.shape[1], alpha, B, A, beta, C)


@nb.njit(inline="always", nogil=True)
def mm_bt(A, B, C, alpha=1.0, beta=0.0):
    """C = alpha A @ B.T + beta C (B has shape (N, K))."""
    _mm_any(_T, _N, B.shape[0], A.shape[0], A.shape[1], alpha, B, A, beta, C)


@nb.njit(inline="always", nogil=True)
def mm_at(A, B, C, alpha=1.0, beta=0.0):
    """C = alpha A.T @ B + beta C (A has shape (K, M))."""
    _mm_any(_N, _T, B.shape[1], A.shape[1], A.shape[0], alpha, B, A, beta, C)


# Row dot products (energies of sampled states, PT swaps, AIS weights): a plain float loop is
# a serial chain of additions (0.36 ns per element); allowing reassociation here alone
# vectorises it (0.11 ns). The order is then fixed by the compiled code and the length,
# never by the thread count.
_DOT = dict(nogil=True, cache=True, error_model="numpy", fastmath={"reassoc", "nsz"})


@nb.njit(**_DOT)
def dot(x, y):
    """sum_j x_j y_j."""
    s = x.dtype.type(0.0)
    for j in range(x.shape[0]):
        s += x[j] * y[j]
    return s


@nb.njit(**_DOT)
def dot_sum(x, y, z):
    """sum_j x_j (y_j + z_j)."""
    s = x.dtype.type(0.0)
    for j in range(x.shape[0]):
        s += x[j] * (y[j] + z[j])
    return s


@nb.njit(**_DOT)
def dot_sum_diff(x, y, z, w):
    """sum_j x_j (y_j + z_j - w_j)."""
    s = x.dtype.type(0.0)
    for j in range(x.shape[0]):
        s += x[j] * (y[j] + z[j] - w[j])
    return s
