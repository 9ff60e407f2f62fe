"""The records that the engine's kernels take instead of long argument lists.

Plain named tuples of arrays and numbers: numba passes them to compiled code as they are,
and this module imports no numba, so the layers above can build them cheaply.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = [
    "Batches",
    "Buffers",
    "Ladder",
    "Layer",
    "Optimizer",
    "Params",
    "Plan",
    "Rows",
    "Scratch",
    "Sweeps",
    "Words",
    "as_params",
    "random_width",
    "scratch",
]


def random_width(n: int) -> int:
    """Words of a random-number row for ``n`` units (groups of 4, padded to 16 groups)."""
    return ((n + 3) // 4 + 15) // 16 * 64


class Params(NamedTuple):
    """An RBM's parameters ``W`` (n_visible, n_hidden), ``a`` (n_visible,), ``b`` (n_hidden,), one dtype."""

    W: np.ndarray
    a: np.ndarray
    b: np.ndarray


def as_params(W, a, b, dtype) -> Params:
    """``W, a, b`` as C-contiguous arrays of ``dtype`` (copies only where needed)."""
    return Params(*(np.ascontiguousarray(x, dtype=dtype) for x in (W, a, b)))


# ----------------------------------------------------------------------- one half-step
class Layer(NamedTuple):
    """What a half-step adds to a layer's pre-activations.

    Attributes
    ----------
    bias : ndarray, shape (n,)
    beta : ndarray, shape (N,), (1,) or (0,)
        Inverse temperature of each chain row, one for all rows, or none (:math:`\\beta = 1`).
    base : ndarray, shape (n,) or (0,)
        Biases weighted by :math:`1 - \\beta` (the base model of tempering and AIS), or none.
    clamp : ndarray of uint8, shape (N, n), (1, n) or (0, n)
        Units that keep their value (per chain row, the same for all rows, or none).
    """

    bias: np.ndarray
    beta: np.ndarray
    base: np.ndarray
    clamp: np.ndarray


class Rows(NamedTuple):
    """A block of rows: its first row in X, in S and in P, its first chain, and its length.

    The chain number indexes the layer's ``beta`` and ``clamp`` and is the row of the
    random address.
    """

    x: int
    s: int
    p: int
    chain: int
    n: int


class Words(NamedTuple):
    """Where a block's random words come from: scratch ``u`` and the address beyond (unit, row)."""

    u: np.ndarray
    c2: int
    c3: int
    k0: int
    k1: int


# ---------------------------------------------------------------------------- samplers
class Scratch(NamedTuple):
    """Per-thread buffers of a sampler: hidden pre-activations and samples, visible pre-activations, random words."""

    HP: np.ndarray  # (slots, rows, n_hidden)
    HS: np.ndarray  # (slots, rows, n_hidden)
    PV: np.ndarray  # (slots, rows, n_visible)
    U: np.ndarray  # (slots, words), uint32
    IX: np.ndarray  # (slots, rows, n_visible), int32: the active units of each row (sparse products)


def scratch(current: Scratch | None, slots: int, rows: int, nv: int, nh: int, dtype) -> Scratch:
    """``current`` if it has room for ``slots`` threads, else new buffers."""
    if current is not None and current.HP.shape[0] >= slots:
        return current
    return Scratch(
        np.empty((slots, rows, nh), dtype),
        np.empty((slots, rows, nh), dtype),
        np.empty((slots, rows, nv), dtype),
        np.empty((slots, random_width(max(nv, nh))), np.uint32),
        np.empty((slots, rows, nv), np.int32),
    )


class Sweeps(NamedTuple):
    """What one call of a sampler kernel does: ``k`` sweeps (or annealing steps) from number ``first``
    under the key ``(k0, k1)``; with ``want_p`` the probabilities of the last sweep, with ``want_e``
    the energies; ``products``: how the up pass picks sgemm or row sums (:mod:`~rbmlib._engine.sparse`)."""

    k: int
    first: int
    k0: int
    k1: int
    want_p: bool
    want_e: bool
    products: int


class Ladder(NamedTuple):
    """The temperatures of a tempering run and its swap bookkeeping.

    ``beta`` (R * M,) in the model's dtype holds each row's inverse temperature, ``betas``
    (R,) float64 the ladder, ``M`` the chains per rung; ``base`` (n_visible,) the
    :math:`\\beta = 0` biases; ``G`` (R * M,) float64 each row's :math:`-E(v, h) - \\text{base}\\cdot v`;
    ``accepted`` and ``attempted`` (R - 1,) the swap counts. ``walker`` (R * M,) int64 names the
    walker whose state each row holds (walkers move with the swaps); ``last`` (R * M,) int8 is the end
    of the ladder each walker visited last (0: neither yet, 1: the bottom, 2: the top) and ``trips``
    (R * M,) int64 counts each walker's round trips bottom -> top -> bottom.
    """

    beta: np.ndarray
    betas: np.ndarray
    M: int
    base: np.ndarray
    G: np.ndarray
    accepted: np.ndarray
    attempted: np.ndarray
    walker: np.ndarray
    last: np.ndarray
    trips: np.ndarray


