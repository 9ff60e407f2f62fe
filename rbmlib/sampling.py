r"""Sampling an RBM: long Gibbs chains and parallel tempering, with snapshots and traces.

The assignment's resampling test runs Markov chains for 100, 1000 and 10,000
up–down steps. :func:`sample` runs one set of chains once and keeps the visible sample
(``SampleVisible``) and the visible probabilities of the last step
(``SampleVisibleProb``) at each requested step count (:meth:`SampleRun.samples`,
:meth:`SampleRun.probs`).

Plain Gibbs chains of a well-trained RBM mix slowly between digits: a chain stays
near one digit for many steps. **Parallel tempering** (Swendsen & Wang, 1986; Geyer,
1991; for RBMs Desjardins et al., 2010) runs, for every chain, replicas of the model
at inverse temperatures :math:`0 = \beta_0 < \dots < \beta_{R-1} = 1` along the path

.. math::

    p_\beta(v, h) \propto \exp\bigl((1-\beta)\, a_{\text{base}}^\top v - \beta E(v, h)\bigr)

from an independent-pixel model (:math:`\beta = 0`, sampled exactly) to the RBM
(:math:`\beta = 1`), and after every sweep proposes to swap the states of neighbouring
replicas, accepting with the Metropolis probability
:math:`\min\{1, e^{(\beta_r - \beta_{r+1})(g_{r+1} - g_r)}\}`, where
:math:`g = -E(v, h) - a_{\text{base}}^\top v`. Every move leaves the joint distribution of
all replicas invariant, so the :math:`\beta = 1` replicas sample the RBM exactly in the
limit, while states travel up and down the ladder and cross between digits at high
temperature. :func:`tune_ladder` chooses the temperatures for a target swap acceptance.

Both samplers run on rbmlib's fused Gibbs engine: all their random numbers, swap
decisions included, are addressed by chain, rung and sweep under a key drawn from
``rng``, so the same seed gives the same chains on any number of threads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import _engine
from .data import as_images, random_bits
from .model import RBM
from .rng import as_rng
from .validation import check_choice, check_int, check_memory, check_number

__all__ = [
    "as_steps",
    "base_biases",
    "independent_pixel_biases",
    "ParallelTempering",
    "rebalance_ladder",
    "tune_ladder",
    "SampleRun",
    "sample",
]

#: The ways :func:`base_biases` builds the biases of a base model.
BASE_KINDS = ("mixed", "data", "model", "uniform")


def as_steps(steps) -> list[int]:
    """``steps`` as a list of sweep counts: an int ``t`` is ``[t]``; a sequence must increase.

    Raises
    ------
    ValueError
        Non-positive, non-integer or non-increasing counts.
    """
    if isinstance(steps, (int, np.integer)) and not isinstance(steps, bool):
        return [check_int(steps, "steps")]
    out = [check_int(t, "steps") for t in steps] if np.ndim(steps) == 1 else []
    if not out or any(b <= a for a, b in zip(out, out[1:], strict=False)):
        raise ValueError(f"steps must be a positive integer or increasing positive integers, got {steps!r}")
    return out


def independent_pixel_biases(images, n_visible: int | None = None, smoothing: float = 1e-3) -> np.ndarray:
    r"""Visible biases of the independent-pixel model with the pixel means of ``images``.

    :math:`a_i = \log\frac{q_i}{1 - q_i}` with :math:`q_i = (\bar p_i + s)/(1 + 2s)`, the
    smoothing :math:`s` keeping pixels that are never on finite.

    Parameters
    ----------
    images : array_like, shape (N, n_visible)
    n_visible : int, optional
    smoothing : float

    Returns
    -------
    ndarray, shape (n_visible,), float64
    """
    q = (as_images(images, n_visible).mean(axis=0, dtype=np.float64) + smoothing) / (1 + 2 * smoothing)
    return np.log(q / (1 - q))


def base_biases(rbm: RBM, data=None, *, kind: str = "mixed", n_chains: int = 100, steps: int = 200, rng=None):
    r"""Visible biases ``base`` of a base model :math:`p_A(v) \propto e^{\text{base}^\top v}` for AIS or tempering.

    The base should cover the model: where it puts too little mass, AIS's importance
    weights become heavy-tailed and :math:`\log \hat Z` falls far below the truth.

    * ``"data"``: the pixel means :math:`\bar v` of ``data`` (Salakhutdinov & Murray, 2008);
      good once the model's marginals match the data's.
    * ``"model"``: the mean of :math:`p(v \mid h)` over ``n_chains`` Gibbs chains of the model
      run ``steps`` sweeps from uniform noise; robust early in training, when the model
      still turns on pixels that the data never do.
    * ``"mixed"``: the average of the two (default; ``"model"`` without data).
    * ``"uniform"``: all zero (uniform noise).

    Probabilities are smoothed to :math:`(p + 10^{-3}) / (1 + 2\cdot10^{-3})` before the log-odds.

    Returns
    -------
    ndarray, shape (n_visible,), float64
    """
    check_choice(kind, "kind", BASE_KINDS)
    if kind == "uniform":
        return np.zeros(rbm.n_visible)
    if kind == "data" and data is None:
        raise ValueError("kind='data' needs data")
    parts = []
    if data is not None and kind in ("data", "mixed"):
        parts.append(as_images(data, rbm.n_visible, name="data").mean(axis=0, dtype=np.float64))
    if kind in ("model", "mixed"):
        rng = as_rng(rng)
        _, p = rbm.gibbs(random_bits(n_chains, rbm.n_visible, rng=rng, dtype=rbm.dtype), steps, rng=rng)
        parts.append(p.mean(axis=0, dtype=np.float64))
    return independent_pixel_biases(np.mean(parts, axis=0)[None, :], rbm.n_visible)


def _check_base(base, rbm: RBM) -> np.ndarray:
    out = np.asarray(base, dtype=rbm.dtype)
    if out.shape != (rbm.n_visible,) or not np.all(np.isfinite(out)):
        raise ValueError(f"base must be finite visible biases of shape ({rbm.n_visible},), got shape {np.shape(base)}")
    return out


def _start(rbm: RBM, start, n_chains: int, rng) -> np.ndarray:
    """The chains' starting visible states: random bits, or ``start`` validated (a copy)."""
    if start is None:
        return random_bits(n_chains, rbm.n_visible, rng=rng, dtype=rbm.dtype)
    out = np.array(rbm._v(start), order="C")
    if out.shape[0] != n_chains:
        raise ValueError(f"start must have {n_chains} rows, got {out.shape[0]}")
    return out


class ParallelTempering:
    r"""Parallel tempering: ``n_chains`` independent systems of ``len(betas)`` replicas each.

    Parameters
    ----------
    rbm : RBM
    betas : array_like, shape (R,)
        Increasing inverse temperatures from 0 to 1 (see :func:`tune_ladder`).
    base : array_like, shape (n_visible,)
        Visible biases of the :math:`\beta = 0` model (:func:`independent_pixel_biases`).
    n_chains : int
        Independent tempered systems; each contributes one :math:`\beta = 1` chain.
    rng : None, int or numpy.random.Generator
    start : array_like, shape (n_chains, n_visible), optional
        Starting states of every replica of each system (default: random bits).

    Attributes
    ----------
    sweeps : int
        Sweeps done so far (a sweep updates every replica once, then proposes swaps).
    accepted, attempted : ndarray, shape (R - 1,)
        Swap counts between rungs ``r`` and ``r + 1``.
    """

    def __init__(self, rbm: RBM, betas, base, n_chains: int, *, rng=None, start=None):
        self.betas = _check_betas(betas)
        self.base = _check_base(base, rbm)
        self.rbm, self.rng, self.M = rbm, as_rng(rng), check_int(n_chains, "n_chains")
        R = len(self.betas)
        check_memory(2.0 * R * self.M * rbm.n_visible * rbm.dtype.itemsize, f"{R} x {self.M} tempered replicas")
        if start is None:
            self.v = random_bits(R * self.M, rbm.n_visible, rng=self.rng, dtype=rbm.dtype)
        else:
            self.v = np.ascontiguousarray(np.tile(_start(rbm, start, self.M, self.rng), (R, 1)))
        self.p = np.zeros_like(self.v)
        key = _engine.key_from(self.rng)
        self._engine = _engine.TemperedChains(rbm.W, rbm.a, rbm.b, self.v, self.p, self.base, self.M, key)
        self.accepted, self.attempted = self._engine.accepted, self._engine.attempted

    def set_betas(self, betas) -> None:
        """Change the ladder (same number of rungs); used while tuning it."""
        betas = _check_betas(betas)
        if len(betas) != self.n_replicas:
            raise ValueError(f"the ladder must keep its {self.n_replicas} rungs, got {len(betas)}")
        self.betas = betas

    @property
    def sweeps(self) -> int:
        return self._engine.sweeps

    @property
    def n_replicas(self) -> int:
        return len(self.betas)

    @property
    def acceptance(self) -> np.ndarray:
        """Fraction of accepted swaps between neighbouring rungs, shape (R - 1,)."""
        return self.accepted / np.maximum(self.attempted, 1)

    @property
    def round_trips(self) -> int:
        """Round trips bottom -> top -> bottom of the ladder made so far, by all walkers together.

        A walker is a replica's state, followed through the swaps. A round trip takes it from
        the independent-pixel model (:math:`\\beta = 0`) to the RBM and back, so it carries a
        state across the landscape; ``sweeps * n_replicas * n_chains / round_trips`` sweeps
        per round trip and walker is the ladder's round-trip time.
        """
        return int(self._engine.trips.sum())

    def _rows(self, r: int) -> slice:
        return slice(r * self.M, (r + 1) * self.M)

    @property
    def v_model(self) -> np.ndarray:
        """The :math:`\\beta = 1` states (a view), shape (n_chains, n_visible)."""
        return self.v[self._rows(self.n_replicas - 1)]

    @property
    def p_model(self) -> np.ndarray:
        """:math:`p(v \\mid h)` of the last sweep of the :math:`\\beta = 1` states (a view)."""
        return self.p[self._rows(self.n_replicas - 1)]

    def sweep(self) -> np.ndarray:
        """One Gibbs sweep of every replica, then swaps between alternate neighbour pairs.

        Returns
        -------
        ndarray, shape (n_chains,)
            The energy :math:`E(v, h)` of each :math:`\\beta = 1` chain's new joint state.
        """
        energy = np.empty((1, self.M))
        self.run(1, energies=energy)
        return energy[0]

    def run(self, sweeps: int, *, want_p: bool = True, energies=None) -> None:
        """``sweeps`` sweeps (each with its swaps) in one call of the engine.

        The chains are the same as after ``sweeps`` calls of :meth:`sweep`.

        Parameters
        ----------
        sweeps : int
        want_p : bool
            Set :attr:`p` (and :attr:`p_model`) to the visible probabilities of the last sweep.
        energies : ndarray, shape (sweeps, n_chains), float64, optional
            Receives each sweep's :math:`E(v, h)` at :math:`\\beta = 1`.
        """
        self._engine.run(check_int(sweeps, "sweeps"), self.betas, want_p=want_p, energies=energies)


def _check_betas(betas) -> np.ndarray:
    betas = np.asarray(betas, dtype=np.float64)
    if betas.ndim != 1 or len(betas) < 2 or betas[0] != 0 or betas[-1] != 1 or np.any(np.diff(betas) <= 0):
        raise ValueError(f"betas must increase from 0 to 1 with at least 2 values, got {betas}")
    return betas


def rebalance_ladder(betas, acceptance) -> np.ndarray:
    r"""The ladder ``betas`` with its gaps rescaled towards equal swap acceptance.

    Each gap :math:`\beta_{r+1} - \beta_r` is multiplied by :math:`e^{2(A_r - \bar A)}`,
    :math:`A_r` its measured acceptance, and the ladder is renormalised to run from 0 to 1:
    a gap whose swaps are accepted more often than average widens, one below average
    narrows (in the spirit of Vousden, Farr & Mandel, 2016).

    Parameters
    ----------
    betas : array_like, shape (R,)
    acceptance : array_like, shape (R - 1,)

    Returns
    -------
    ndarray, shape (R,)
    """
    acc = np.asarray(acceptance, dtype=np.float64)
    gaps = np.diff(np.asarray(betas, dtype=np.float64)) * np.exp(2.0 * (acc - acc.mean()))
    out = np.concatenate([[0.0], np.cumsum(gaps / gaps.sum())])
    out[-1] = 1.0
    return out


