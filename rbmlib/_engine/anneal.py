r"""Annealed importance sampling (AIS) on the engine: tempered Gibbs transitions and their log weights.

The intermediate distributions between a base model :math:`p_A(v) \propto e^{a_A^\top v}`
(:math:`\beta = 0`) and the RBM (:math:`\beta = 1`) are

.. math::

    p^*_\beta(v) = e^{(1-\beta) a_A^\top v + \beta a^\top v} \prod_j \bigl(1 + e^{\beta (b_j + (vW)_j)}\bigr),

the marginal of parallel tempering's path. Each step adds
:math:`\log p^*_{\beta_k}(v) - \log p^*_{\beta_{k-1}}(v)` to the run's log weight and then
moves :math:`v` by one Gibbs sweep that leaves :math:`p_{\beta_k}` invariant: the draw
primitive with inverse temperature :math:`\beta_k` and base :math:`a_A`, as in tempering.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numba import prange

from .draw import SAMPLE, half_step
from .jit import OPT, variants
from .philox import TAG_DATA
from .records import Sweeps, as_params, scratch
from .sparse import product_mode, up
from .sweep import layers, slot, sweep_rows
from .threads import chain_block, next_block, run_on, shared_chooser

__all__ = ["anneal"]


@nb.njit(inline="always", nogil=True, error_model="numpy")
def _softplus(y):
    """log(1 + e^y) in float64, without overflow."""
    return max(y, 0.0) + np.log1p(np.exp(-abs(y)))


@nb.njit(**OPT)
def _log_ratio(hp, b, v, da, bp, bn):
    """log p*_bn(v) - log p*_bp(v) for one row: (bn - bp) (a - a_A).v + sum_j softplus(bn x_j) - softplus(bp x_j)."""
    acc = 0.0
    for j in range(v.shape[0]):
        acc += np.float64(v[j]) * da[j]
    acc *= bn - bp
    for j in range(hp.shape[0]):
        x = np.float64(hp[j] + b[j])
        acc += _softplus(bn * x) - _softplus(bp * x)
    return acc


def _anneal(V, logw, params, base, da, seq, scr, sw, counter, nslots):
    """Steps ``sw.first + 1 .. sw.first + sw.k`` of the annealing path ``seq`` for the runs in the rows of V.

    Step ``k`` adds the log ratio of :math:`p^*_{seq[k]}` to :math:`p^*_{seq[k-1]}` at the
    current state to ``logw`` and, unless it is the path's last step, moves V by one sweep
    at :math:`\\beta = seq[k]` (random counter ``k``). Blocks of rows are claimed by
    ``nslots`` threads and run all their steps without synchronising.
    """
    N = V.shape[0]
    W, a, b = params
    nv, nh = W.shape
    K = seq.shape[0]
    R = scr.HP.shape[1]
    nblk = (N + R - 1) // R
    key = (sw.k0, sw.k1)
    for s in prange(nslots):
        buf = slot(scr, s)
        hp = buf[0]
        beta = np.empty(1, V.dtype)
        lays = layers(params, beta, base, np.empty((0, nv), np.uint8))
        while True:
            r0, m = next_block(counter, nblk, R, N)
            if m == 0:
                break
            for k in range(sw.first + 1, sw.first + sw.k + 1):
                up(V, r0, m, W, hp, scr.IX[s], sw.products)
                for i in range(m):
                    logw[r0 + i] += _log_ratio(hp[i], b, V[r0 + i], da, seq[k - 1], seq[k])
                if k == K - 1:
                    break
                beta[0] = seq[k]
                sweep_rows(V, V, r0, m, W, lays, buf, k, key, SAMPLE)


_anneal_par, _anneal_ser = variants(_anneal)


def anneal(W, a, b, base, betas, key, *, v=None, n_runs=None, dtype=np.float32) -> np.ndarray:
    """Log importance weights of AIS runs along ``betas`` (forward from the base, or reversed from ``v``).

    Parameters
    ----------
    W, a, b : ndarray
        The RBM.
    base : ndarray, shape (n_visible,)
        Visible biases :math:`a_A` of the base model.
    betas : ndarray, shape (K,)
        Increasing inverse temperatures from 0 to 1.
    key : tuple of int
        Philox key.
    v : ndarray, shape (n_runs, n_visible), optional
        Reverse AIS: model samples to anneal from :math:`\\beta = 1` back to 0. Without it,
        ``n_runs`` forward runs start from exact draws of the base model.
    n_runs : int
        Forward runs.
    dtype : float32 or float64

    Returns
    -------
    ndarray, shape (n_runs,), float64
        :math:`\\log w`; forward, :math:`E[w] = Z / Z_A`; reverse, :math:`E[w] = Z_A / Z`.
    """
    params = as_params(W, a, b, dtype)
    base = np.ascontiguousarray(base, dtype=np.float64)
    da = np.asarray(a, dtype=np.float64) - base
    seq = np.ascontiguousarray(betas, dtype=np.float64)
    if v is None:
        zeros = np.zeros((int(n_runs), params.W.shape[0]), dtype)
        V, _ = half_step(zeros, base.astype(dtype), key, tag=TAG_DATA, want_p=False)
    else:
        V, seq = np.array(v, dtype=dtype, order="C"), np.ascontiguousarray(seq[::-1])
    N, (nv, nh) = V.shape[0], params.W.shape
    logw = np.zeros(N)
    base_dt = base.astype(dtype)
    R = chain_block(N)
    sc = None
    chooser = shared_chooser(("anneal", N, nv, nh, np.dtype(dtype).str), -(-N // R))

    def chunk(t0, m, T):
        nonlocal sc
        sc = scratch(sc, T, min(N, R), nv, nh, dtype)
        sw = Sweeps(m, t0, int(key[0]), int(key[1]), False, False, product_mode())
        args = (V, logw, params, base_dt, da, seq, sc, sw, np.zeros(1, np.int64), T)
        with run_on(T):
            (_anneal_par if T > 1 else _anneal_ser)(*args)

    chooser.run(len(seq) - 1, chunk)
    return logw