# ---------------------------------------------------------------------------- training
class Optimizer(NamedTuple):
    r"""The parts of an update beyond plain SGD, and their state: the one optimizer record.

    Build it with :meth:`create`; the kernels update ``lam`` and the velocities in place. Its
    fields:

    * ``momentum``: velocity :math:`u \leftarrow \text{momentum}\, u + \Delta`, step :math:`u`;
    * ``weight_decay``: L2 penalty :math:`\tfrac{\text{weight\_decay}}{2}\lVert W\rVert^2`;
    * ``lam_rate``: rate of the running mean ``lam``;
    * ``mu``, ``lam``, shapes (n_visible,) and (n_hidden,), or empty: the centering offsets
      (Montavon & Müller, 2012; Melchior et al., 2016), the data mean of :math:`v` (fixed) and a
      running mean of :math:`p(h \mid v_{\text{data}})`; empty for the standard gradient;
    * ``vel_W``, ``vel_a``, ``vel_b``: the velocities (when ``momentum > 0``; empty otherwise).
    """

    momentum: float
    weight_decay: float
    lam_rate: float
    mu: np.ndarray
    lam: np.ndarray
    vel_W: np.ndarray
    vel_a: np.ndarray
    vel_b: np.ndarray

    @property
    def centering(self) -> bool:
        return self.mu.shape[0] > 0

    @classmethod
    def create(
        cls,
        n_visible: int,
        n_hidden: int,
        dtype,
        *,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        mu=None,
        lam=None,
        lam_rate: float = 0.01,
        velocity=None,
    ) -> Optimizer:
        """A record for a model of this shape and dtype.

        ``mu`` and ``lam`` (both or neither) switch centering on; they are copied into the
        model's dtype. ``velocity`` (dict with ``W``, ``a``, ``b``) starts the momentum's
        velocities (zeros by default); it is ignored without momentum.
        """
        dtype = np.dtype(dtype)
        if (mu is None) != (lam is None):
            raise ValueError("centering needs both offsets, mu and lam")

        def own(x, shape):
            arr = np.array(x, dtype=dtype, order="C")
            if arr.shape != shape:
                raise ValueError(f"expected shape {shape}, got {arr.shape}")
            return arr

        if mu is None:
            mu, lam = np.zeros(0, dtype), np.zeros(0, dtype)
        else:
            mu, lam = own(mu, (n_visible,)), own(lam, (n_hidden,))
        shapes = {"W": (n_visible, n_hidden), "a": (n_visible,), "b": (n_hidden,)}
        if momentum:
            vel = {k: own(velocity[k], s) if velocity is not None else np.zeros(s, dtype) for k, s in shapes.items()}
        else:
            vel = {"W": np.zeros((0, n_hidden), dtype), "a": np.zeros(0, dtype), "b": np.zeros(0, dtype)}
        return cls(float(momentum), float(weight_decay), float(lam_rate), mu, lam, vel["W"], vel["a"], vel["b"])


class Plan(NamedTuple):
    """The shape of an update: ``B`` data rows, ``k`` Gibbs steps, and PCD's persistent hidden
    states ``chains`` (C, n_hidden), updated in place (``pcd`` False: CD, ``chains`` empty, C = B);
    ``products``: how products with ``V`` pick sgemm or row sums (:mod:`~rbmlib._engine.sparse`)."""

    B: int
    k: int
    pcd: bool
    chains: np.ndarray
    products: int


class Batches(NamedTuple):
    """What one call of the training kernel trains on.

    ``Xu`` (uint8 grey values) or ``Xf`` (float32 probabilities), the other one empty; the
    batches ``perm[t*B:(t+1)*B]`` at learning rates ``lrs[t]``; ``it0`` the counter of the
    first batch's random numbers; ``schedule`` the phases in order (kind, batch, step);
    ``(k0, k1)`` the key.
    """

    Xu: np.ndarray
    Xf: np.ndarray
    perm: np.ndarray
    lrs: np.ndarray
    it0: int
    schedule: np.ndarray
    k0: int
    k1: int


class Buffers(NamedTuple):
    """Work arrays of the training kernel (see :mod:`rbmlib._engine.train`)."""

    V: np.ndarray  # (B + C, n_visible): data rows, then model rows
    H: np.ndarray  # (B + C, n_hidden): p(h | v) of each, then the step's hidden factors
    HS: np.ndarray  # (B, n_hidden): CD's hidden samples
    PV: np.ndarray  # (C, n_visible): visible pre-activations of the model rows
    U: np.ndarray  # (blocks, words): random words
    SH: np.ndarray  # (n_hidden,): the hidden bias step
    PH: np.ndarray  # (n_hidden,): column sums of p(h | v_data)
    gp: np.ndarray  # (hidden blocks, B + C): Ht lam per hidden block
    qp: np.ndarray  # (visible blocks, B + C): Vc mu per visible block
    dbp: np.ndarray  # (visible blocks, n_hidden): partial hidden bias corrections
    QS: np.ndarray  # (hidden blocks, B + C)
    QH: np.ndarray  # (hidden blocks, block width)
    GS: np.ndarray  # (visible blocks, B + C)
    DA: np.ndarray  # (visible blocks, 2 * block width)
    IV: np.ndarray  # (B + C, n_visible), int32: each row's active units, per visible block from its first column
    NV: np.ndarray  # (B + C, visible blocks), int32: how many
    CI: np.ndarray  # (visible blocks, block width, B + C), int32: each visible unit's active rows
    CC: np.ndarray  # (visible blocks, block width), int32: how many
    SC: np.ndarray  # (n_hidden,): column sums of Ht when centring (the rank-one term of the row sums)
