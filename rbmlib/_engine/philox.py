r"""Counter-based random numbers: Philox4x32-10 (Salmon et al., 2011), addressed by unit and row.

Why written here: numpy's Generators are sequential streams, so the numbers a thread gets
would depend on how the work is split, and numpy's own Philox cannot be called from
numba. Vectorised by LLVM it costs about 0.4 ns per 32-bit word.

The 32-bit word for unit ``c`` of row ``r`` is word ``c % 4`` of
``philox((c // 4, r, tag * 65536 + step, counter), key)``: ``tag`` names what is drawn
(:data:`TAG_DATA`, :data:`TAG_H`, :data:`TAG_V`, :data:`TAG_SWAP`), ``step`` the Gibbs
step within an update, ``counter`` the batch (training), the sweep (sampling) or the
annealing step (AIS). Nothing is stored per stream; every draw is addressed, so the bits
cannot depend on who computes them. The 64-bit key is drawn from the caller's ``rng``
(:func:`key_from`).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .jit import OPT

__all__ = ["TAG_DATA", "TAG_H", "TAG_SWAP", "TAG_V", "fill_row", "key_from", "philox", "philox4x32"]

_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint32(0x9E3779B9)
_W1 = np.uint32(0xBB67AE85)
_LO = np.uint64(0xFFFFFFFF)
#: What a word is drawn for: data binarisation, hidden units, visible units, replica swaps.
TAG_DATA, TAG_H, TAG_V, TAG_SWAP = 0, 1, 2, 3


@nb.njit(inline="always", nogil=True)
def philox(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 of the uint32 counter ``(c0, c1, c2, c3)`` under the uint32 key ``(k0, k1)``."""
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


@nb.njit(**OPT)
def philox4x32(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 of one counter ``(c0, c1, c2, c3)`` under the key ``(k0, k1)``.

    Returns
    -------
    tuple of 4 uint32
        The four output words (checked against Random123's known answers).
    """
    return philox(np.uint32(c0), np.uint32(c1), np.uint32(c2), np.uint32(c3), np.uint32(k0), np.uint32(k1))


@nb.njit(inline="always", nogil=True)
def fill_row(u, g0, ng, c1, c2, c3, k0, k1):
    """u[4j + l] = word l of philox((g0 + j, c1, c2, c3), key), j < ng rounded up to 16 (whole SIMD steps)."""
    i64 = np.int64
    _fill_row(u, i64(g0), i64(ng), i64(c1), i64(c2), i64(c3), i64(k0), i64(k1))


# Helpers called with constant arguments go through such inlined wrappers that make every
# integer an int64: numba would otherwise compile one version per constant value.
@nb.njit(**OPT)
def _fill_row(u, g0, ng, c1, c2, c3, k0, k1):
    c1 = np.uint32(c1)
    c2 = np.uint32(c2)
    c3 = np.uint32(c3)
    k0 = np.uint32(k0)
    k1 = np.uint32(k1)
    for j in range((ng + 15) // 16 * 16):
        x0, x1, x2, x3 = philox(np.uint32(g0 + j), c1, c2, c3, k0, k1)
        u[4 * j] = x0
        u[4 * j + 1] = x1
        u[4 * j + 2] = x2
        u[4 * j + 3] = x3


def key_from(rng) -> tuple[int, int]:
    """A 64-bit Philox key ``(k0, k1)`` drawn from the :class:`numpy.random.Generator` ``rng`` (advances it)."""
    k = rng.integers(0, 2**32, size=2, dtype=np.uint64)
    return int(k[0]), int(k[1])
