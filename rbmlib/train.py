r"""Training an RBM with contrastive divergence (CD-k) or persistent CD (PCD-k).

The log-likelihood gradient of a binary RBM is a difference of two expectations,

.. math::

    \frac{\partial \log p(v)}{\partial W_{ij}}
      = \langle v_i h_j \rangle_{\text{data}} - \langle v_i h_j \rangle_{\text{model}},

with :math:`h_j` replaced by :math:`p(h_j = 1 \mid v)` in both terms. CD-k estimates the
model term from a k-step Gibbs chain started at the data; PCD-k keeps ``batch_size``
chains running across updates (Tieleman, 2008).

Optional extras, all off by default so the defaults are the assignment's plain CD-1:
momentum, L2 weight decay, a learning-rate schedule, visible biases set from the data
marginals, and *centering* (Montavon & Müller, 2012; Melchior et al., 2016), which
follows the gradient of the reparametrised energy
:math:`-(v-\mu)^\top W (h-\lambda) - a_c^\top v - b_c^\top h` with :math:`\mu` the data
mean and :math:`\lambda` a running mean of the hidden activations. The model itself is
always stored in the standard parametrisation.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from .model import RBM, _check_units, atomic_savez, sigmoid

__all__ = ["fit", "TrainingDiverged", "RECIPES", "recipe", "images_to_probs"]


class TrainingDiverged(FloatingPointError):
    """The parameters became NaN or infinite during training."""


#: Named training recipes: keyword arguments for :func:`fit` plus the hidden size.
#: ``assignment`` is the assignment's configuration; ``best`` is our strongest recipe
#: for 500 hidden units on two CPU cores (see the README for what it reaches).
RECIPES: dict[str, dict] = {
    "assignment": dict(n_hidden=10, epochs=10, lr=0.1, batch_size=64, method="cd", k=1),
    # Centred PCD-1 (Melchior et al., 2016) with a learning rate decaying linearly to 0.
    "centered-pcd": dict(n_hidden=500, epochs=300, lr=0.01, batch_size=64, method="pcd", k=1,
                         centering=True, lr_schedule="linear", init_visible_bias=True),
}
RECIPES["best"] = RECIPES["centered-pcd"]


def recipe(name: str) -> dict:
    """Return a copy of the named recipe's settings (see :data:`RECIPES`)."""
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; choose one of {', '.join(sorted(RECIPES))}")
    return dict(RECIPES[name])


def images_to_probs(images, n_visible: int | None = None) -> np.ndarray:
    """Validate images and return pixel probabilities as float32 in [0, 1].

    ``uint8`` images are scaled by 1/255; float images must already lie in [0, 1].
    """
    arr = np.asarray(images)
    if arr.dtype == np.uint8:
        if arr.ndim != 2 or (n_visible is not None and arr.shape[1] != n_visible):
            raise ValueError(f"images must have shape (N, {n_visible or 'n_visible'}), got {arr.shape}")
        return arr.astype(np.float32) / np.float32(255)
    return _check_units(arr, n_visible if n_visible is not None else arr.shape[-1], "images", np.float32)


def _lr_factor(schedule, progress: float) -> float:
    """Learning-rate multiplier at ``progress`` in [0, 1) of the whole run."""
    if schedule is None or schedule == "constant":
        return 1.0
    if schedule == "linear":
        return max(1.0 - progress, 0.0)
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    if callable(schedule):
        return float(schedule(progress))
    raise ValueError(f"lr_schedule must be None, 'constant', 'linear', 'cosine' or a callable, got {schedule!r}")


class _Sampler:
    """Stochastic binarisation of a fixed image set, drawn in bulk.

    ``uint8`` pixels use exact integer thresholds: with :math:`r` uniform on
    ``{0, …, 254}``, :math:`P(r < x) = x / 255`.
    """

    def __init__(self, images, n_visible: int):
        arr = np.asarray(images)
        if arr.dtype == np.uint8:
            if arr.ndim != 2 or arr.shape[1] != n_visible:
                raise ValueError(f"images must have shape (N, {n_visible}), got {arr.shape}")
            self.x = arr
        else:
            self.x = _check_units(arr, n_visible, "images", np.float32)
        if self.x.shape[0] == 0:
            raise ValueError("images is empty")

    def __len__(self):
        return self.x.shape[0]

    def uniforms(self, n: int, rng) -> np.ndarray:
        """Random thresholds for ``n`` images: ``uint8`` on {0..254}, or float32 on [0, 1)."""
        if self.x.dtype == np.uint8:
            from .data import uint8_thresholds
            return uint8_thresholds((n, self.x.shape[1]), rng)
        return rng.random((n, self.x.shape[1]), dtype=np.float32)

    def draw(self, idx, rng) -> np.ndarray:
        """Binarise the images ``idx`` once (:func:`rbmlib.data.binarize`)."""
        from .data import binarize
        return binarize(self.x[idx], rng)