def tune_ladder(
    rbm: RBM,
    base,
    *,
    target: float = 0.3,
    n_chains: int = 50,
    n_replicas: int = 16,
    block: int = 25,
    rounds: int = 8,
    max_replicas: int = 256,
    rng=None,
) -> np.ndarray:
    r"""Inverse temperatures from 0 to 1 whose neighbours swap with probability about ``target``.

    Alternates two moves on pilot runs of :class:`ParallelTempering`: within a run,
    every ``block`` sweeps the gaps between neighbouring :math:`\beta` are rescaled by
    :math:`e^{2(A_r - \bar A)}` towards equal acceptance :math:`A_r` (an adaptive ladder
    in the spirit of Vousden, Farr & Mandel, 2016); after ``rounds`` blocks, if the
    lowest acceptance is below ``0.9 * target``, the number of replicas grows by the
    factor :math:`\sqrt{\log \bar A / \log \text{target}}` (the acceptance of a gap
    falls roughly like :math:`e^{-c\,\Delta\beta^2}`) and the pilot starts again.

    Parameters
    ----------
    rbm : RBM
    base : array_like, shape (n_visible,)
        Visible biases of the :math:`\beta = 0` model.
    target : float in (0, 1)
    n_chains : int
        Systems in each pilot run.
    n_replicas : int
        Replicas of the first pilot.
    block, rounds : int
        Sweeps per adaptation and adaptations per pilot.
    max_replicas : int
        Give up growing beyond this many replicas (the ladder is returned as it is).
    rng : None, int or numpy.random.Generator

    Returns
    -------
    ndarray, shape (R,)
        :math:`\beta_0 = 0 < \dots < \beta_{R-1} = 1`.
    """
    if not 0 < check_number(target, "target", low=0.0, high=1.0, open_low=True) < 1:
        raise ValueError(f"target must lie in (0, 1), got {target!r}")
    rng = as_rng(rng)
    R = int(n_replicas)
    betas = np.linspace(0.0, 1.0, R)

    def measure(pt):
        pt.accepted[:], pt.attempted[:] = 0, 0
        pt.run(block, want_p=False)
        return pt.acceptance

    while True:
        pt = ParallelTempering(rbm, betas, base, n_chains, rng=rng)
        for _ in range(rounds):
            betas = rebalance_ladder(pt.betas, measure(pt))
            pt.set_betas(betas)
        acc = measure(pt)
        if acc.min() >= 0.9 * target or R >= max_replicas:
            return betas
        grow = np.sqrt(np.log(max(acc.mean(), 1e-3)) / np.log(target)) * 1.1
        new_R = min(max_replicas, max(R + 2, int(np.ceil((R - 1) * grow)) + 1))
        betas = np.interp(np.linspace(0, 1, new_R), np.linspace(0, 1, R), betas)
        R = new_R


@dataclass
class SampleRun:
    """The result of :func:`sample`.

    Attributes
    ----------
    method : str
        ``"gibbs"`` or ``"pt"``.
    snapshots : dict
        ``{t: (v, p)}`` after ``t`` sweeps (also :meth:`samples` and :meth:`probs`).
    trace : ndarray, shape (n_records, n_chains, ...)
        ``trace_fn`` of the states every ``trace_every`` sweeps (by default the states
        themselves as bool, shape (n_records, n_chains, n_visible); empty without
        ``trace_every``).
    trace_sweeps : ndarray of int, shape (n_records,)
        The sweep after which each record was taken.
    energy : ndarray, shape (n_sweeps, n_chains)
        :math:`E(v, h)` of every chain after every sweep (empty without ``trace_every``).
    betas : ndarray
        The ladder (PT); ``[1.0]`` for plain Gibbs.
    acceptance : ndarray, shape (R - 1,)
        Swap acceptance per rung over the whole run (PT; empty for plain Gibbs).
    round_trips : int
        PT: round trips of all walkers through the ladder over the run
        (:attr:`ParallelTempering.round_trips`); 0 for plain Gibbs.
    """

    method: str
    snapshots: dict
    trace: np.ndarray = field(repr=False)
    trace_sweeps: np.ndarray = field(repr=False)
    energy: np.ndarray = field(repr=False)
    betas: np.ndarray
    acceptance: np.ndarray
    round_trips: int = 0

    @property
    def steps(self) -> list[int]:
        """The sweep counts with a snapshot, increasing."""
        return sorted(self.snapshots)

    def _at(self, t):
        t = self.steps[-1] if t is None else t
        if t not in self.snapshots:
            raise KeyError(f"no snapshot after {t} sweeps; the run has {self.steps}")
        return self.snapshots[t]

    def samples(self, t: int | None = None) -> np.ndarray:
        """The chains' visible states after ``t`` sweeps (default: the last snapshot), shape (n_chains, n_visible)."""
        return self._at(t)[0]

    def probs(self, t: int | None = None) -> np.ndarray:
        """:math:`p(v \\mid h)` of sweep ``t`` (default: the last snapshot), shape (n_chains, n_visible)."""
        return self._at(t)[1]


