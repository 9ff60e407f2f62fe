r"""Products with a 0/1 operand: sums of the rows of ``W`` that the active units select.

A binarised MNIST digit has about 13 % of its pixels on, and so do the model's visible
samples. For a 0/1 row :math:`v`, :math:`v W = \sum_{i: v_i = 1} W_{i\cdot}` is a sum of
about 100 rows of ``W`` out of 784, and the 0/1 half of the weight gradient,
:math:`V^\top H`, adds each row :math:`H_{r\cdot}` into the weight rows of that sample's
active units only. :func:`add_rows` is the one primitive of both: ``acc += X[ir[q0]] + ...
+ X[ir[q1 - 1]]``, eight rows per pass over ``acc``.

Why by hand: BLAS has no 0/1-times-dense product, and scipy.sparse's CSR product is
slower (``benchmarks/sparse_crossover.py``, 512 rows at 400-500 columns, 10-15 % density:
0.51-0.76x sgemm with the block already in CSR, 1.24-1.64x converting it, against
0.27-0.40x for these row sums; it also allocates its output).

The row sums are limited by reading the selected rows of ``W`` from the L2 cache, where
a GEMM reuses each element of ``W`` from registers across rows: in the same script (one
core, 512 rows, 784 visible units) they cost about 0.3x sgemm at 10 % density and 0.4x
at 15 % for outputs of 400-500 columns, and break even near 40 %; narrower outputs break
even near 30 % (128 columns), and at 10 hidden units the per-row overhead makes them
slower at any density. The hidden layer of
a trained model is about half on (``best``: 0.505 in its Gibbs chains, against 0.159 for
the visible layer), so the down pass :math:`h W^\top` stays sgemm.

The choice is made per block of a product from the measured density of its 0/1 operand
(:func:`use_sparse`), so the same data give the same path and the same bits on any number
of threads. :func:`products` forces one path (tests, benchmarks).
"""

from __future__ import annotations

import contextlib
import threading

import numba as nb

from .blas import mm
from .jit import OPT

__all__ = [
    "AUTO",
    "DENSE",
    "MIN_WIDTH",
    "SPARSE",
    "add_rows",
    "product_mode",
    "products",
    "support",
    "up",
    "use_sparse",
]

#: How a run picks each product's path (:func:`products`): by the cost model, always sgemm, always row sums.
AUTO, DENSE, SPARSE = 0, 1, 2

#: Output rows narrower than this always take sgemm: the row sums' per-row overhead dominates
#: (at 10 hidden units they are slower than sgemm at any density).
MIN_WIDTH = 64

#: The cost model of the row sums against sgemm, fitted by hand to a first run of the
#: measurement that ``benchmarks/sparse_crossover.py`` makes (one core, blocks of 512 rows,
#: densities 0.1-0.35, widths 64-500; two runs of that script's least-squares fit on
#: 2026-12-07 gave slopes 2.24-2.44 and fixed terms 20-23 / w, whose thresholds are within
#: 0.05 of these): time ratio
#: :math:`\approx \rho\,(2.3 + 50/w) + 20/w` at density :math:`\rho` and output width
#: :math:`w`. Row sums are taken where the ratio is below ``COST_MARGIN``: density up to
#: 0.36 at 500 columns, 0.31 at 200, 0.19 at 64.
COST_SLOPE, COST_ROW, COST_FIXED, COST_MARGIN = 2.3, 50.0, 20.0, 0.9

_forced = threading.local()
_MODES = {"auto": AUTO, "dense": DENSE, "sparse": SPARSE}


@contextlib.contextmanager
def products(mode: str):
    """Run this thread's kernels with products ``"dense"`` (always sgemm), ``"sparse"`` (row sums
    wherever the operand is 0/1 and the output wide enough) or ``"auto"`` (by the cost model; the default).

    For tests and benchmarks: both paths give the same numbers up to float rounding.
    """
    if mode not in _MODES:
        raise ValueError(f"products must be one of {sorted(_MODES)}, got {mode!r}")
    old = product_mode()
    _forced.mode = _MODES[mode]
    try:
        yield
    finally:
        _forced.mode = old


