r"""Negative phases: where the model term of the gradient comes from.

The log-likelihood gradient of an RBM is :math:`\langle v h^\top\rangle_{\text{data}} -
\langle v h^\top\rangle_{\text{model}}`. CD and PCD (:func:`rbmlib.train.fit`) estimate the
model term with short Gibbs chains. The phases here are the alternatives that the
Resampling chapter measures against the class mix of the model's own chains:

* :class:`PersistentPhase` -- PCD-k, for reference: ``n_chains`` persistent Gibbs chains;
* :class:`TemperedPhase` -- the :math:`\beta = 1` replicas of parallel tempering
  (Desjardins et al., 2010), whose ladder follows the model as it trains;
* :class:`JarzynskiPhase` -- persistent chains with importance weights that follow the
  parameter updates (Carbone et al., 2023): a chain's log-weight grows by
  :math:`F_{\theta}(v) - F_{\theta'}(v)` when :math:`\theta` becomes :math:`\theta'`,
  and the chains are resampled when the effective sample size falls;
* :class:`RestartedPhase` -- training in the sampler's own protocol (Decelle et al., 2021;
  Agoritsas et al., 2023): chains start from uniformly random images, as ``python -m
  rbmlib sample`` does, and the model term averages over chain ages from ``min_age`` to
  ``max_age`` sweeps, so the gradient pushes the distribution of chains of those ages, not
  an equilibrium the chains never reach, towards the data.

A phase holds chains between updates. :func:`rbmlib.train.fit_phase` calls
``start(rbm, rng=rng)`` once, then for every update ``draw(rbm)`` (the model rows, one per
row of the estimate) before the step and ``after_step(rbm)`` after it. Every phase runs
its sweeps on the engine's Gibbs or tempered kernels, which read the model's parameters
in place, so the chains always move under the current parameters.
"""

from __future__ import annotations

import numpy as np

from .. import _engine
from ..data import random_bits
from ..model import RBM
from ..sampling import ParallelTempering, rebalance_ladder, tune_ladder
from ..validation import check_int, check_number

__all__ = [
    "NegativePhase",
    "PersistentPhase",
    "TemperedPhase",
    "JarzynskiPhase",
    "RestartedPhase",
    "systematic_resample",
]


def systematic_resample(weights, n: int, *, rng) -> np.ndarray:
    r"""Indices of ``n`` draws from the normalised ``weights`` by systematic resampling.

    One uniform offset :math:`u \sim U[0, 1/n)` and the points :math:`u + i/n`: each index
    :math:`i` is drawn :math:`n w_i` times on average, with less variance than multinomial
    draws (Kitagawa, 1996).

    Parameters
    ----------
    weights : array_like, shape (C,)
        Non-negative, not all zero.
    n : int
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of int, shape (n,)
    """
    w = np.asarray(weights, dtype=np.float64)
    cum = np.cumsum(w / w.sum())
    cum[-1] = 1.0
    points = (rng.random() + np.arange(n)) / n
    return np.searchsorted(cum, points, side="right")


class NegativePhase:
    """The interface of a negative phase, and its plain Gibbs chains ``v`` (shape (n_chains, n_visible)).

    A new phase subclasses it and overrides :meth:`draw` (and, if it needs them, :meth:`start`,
    :meth:`after_step` and :meth:`diagnostics`); :func:`rbmlib.train.fit_phase` calls nothing else.
    """

    def __init__(self, n_chains: int):
        self.n_chains = check_int(n_chains, "n_chains")
        self.v = None

    def start(self, rbm: RBM, *, rng) -> None:
        """Start the chains (random images) before the first update; ``rng`` is a Generator."""
        self.rng = rng
        self.v = random_bits(self.n_chains, rbm.n_visible, rng=rng, dtype=rbm.dtype)
        self.chains = _engine.GibbsChains(rbm.W, rbm.a, rbm.b, self.v, _engine.key_from(rng))

    def draw(self, rbm: RBM) -> np.ndarray:
        """Advance the chains and return the model rows of this update, shape (C, n_visible)."""
        raise NotImplementedError

    def after_step(self, rbm: RBM) -> None:
        """Called after every parameter step (nothing to do for most phases)."""

    def diagnostics(self) -> dict:
        """Entries for the epoch's history row."""
        return {}


