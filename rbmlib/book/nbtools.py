"""Small helpers shared by the course-book notebooks.

:func:`cached_evaluation` is :func:`rbmlib.evaluate.evaluate_model` (what
``python -m rbmlib evaluate`` prints) computed once per machine, model and settings
through :func:`rbmlib.book.zoo.cached_result`, so that several notebooks asking for the
same evaluation share one AIS run; :func:`cached_chains` and
:func:`cached_sample_report` do the same for long Gibbs chains and their scores.
"""

from __future__ import annotations

import hashlib
import numbers

import numpy as np

from ..data import binarize_fixed
from ..evaluate import evaluate_model
from ..metrics.mixing import mixing_report
from ..metrics.quality import sample_report
from ..sampling import sample
from .zoo import cached_result, require_seed

try:  # MyST-NB (the book's build) records glued values; in plain Jupyter or Colab they are only shown
    from myst_nb import glue as _myst_glue
except ImportError:  # pragma: no cover - the book extra is not installed
    _myst_glue = None

__all__ = ["flatten", "glue", "cached_evaluation", "cached_chains", "cached_sample_report"]


def glue(name: str, value) -> None:
    """Make ``value`` available to the book's prose as ``{glue:text}`name```.

    With MyST-NB installed the value is stored in the cell's output for the book (not shown);
    without it (plain Jupyter, Colab) nothing is stored and the prose shows the role as written.
    """
    if isinstance(value, np.generic):  # a NumPy scalar's repr, np.float64(...), would not format
        value = value.item()
    if _myst_glue is not None:
        _myst_glue(name, value, display=False)


def flatten(d: dict, prefix: str = "", sep: str = ".") -> dict:
    """Flatten nested dicts into one level: ``{"log_z": {"stderr": 1}}`` -> ``{"log_z.stderr": 1}``.

    Values must be numbers, strings, lists of numbers or numpy arrays (what
    :func:`rbmlib.book.zoo.cached_result` can store); anything else raises ``TypeError``.
    """
    if not isinstance(d, dict):
        raise TypeError(f"expected a dict, got {type(d).__name__}")
    out = {}
    for key, value in d.items():
        name = f"{prefix}{sep}{key}" if prefix else str(key)
        if isinstance(value, dict):
            out.update(flatten(value, name, sep))
        elif isinstance(value, (numbers.Number, str, np.ndarray)) or value is None:
            out[name] = np.nan if value is None else value
        elif isinstance(value, (list, tuple)) and all(isinstance(x, numbers.Number) for x in value):
            out[name] = np.asarray(value, dtype=np.float64)
        else:
            raise TypeError(f"cannot store {name!r} of type {type(value).__name__}")
    return out


def cached_evaluation(rbm, test_images, train_images=None, **params) -> dict:
    """:func:`rbmlib.evaluate.evaluate_model` ``(rbm, test_images, train_images, **params)``, cached.

    Parameters
    ----------
    rbm : RBM
    test_images, train_images : ndarray, shape (N, 784), uint8
        The MNIST test and training images (``train_images`` is needed for AIS).
    **params
        ``rng`` (an int seed), ``ais_runs``, ``ais_betas``, ``ais_seeds``, ``reverse`` of
        :func:`~rbmlib.evaluate.evaluate_model`. They, the model's parameters and a digest
        of the binarised test set are the cache key, so two notebooks passing the
        same ones share one computation.

    Returns
    -------
    dict
        The report flattened with :func:`flatten`: e.g. ``test_log_likelihood``,
        ``log_z.log_z``, ``log_z.stderr``, ``reverse_ais.log_z``,
        ``test_log_likelihood_pessimistic``.
    """
    # The key also holds a digest of the binarised test set, so that a change to the
    # binarisation (or other test images) is not answered from a stale cache.
    v = binarize_fixed(test_images)
    digest = _digest(v.astype(np.uint8))
    # ``schema`` counts changes of evaluate_model's output (2: reverse_ais_consistent) made
    # without a change of training, which TRAINING_VERSION in every result key already covers.
    key = dict(params, test_digest=digest, n_train=0 if train_images is None else len(train_images), schema=2)
    return cached_result(
        "evaluate", rbm, key, lambda: flatten(evaluate_model(rbm, test_images, train_images, **params))
    )


def cached_chains(
    rbm,
    n_chains: int,
    steps=(100, 1000, 10000),
    *,
    rng: int = 0,
    method: str = "gibbs",
    classifier=None,
    trace_every: int = 20,
    burn_in: int | None = None,
    train_images=None,
    start=None,
) -> dict:
    """Chains of :func:`rbmlib.sampling.sample`, from random starts or ``start``, cached per model and settings.

    Parameters
    ----------
    rbm : RBM
    n_chains : int
    steps : sequence of int
        Increasing sweep counts at which the chains are snapshot.
    rng : int
        Seed of the chains' generator (part of the cache key).
    method : {"gibbs", "pt"}
        Plain block Gibbs, or parallel tempering (its ladder tuned for 0.3 acceptance,
        its base the pixel means of ``train_images``).
    classifier : DigitClassifier, optional
        With it, the chains' labels are traced every ``trace_every`` sweeps and the run's
        mixing diagnostics (:func:`rbmlib.metrics.mixing.mixing_report`, after ``burn_in``
        sweeps, default a tenth of the run) are returned too.
    trace_every, burn_in : int
    train_images : array_like, optional
        For the PT base.
    start : array_like, shape (n_chains, n_visible), optional
        Binary starting states (default: random bits).

    Returns
    -------
    dict
        ``snapshots``: ``{t: (v, p)}`` as :attr:`rbmlib.sampling.SampleRun.snapshots` (``v`` float32
        0/1 samples after ``t`` sweeps, ``p`` float32 :math:`p(v \\mid h)` of sweep ``t``);
        ``betas``, ``acceptance`` and ``round_trips`` (PT); with a classifier also ``labels``
        (n_records, n_chains), ``energy`` (the same records of :math:`E(v, h)`), ``trace_sweeps``
        and ``mixing`` (the report's dict).
    """
    steps = [int(t) for t in steps]
    seed = require_seed(rng)
    burn_in = steps[-1] // 10 if burn_in is None else int(burn_in)
    # schema 2: round trips and the recorded energies are stored too
    key = {"n_chains": int(n_chains), "steps": steps, "seed": seed, "method": method, "schema": 2}
    if classifier is not None:
        key.update(trace_every=int(trace_every), burn_in=burn_in, classifier=_digest(classifier.W1, classifier.W2))
    if train_images is not None:
        key["base"] = _digest(np.asarray(train_images))
    if start is not None:
        key["start"] = _digest(np.asarray(start, dtype=np.float32))

    def compute():
        run = sample(
            rbm,
            n_chains,
            steps,
            method=method,
            rng=seed,
            data=train_images,
            start=start,
            trace_every=trace_every if classifier is not None else None,
            trace_fn=None if classifier is None else lambda v: classifier.predict(v).astype(np.int8),
        )
        result = {"betas": run.betas, "acceptance": run.acceptance, "round_trips": run.round_trips}
        for t, (v, p) in run.snapshots.items():
            result[f"v{t}"], result[f"p{t}"] = v.astype(np.uint8), p.astype(np.float32)
        if classifier is not None:
            result.update(labels=run.trace, trace_sweeps=run.trace_sweeps, energy=run.energy[run.trace_sweeps - 1])
            result.update(flatten(mixing_report(run.trace, run.trace_sweeps, run.energy, burn_in=burn_in), "mixing"))
        return result

    r = cached_result("chains", rbm, key, compute)
    out = {
        "snapshots": {t: (r[f"v{t}"].astype(np.float32), r[f"p{t}"]) for t in steps},
        "betas": r["betas"],
        "acceptance": r["acceptance"],
        "round_trips": int(r["round_trips"]),
    }
    if classifier is not None:
        out.update(
            labels=r["labels"],
            energy=r["energy"],
            trace_sweeps=r["trace_sweeps"],
            mixing={k.split(".", 1)[1]: v for k, v in r.items() if k.startswith("mixing.")},
        )
    return out


def _digest(*arrays) -> str:
    h = hashlib.sha256()
    for arr in arrays:
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()[:16]


def cached_sample_report(rbm, samples, key: dict, **kwargs) -> dict:
    """:func:`rbmlib.metrics.quality.sample_report` ``(samples, **kwargs)``, cached per model and ``key``.

    ``key`` must identify ``samples`` for this model (e.g. the settings of
    :func:`cached_chains` and the step count) together with the report's own
    settings (its ``rng`` seed ...); the report is computed once per machine.
    """
    return cached_result("sample_report", rbm, dict(key), lambda: flatten(sample_report(samples, **kwargs)))
