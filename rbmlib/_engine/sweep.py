r"""One block Gibbs sweep :math:`v \to h \to v` of a block of chains: the step that Gibbs chains,
tempering and AIS share (each adds its own bookkeeping around it)."""

from __future__ import annotations

import numba as nb
import numpy as np

from .blas import mm_bt
from .draw import SAMPLE, draw_block, layer, rows, words
from .jit import OPT
from .philox import TAG_H, TAG_V

__all__ = ["layers", "slot", "sweep_rows"]


@nb.njit(inline="always", nogil=True)
def layers(params, beta, base, clamp):
    """The (hidden, visible) :class:`~rbmlib._engine.records.Layer` pair of a sweep.

    ``beta`` (per chain, one for all, or empty) tempers both layers; the base biases
    ``base`` and the ``clamp`` act on the visible layer only (each may be empty).
    """
    W, a, b = params
    return layer(b, beta, base[:0], np.empty((0, W.shape[1]), np.uint8)), layer(a, beta, base, clamp)


@nb.njit(inline="always", nogil=True)
def slot(scr, s):
    """Thread ``s``'s buffers of a :class:`~rbmlib._engine.records.Scratch`: (HP, HS, PV, U)."""
    return scr.HP[s], scr.HS[s], scr.PV[s], scr.U[s]


@nb.njit(**OPT)
def sweep_rows(V, P, r0, m, W, layers, buf, counter, key, mode):
    """Sweep the chains ``V[r0:r0+m]`` in place, starting from their hidden pre-activations ``buf[0][:m] = V W``.

    ``h ~ p(h | v)`` (the ``hidden`` layer of ``layers``) into ``buf[1]``, the visible
    pre-activations ``h W^T`` into ``buf[2]``, then ``v ~ p(v | h)`` (the ``visible`` layer)
    into ``V``, with ``P`` as ``mode`` says; random counter ``counter`` under ``key``. The
    buffers keep what the callers' bookkeeping needs: ``V W`` of the old state, ``h`` and
    ``h W^T``.
    """
    hp, hs, pv, u = buf
    hidden, visible = layers
    nv, nh = W.shape
    draw_block(hp, hs, hs, rows(0, 0, 0, r0, m), 0, nh, hidden, words(u, TAG_H, 0, counter, key), SAMPLE)
    mm_bt(hs[:m], W, pv[:m])
    draw_block(pv, V, P, rows(0, r0, r0, r0, m), 0, nv, visible, words(u, TAG_V, 0, counter, key), mode)
