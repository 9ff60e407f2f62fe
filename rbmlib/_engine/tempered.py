r"""Parallel tempering's sweeps and replica swaps, in place."""

from __future__ import annotations

import numpy as np
from numba import prange

from .blas import dot, dot_sum_diff
from .draw import SAMPLE, SAMPLE_P
from .jit import variants
from .philox import TAG_SWAP, philox
from .records import Ladder, Params, Sweeps, as_params, scratch
from .sparse import product_mode, up
from .sweep import layers, slot, sweep_rows
from .threads import chain_block, next_block, run_on, shared_chooser

__all__ = ["TemperedChains"]


def _tempered(V, P, E, params, lad, scr, sw, counter, nslots):
    """``sw.k`` sweeps of parallel tempering over the replicas V (R * M, nv): rung r holds rows r*M .. (r+1)*M.

    Each sweep: every row n draws h ~ sigmoid(beta_n (b + vW)) and
    v ~ sigmoid((1 - beta_n) base + beta_n (a + h W^T)) (blocks claimed by ``nslots``
    threads) and records G = -E(v, h) - base.v; then the pairs (r, r+1) with r of the
    sweep's parity swap their states with probability min(1, exp((beta_r - beta_{r+1})
    (G_{r+1} - G_r))) (serial). ``E[t, m]``: E(v, h) of the beta = 1 chains after sweep
    t's swaps. ``P``: the visible probabilities of the last sweep, moved with the states.
    """
    N = V.shape[0]
    W, a, b = params
    nv, nh = W.shape
    M, base, G = lad.M, lad.base, lad.G
    nR = lad.betas.shape[0]
    R = scr.HP.shape[1]
    nblk = (N + R - 1) // R
    key = (sw.k0, sw.k1)
    for t in range(sw.k):
        sweep = sw.first + t
        last_p = sw.want_p and t == sw.k - 1
        counter[0] = 0
        for s in prange(nslots):
            lays = layers(params, lad.beta, base, np.empty((0, nv), np.uint8))  # built here: see gibbs
            buf = slot(scr, s)
            hp, hs, pv, _ = buf
            while True:
                r0, m = next_block(counter, nblk, R, N)
                if m == 0:
                    break
                up(V, r0, m, W, hp, scr.IX[s], sw.products)
                sweep_rows(V, P, r0, m, W, lays, buf, sweep, key, SAMPLE_P if last_p else SAMPLE)
                for i in range(m):
                    G[r0 + i] = np.float64(dot_sum_diff(V[r0 + i], pv[i], a, base)) + np.float64(dot(hs[i], b))
        # Replica exchange between the rung pairs of this sweep's parity (serial: cheap).
        for r in range(sweep % 2, nR - 1, 2):
            dbeta = lad.betas[r] - lad.betas[r + 1]
            for mc in range(M):
                lo = r * M + mc
                hi = lo + M
                log_ratio = dbeta * (G[hi] - G[lo])
                ok = log_ratio >= 0.0
                if not ok:
                    w = philox(np.uint32(mc), np.uint32(r), np.uint32(TAG_SWAP * 65536), np.uint32(sweep),
                               np.uint32(sw.k0), np.uint32(sw.k1))[0]  # fmt: skip
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
                    lad.walker[lo], lad.walker[hi] = lad.walker[hi], lad.walker[lo]
                    lad.accepted[r] += 1
            lad.attempted[r] += M
        # Round trips: a walker at the bottom that came from the top completes one.
        top = (nR - 1) * M
        for mc in range(M):
            w = lad.walker[mc]
            if lad.last[w] == 2:
                lad.trips[w] += 1
            lad.last[w] = 1
            w = lad.walker[top + mc]
            if lad.last[w] == 1:
                lad.last[w] = 2
        if sw.want_e:  # E = -(G + base.v) of the states now at beta = 1
            for mc in range(M):
                E[t, mc] = -(G[top + mc] + np.float64(dot(V[top + mc], base)))


_tempered_par, _tempered_ser = variants(_tempered)


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
    trips : ndarray of int64, shape (R * M,)
        Round trips bottom -> top -> bottom of each walker (a replica's state, followed through
        the swaps); walkers start on their row's rung.
    """

    def __init__(self, W, a, b, v, p, base, M: int, key):
        dt = v.dtype
        self.params: Params = as_params(W, a, b, dt)
        self.base = np.ascontiguousarray(base, dtype=dt)
        self.v, self.p, self.M, self.key = v, p, int(M), (int(key[0]), int(key[1]))
        self.sweeps = 0
        self.G = np.zeros(v.shape[0])
        self.accepted = np.zeros(v.shape[0] // self.M - 1)
        self.attempted = np.zeros_like(self.accepted)
        N, (nv, nh) = v.shape[0], self.params.W.shape
        self.walker = np.arange(N, dtype=np.int64)
        self.last = np.zeros(N, np.int8)
        self.last[: self.M] = 1  # the walkers that start at the bottom
        self.trips = np.zeros(N, np.int64)
        self.chooser = shared_chooser(("tempered", N, nv, nh, dt.str), -(-N // chain_block(N)))
        self._scratch = None

    def run(self, k: int, betas, *, want_p: bool = True, energies=None) -> None:
        """``k`` sweeps, each followed by its swaps, on the ladder ``betas`` (shape (R,)).

        ``energies`` (shape (k, M), float64), if given, receives :math:`E(v, h)` of the
        :math:`\\beta = 1` chains after each sweep.
        """
        betas = np.ascontiguousarray(betas, dtype=np.float64)
        beta_rows = np.repeat(betas, self.M).astype(self.v.dtype)
        lad = Ladder(
            beta_rows,
            betas,
            self.M,
            self.base,
            self.G,
            self.accepted,
            self.attempted,
            self.walker,
            self.last,
            self.trips,
        )
        nv, nh = self.params.W.shape
        N = self.v.shape[0]
        R = chain_block(N)
        E = np.empty((0, 0)) if energies is None else energies

        def chunk(t0, m, T):
            sc = self._scratch = scratch(self._scratch, T, min(N, R), nv, nh, self.v.dtype)
            sw = Sweeps(m, self.sweeps, *self.key, bool(want_p and t0 + m == k), energies is not None, product_mode())
            args = (self.v, self.p, E[t0 : t0 + m], self.params, lad, sc, sw, np.zeros(1, np.int64), T)
            with run_on(T):
                (_tempered_par if T > 1 else _tempered_ser)(*args)
            self.sweeps += m

        self.chooser.run(int(k), chunk)
