r"""Measuring an RBM: the partition function, log-likelihood and reconstruction error.

The log-likelihood of binary data under an RBM is

.. math::

    \log p(v) = -F(v) - \log Z, \qquad Z = \sum_{v,h} e^{-E(v,h)} .

:math:`\log Z` is computed exactly for models with at most :data:`MAX_EXACT_UNITS` (25)
hidden (or visible) units by enumerating that side,

.. math::

    \log Z = \log \sum_h \exp\Bigl(b^\top h + \sum_i \operatorname{softplus}\bigl(a_i + (Wh)_i\bigr)\Bigr),

and estimated otherwise by annealed importance sampling (AIS; Neal, 2001;
Salakhutdinov & Murray, 2008). AIS gives an unbiased estimate of :math:`Z`, so
:math:`\log \hat Z` tends to fall *below* :math:`\log Z` and the log-likelihood it implies
is optimistic. Reverse AIS, run from samples of the model back to the base, gives an
unbiased estimate of :math:`1/Z`, so its :math:`\log \hat Z` tends to lie *above*: the two
bracket the truth when the reverse chains start from true model samples.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import lazy_loader as lazy
import numpy as np

from . import _engine
from .data import TEST_BINARIZE_SEED, as_images, binarize, binarize_fixed, random_bits
from .model import RBM, softplus
from .rng import as_rng
from .sampling import base_biases, sample
from .validation import check_choice, check_int, check_memory

# scipy.special costs 0.1 s to import; loaded when first used, so that `import rbmlib` stays light.
special = lazy.load("scipy.special", suppress_warning=True)

__all__ = [
    "LogZ",
    "log_partition",
    "log_likelihood",
    "reconstruction_error",
    "evaluate_model",
    "reverse_ais_consistent",
    "exact_log_probs",
    "log_likelihood_gradient",
    "beta_schedule",
    "MAX_EXACT_UNITS",
]

#: The largest number of units on the smaller side of an RBM for which :math:`\log Z` is
#: computed exactly, by enumerating :math:`2^{n}` states.
MAX_EXACT_UNITS = 25


@dataclass
class LogZ:
    """An exact value or an estimate of :math:`\\log Z`.

    Attributes
    ----------
    log_z : float
    stderr : float
        Standard error of ``log_z`` (0 for exact), from the spread of the importance
        weights (delta method).
    method : str
        ``"exact"``, ``"ais"`` or ``"reverse_ais"``.
    low, high : float
        :math:`\\log(\\hat Z \\mp 3\\hat\\sigma)` for AIS (Salakhutdinov & Murray's
        interval); for reverse AIS the interval for :math:`1/Z` mapped back;
        equal to ``log_z`` when exact.
    n_runs, n_betas : int
        The AIS settings (0 when exact).
    log_weights : ndarray
        Per-run log importance weights (empty when exact).
    """

    log_z: float
    stderr: float = 0.0
    method: str = "exact"
    low: float = float("nan")
    high: float = float("nan")
    n_runs: int = 0
    n_betas: int = 0
    log_weights: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)

    def __post_init__(self):
        if self.method == "exact":
            self.low = self.high = self.log_z

    def __float__(self):
        return float(self.log_z)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("log_weights")
        return d


# ----------------------------------------------------------------------------- exact
def _states(n: int, start: int, stop: int, dtype=np.float64) -> np.ndarray:
    """Rows ``start .. stop-1`` of all binary vectors of length ``n`` (bit j = unit j)."""
    idx = np.arange(start, stop, dtype=np.int64)[:, None]
    return ((idx >> np.arange(n, dtype=np.int64)) & 1).astype(dtype)


def _exact_log_z(rbm: RBM, chunk: int = 1 << 13) -> float:
    W, a, b = (np.asarray(x, dtype=np.float64) for x in (rbm.W, rbm.a, rbm.b))
    if rbm.n_hidden <= rbm.n_visible:
        n, lin, bias, M = rbm.n_hidden, b, a, W.T  # sum over h
    else:
        n, lin, bias, M = rbm.n_visible, a, b, W  # sum over v
    if n > MAX_EXACT_UNITS:
        raise ValueError(
            f"exact log Z enumerates 2^{n} states; refusing beyond {MAX_EXACT_UNITS} "
            f"units on the smaller side (use method='ais')"
        )
    parts = []
    for s in range(0, 1 << n, chunk):
        S = _states(n, s, min(s + chunk, 1 << n))
        parts.append(special.logsumexp(S @ lin + softplus(S @ M + bias).sum(axis=1)))
    return float(special.logsumexp(parts))


def exact_log_probs(rbm: RBM) -> tuple[np.ndarray, np.ndarray]:
    r"""All visible states and their exact :math:`\log p(v)` (tiny models only).

    Returns
    -------
    states : ndarray, shape (2**n_visible, n_visible)
    log_p : ndarray, shape (2**n_visible,)
    """
    if rbm.n_visible > 20:
        raise ValueError(f"exact_log_probs enumerates 2^{rbm.n_visible} visible states; refusing beyond 20")
    m = rbm.astype(np.float64)
    states = _states(m.n_visible, 0, 1 << m.n_visible)
    return states, -m.free_energy(states) - _exact_log_z(m)


def log_likelihood_gradient(rbm: RBM, v) -> dict:
    r"""Exact gradient of the mean log-likelihood of ``v`` (tiny models only).

    .. math::

        \nabla_W = \langle v\, p(h{=}1|v)^\top \rangle_{\text{data}} - \langle v\, p(h{=}1|v)^\top\rangle_{p},

    and likewise for ``a`` (with :math:`v`) and ``b`` (with :math:`p(h{=}1|v)`), the model
    expectation taken by enumerating every visible state.

    Returns
    -------
    dict with arrays ``W`` (n_visible, n_hidden), ``a`` (n_visible,), ``b`` (n_hidden,)
    """
    m = rbm.astype(np.float64)
    v = m._v(v)
    states, log_p = exact_log_probs(m)
    p = np.exp(log_p)
    hd, hm = m.hidden_probs(v), m.hidden_probs(states)
    return {
        "W": v.T @ hd / len(v) - (states * p[:, None]).T @ hm,
        "a": v.mean(axis=0) - p @ states,
        "b": hd.mean(axis=0) - p @ hm,
    }


# ------------------------------------------------------------------------------- AIS
def beta_schedule(n_betas: int) -> np.ndarray:
    """Inverse temperatures :math:`0 = \\beta_0 < \\dots < \\beta_K = 1`.

    Spaced as in Salakhutdinov & Murray (2008): 1000 steps on [0, 0.5), 4000 on
    [0.5, 0.9) and 9500 on [0.9, 1] out of 14,500, scaled to ``n_betas`` in total.
    """
    n_betas = check_int(n_betas, "n_betas", low=10)
    n1 = max(1, round(n_betas * 1000 / 14500))
    n2 = max(1, round(n_betas * 4000 / 14500))
    n3 = n_betas - n1 - n2
    return np.concatenate(
        [
            np.linspace(0, 0.5, n1, endpoint=False),
            np.linspace(0.5, 0.9, n2, endpoint=False),
            np.linspace(0.9, 1.0, n3 + 1),
        ]
    )


def _summarise(log_w: np.ndarray, log_z0: float, sign: int, method: str, n_betas: int) -> LogZ:
    """Turn log weights into :math:`\\log \\hat Z` with a stderr and a 3-sigma interval."""
    m = len(log_w)
    lme = special.logsumexp(log_w) - np.log(m)  # log mean of the weights
    rel = np.exp(log_w - lme)  # weights / mean
    rel_sd = rel.std(ddof=1) / np.sqrt(m) if m > 1 else np.inf
    log_z = log_z0 + sign * lme
    lo_f, hi_f = np.log(max(1 - 3 * rel_sd, 1e-300)), np.log1p(3 * rel_sd)
    if sign > 0:
        low, high = log_z + lo_f, log_z + hi_f
    else:  # estimate of 1/Z: its interval flips
        low, high = log_z - hi_f, log_z - lo_f
    return LogZ(float(log_z), float(rel_sd), method, float(low), float(high), m, n_betas, log_w)


def log_partition(
    rbm: RBM,
    method: str = "exact",
    *,
    data=None,
    samples=None,
    base=None,
    n_betas: int = 14500,
    n_runs: int = 100,
    steps: int = 1000,
    reverse_start: str = "pt",
    rng=None,
) -> LogZ:
    r"""Compute or estimate :math:`\log Z`.

    Parameters
    ----------
    rbm : RBM
    method : {"exact", "ais", "reverse_ais"}
        ``"exact"`` enumerates the smaller layer (at most 25 units). ``"ais"`` anneals
        ``n_runs`` chains from a base model to the RBM through ``n_betas``
        distributions (on the engine: ``rbmlib._engine.anneal``). ``"reverse_ais"``
        anneals model samples back to the base.
    data : array_like, shape (N, n_visible), optional
        Training images, for the base model's marginals and the reverse chains' starts.
    samples : array_like, shape (n_runs, n_visible), optional
        Reverse AIS only: samples of the model to start from. By default they come
        from the equilibrium sampler: ``n_runs`` parallel-tempering systems
        (:func:`rbmlib.sampling.sample` with ``method="pt"``, base from ``data``) run for
        ``steps`` sweeps; with ``reverse_start="gibbs"``, plain Gibbs chains from
        random rows of ``data`` (or uniform noise) instead. The reverse estimate is an
        upper bound on :math:`\log Z` in expectation only if these are true model samples.
    base : array_like, shape (n_visible,), optional
        Visible biases of the AIS base model; by default
        :func:`rbmlib.sampling.base_biases` of the model and ``data`` (``kind="mixed"``).
    n_betas : int
        Number of intermediate distributions (default 14,500 as in Salakhutdinov &
        Murray, 2008).
    n_runs : int
        Number of annealing runs.
    steps : int
        Sweeps of the sampler that provides the reverse chains' start samples.
    reverse_start : {"pt", "gibbs"}
        Which sampler provides them (see ``samples``).
    rng : None, int or numpy.random.Generator

    Returns
    -------
    LogZ
    """
    if not isinstance(rbm, RBM):
        raise TypeError(f"rbm must be an RBM, got {type(rbm).__name__}")
    check_choice(method, "method", ("exact", "ais", "reverse_ais"))
    if method == "exact":
        return LogZ(_exact_log_z(rbm))
    n_runs = check_int(n_runs, "n_runs", low=2)
    check_choice(reverse_start, "reverse_start", ("pt", "gibbs"))
    check_memory(float(n_runs) * (2 * rbm.n_visible + 2 * rbm.n_hidden) * 8, f"{n_runs} AIS runs")
    rng = as_rng(rng)
    betas = beta_schedule(n_betas)
    base = base_biases(rbm, data, rng=rng) if base is None else np.asarray(base, dtype=np.float64)
    if base.shape != (rbm.n_visible,) or not np.all(np.isfinite(base)):
        raise ValueError(f"base must be finite visible biases of shape ({rbm.n_visible},), got shape {base.shape}")
    log_z0 = float(softplus(base).sum() + rbm.n_hidden * np.log(2.0))
    dt = rbm.dtype
    if method == "ais":
        log_w = _engine.anneal(rbm.W, rbm.a, rbm.b, base, betas, _engine.key_from(rng), n_runs=n_runs, dtype=dt)
        return _summarise(log_w, log_z0, +1, "ais", n_betas)
    if samples is None and reverse_start == "pt":
        samples = sample(rbm, n_runs, steps, method="pt", data=data, rng=rng).samples()
    elif samples is None:
        if data is not None:
            data = as_images(data, rbm.n_visible, name="data", keep_uint8=True)
            start = binarize(data[rng.choice(len(data), size=n_runs)], rng=rng).astype(dt)
        else:
            start = random_bits(n_runs, rbm.n_visible, rng=rng, dtype=dt)
        samples, _ = rbm.gibbs(start, steps, rng=rng)
    v = rbm._v(samples)
    if np.any((v != 0) & (v != 1)):
        raise ValueError("samples must be binary (0/1) model samples")
    log_w = _engine.anneal(rbm.W, rbm.a, rbm.b, base, betas, _engine.key_from(rng), v=v, dtype=dt)
    return _summarise(log_w, log_z0, -1, "reverse_ais", n_betas)


# --------------------------------------------------------------------- likelihoods
def log_likelihood(rbm: RBM, v, log_z) -> float:
    r"""Average log-likelihood :math:`\frac1N\sum_n \bigl(-F(v_n) - \log Z\bigr)` in nats.

    Parameters
    ----------
    rbm : RBM
    v : array_like, shape (N, n_visible)
        Binary visible vectors.
    log_z : float or LogZ
    """
    lz = float(log_z)
    if not np.isfinite(lz):
        raise ValueError(f"log_z must be finite, got {lz}")
    return float(np.mean(-rbm.free_energy(v).astype(np.float64)) - lz)


def reconstruction_error(rbm: RBM, v, *, rng=None) -> float:
    r"""Mean squared reconstruction error per image.

    One up–down pass: :math:`h \sim p(h\mid v)`, then
    :math:`\frac1N\sum_n \lVert v_n - p(v \mid h_n)\rVert^2`.

    Parameters
    ----------
    rbm : RBM
    v : array_like, shape (N, n_visible)
    rng : numpy.random.Generator, int or None
    """
    v = rbm._v(v)
    p = rbm.visible_probs(rbm.sample_hidden(v, rng=rng))
    return float(np.mean(np.sum((v - p) ** 2, axis=1, dtype=np.float64)))


def evaluate_model(
    rbm: RBM,
    test_images,
    train_images=None,
    *,
    rng=0,
    ais_runs: int = 100,
    ais_betas: int = 14500,
    ais_seeds: int = 1,
    reverse: bool = True,
) -> dict:
    r"""Log Z and the average test log-likelihood, as ``python -m rbmlib evaluate`` prints them.

    The test images are binarised once with :data:`rbmlib.data.images.TEST_BINARIZE_SEED`.
    :math:`\log Z` is exact when the smaller layer has at most :data:`MAX_EXACT_UNITS`
    units; otherwise it is estimated with AIS (``ais_seeds`` independent estimates,
    the first one reported) and, with ``reverse``, also with reverse AIS.

    Parameters
    ----------
    rbm : RBM
    test_images : array_like, shape (N, n_visible)
    train_images : array_like, shape (M, n_visible), optional
        For the AIS base model and the reverse chains' starts.
    rng : None, int or numpy.random.Generator
        AIS randomness (the test set's binarisation is fixed).
    ais_runs, ais_betas : int
        See :func:`log_partition`.
    ais_seeds : int
        Independent forward AIS estimates; their spread is reported.
    reverse : bool
        Also run reverse AIS (a pessimistic estimate).

    Returns
    -------
    dict
        ``n_visible``, ``n_hidden``, ``n_test``, ``test_binarize_seed``,
        ``mean_neg_free_energy``, ``log_z`` (:meth:`LogZ.to_dict`), ``test_log_likelihood``;
        with AIS also ``test_log_likelihood_interval``, ``ais_seeds`` (when > 1),
        ``reverse_ais``, ``test_log_likelihood_pessimistic`` and ``reverse_ais_consistent``
        (:func:`reverse_ais_consistent`: False when the reverse chains' starts were
        evidently not at equilibrium, so that the pessimistic value is no bound).
    """
    v = binarize_fixed(as_images(test_images, rbm.n_visible, name="test_images", keep_uint8=True))
    fe = float(-rbm.free_energy(v).astype(np.float64).mean())
    out = {
        "n_visible": rbm.n_visible,
        "n_hidden": rbm.n_hidden,
        "n_test": len(v),
        "test_binarize_seed": TEST_BINARIZE_SEED,
        "mean_neg_free_energy": fe,
    }
    if min(rbm.n_hidden, rbm.n_visible) <= MAX_EXACT_UNITS:
        lz = log_partition(rbm, "exact")
        out["log_z"] = lz.to_dict()
        out["test_log_likelihood"] = log_likelihood(rbm, v, lz)
        return out
    gens = as_rng(rng).spawn(ais_seeds + 1)
    runs = [
        log_partition(rbm, "ais", data=train_images, n_runs=ais_runs, n_betas=ais_betas, rng=g)
        for g in gens[:ais_seeds]
    ]
    lz = runs[0]
    out["log_z"] = lz.to_dict()
    out["test_log_likelihood"] = log_likelihood(rbm, v, lz)
    out["test_log_likelihood_interval"] = [fe - lz.high, fe - lz.low]
    if ais_seeds > 1:
        vals = np.array([r.log_z for r in runs])
        out["ais_seeds"] = {
            "log_z": vals.tolist(),
            "spread": float(vals.max() - vals.min()),
            "std": float(vals.std(ddof=1)),
        }
    if reverse:
        rev = log_partition(rbm, "reverse_ais", data=train_images, n_runs=ais_runs, n_betas=ais_betas, rng=gens[-1])
        out["reverse_ais"] = rev.to_dict()
        out["test_log_likelihood_pessimistic"] = log_likelihood(rbm, v, rev)
        out["reverse_ais_consistent"] = reverse_ais_consistent(lz, rev)
    return out


def reverse_ais_consistent(forward: LogZ, reverse: LogZ, n_sigma: float = 3.0) -> bool:
    r"""Whether a reverse AIS estimate is compatible with a forward one.

    In expectation forward AIS underestimates :math:`\log Z` and reverse AIS, started
    from exact model samples, overestimates it. A reverse estimate more than
    ``n_sigma`` combined standard errors *below* the forward one therefore means that
    its starting samples were not the model's equilibrium (e.g. chains trapped in a
    metastable region): its "pessimistic" log-likelihood is then not a bound.
    The converse does not hold: passing this check does not prove equilibrium.

    Parameters
    ----------
    forward, reverse : LogZ
        Estimates from :func:`log_partition` with ``"ais"`` and ``"reverse_ais"``.
    n_sigma : float
        Tolerance in combined standard errors.
    """
    tol = n_sigma * float(np.hypot(forward.stderr, reverse.stderr))
    return bool(reverse.log_z >= forward.log_z - tol)