class PersistentPhase(NegativePhase):
    """PCD-k: ``n_chains`` persistent Gibbs chains, ``k`` sweeps before every update."""

    def __init__(self, n_chains: int = 256, k: int = 1):
        super().__init__(n_chains)
        self.k = check_int(k, "k")

    def draw(self, rbm: RBM) -> np.ndarray:
        self.chains.run(self.k, want_p=False)
        return self.v


class RestartedPhase(NegativePhase):
    r"""Chains from uniformly random images, restarted after ``max_age`` sweeps; model rows ``min_age`` or older.

    The chains' ages are staggered evenly over :math:`[0, \text{max\_age})`, every update
    advances every chain one sweep, and a chain that reaches ``max_age`` starts again from
    random bits. The model term is then the average, over ages from ``min_age`` to
    ``max_age - 1``, of the distribution :math:`p_t` of a chain ``t`` sweeps after a random
    start: the protocol of ``python -m rbmlib sample`` (chains from random images, read
    after 1000 or 10,000 sweeps). At fixed parameters the rows of age ``t`` are exact draws
    from :math:`p_t`.
    """

    def __init__(self, n_chains: int = 1024, *, min_age: int = 1000, max_age: int = 10000):
        super().__init__(n_chains)
        self.min_age, self.max_age = check_int(min_age, "min_age", low=0), check_int(max_age, "max_age")
        if not self.min_age < self.max_age:
            raise ValueError(f"min_age ({min_age}) must be below max_age ({max_age})")
        if n_chains * (max_age - min_age) < max_age:
            raise ValueError(f"{n_chains} chains staggered over {max_age} sweeps leave no chain of age >= {min_age}")

    def start(self, rbm: RBM, *, rng) -> None:
        super().start(rbm, rng=rng)
        self.age = (np.arange(self.n_chains) * self.max_age) // self.n_chains
        self._warm(rbm)

    def _warm(self, rbm: RBM) -> None:
        """Bring every chain to its age by sweeps at the starting parameters.

        The chains are sorted oldest first; the ``n`` oldest run together for the gap down to
        the next age, so the warm-up costs the sum of the ages in chain-sweeps.
        """
        order = np.argsort(-self.age, kind="stable")
        ages = np.append(self.age[order], 0)
        v = self.v[order]
        for n in range(1, self.n_chains + 1):
            gap = int(ages[n - 1] - ages[n])
            if gap > 0:
                sub = np.ascontiguousarray(v[:n])
                _engine.GibbsChains(rbm.W, rbm.a, rbm.b, sub, _engine.key_from(self.rng)).run(gap, want_p=False)
                v[:n] = sub
        self.v[order] = v

    def draw(self, rbm: RBM) -> np.ndarray:
        self.chains.run(1, want_p=False)
        self.age += 1
        old = self.age >= self.max_age
        if old.any():
            self.v[old] = random_bits(int(old.sum()), rbm.n_visible, rng=self.rng, dtype=rbm.dtype)
            self.age[old] = 0
        return self.v[self.age >= self.min_age]


