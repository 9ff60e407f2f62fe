"""The recipe search: candidate training methods over seeds, judged by their chains' class mix and their likelihood.

Run on demand (it is not a test; every candidate trains for 10 to 35 minutes per seed on 2 cores)::

    .venv/bin/python benchmarks/recipe_search.py [--candidates best best+tempered ...] [--seeds 0 1 2]

Every candidate is a recipe (:class:`rbmlib.train.Recipe`). The ``best+...`` candidates continue
``best`` (its 280 PCD epochs, shared through the model cache) with a second stage of
:func:`rbmlib.train.fit_phase` and another negative phase (:mod:`rbmlib.train.negative`):

* ``best+persistent`` -- PCD with 1024 chains at the same small learning rate: the control
  (does a few more epochs at a small step change anything by themselves?);
* ``best+tempered`` -- the :math:`\\beta = 1` replicas of parallel tempering (64 systems, a
  ladder tuned for 0.3 swap acceptance at the start and rebalanced every 50 updates);
* ``best+jarzynski`` -- 1024 persistent chains with Jarzynski importance weights;
* ``best+restarted`` -- the sampler's own protocol: 1024 chains from random images, restarted
  after 10,000 sweeps, the model term from those at least 1000 sweeps old;
* ``best+restarted-long`` and ``best+restarted-short`` -- the same pushed harder (5 epochs from
  lr 1e-3), the model term from chains 500 to 10,000 sweeps old, or 500 to 1500 only;
* ``best-1000h`` -- ``best``'s training with 1000 hidden units instead of 500: is the class mix a
  matter of capacity?

For every candidate and seed the model is trained (or loaded from the model cache,
``rbmlib.book.zoo.recipe_model``), then:

* 1000 plain Gibbs chains from uniformly random images (what ``python -m rbmlib sample`` runs by
  default), labelled after 1000 and 10,000 sweeps by the project's digit classifier: the total
  variation (TV) of the class histogram to MNIST's class frequencies, against the 95 % noise floor
  of 1000 independent draws from them; the mean confidence against that of 1000 real test digits;
* within-class diversity after 10,000 sweeps: the median distance of a sample to its nearest other
  sample of its class, over that of real digits (:func:`rbmlib.metrics.quality.within_class_spread`,
  lowest and highest class), and the median distance to the nearest training image over that of
  real test digits;
* the test log-likelihood by forward and reverse AIS, with the book's settings (100 runs, 5000
  distributions).

Prints a Markdown table and merges its rows into ``benchmarks/results/recipe_search.json`` (one
row per candidate and seed, with the command, the commit and the training seconds), which the
README's table and the Resampling chapter's frontier figure read.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from tabulate import tabulate

from rbmlib._io import file_lock
from rbmlib.book.nbtools import cached_evaluation
from rbmlib.book.zoo import recipe_model
from rbmlib.data import binarize, load_mnist
from rbmlib.metrics.classifier import load_classifier
from rbmlib.metrics.neighbours import nearest_distances
from rbmlib.metrics.quality import (
    class_histogram,
    mnist_class_frequencies,
    tv_distance,
    tv_noise_floor,
    within_class_spread,
)
from rbmlib.sampling import sample
from rbmlib.train import RECIPES, PhaseStage, Recipe
from rbmlib.train.phased import training_seconds

EVAL_PARAMS = dict(rng=0, ais_runs=100, ais_betas=5000, ais_seeds=1, reverse=True)
STEPS = (1000, 10000)
N_CHAINS = 1000
RESULTS = Path(__file__).resolve().parent / "results" / "recipe_search.json"

_BEST = RECIPES["best"]
#: The candidates: recipes by name (``best`` from rbmlib, the others defined here; ``best+tempered`` is
#: rbmlib's ``equilibrium`` recipe, the search's choice).
CANDIDATES: dict[str, Recipe] = {
    "best": _BEST,
    "best+persistent": Recipe(500, _BEST.config, PhaseStage("persistent", 3, 2e-4, 1024)),
    "best+tempered": Recipe(500, _BEST.config, PhaseStage("tempered", 3, 2e-4, 64)),
    "best+jarzynski": Recipe(500, _BEST.config, PhaseStage("jarzynski", 3, 2e-4, 1024)),
    "best+restarted": Recipe(
        500, _BEST.config, PhaseStage("restarted", 3, 2e-4, 1024, (("min_age", 1000), ("max_age", 10000)))
    ),
    # the protocol pushed harder (5 epochs, lr 1e-3): ages 500 to 10,000, and 500 to 1500 only
    "best+restarted-long": Recipe(
        500, _BEST.config, PhaseStage("restarted", 5, 1e-3, 1024, (("min_age", 500), ("max_age", 10000)))
    ),
    "best+restarted-short": Recipe(
        500, _BEST.config, PhaseStage("restarted", 5, 1e-3, 1024, (("min_age", 500), ("max_age", 1500)))
    ),
    # capacity: best's training with twice the hidden units
    "best-1000h": Recipe(1000, _BEST.config),
}
assert CANDIDATES["best+tempered"] == RECIPES["equilibrium"]  # the search's choice, by name in rbmlib


class Judge:
    """The fixed references: classifier, MNIST class frequencies and noise floor, real digits."""

    def __init__(self):
        self.train_images, train_labels = load_mnist("train")
        self.test_images, test_labels = load_mnist("test")
        self.clf = load_classifier(rng=0)
        self.q = mnist_class_frequencies(train_labels)
        self.floor = float(np.percentile(tv_noise_floor(self.q, N_CHAINS, rng=0), 95))
        self.real = binarize(self.test_images[:N_CHAINS], rng=0).astype(np.float32)
        self.real_labels = test_labels[:N_CHAINS]
        self.conf_real = float(self.clf.predict_proba(self.real).max(axis=1).mean())
        self.train_bits = binarize(self.train_images[:10000], rng=1).astype(np.float32)
        self.nn_real = float(np.median(nearest_distances(self.real, self.train_bits)))

    def row(self, rbm, seed: int) -> dict:
        run = sample(rbm, N_CHAINS, STEPS, method="gibbs", rng=seed)
        out = {}
        for t in STEPS:
            v = np.asarray(run.samples(t), np.float32)
            p = self.clf.predict_proba(v)
            out[f"tv_{t}"] = tv_distance(class_histogram(p.argmax(axis=1)), self.q)
            out[f"confidence_{t}"] = float(p.max(axis=1).mean()) - self.conf_real
        spread = within_class_spread(v, p.argmax(axis=1), self.real, self.real_labels, rng=0)
        ratios = [c["ratio"] for c in spread]
        out.update(spread_min=min(ratios), spread_max=max(ratios))
        out["nn_train_ratio"] = float(np.median(nearest_distances(v, self.train_bits))) / self.nn_real
        ev = cached_evaluation(rbm, self.test_images, self.train_images, **EVAL_PARAMS)
        out["ll_forward"] = ev["test_log_likelihood"]
        out["ll_reverse"] = ev["test_log_likelihood"] + ev["log_z.log_z"] - ev["reverse_ais.log_z"]
        return out


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _load() -> list[dict]:
    return json.loads(RESULTS.read_text())["rows"] if RESULTS.is_file() else []


def _save(rows: list[dict]) -> None:
    for row in rows:  # the candidate's second stage, from its definition above (None for best)
        if row["candidate"] in CANDIDATES and "then" not in row:
            stage = CANDIDATES[row["candidate"]].then
            row["then"] = None if stage is None else stage.to_dict()
    order = {name: i for i, name in enumerate(CANDIDATES)}
    rows = sorted(rows, key=lambda r: (order.get(r["candidate"], len(order)), r["seed"]))
    RESULTS.parent.mkdir(exist_ok=True)
    tmp = RESULTS.with_suffix(".tmp")
    tmp.write_text(json.dumps({"rows": rows}, indent=1) + "\n")
    os.replace(tmp, RESULTS)  # atomic: an interrupted run leaves the last complete file


def _cell(r: dict, t: int) -> str:
    return f"{r[f'tv_{t}']:.3f} ({'met' if r[f'tv_{t}'] <= r['floor'] else 'not met'})"


def table(rows: list[dict]) -> str:
    """The Markdown table of ``rows`` (TV marked against the floor, AIS agreement marked within 0.5)."""
    header = [
        "candidate",
        "seed",
        "TV, 1000",
        "TV, 10,000",
        "confidence - real's (1000 / 10,000)",
        "test LL, forward / reverse AIS",
        "class spread (min-max)",
        "NN to train",
        "training (min)",
    ]
    body = [
        [r["candidate"], r["seed"], _cell(r, 1000), _cell(r, 10000),
         f"{r['confidence_1000']:+.3f} / {r['confidence_10000']:+.3f}",
         f"{r['ll_forward']:.2f} / {r['ll_reverse']:.2f}", f"{r['spread_min']:.2f}-{r['spread_max']:.2f}",
         f"{r['nn_train_ratio']:.2f}", f"{r['train_seconds'] / 60:.1f}"]
        for r in rows
    ]  # fmt: skip
    return tabulate(body, headers=header, tablefmt="github", disable_numparse=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES), choices=list(CANDIDATES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    judge = Judge()
    command = "python benchmarks/recipe_search.py " + " ".join(sys.argv[1:])
    new = []
    for name in args.candidates:
        for seed in args.seeds:
            rbm = recipe_model(name, rng=seed, recipe=CANDIDATES[name], progress=False)
            row = {"candidate": name, "seed": seed, "floor": judge.floor, "conf_real": judge.conf_real}
            row.update(judge.row(rbm, seed))
            row["train_seconds"] = training_seconds(rbm)
            row.update(command=command, commit=_commit(), date=time.strftime("%Y-%m-%d"))
            new.append(row)
            done = {(r["candidate"], r["seed"]) for r in new}
            with file_lock(RESULTS.with_name(".recipe_search.lock")):  # other runs may merge theirs at once
                _save([r for r in _load() if (r["candidate"], r["seed"]) not in done] + new)
            print(f"{name} seed {seed} done", flush=True)
    print(f"\nNoise floor (95 %, {N_CHAINS} draws): {judge.floor:.3f}; real digits' confidence {judge.conf_real:.3f}\n")
    print(table(new))
    return 0


if __name__ == "__main__":
    sys.exit(main())