def _monitor(rbm: RBM, v_train, v_held, rng) -> dict:
    """Reconstruction error and the free-energy gap on fixed monitor sets."""
    from .evaluate import reconstruction_error

    row = {"recon_error": reconstruction_error(rbm, v_train, rng=rng),
           "fe_train": float(rbm.free_energy(v_train).mean())}
    if v_held is not None:
        row["fe_held_out"] = float(rbm.free_energy(v_held).mean())
        row["fe_gap"] = row["fe_held_out"] - row["fe_train"]
    return row


def fit(rbm: RBM, images, *, epochs: int, lr: float = 0.1, batch_size: int = 64,
        method: str = "cd", k: int = 1, seed=None, momentum: float = 0.0,
        weight_decay: float = 0.0, lr_schedule=None, init_visible_bias: bool = False,
        centering: bool = False, held_out=None, monitor_size: int = 1000,
        checkpoint=None, resume: bool = False, progress: bool = True, callback=None):
    r"""Train ``rbm`` in place with CD-k or PCD-k on stochastically binarised images.

    Every time an image is used it is binarised afresh: a pixel of intensity
    :math:`p` becomes 1 with probability :math:`p`. The data are shuffled every epoch.

    Parameters
    ----------
    rbm : RBM
        The model to train; updated in place and returned.
    images : array_like, shape (N, n_visible)
        ``uint8`` intensities (scaled by 1/255) or floats in [0, 1].
    epochs : int
        Total number of epochs (with ``resume``, including those already done).
    lr : float
        Learning rate (the assignment's :math:`\eta = 0.1`).
    batch_size : int
        Minibatch size (the assignment's :math:`M = 64`); also the number of
        persistent chains for PCD.
    method : {"cd", "pcd"}
    k : int
        Gibbs steps per update.
    seed : int, numpy.random.Generator or None
        Source of all randomness; the same seed gives bit-identical parameters.
    momentum : float
        Momentum coefficient (0 = plain SGD).
    weight_decay : float
        L2 penalty :math:`\tfrac{\text{weight\_decay}}{2}\lVert W\rVert^2` on the weights.
    lr_schedule : None, "constant", "linear", "cosine" or callable
        Multiplier of ``lr`` as a function of the fraction of training done.
    init_visible_bias : bool
        Set :math:`a_i = \log(\bar p_i / (1-\bar p_i))` from the pixel means first.
    centering : bool
        Use the centred gradient (offsets: data mean and running hidden mean).
    held_out : array_like, optional
        Images never trained on; the free energy gap between ``monitor_size``
        training images and these is Hinton's overfitting monitor.
    monitor_size : int
        Images in each fixed monitor set.
    checkpoint : path, optional
        Written atomically after every epoch; a valid model file that also holds
        the training state.
    resume : bool
        Continue from ``checkpoint`` if it exists.
    progress : bool
        Show a ``tqdm.auto`` progress bar.
    callback : callable, optional
        ``callback(rbm, row) -> dict or None`` after each epoch; its entries are
        added to the history row (e.g. an exact log-likelihood).

    Returns
    -------
    rbm : RBM
    history : list of dict
        One row per epoch: ``epoch``, ``seconds`` (training time, monitoring
        excluded), ``lr``, ``recon_error``, ``fe_train``, ``fe_held_out``, ``fe_gap``
        and the callback's entries.

    Raises
    ------
    TrainingDiverged
        If a parameter becomes NaN or infinite; ``rbm`` keeps the last good epoch.
    KeyboardInterrupt
        Re-raised after restoring ``rbm`` to the last completed epoch.
    """
    if not isinstance(rbm, RBM):
        raise TypeError(f"rbm must be an RBM, got {type(rbm).__name__}")
    if method not in ("cd", "pcd"):
        raise ValueError(f"method must be 'cd' or 'pcd', got {method!r}")
    for name, val in (("epochs", epochs), ("batch_size", batch_size), ("k", k)):
        if not isinstance(val, (int, np.integer)) or isinstance(val, bool) or val < 1:
            raise ValueError(f"{name} must be a positive integer, got {val!r}")
    for name, val in (("lr", lr), ("momentum", momentum), ("weight_decay", weight_decay)):
        if not isinstance(val, (int, float)) or not math.isfinite(val) or val < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {val!r}")
    if lr == 0:
        raise ValueError("lr must be > 0")
    if momentum >= 1:
        raise ValueError(f"momentum must be < 1, got {momentum}")
    _lr_factor(lr_schedule, 0.0)
    if resume and checkpoint is None:
        raise ValueError("resume=True needs a checkpoint path")

    from .model import as_rng
    data = _Sampler(images, rbm.n_visible)
    n = len(data)
    if batch_size > n:
        raise ValueError(f"batch_size ({batch_size}) is larger than the number of images ({n})")
    rng = as_rng(seed)
    mon_rng = np.random.default_rng(rng.integers(2**63))
    config = dict(n_visible=rbm.n_visible, n_hidden=rbm.n_hidden, epochs=int(epochs), lr=lr,
                  batch_size=int(batch_size), method=method, k=int(k), momentum=momentum,
                  weight_decay=weight_decay, lr_schedule=lr_schedule if isinstance(lr_schedule, (str, type(None))) else "callable",
                  init_visible_bias=init_visible_bias, centering=centering, n_images=n,
                  dtype=rbm.dtype.name)
    dt = rbm.dtype
    probs_mean = None
    if init_visible_bias or centering:
        probs_mean = images_to_probs(data.x, rbm.n_visible).mean(axis=0, dtype=np.float64)

    # Fixed monitor sets, binarised once.
    pick = mon_rng.choice(n, size=min(monitor_size, n), replace=False)
    v_mon = data.draw(pick, mon_rng).astype(dt)
    v_held = None
    if held_out is not None:
        held = _Sampler(held_out, rbm.n_visible)
        v_held = held.draw(np.arange(min(monitor_size, len(held))), mon_rng).astype(dt)

    # Training state.
    B, nv, nh = int(batch_size), rbm.n_visible, rbm.n_hidden
    vel_W = np.zeros_like(rbm.W) if momentum else None
    vel_a = np.zeros_like(rbm.a) if momentum else None
    vel_b = np.zeros_like(rbm.b) if momentum else None
    mu = probs_mean.astype(dt) if centering else None
    lam = np.full(nh, 0.5, dtype=dt) if centering else None
    h_chain = None
    history: list[dict] = []
    start_epoch = 0

    ckpt = Path(checkpoint) if checkpoint is not None else None
    if resume and ckpt.exists():
        state = _load_checkpoint(ckpt, rbm, config)
        history = state["history"]
        start_epoch = len(history)
        rng.bit_generator.state = state["rng"]
        mon_rng.bit_generator.state = state["mon_rng"]
        arrays = state["arrays"]
        if momentum:
            vel_W, vel_a, vel_b = arrays["vel_W"], arrays["vel_a"], arrays["vel_b"]
        if centering:
            lam = arrays["lam"]
        if method == "pcd":
            h_chain = arrays["h_chain"]
    elif init_visible_bias:
        p = np.clip(probs_mean, 1e-3, 1 - 1e-3)
        rbm.a[:] = np.log(p / (1 - p))

    if method == "pcd" and h_chain is None:
        h_chain = (rng.random((B, nh), dtype=dt) < 0.5).astype(dt)

    # Preallocated buffers for the hot loop.
    V = np.empty((2 * B, nv), dtype=dt)      # [v_data; v_model]
    H = np.empty((2 * B, nh), dtype=dt)      # [p(h|v_data); -p(h|v_model)]
    hv = np.empty((B, nv), dtype=dt)
    hh = np.empty((B, nh), dtype=dt)
    n_batches = n // B                       # the last partial batch is dropped
    chunk = max(1, 1024 // B)                # batches whose random numbers are drawn together
    dW = np.empty_like(rbm.W)

    def draw(c0, c1, perm):
        """All random numbers of batches c0..c1-1, in a fixed order (runs in a worker thread)."""
        nb = c1 - c0
        return (data.x[perm[c0 * B:c1 * B]], data.uniforms(nb * B, rng),
                rng.random((nb, k, B, nh), dtype=dt), rng.random((nb, k, B, nv), dtype=dt))

    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=(epochs - start_epoch) * n_batches, desc="training", unit="batch",
                   initial=0, leave=True)
    good = (rbm.W.copy(), rbm.a.copy(), rbm.b.copy())
    # For small models the random numbers of the next chunk are drawn in a second
    # thread while this one trains (numpy releases the GIL while it fills arrays). The
    # draws happen in the same order either way, so results do not depend on timing
    # or on the thread, and an epoch's draws are all done before its checkpoint
    # records the generator's state.
    prefetch = nh <= PREFETCH_MAX_HIDDEN and (os.cpu_count() or 1) > 1
    pool = ThreadPoolExecutor(max_workers=1) if prefetch else None
    limits = contextlib.ExitStack()
    if prefetch:
        from threadpoolctl import threadpool_limits
        limits.enter_context(threadpool_limits(limits=1, user_api="blas"))
    try:
        for epoch in range(start_epoch, epochs):
            t0 = time.perf_counter()
            perm = rng.permutation(n)
            lr_now = lr
            starts = list(range(0, n_batches, chunk))
            pending = _submit(pool, draw, 0, min(chunk, n_batches), perm)
            for j, c0 in enumerate(starts):
                c1 = min(c0 + chunk, n_batches)
                xs, us, uhs, uvs = pending.result()
                if j + 1 < len(starts):
                    pending = _submit(pool, draw, c1, min(c1 + chunk, n_batches), perm)
                for i in range(c1 - c0):
                    lr_now = lr * _lr_factor(lr_schedule, (epoch + (c0 + i) / n_batches) / epochs)
                    # Fresh binarisation, straight into the GEMM buffer.
                    v0 = V[:B]
                    np.less(us[i * B:(i + 1) * B], xs[i * B:(i + 1) * B], out=v0, casting="unsafe")
                    ph0 = H[:B]
                    np.dot(v0, rbm.W, out=ph0)
                    ph0 += rbm.b
                    sigmoid(ph0, out=ph0)
                    uh, uv = uhs[i], uvs[i]
                    if method == "cd":
                        h = _sample(ph0, uh[0], hh)
                    else:
                        h = h_chain
                    for step in range(k):
                        np.dot(h, rbm.W.T, out=hv)
                        hv += rbm.a
                        sigmoid(hv, out=hv)
                        vk = _sample(hv, uv[step], V[B:])
                        phk = H[B:]
                        np.dot(vk, rbm.W, out=phk)
                        phk += rbm.b
                        sigmoid(phk, out=phk)
                        if method == "pcd":
                            h = _sample(phk, uh[step], hh)
                        elif step < k - 1:
                            h = _sample(phk, uh[step + 1], hh)
                    if method == "pcd":
                        h_chain = h.copy()
                    sv = V[:B].sum(axis=0) - V[B:].sum(axis=0)
                    sh = H[:B].sum(axis=0) - H[B:].sum(axis=0)
                    scale = lr_now / B
                    if centering:
                        ph0_mean = ph0.mean(axis=0)
                        # Centre both phases: the gradient becomes sum (v-mu)(h-lam)^T.
                        V -= mu
                        H[:B] -= lam
                        np.subtract(lam, H[B:], out=H[B:])
                    else:
                        np.negative(H[B:], out=H[B:])
                    # dW = lr/B [v_data; v_model]^T [h_data; -h_model]: one GEMM for both phases.
                    H *= dt.type(scale)
                    np.dot(V.T, H, out=dW)
                    if weight_decay:
                        dW -= dt.type(lr_now * weight_decay) * rbm.W
                    da, db = sv * dt.type(scale), sh * dt.type(scale)
                    if momentum:
                        for vel, grad in ((vel_W, dW), (vel_a, da), (vel_b, db)):
                            vel *= dt.type(momentum)
                            vel += grad
                        step_W, da, db = vel_W, vel_a.copy(), vel_b.copy()
                    else:
                        step_W = dW
                    if centering:
                        # The centred step mapped back to the standard biases.
                        da -= step_W @ lam
                        db -= mu @ step_W
                    rbm.W += step_W
                    rbm.a += da
                    rbm.b += db
                    if centering:
                        lam += dt.type(0.01) * (ph0_mean - lam)
                if not (np.isfinite(rbm.W).all() and np.isfinite(rbm.a).all() and np.isfinite(rbm.b).all()):
                    rbm.W[:], rbm.a[:], rbm.b[:] = good
                    raise TrainingDiverged(
                        f"training diverged in epoch {epoch + 1}: W, a or b became NaN or infinite "
                        f"(lr={lr}); the model keeps the last completed epoch. Try a smaller lr.")
                if bar is not None:
                    bar.update(c1 - c0)
            seconds = time.perf_counter() - t0
            row = {"epoch": epoch + 1, "seconds": seconds, "lr": lr_now}
            with np.errstate(over="ignore", invalid="ignore"):
                row.update(_monitor(rbm, v_mon, v_held, mon_rng))
            if not all(math.isfinite(x) for x in row.values()):
                rbm.W[:], rbm.a[:], rbm.b[:] = good
                raise TrainingDiverged(
                    f"training diverged in epoch {epoch + 1}: the free energy became NaN or infinite "
                    f"(lr={lr}); the model keeps the last completed epoch. Try a smaller lr.")
            if callback is not None:
                extra = callback(rbm, row)
                if extra:
                    row.update(extra)
            history.append(row)
            if bar is not None:
                bar.set_postfix(recon=f"{row['recon_error']:.1f}", refresh=False)
            good = (rbm.W.copy(), rbm.a.copy(), rbm.b.copy())
            rbm.metadata.update(config=config, history=history)
            if ckpt is not None:
                _save_checkpoint(ckpt, rbm, rng, mon_rng, vel=(vel_W, vel_a, vel_b) if momentum else None,
                                 lam=lam, h_chain=h_chain)
    except KeyboardInterrupt:
        rbm.W[:], rbm.a[:], rbm.b[:] = good
        rbm.metadata.update(config=config, history=history, interrupted=True)
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
        limits.close()
        if bar is not None:
            bar.close()
    rbm.metadata.update(config=config, history=history)
    rbm.metadata.pop("interrupted", None)
    return rbm, history