def product_mode() -> int:
    """The mode (:data:`AUTO`, :data:`DENSE` or :data:`SPARSE`) the kernels started now take."""
    return getattr(_forced, "mode", AUTO)


@nb.njit(inline="always", nogil=True)
def use_sparse(n_active, n_total, width, mode):
    """Whether a product whose 0/1 operand has ``n_active`` of ``n_total`` entries on, with output
    rows ``width`` wide, takes the row sums (by ``mode`` and the cost model)."""
    if mode == DENSE or width < MIN_WIDTH:
        return False
    if mode == SPARSE:
        return True
    return n_active / n_total * (COST_SLOPE + COST_ROW / width) + COST_FIXED / width < COST_MARGIN


@nb.njit(inline="always", nogil=True)
def support(x, c0, c1, idx):
    """Write the indices ``i`` in ``[c0, c1)`` with ``x[i] != 0`` to ``idx[c0:]``, in order; return their count.

    Branch-free (a store per unit): the position only advances on an active unit, and it
    never passes the unit, so nothing beyond ``idx[c1 - 1]`` is written.
    """
    c = c0
    for i in range(c0, c1):
        idx[c] = i
        c += x[i] != 0
    return c - c0


@nb.njit(**OPT)
def add_rows(acc, X, ir, q0, q1, c0, c1):
    """``acc += sum(X[ir[q], c0:c1] for q in range(q0, q1))``, eight rows per pass over ``acc``.

    The order of the additions is fixed by ``ir`` (pairwise within each group of eight),
    never by the thread count.
    """
    n = c1 - c0
    q = q0
    while q + 8 <= q1:
        x1, x2, x3, x4 = X[ir[q], c0:c1], X[ir[q + 1], c0:c1], X[ir[q + 2], c0:c1], X[ir[q + 3], c0:c1]
        x5, x6, x7, x8 = X[ir[q + 4], c0:c1], X[ir[q + 5], c0:c1], X[ir[q + 6], c0:c1], X[ir[q + 7], c0:c1]
        for c in range(n):
            acc[c] += ((x1[c] + x2[c]) + (x3[c] + x4[c])) + ((x5[c] + x6[c]) + (x7[c] + x8[c]))
        q += 8
    if q + 4 <= q1:
        x1, x2, x3, x4 = X[ir[q], c0:c1], X[ir[q + 1], c0:c1], X[ir[q + 2], c0:c1], X[ir[q + 3], c0:c1]
        for c in range(n):
            acc[c] += (x1[c] + x2[c]) + (x3[c] + x4[c])
        q += 4
    while q < q1:
        x1 = X[ir[q], c0:c1]
        for c in range(n):
            acc[c] += x1[c]
        q += 1


@nb.njit(**OPT)
def _count(V, r0, m):
    """(entries != 0, entries that are neither 0 nor 1) of the rows ``V[r0:r0+m]``."""
    on, other = 0, 0
    for r in range(r0, r0 + m):
        vr = V[r]
        for i in range(vr.shape[0]):
            x = vr[i]
            on += x != 0
            other += (x != 0) & (x != 1)
    return on, other


@nb.njit(**OPT)
def up(V, r0, m, W, out, idx, mode):
    """``out[:m] = V[r0:r0+m] @ W``: the samplers' up pass, by row sums when ``V``'s block is
    0/1 and sparse enough (:func:`use_sparse`), else by sgemm. ``idx`` (>= m, n_visible) int32 scratch."""
    nv, nh = W.shape
    if mode != DENSE and nh >= MIN_WIDTH:
        on, other = _count(V, r0, m)
        if other == 0 and use_sparse(on, m * nv, nh, mode):
            for i in range(m):
                n = support(V[r0 + i], 0, nv, idx[i])
                o = out[i]
                o[:] = 0.0
                add_rows(o, W, idx[i], 0, n, 0, nh)
            return
    mm(V[r0 : r0 + m], W, out[:m])