def sample(
    rbm: RBM,
    n_chains: int,
    steps=(100, 1000, 10000),
    *,
    method: str = "gibbs",
    rng=None,
    start=None,
    trace_every: int | None = None,
    trace_fn=None,
    betas=None,
    base=None,
    data=None,
    target_acceptance: float = 0.3,
) -> SampleRun:
    r"""Run ``n_chains`` chains of plain Gibbs or parallel tempering, with snapshots and traces.

    Parameters
    ----------
    rbm : RBM
    n_chains : int
        Chains (for PT: independent tempered systems, each giving one chain at
        :math:`\beta = 1`).
    steps : int or sequence of int
        Sweeps: the run lasts ``steps`` (or the last of an increasing sequence) and
        snapshots ``(v, p)`` after each.
    method : {"gibbs", "pt"}
    rng : None, int or numpy.random.Generator
    start : array_like, shape (n_chains, n_visible), optional
        Starting states (default: random bits).
    trace_every : int, optional
        Also record the states every this many sweeps and the energy after every sweep,
        for mixing diagnostics (:mod:`rbmlib.metrics.mixing`).
    trace_fn : callable, optional
        What to record of the states ``v`` (n_chains, n_visible): ``trace_fn(v)``, e.g. a
        classifier's labels, instead of the states themselves (which take
        ``n_chains * n_visible`` bytes a record).
    betas : array_like, optional
        PT ladder; by default :func:`tune_ladder` chooses it for ``target_acceptance``.
    base : array_like, shape (n_visible,), optional
        PT base biases; by default :func:`independent_pixel_biases` of ``data``, or 0
        (uniform noise) without data (see also :func:`base_biases`).
    data : array_like, shape (N, n_visible), optional
        Training images for the PT base.
    target_acceptance : float

    Returns
    -------
    SampleRun
        ``run.samples(t)`` and ``run.probs(t)`` after each ``t`` in ``steps``.

    Raises
    ------
    MemoryRequestError
        If the chains, their snapshots and traces would not fit in memory.
    """
    check_choice(method, "method", ("gibbs", "pt"))
    n_chains = check_int(n_chains, "n_chains")
    steps = as_steps(steps)
    if trace_every is not None:
        trace_every = check_int(trace_every, "trace_every")
    nv, dt = rbm.n_visible, rbm.dtype
    per_chain = (2 + 2 * len(steps)) * nv * dt.itemsize  # state, probabilities, snapshots
    if trace_every:
        per_chain += 16 * steps[-1] + steps[-1] // trace_every * nv  # energies, recorded states
    check_memory(float(n_chains) * per_chain, f"{n_chains} chains of {nv} units with their snapshots")
    rng = as_rng(rng)
    if method == "pt":
        base = independent_pixel_biases(data, nv) if base is None and data is not None else base
        base = np.zeros(nv) if base is None else _check_base(base, rbm)
        if betas is None:
            betas = tune_ladder(rbm, base, target=target_acceptance, rng=rng)
        pt = ParallelTempering(rbm, betas, base, n_chains, rng=rng, start=start)
        run, v, p = pt.run, (lambda: pt.v_model), (lambda: pt.p_model)
    else:
        state = _start(rbm, start, n_chains, rng)
        chains = _engine.GibbsChains(rbm.W, rbm.a, rbm.b, state, _engine.key_from(rng))
        run, v, p = chains.run, (lambda: state), (lambda: chains.p)
        betas = np.ones(1)
    # The engine runs whole stretches of sweeps between the sweeps where something is recorded.
    stops = set(steps) | (set(range(trace_every, steps[-1] + 1, trace_every)) if trace_every else set())
    snapshots, trace, trace_sweeps, energy = {}, [], [], []
    done = 0
    for t in sorted(stops):
        e = np.empty((t - done, n_chains)) if trace_every is not None else None
        run(t - done, want_p=t in steps, energies=e)
        done = t
        if trace_every is not None:
            energy.append(e.astype(np.float32))
            if t % trace_every == 0:
                trace.append(v().astype(bool) if trace_fn is None else np.asarray(trace_fn(v())))
                trace_sweeps.append(t)
        if t in steps:
            snapshots[t] = (v().copy(), p().copy())
    return SampleRun(
        method,
        snapshots,
        np.array(trace) if trace else np.zeros((0, n_chains, nv), bool),
        np.array(trace_sweeps, dtype=int),
        np.concatenate(energy) if energy else np.zeros((0, n_chains), np.float32),
        np.asarray(betas, dtype=np.float64),
        pt.acceptance.copy() if method == "pt" else np.zeros(0),
        pt.round_trips if method == "pt" else 0,
    )