class _Done:
    """A finished stand-in for a Future (random numbers drawn inline)."""

    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


def _submit(pool, fn, *args):
    return _Done(fn(*args)) if pool is None else pool.submit(fn, *args)


#: Up to this many hidden units, an epoch is dominated by random numbers and
#: elementwise work rather than by GEMMs: BLAS then runs on one thread and the random
#: numbers are drawn in a second thread (measured: 0.21 s instead of 0.34 s per epoch
#: at 10 hidden units on 2 cores). Above it, BLAS keeps all cores and a second busy
#: thread would only slow its GEMMs down.
PREFETCH_MAX_HIDDEN = 64


def _sample(p, u, out):
    """Bernoulli draw ``out = (u < p)`` for uniforms ``u``; returns ``out``."""
    np.less(u, p, out=out, casting="unsafe")
    return out


def _save_checkpoint(path: Path, rbm: RBM, rng, mon_rng, vel, lam, h_chain) -> None:
    meta = {"format_version": 1, "n_visible": rbm.n_visible, "n_hidden": rbm.n_hidden,
            "dtype": rbm.dtype.name, **rbm.metadata,
            "train_state": {"rng": rng.bit_generator.state, "mon_rng": mon_rng.bit_generator.state}}
    arrays = dict(W=rbm.W, a=rbm.a, b=rbm.b, metadata=np.array(json.dumps(meta)))
    if vel is not None:
        arrays.update(vel_W=vel[0], vel_a=vel[1], vel_b=vel[2])
    if lam is not None:
        arrays["lam"] = lam
    if h_chain is not None:
        arrays["h_chain"] = h_chain
    atomic_savez(path, **arrays)


def _load_checkpoint(path: Path, rbm: RBM, config: dict) -> dict:
    saved = RBM.load(path)
    old = saved.metadata.get("config", {})
    keys = ("n_visible", "n_hidden", "batch_size", "method", "k", "momentum", "centering", "dtype", "n_images")
    diff = [f"{key}: checkpoint {old.get(key)!r} != now {config[key]!r}" for key in keys if old.get(key) != config[key]]
    if diff:
        raise ValueError(f"checkpoint {path} was made with a different configuration ({'; '.join(diff)})")
    state = saved.metadata.get("train_state")
    if state is None:
        raise ValueError(f"{path} is a model file without training state; it cannot be resumed")
    with np.load(path, allow_pickle=False) as z:
        arrays = {key: z[key] for key in z.files if key not in ("W", "a", "b", "metadata")}
    rbm.W, rbm.a, rbm.b = saved.W, saved.a, saved.b
    rbm.metadata = {k: v for k, v in saved.metadata.items() if k != "train_state"}
    return {"history": list(saved.metadata.get("history", [])), "rng": state["rng"],
            "mon_rng": state["mon_rng"], "arrays": arrays}
