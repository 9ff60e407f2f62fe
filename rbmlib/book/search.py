"""The recipe search in the Resampling chapter: its committed results, their summary over seeds, the frontier.

``python benchmarks/recipe_search.py`` trains every candidate recipe over three seeds and writes
one row per candidate and seed to ``benchmarks/results/recipe_search.json`` (with the command and
commit that made it). The chapter cannot retrain two dozen models of 10 to 40 minutes each, so it
reads that file (:func:`load_search`), summarises it over seeds (:func:`seed_summary`), draws the
frontier of likelihood against class mix (:func:`frontier_figure`) and checks one row against a
run of its own.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

__all__ = [
    "FIELDS",
    "load_search",
    "seed_summary",
    "frontier_figure",
    "targets_met",
    "seed_spread",
    "seed_mean",
    "method_gap",
]

#: Every row of the results file holds these.
FIELDS = (
    "candidate",
    "then",
    "seed",
    "floor",
    "tv_1000",
    "tv_10000",
    "confidence_1000",
    "confidence_10000",
    "ll_forward",
    "ll_reverse",
    "spread_min",
    "spread_max",
    "nn_train_ratio",
    "train_seconds",
    "command",
    "commit",
)
#: The issue's likelihood targets: test log-likelihood and agreement of forward and reverse AIS (nats).
LL_TARGET, AIS_GAP = -85.0, 0.5
#: Confidence target: within this much of real digits'.
CONFIDENCE_GAP = 0.03


def load_search(path) -> list[dict]:
    """The rows of a results file of ``benchmarks/recipe_search.py``.

    Raises
    ------
    FileNotFoundError
        No such file (run the script).
    ValueError
        A file that is not the script's JSON, or a row without one of :data:`FIELDS`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no recipe-search results; run python benchmarks/recipe_search.py")
    try:
        rows = json.loads(path.read_text())["rows"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise ValueError(f"{path}: not a recipe-search results file ({err})") from None
    for row in rows:
        missing = [f for f in FIELDS if f not in row]
        if missing:
            raise ValueError(f"{path}: the row {row.get('candidate')!r}, seed {row.get('seed')!r} lacks {missing}")
    return rows


def targets_met(row: dict) -> dict:
    """Which targets one row meets: class mix at 1000 and 10,000 sweeps, confidence, likelihood."""
    return {
        "tv_1000": row["tv_1000"] <= row["floor"],
        "tv_10000": row["tv_10000"] <= row["floor"],
        "confidence": min(row["confidence_1000"], row["confidence_10000"]) >= -CONFIDENCE_GAP,
        "likelihood": min(row["ll_forward"], row["ll_reverse"]) >= LL_TARGET
        and abs(row["ll_forward"] - row["ll_reverse"]) <= AIS_GAP,
    }


def seed_summary(rows: list[dict]) -> list[dict]:
    """One row per candidate: mean and standard deviation over seeds, and the seeds that meet each target."""
    out = []
    for name in dict.fromkeys(r["candidate"] for r in rows):
        mine = [r for r in rows if r["candidate"] == name]
        met = [targets_met(r) for r in mine]

        def stat(key, digits=3, mine=mine):
            x = np.array([r[key] for r in mine], dtype=float)
            if len(x) == 1:
                return f"{x[0]:.{digits}f} (one seed)"
            return f"{x.mean():.{digits}f} ± {x.std(ddof=1):.{digits}f}"

        out.append(
            {
                "candidate": name,
                "seeds": len(mine),
                "TV, 1000": stat("tv_1000"),
                "TV, 10,000": stat("tv_10000"),
                "within floor (1000 / 10,000)": f"{sum(m['tv_1000'] for m in met)} / {sum(m['tv_10000'] for m in met)}",
                "confidence - real's": stat("confidence_10000"),
                "test LL (forward)": stat("ll_forward", 2),
                "largest AIS gap": max(abs(r["ll_forward"] - r["ll_reverse"]) for r in mine),
                "class spread / real's": f"{min(r['spread_min'] for r in mine):.2f}"
                f"-{max(r['spread_max'] for r in mine):.2f}",
                "NN to train / real's": float(np.mean([r["nn_train_ratio"] for r in mine])),
                "training, slowest seed (min)": max(r["train_seconds"] for r in mine) / 60,
            }
        )
    return out


#: The class-mix measures that :func:`seed_spread` and :func:`method_gap` compare.
TV_KEYS = ("tv_1000", "tv_10000")


def seed_spread(rows: list[dict]) -> float:
    """How much the training seed moves the class mix: the standard deviation of the TV over seeds.

    For each length (1000 and 10,000 sweeps), the standard deviation over seeds (``ddof=1``) is
    averaged over the candidates trained with more than one seed; the larger of the two is returned.
    """
    names = list(dict.fromkeys(r["candidate"] for r in rows))
    several = [n for n in names if sum(r["candidate"] == n for r in rows) > 1]
    if not several:
        raise ValueError("no candidate has more than one seed: the spread across seeds is unknown")
    return max(
        float(np.mean([np.std([r[key] for r in rows if r["candidate"] == n], ddof=1) for n in several]))
        for key in TV_KEYS
    )


def seed_mean(rows: list[dict], name: str, key: str) -> float:
    """The mean of ``key`` (e.g. ``"tv_1000"``, ``"ll_forward"``) over the seeds of the candidate ``name``."""
    x = [r[key] for r in rows if r["candidate"] == name]
    if not x:
        raise ValueError(f"no rows for the candidate {name!r}")
    return float(np.mean(x))


def method_gap(rows: list[dict], name: str, reference: str = "best") -> float:
    """How much a method moves the class mix: the largest difference of mean TV (over seeds) to ``reference``'s."""
    return max(abs(seed_mean(rows, name, key) - seed_mean(rows, reference, key)) for key in TV_KEYS)


def frontier_figure(rows: list[dict]):
    """Test log-likelihood against the class-mix TV after 1000 and 10,000 sweeps: every candidate, every seed."""
    names = list(dict.fromkeys(r["candidate"] for r in rows))
    markers = "osD^vP*X"
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5), sharey=True)
    for ax, t in zip(axes, (1000, 10000), strict=True):
        for i, name in enumerate(names):
            mine = [r for r in rows if r["candidate"] == name]
            ax.scatter(
                [r[f"tv_{t}"] for r in mine],
                [r["ll_forward"] for r in mine],
                marker=markers[i % len(markers)],
                s=50,
                label=name,
            )
        ax.axvline(rows[0]["floor"], color="k", ls="--", lw=1, label="noise floor (95 %)")
        ax.axhline(LL_TARGET, color="grey", ls=":", lw=1, label=f"test LL {LL_TARGET:.0f}")
        ax.set_xlabel(f"TV of the class mix to MNIST's after {t:,} sweeps")
        ax.set_title(f"{t:,} sweeps from random images")
    axes[0].set_ylabel("test log-likelihood (nats, AIS)")
    axes[1].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig
