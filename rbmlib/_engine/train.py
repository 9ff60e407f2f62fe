r"""The training kernel: CD-k and PCD-k updates, sampling, step and binarisation fused per batch.

The step's algebra (:func:`rbmlib.train.apply_gradient` gives the formulas) is done in
three parts that run per block of a layer, so that a test can also run them on given
phases (:func:`apply_gradient`). Buffers (:class:`~rbmlib._engine.records.Buffers`):
``V = [v_data (B rows); v_model (C rows)]``, ``H`` likewise with :math:`p(h \mid v)`.
After :func:`_prep_cols`, ``H`` holds the scaled, centred hidden factors
``Ht = [lr/B (h_d - lam); lr/C (lam - h_m)]``, so that the weight step is
:math:`V_c^\top H_t`, one GEMM fused with the update through its ``beta`` (which saves a
pass over ``W`` per batch).

A batch runs in phases, each a ``prange`` over FIXED column blocks of a layer (the blocks
depend on the layer's size only, so the bits do not depend on the thread count):

* DATA, hidden blocks: [the previous batch's hidden biases] ``H[:B] = V[:B] W`` ->
  :math:`p(h \mid v)` (and ``h ~ p`` for CD);
* DOWN, visible blocks: ``PV = h W^T`` -> ``v ~ p(v | h)`` into ``V[B:]`` (``k`` times with MODEL);
* MODEL, hidden blocks: ``H[B:] = V[B:] W`` -> ``p`` (and ``h``: the PCD chains, or CD's
  next step); after the last step, the step's hidden factors (:func:`_prep_cols`);
* WEIGHTS, visible blocks: the weight rows and visible biases (:func:`_update_rows`), then
  the next batch's data are binarised into ``V[:B]``.

Before the first batch, WEIGHTS only binarises; after the last, HIDDEN updates the hidden
biases. :func:`schedule` lists the phases of a run of batches in order.

Products with ``V`` (its rows are 0/1 in every phase that multiplies them) may take row
sums instead of sgemm (:mod:`~rbmlib._engine.sparse`): where WEIGHTS binarises and DOWN
draws a block of ``V``, the block's active units are listed (``IV``, ``NV``); DATA and
MODEL then sum the rows of ``W`` they select (:func:`_up_rows`), and WEIGHTS adds the rows
of ``Ht`` into the weight rows of the active units (:func:`_scatter`), each product
choosing its path from the listed counts.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numba import prange

from .blas import mm, mm_at, mm_bt
from .draw import P_INPLACE, SAMPLE, SAMPLE_P_INPLACE, binarize_rows, draw_block, layer, rows, words
from .jit import OPT, variants
from .philox import TAG_DATA, TAG_H, TAG_V
from .records import Batches, Buffers, Optimizer, Params, Plan, random_width
from .sparse import DENSE, MIN_WIDTH, add_rows, product_mode, support, use_sparse
from .threads import run_on, shared_chooser

__all__ = ["N_COL_BLOCKS", "TrainKernel", "apply_gradient", "schedule"]

#: Column blocks per layer in training, so at most this many threads train. Measured on
#: 2 cores (seconds per epoch, 2 threads): 2 blocks are 4-7 % faster than 4 (fewer and
#: larger GEMM calls; CD-1 at 400 hidden units 1.18 s against 1.23 s).
N_COL_BLOCKS = 2

#: The phases of a batch (see the module docstring).
DATA, DOWN, MODEL, WEIGHTS, HIDDEN = 0, 1, 2, 3, 4


@nb.njit(**OPT)
def _width(n):
    """Width of the column blocks of an n-unit layer: n / N_COL_BLOCKS rounded up to a multiple of 8."""
    w = -(-n // N_COL_BLOCKS)
    return -(-w // 8) * 8


@nb.njit(inline="always", nogil=True)
def _cols(j, n):
    """Columns of block ``j`` of an n-unit layer."""
    w = _width(n)
    return j * w, min(n, (j + 1) * w)


# ------------------------------------------------------------- products with a 0/1 operand
@nb.njit(inline="always", nogil=True)
def _sparse_on(mode, nh):
    """Whether a run keeps the supports of ``V``'s rows (:mod:`~rbmlib._engine.sparse`): some of its
    products may then sum rows. Gated by the hidden block width, the narrowest output."""
    return mode != DENSE and _width(nh) >= MIN_WIDTH


@nb.njit(**OPT)
def _supports(V, r0, r1, blk, buf):
    """The active units of ``V[r0:r1]`` in visible block ``blk`` (after the rows were written)."""
    w0, w1 = _cols(blk, V.shape[1])
    for r in range(r0, r1):
        buf.NV[r, blk] = support(V[r], w0, w1, buf.IV[r])


@nb.njit(**OPT)
def _up_rows(r0, r1, W, c0, c1, mode, buf):
    """``H[r0:r1, c0:c1] = V[r0:r1] @ W[:, c0:c1]``: row sums over the supports if sparse, else sgemm."""
    V, H = buf.V, buf.H
    nv = V.shape[1]
    nbv = buf.NV.shape[1]
    if _sparse_on(mode, W.shape[1]):
        on = 0
        for r in range(r0, r1):
            for blk in range(nbv):
                on += buf.NV[r, blk]
        if use_sparse(on, (r1 - r0) * nv, c1 - c0, mode):
            for r in range(r0, r1):
                hr = H[r, c0:c1]
                hr[:] = 0.0
                for blk in range(nbv):
                    w0 = _cols(blk, nv)[0]
                    add_rows(hr, W, buf.IV[r], w0, w0 + buf.NV[r, blk], c0, c1)
            return
    mm(V[r0:r1], W[:, c0:c1], H[r0:r1, c0:c1])


@nb.njit(**OPT)
def _scatter(i, out, beta, mode, opt, buf):
    """``out = beta out + Vc^T Ht`` for visible block ``i`` (``Vc``: ``V``'s block, centred by ``mu`` if
    centering), by scatter-adds over the supports when the block is sparse; False if it is not (the
    caller then calls sgemm).

    ``Vc^T Ht = V^T Ht - mu (1^T Ht)``: the centring is a rank-one term. Each weight row ``j``
    gets the rows of ``Ht`` of the samples whose unit ``j`` is on, eight per pass.
    """
    V, H = buf.V, buf.H
    N, nh = H.shape
    nv = V.shape[1]
    w0, w1 = _cols(i, nv)
    n = w1 - w0
    if not _sparse_on(mode, nh):
        return False
    on = 0
    for r in range(N):
        on += buf.NV[r, i]
    if not use_sparse(on, N * n, nh, mode):
        return False
    cc, ci = buf.CC[i], buf.CI[i]
    cc[:] = 0
    for r in range(N):  # the supports by row -> by unit (rows in order)
        ir = buf.IV[r]
        for q in range(w0, w0 + buf.NV[r, i]):
            j = ir[q] - w0
            ci[j, cc[j]] = r
            cc[j] += 1
    f = out.dtype.type
    centering = opt.mu.shape[0] > 0
    s = buf.SC  # 1^T Ht, summed by _prep_cols
    bt = f(beta)
    for j in range(n):
        o = out[j]
        if beta != 1.0:
            for c in range(nh):
                o[c] *= bt
        add_rows(o, H, ci[j], 0, cc[j], 0, nh)
        if centering:
            mj = opt.mu[w0 + j]
            for c in range(nh):
                o[c] -= mj * s[c]
    return True


# ----------------------------------------------------------------- the step's three parts
@nb.njit(**OPT)
def _sum_and_scale(H, r0, r1, c0, c1, acc, scale, centering, lm, tsum):
    """acc += the column sums of H[r0:r1, c0:c1]; then those entries <- scale (h - lam) (and tsum += their
    column sums, the centring's rank-one term of the row sums), or scale h."""
    n = c1 - c0
    for r in range(r0, r1):
        hr = H[r, c0:c1]
        if centering:
            for c in range(n):
                acc[c] += hr[c]
                hr[c] = scale * (hr[c] - lm[c])
                tsum[c] += hr[c]
        else:
            for c in range(n):
                acc[c] += hr[c]
                hr[c] = scale * hr[c]


@nb.njit(**OPT)
def _prep_cols(j, lr, B, opt, buf):
    """Hidden block j: raw sums (PH: data, SH: the bias step), then H <- Ht; gp[j] = Ht[:, cols] lam[cols]."""
    H, lam = buf.H, opt.lam
    f = H.dtype.type
    N = H.shape[0]
    sd, sm = f(lr / B), f(lr / (N - B))
    c0, c1 = _cols(j, H.shape[1])
    n = c1 - c0
    ph = buf.PH[c0:c1]
    sh = buf.SH[c0:c1]
    lm = lam[c0:c1]
    ts = buf.SC[c0:c1]
    ph[:] = 0.0
    sh[:] = 0.0
    ts[:] = 0.0
    centering = opt.mu.shape[0] > 0
    # Raw sums and the transform in one pass; for the model rows, (-sm) (h - lam) is bit for bit
    # sm (lam - h): IEEE negation is exact.
    _sum_and_scale(H, 0, B, c0, c1, ph, sd, centering, lm, ts)
    _sum_and_scale(H, B, N, c0, c1, sh, -sm, centering, lm, ts)
    for c in range(n):
        sh[c] = sd * ph[c] - sm * sh[c]
    if centering:
        mm(H[:, c0:c1], lam.reshape((lam.shape[0], 1))[c0:c1], buf.gp[j].reshape((N, 1)))


@nb.njit(**OPT)
def _update_rows(i, lr, B, params, opt, buf, mode):
    """Weights of visible block i and their biases a; partial sums for the hidden biases (qp, dbp)."""
    V, H, W, mu, lam = buf.V, buf.H, params.W, opt.mu, opt.lam
    f = W.dtype.type
    N = V.shape[0]
    nh = W.shape[1]
    w0, w1 = _cols(i, W.shape[0])
    sd, sm, mom, decay = f(lr / B), f(lr / (N - B)), f(opt.momentum), f(lr * opt.weight_decay)
    wd = opt.weight_decay
    centering = mu.shape[0] > 0
    n = w1 - w0
    da = buf.DA[i, :n]
    dm = buf.DA[i, n : 2 * n]  # the model rows' sum
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
    if opt.momentum != 0.0:
        va = opt.vel_a[w0:w1]
        for c in range(n):
            va[c] = mom * va[c] + da[c]
            da[c] = va[c]
    lam2 = lam.reshape((lam.shape[0], 1))
    da2 = da.reshape((n, 1))
    Wi = W[w0:w1]
    if centering:
        mm(V[:, w0:w1], mu.reshape((mu.shape[0], 1))[w0:w1], buf.qp[i].reshape((N, 1)))
    mu_row = mu.reshape((1, mu.shape[0]))[:, w0:w1]
    dbp = buf.dbp[i].reshape((1, nh))
    if opt.momentum != 0.0:
        Vi = opt.vel_W[w0:w1]
        if not _scatter(i, Vi, mom, mode, opt, buf):
            mm_at(V[:, w0:w1], H, Vi, 1.0, mom)  # vel_W <- momentum vel_W + Vc^T Ht
        for r in range(n):
            vr = Vi[r]
            wr = Wi[r]
            if wd != 0.0:
                for c in range(nh):
                    vr[c] -= decay * wr[c]
            for c in range(nh):
                wr[c] += vr[c]
        if centering:
            mm(Vi, lam2, da2, -1.0, 1.0)  # da -= vel_W lam
            mm(mu_row, Vi, dbp)  # db -= mu^T vel_W (summed over the row blocks)
    else:
        if centering:
            if wd != 0.0:
                mm(Wi, lam2, da2, decay, 1.0)  # the decay's part of -step_W lam
                mm(mu_row, Wi, dbp, decay, 0.0)  # and of -mu^T step_W
            else:
                buf.dbp[i, :] = 0.0
            g = buf.GS[i]
            g[:] = 0.0
            for jj in range(buf.gp.shape[0]):
                for r in range(N):
                    g[r] += buf.gp[jj, r]
            mm_at(V[:, w0:w1], g.reshape((N, 1)), da2, -1.0, 1.0)  # da -= Vc^T Ht lam
        if not _scatter(i, Wi, 1.0 - lr * wd, mode, opt, buf):
            mm_at(V[:, w0:w1], H, Wi, 1.0, 1.0 - lr * wd)  # W <- (1 - lr wd) W + Vc^T Ht
    ai = params.a[w0:w1]
    for c in range(n):
        ai[c] += da[c]


@nb.njit(**OPT)
def _update_hidden(j, B, params, opt, buf):
    """Hidden biases of block j (after every visible block's _update_rows), and the running mean lam."""
    H, b, lam = buf.H, params.b, opt.lam
    f = b.dtype.type
    mom, rate, inv_b = f(opt.momentum), f(opt.lam_rate), f(1.0 / B)
    c0, c1 = _cols(j, H.shape[1])
    n = c1 - c0
    N = H.shape[0]
    centering = opt.mu.shape[0] > 0
    momentum = opt.momentum != 0.0
    if centering and not momentum:
        q = buf.QS[j]
        q[:] = 0.0
        for ii in range(buf.qp.shape[0]):
            for r in range(N):
                q[r] += buf.qp[ii, r]
        mm(q.reshape((1, N)), H[:, c0:c1], buf.QH[j, :n].reshape((1, n)))  # mu^T Vc^T Ht for these columns
    for c in range(c0, c1):
        db = buf.SH[c]
        if momentum:
            opt.vel_b[c] = mom * opt.vel_b[c] + db
            db = opt.vel_b[c]
        if centering:
            s = f(0.0)
            for ii in range(buf.dbp.shape[0]):
                s += buf.dbp[ii, c]
            if momentum:
                db -= s
            else:
                db += s - buf.QH[j, c - c0]
        b[c] += db
        if centering:
            lam[c] += rate * (buf.PH[c] * inv_b - lam[c])


@nb.njit(**OPT)
def _apply(B, lr, mode, params, opt, buf):
    """One update from the phases in buf.V, buf.H (the three parts of the fused kernel, serially)."""
    nv, nh = params.W.shape
    if _sparse_on(mode, nh):
        for i in range(buf.NV.shape[1]):
            _supports(buf.V, 0, buf.V.shape[0], i, buf)
    for j in range(buf.gp.shape[0]):
        _prep_cols(j, lr, B, opt, buf)
    for i in range(buf.qp.shape[0]):
        _update_rows(i, lr, B, params, opt, buf, mode)
    for j in range(buf.gp.shape[0]):
        _update_hidden(j, B, params, opt, buf)


def buffers(B: int, C: int, nv: int, nh: int, dtype) -> Buffers:
    """Work arrays of an update with ``B`` data rows and ``C`` model rows."""
    ch, cv = int(_width(nh)), int(_width(nv))
    nbh, nbv = -(-nh // ch), -(-nv // cv)
    z = np.zeros
    return Buffers(
        V=z((B + C, nv), dtype),
        H=z((B + C, nh), dtype),
        HS=z((B, nh), dtype),
        PV=z((C, nv), dtype),
        U=z((max(nbh, nbv), random_width(max(ch, cv))), np.uint32),
        SH=z(nh, dtype),
        PH=z(nh, dtype),
        gp=z((nbh, B + C), dtype),
        qp=z((nbv, B + C), dtype),
        dbp=z((nbv, nh), dtype),
        QS=z((nbh, B + C), dtype),
        QH=z((nbh, ch), dtype),
        GS=z((nbv, B + C), dtype),
        DA=z((nbv, 2 * cv), dtype),
        IV=z((B + C, nv), np.int32),
        NV=z((B + C, nbv), np.int32),
        CI=z((nbv, cv, B + C), np.int32),
        CC=z((nbv, cv), np.int32),
        SC=z(nh, dtype),
    )


def _check_params(params: Params) -> None:
    for name, x in zip("Wab", params, strict=True):
        if not (x.flags.c_contiguous and x.flags.writeable) or x.dtype not in (np.float32, np.float64):
            raise TypeError(f"{name} must be a writable C-contiguous float32 or float64 array (updated in place)")
    if not params.W.dtype == params.a.dtype == params.b.dtype:
        raise TypeError("W, a and b must share one dtype")


def _check_optimizer(opt: Optimizer, dtype) -> None:
    for x in opt[3:]:
        if x.dtype != dtype or not x.flags.c_contiguous or not x.flags.writeable:
            raise TypeError("optimizer arrays must be writable, C-contiguous and of the model's dtype")


def apply_gradient(params: Params, V, H, B: int, lr: float, opt: Optimizer) -> None:
    """Apply one CD/PCD step computed from given phases, with the fused kernel's code.

    Parameters
    ----------
    params : Params
        ``W, a, b`` (writable, C-contiguous), updated in place.
    V : ndarray, shape (B + C, n_visible)
        ``B`` data rows, then ``C`` model rows.
    H : ndarray, shape (B + C, n_hidden)
        :math:`p(h \\mid v)` of each row of ``V``.
    B : int
    lr : float
    opt : rbmlib.train.Optimizer
        Its ``lam`` and velocities are updated in place.
    """
    _check_params(params)
    _check_optimizer(opt, params.W.dtype)
    nv, nh = params.W.shape
    buf = buffers(int(B), V.shape[0] - int(B), nv, nh, params.W.dtype)
    buf.V[:], buf.H[:] = V, H
    binary = bool(np.all((buf.V == 0) | (buf.V == 1)))
    _apply(int(B), float(lr), product_mode() if binary else DENSE, params, opt, buf)


# ------------------------------------------------------------------- the fused kernel
@nb.njit(**OPT)
def _phase(kind, blk, t, step, bat, params, opt, plan, buf):
    """Block ``blk`` of phase ``kind`` of batch ``t`` (and Gibbs ``step``)."""
    W, a, b = params
    nv, nh = W.shape
    B, C = plan.B, buf.PV.shape[0]
    it = bat.it0 + t
    key = (bat.k0, bat.k1)
    none = np.empty(0, W.dtype)
    if kind == WEIGHTS:
        if t >= 0:
            _update_rows(blk, bat.lrs[t], B, params, opt, buf, plan.products)
        if t + 1 < bat.lrs.shape[0]:
            w0, w1 = _cols(blk, nv)
            idx = bat.perm[(t + 1) * B : (t + 2) * B]
            rnd = words(buf.U[blk], TAG_DATA, 0, it + 1, key)
            if bat.Xu.shape[0] > 0:
                binarize_rows(bat.Xu, idx, buf.V, w0, w1, rnd)
            else:
                binarize_rows(bat.Xf, idx, buf.V, w0, w1, rnd)
            if _sparse_on(plan.products, nh):
                _supports(buf.V, 0, B, blk, buf)
    elif kind == DOWN:
        c0, c1 = _cols(blk, nv)
        mm_bt(plan.chains if plan.pcd else buf.HS, W[c0:c1], buf.PV[:, c0:c1])
        visible = layer(a, none, none, np.empty((0, nv), np.uint8))
        rnd = words(buf.U[blk], TAG_V, step, it, key)
        draw_block(buf.PV, buf.V, buf.PV, rows(0, B, 0, 0, C), c0, c1, visible, rnd, SAMPLE)
        if _sparse_on(plan.products, nh):
            _supports(buf.V, B, B + C, blk, buf)
    else:
        c0, c1 = _cols(blk, nh)
        hidden = layer(b, none, none, np.empty((0, nh), np.uint8))
        H, HS = buf.H, buf.HS
        if kind == DATA:
            if t > 0:
                _update_hidden(blk, B, params, opt, buf)
            _up_rows(0, B, W, c0, c1, plan.products, buf)
            mode = P_INPLACE if plan.pcd else SAMPLE_P_INPLACE
            draw_block(H, HS, H, rows(0, 0, 0, 0, B), c0, c1, hidden, words(buf.U[blk], TAG_H, 0, it, key), mode)
        elif kind == MODEL:
            _up_rows(B, B + C, W, c0, c1, plan.products, buf)
            last = step == plan.k - 1
            rnd = words(buf.U[blk], TAG_H, step + 1, it, key)
            if plan.pcd:
                draw_block(H, plan.chains, H, rows(B, 0, B, 0, C), c0, c1, hidden, rnd, SAMPLE_P_INPLACE)
            else:
                mode = P_INPLACE if last else SAMPLE_P_INPLACE
                draw_block(H, HS, H, rows(B, 0, B, 0, C), c0, c1, hidden, rnd, mode)
            if last:
                _prep_cols(blk, bat.lrs[t], B, opt, buf)
        else:
            _update_hidden(blk, B, params, opt, buf)


def _train(bat, params, opt, plan, buf):
    """The phases ``bat.schedule`` lists, each as a prange over its blocks (see the module docstring).

    numba compiles every prange loop into a function of its own (about a second each), so
    there is one loop over the schedule, not one per phase.
    """
    nv, nh = params.W.shape
    nbh = -(-nh // _width(nh))
    nbv = -(-nv // _width(nv))
    for q in range(bat.schedule.shape[0]):
        kind, t, step = bat.schedule[q, 0], bat.schedule[q, 1], bat.schedule[q, 2]
        nblk = nbv if kind == DOWN or kind == WEIGHTS else nbh
        for jb in prange(nblk):
            _phase(kind, np.int64(jb), t, step, bat, params, opt, plan, buf)


_train_par, _train_ser = variants(_train)


def schedule(n_batches: int, k: int) -> np.ndarray:
    """The phases of ``n_batches`` updates of CD-k/PCD-k in order: rows (kind, batch, Gibbs step).

    WEIGHTS of batch -1 only binarises the first batch; HIDDEN after the last batch updates
    its hidden biases (the other batches' are updated at the start of the next DATA phase).
    """
    out = [(WEIGHTS, -1, 0)]
    for t in range(n_batches):
        out.append((DATA, t, 0))
        for s in range(k):
            out += [(DOWN, t, s), (MODEL, t, s)]
        out.append((WEIGHTS, t, 0))
    out.append((HIDDEN, n_batches - 1, 0))
    return np.array(out, dtype=np.int64)


class TrainKernel:
    """CD-k / PCD-k updates of an RBM's parameters in place, on the fused kernel.

    Parameters
    ----------
    params : Params
        ``W, a, b`` (writable, C-contiguous, float32 or float64), updated in place.
    opt : rbmlib.train.Optimizer
        Its state (``lam``, velocities) is updated in place.
    batch_size : int
        ``B``: data rows per update.
    k : int
        Gibbs steps per update.
    chains : ndarray, shape (C, n_hidden), optional
        PCD's persistent hidden states (updated in place); ``None`` for CD (``C = B``).
    key : tuple of int
        Philox key.
    """

    def __init__(self, params: Params, opt: Optimizer, *, batch_size: int, k: int, chains, key):
        _check_params(params)
        dt = params.W.dtype
        _check_optimizer(opt, dt)
        nv, nh = params.W.shape
        B = int(batch_size)
        pcd = chains is not None
        if pcd and (chains.dtype != dt or not chains.flags.c_contiguous or chains.shape[1:] != (nh,)):
            raise TypeError("chains must be C-contiguous (n_chains, n_hidden) arrays of the model's dtype")
        self.params, self.opt, self.key = params, opt, (int(key[0]), int(key[1]))
        self.plan = Plan(B, int(k), pcd, chains if pcd else np.zeros((0, nh), dt), product_mode())
        C = chains.shape[0] if pcd else B
        self.buf = buffers(B, C, nv, nh, dt)
        shape = ("train", B, C, int(k), pcd, nv, nh, dt.str)
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
            Counter of the first batch's random numbers (the batch's global index), so a
            run cut anywhere (epochs, checkpoints) gives the same bits.
        done : callable, optional
            ``done(n)`` after every chunk of ``n`` batches (a progress bar).
        """
        nv = images.shape[1]
        if images.dtype == np.uint8:
            Xu, Xf = images, np.zeros((0, nv), np.float32)
        else:
            Xu, Xf = np.zeros((0, nv), np.uint8), images
        perm = np.ascontiguousarray(perm, dtype=np.int64)
        lrs = np.ascontiguousarray(lrs, dtype=np.float64)
        B = self.plan.B

        def chunk(t0, m, T):
            sched = schedule(m, self.plan.k)
            bat = Batches(Xu, Xf, perm[t0 * B : (t0 + m) * B], lrs[t0 : t0 + m], int(iteration) + t0, sched, *self.key)
            with run_on(T):
                (_train_par if T > 1 else _train_ser)(bat, self.params, self.opt, self.plan, self.buf)

        self.chooser.run(len(lrs), chunk, done)
