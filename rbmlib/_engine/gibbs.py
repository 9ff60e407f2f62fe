r"""Block Gibbs chains :math:`v \to h \to v`, plain or with clamped units, advanced in place."""

from __future__ import annotations

import numpy as np
from numba import prange

from .blas import dot, dot_sum
from .draw import SAMPLE, SAMPLE_P
from .jit import variants
from .records import Params, Sweeps, as_params, scratch
from .sparse import product_mode, up
from .sweep import layers, slot, sweep_rows
from .threads import chain_block, next_block, run_on, shared_chooser

__all__ = ["GibbsChains"]


def _gibbs(V, P, E, params, clamp, scr, sw, counter, nslots):
    """``sw.k`` sweeps of the chains V (N, nv), in place, in blocks of ``scr.HP.shape[1]`` rows.

    Each of ``nslots`` threads claims whole blocks and runs all sweeps of a block without
    synchronising. ``clamp`` (0, 1 or N rows of 0/1): units kept at their value in V. ``P``
    gets p(v | h) of the last sweep when ``sw.want_p``; ``E[t, n]`` the energy E(v, h) after
    sweep t when ``sw.want_e``.
    """
    N = V.shape[0]
    W, a, b = params
    nv, nh = W.shape
    R = scr.HP.shape[1]
    nblk = (N + R - 1) // R
    key = (sw.k0, sw.k1)
    none = np.empty(0, V.dtype)
    for s in prange(nslots):
        lays = layers(params, none, none, clamp)  # built here: numba cannot pass a tuple of records into prange
        buf = slot(scr, s)
        hp, hs, pv, _ = buf
        while True:
            r0, m = next_block(counter, nblk, R, N)
            if m == 0:
                break
            for t in range(sw.k):
                up(V, r0, m, W, hp, scr.IX[s], sw.products)
                mode = SAMPLE_P if sw.want_p and t == sw.k - 1 else SAMPLE
                sweep_rows(V, P, r0, m, W, lays, buf, sw.first + t, key, mode)
                if sw.want_e:
                    for i in range(m):
                        E[t, r0 + i] = -(dot_sum(V[r0 + i], pv[i], a) + dot(hs[i], b))


_gibbs_par, _gibbs_ser = variants(_gibbs)


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
        Philox key (:func:`rbmlib._engine.philox.key_from`).
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
        self.params: Params = as_params(W, a, b, v.dtype)
        self.v, self.key, self.sweeps = v, (int(key[0]), int(key[1])), 0
        N, (nv, nh) = v.shape[0], self.params.W.shape
        self.clamp = np.zeros((0, nv), np.uint8)
        if clamp is not None:
            self.clamp = np.ascontiguousarray(np.asarray(clamp, dtype=bool).reshape(-1, nv), dtype=np.uint8)
        self.p = np.empty_like(v)
        self._scratch = None
        self.chooser = shared_chooser(("gibbs", N, nv, nh, v.dtype.str), -(-N // chain_block(max(N, 1))))

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
        nv, nh = self.params.W.shape
        R = chain_block(N)
        E = np.empty((0, 0)) if energies is None else energies

        def chunk(t0, m, T):
            sc = self._scratch = scratch(self._scratch, T, min(N, R), nv, nh, self.v.dtype)
            sw = Sweeps(m, self.sweeps, *self.key, bool(want_p and t0 + m == k), energies is not None, product_mode())
            args = (self.v, self.p, E[t0 : t0 + m], self.params, self.clamp, sc, sw, np.zeros(1, np.int64), T)
            with run_on(T):
                (_gibbs_par if T > 1 else _gibbs_ser)(*args)
            self.sweeps += m

        self.chooser.run(int(k), chunk)
        return self.p if want_p else None
