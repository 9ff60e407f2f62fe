"""The tables and figures of the Resampling chapter, so that its cells stay short.

Every function but one takes the chapter's results (the sample reports, the cached chain runs)
and returns a :class:`~rbmlib.book.tables.Table`, rows or a figure; none computes anything that
the chapter does not also state. :func:`seed_study` trains its own small models (cached like the
book's), to ask whether a finding is the recipe's or one training run's.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..metrics.quality import class_histogram, tv_distance, tv_interval, tv_noise_floor
from ..rng import as_rng
from ..sampling import sample
from .tables import Table
from .zoo import trained_model

__all__ = [
    "equilibrium_histogram",
    "histogram_figure",
    "mixing_rows",
    "quality_table",
    "seed_study",
    "tv_rows",
    "two_sample_floor",
]

#: The assignment's budget, the same for both methods of :func:`seed_study`.
ASSIGNMENT_BUDGET = dict(n_hidden=400, epochs=20, lr=0.1, batch_size=64, k=1)
#: A chain whose image has more than this fraction of its pixels on is counted as noise (almost
#: no binarised MNIST digit has).
NOISY_INK = 0.3


def equilibrium_histogram(run: dict, burn_in: int) -> np.ndarray:
    """Class histogram of the labels a (tempered) run recorded after ``burn_in`` sweeps."""
    labels = run["labels"][run["trace_sweeps"] > burn_in]
    return class_histogram(labels.ravel().astype(np.int64))


def quality_table(reports: dict) -> Table:
    """``{(model, steps): sample_report}`` as a table: class mix, confidence, novelty (real digits beside)."""
    rows = [
        {
            "model": name,
            "steps": t,
            "TV distance": r["tv_distance"],
            "TV (real digits)": r["reference_tv_distance"],
            "confidence": r["mean_confidence"],
            "confidence (real)": r["reference_confidence"],
            "NN distance": r["nn_distance_median"],
            "NN distance (real)": r["reference_nn_distance_median"],
            "copy fraction": r["copy_fraction"],
        }
        for (name, t), r in reports.items()
    ]
    return Table(rows, floatfmt=".3f", formats={"NN distance": ".2f", "NN distance (real)": ".2f"})


def tv_rows(histograms: dict, mnist_freq, *, rng=None) -> list[dict]:
    """``{(model, sampler): (histogram, n effective)}`` -> rows: TV with its 95 % interval and the noise floor."""
    rows = []
    for (name, sampler), (hist, n) in histograms.items():
        low, high = tv_interval(hist, mnist_freq, n, rng=rng)
        rows.append(
            {
                "model": name,
                "sampler": sampler,
                "effective samples": n,
                "TV distance": tv_distance(hist, mnist_freq),
                "95 % interval": f"[{low:.3f}, {high:.3f}]",
                "noise floor (95 %)": float(np.quantile(tv_noise_floor(mnist_freq, n, rng=rng), 0.95)),
            }
        )
    return rows


def histogram_figure(histograms: dict, mnist_freq):
    """Class histograms with 95 % error bars (``{(model, sampler): (histogram, n effective)}``), MNIST beside."""
    models = list(dict.fromkeys(name for name, _ in histograms))
    samplers = list(dict.fromkeys(s for _, s in histograms))
    digits = np.arange(10)
    fig, axes = plt.subplots(len(models), len(samplers), figsize=(4.5 * len(samplers), 3 * len(models)), sharey=True)
    for row, name in zip(np.atleast_2d(axes), models, strict=True):
        for ax, sampler in zip(row, samplers, strict=True):
            if (name, sampler) not in histograms:
                ax.set_axis_off()
                continue
            hist, n = histograms[name, sampler]
            err = 1.96 * np.sqrt(hist * (1 - hist) / n)
            ax.bar(digits - 0.2, hist, width=0.4, yerr=err, capsize=2, label=f"chains ({n} effective)")
            ax.bar(digits + 0.2, mnist_freq, width=0.4, label="MNIST")
            ax.set(xticks=digits, title=f"{name}: {sampler}")
            ax.legend(fontsize=7)
        row[0].set_ylabel("fraction")
    fig.tight_layout()
    return fig


def mixing_rows(runs: dict) -> list[dict]:
    """``{(model, sampler): cached run}`` -> rows: mixing per sweep and per replica-sweep (the cost), round trips."""
    rows = []
    for (name, sampler), run in runs.items():
        mix, R = run["mixing"], len(run["betas"])
        sweeps, trips = int(run["trace_sweeps"][-1]), run["round_trips"]  # the whole run, as the trips
        rows.append(
            {
                "model": name,
                "sampler": sampler,
                "replicas per chain": R,
                "label changes / 1000 sweeps": mix["label_changes_per_1000"],
                "... / 1000 replica-sweeps": mix["label_changes_per_1000"] / R,
                "tau energy (sweeps)": mix["tau_energy"],
                "tau energy (replica-sweeps)": mix["tau_energy"] * R,
                "tau label (replica-sweeps)": mix["tau_label"] * R,
                "sweeps per round trip": sweeps * R * mix["n_chains"] / trips if trips else None,
            }
        )
    return rows


def two_sample_floor(q, n: int, *, level: float = 0.95, n_draws: int = 1000, rng=None) -> float:
    """The ``level`` quantile of the TV distance between two independent histograms of ``n`` draws from ``q``."""
    rng = as_rng(rng)
    a, b = (rng.multinomial(n, q, size=n_draws) / n for _ in range(2))
    return float(np.quantile(0.5 * np.abs(a - b).sum(axis=1), level))


def seed_study(
    classifier, mnist_freq, *, seeds=(0, 1, 2), n_chains: int = 300, steps: int = 1000, rng=None
) -> list[dict]:
    """CD-1 against PCD-1 at the assignment's budget, over training seeds: is the trap the recipe's?

    For every seed, trains (or loads from the cache) the assignment's model
    (:data:`ASSIGNMENT_BUDGET`) with CD-1 and with PCD-1 (64 persistent chains), nothing else
    changed, and runs ``n_chains`` plain Gibbs chains from random images for ``steps`` sweeps.

    Parameters
    ----------
    classifier : object with ``predict``
        Labels the final states.
    mnist_freq : array_like, shape (10,)
        MNIST's class frequencies.
    seeds : sequence of int
        Training seeds (part of the models' cache keys).
    n_chains, steps : int
    rng : None, int or numpy.random.Generator
        The chains' random numbers.

    Returns
    -------
    list of dict
        One row per (method, seed): ``training``, ``seed``, ``noisy fraction`` (chains with more
        than :data:`NOISY_INK` of their pixels on) and ``TV to MNIST`` of the classifier's labels.
    """
    rng = as_rng(rng)
    rows = []
    methods = (
        ("CD-1", "cd1-400", dict(method="cd")),
        ("PCD-1, 64 chains", "pcd1-400", dict(method="pcd", n_chains=64)),
    )
    for method, name, extra in methods:  # seed 0 of CD-1 is the book's cd1-400, from the same cache file
        for seed in seeds:
            model = trained_model(**ASSIGNMENT_BUDGET, **extra, rng=seed, name=name, progress=False)
            v = sample(model, n_chains, steps, rng=rng).samples()
            labels = np.bincount(classifier.predict(v), minlength=len(mnist_freq)) / n_chains
            noisy = float((v.mean(axis=1) > NOISY_INK).mean())
            rows.append(
                {
                    "training": method,
                    "seed": seed,
                    "noisy fraction": noisy,
                    "TV to MNIST": tv_distance(labels, mnist_freq),
                }
            )
    return rows