class TemperedPhase(NegativePhase):
    r"""The :math:`\beta = 1` replicas of parallel tempering, on a ladder that follows the model.

    ``n_chains`` tempered systems from the independent-pixel model ``base``
    (:math:`\beta = 0`) to the RBM, on a ladder tuned for swap acceptance ``target`` when
    training starts (:func:`rbmlib.sampling.tune_ladder`, unless ``betas`` is given). Every
    update runs ``k`` tempered sweeps (each with its swaps) and returns the :math:`\beta = 1`
    states. Every ``retune`` updates the ladder follows the model, from the swaps counted since
    the last time: its gaps are rescaled towards equal swap acceptance
    (:func:`rbmlib.sampling.rebalance_ladder`), and if the mean acceptance has fallen below
    half the target it grows by a quarter (at most ``max_replicas`` rungs), each new rung
    starting from the states of the nearest old one. A ladder tuned for the starting model
    stops exchanging states as training sharpens the model; the :math:`\beta = 1` replicas
    are never changed by either move.
    """

    def __init__(
        self,
        base,
        n_chains: int = 64,
        *,
        target: float = 0.3,
        k: int = 1,
        retune: int = 50,
        betas=None,
        max_replicas: int = 64,
    ):
        super().__init__(n_chains)
        self.max_replicas = check_int(max_replicas, "max_replicas", low=2)
        self.base = np.asarray(base)
        self.target = check_number(target, "target", low=0.0, high=1.0, open_low=True)
        self.k, self.retune = check_int(k, "k"), check_int(retune, "retune")
        self.betas = None if betas is None else np.asarray(betas, np.float64)

    def start(self, rbm: RBM, *, rng) -> None:
        self.rng = rng
        betas = self.betas if self.betas is not None else tune_ladder(rbm, self.base, target=self.target, rng=rng)
        self.pt = ParallelTempering(rbm, betas, self.base, self.n_chains, rng=rng)
        self.updates, self.acc = 0, None

    @property
    def v(self) -> np.ndarray:
        return self.pt.v_model

    @v.setter
    def v(self, value) -> None:  # set by NegativePhase.__init__ before the sampler exists
        pass

    def draw(self, rbm: RBM) -> np.ndarray:
        self.pt.run(self.k, want_p=False)
        self.updates += 1
        if self.updates % self.retune == 0:
            self.acc = self.pt.acceptance.copy()
            self.pt.set_betas(rebalance_ladder(self.pt.betas, self.acc))
            if self.acc.mean() < self.target / 2 and self.pt.n_replicas < self.max_replicas:
                self._grow(rbm)
            self.pt.accepted[:], self.pt.attempted[:] = 0, 0
        return self.pt.v_model

    def _grow(self, rbm: RBM) -> None:
        """A quarter more rungs, spaced like the old ones; each starts from its nearest old rung's states."""
        old, R, M = self.pt.betas, self.pt.n_replicas, self.n_chains
        new_R = min(self.max_replicas, R + max(2, R // 4))
        betas = np.interp(np.linspace(0.0, 1.0, new_R), np.linspace(0.0, 1.0, R), old)
        nearest = np.abs(betas[:, None] - old[None, :]).argmin(axis=1)
        states = self.pt.v.reshape(R, M, -1)[nearest].reshape(new_R * M, -1)
        self.pt = ParallelTempering(rbm, betas, self.base, M, rng=self.rng)
        self.pt.v[:] = states

    def diagnostics(self) -> dict:
        acc = self.pt.acceptance if self.acc is None else self.acc
        return {"n_replicas": self.pt.n_replicas, "swap_min": float(acc.min()), "swap_mean": float(acc.mean())}


class JarzynskiPhase(NegativePhase):
    r"""Persistent chains with Jarzynski importance weights (Carbone et al., NeurIPS 2023).

    PCD's chains lag behind the model: a mode the parameters have just emptied keeps its
    chains, and its weight in the model term is wrong until they leave. Here each chain
    carries a log-weight :math:`A`; when an update moves the parameters from :math:`\theta`
    to :math:`\theta'`, :math:`A \mathrel{+}= F_\theta(v) - F_{\theta'}(v)`, the log-ratio of
    the two unnormalised marginals at the chain's state, and a Gibbs sweep under
    :math:`\theta'` leaves the weighted ensemble's target :math:`p_{\theta'}` invariant
    (Jarzynski's identity). The model rows are drawn from the weighted chains by systematic
    resampling; when the effective sample size :math:`(\sum w)^2/\sum w^2` falls below
    ``ess_min * n_chains`` the chains themselves are resampled and the weights reset.
    """

    def __init__(self, n_chains: int = 256, *, k: int = 1, ess_min: float = 0.5):
        super().__init__(n_chains)
        self.k = check_int(k, "k")
        self.ess_min = check_number(ess_min, "ess_min", low=0.0, high=1.0)

    def start(self, rbm: RBM, *, rng) -> None:
        super().start(rbm, rng=rng)
        self.log_w = np.zeros(self.n_chains)
        self.resamples = 0

    @property
    def weights(self) -> np.ndarray:
        w = np.exp(self.log_w - self.log_w.max())
        return w / w.sum()

    @property
    def ess(self) -> float:
        w = self.weights
        return float(1.0 / np.sum(w * w))

    def draw(self, rbm: RBM) -> np.ndarray:
        if self.ess < self.ess_min * self.n_chains:
            self.v[:] = self.v[systematic_resample(self.weights, self.n_chains, rng=self.rng)]
            self.log_w[:] = 0.0
            self.resamples += 1
        self.chains.run(self.k, want_p=False)
        self._f = rbm.free_energy(self.v).astype(np.float64)
        return self.v[systematic_resample(self.weights, self.n_chains, rng=self.rng)]

    def after_step(self, rbm: RBM) -> None:
        self.log_w += self._f - rbm.free_energy(self.v)

    def diagnostics(self) -> dict:
        return {"ess": self.ess / self.n_chains, "resamples": self.resamples}
