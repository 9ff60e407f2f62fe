"""A recipe over training seeds: its class mix from random starts, its confidence and its likelihood.

Run on demand (it is not a test; the ``best`` recipe trains for about 11 minutes per seed on 2 cores)::

    .venv/bin/python benchmarks/recipe_seeds.py [--recipe best] [--seeds 0 1 2] [--n-chains 1000]

For every seed, the recipe (``rbmlib.train.recipe``) is trained on MNIST, or loaded from the
book's model cache (``rbmlib.book.zoo.trained_model``, keyed by recipe and seed), then:

* ``--n-chains`` plain Gibbs chains from uniformly random images (what ``python -m rbmlib
  sample`` runs by default), labelled after 1000 and 10,000 sweeps by the project's digit
  classifier: the total variation (TV) of the class histogram to MNIST's class frequencies,
  against the 95 % noise floor of as many independent draws from them; the mean confidence
  against that of as many real test digits;
* the test log-likelihood by forward and reverse AIS, with the book's settings (100 runs,
  5000 distributions).

Prints one Markdown table, a row per seed, with the targets (TV within the floor, confidence
within 0.03 of real digits', forward and reverse AIS within 0.5 nats) marked met or not.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from tabulate import tabulate

from rbmlib.book.nbtools import cached_evaluation
from rbmlib.book.zoo import _settings, trained_model
from rbmlib.data import binarize, load_mnist
from rbmlib.metrics.classifier import load_classifier
from rbmlib.metrics.quality import class_histogram, mnist_class_frequencies, tv_distance, tv_noise_floor
from rbmlib.sampling import sample
from rbmlib.train import recipe

EVAL_PARAMS = dict(rng=0, ais_runs=100, ais_betas=5000, ais_seeds=1, reverse=True)
STEPS = (1000, 10000)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="best")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n-chains", type=int, default=1000)
    args = parser.parse_args(argv)
    train_images, train_labels = load_mnist("train")
    test_images, _ = load_mnist("test")
    clf = load_classifier(rng=0)
    q = mnist_class_frequencies(train_labels)
    floor = float(np.percentile(tv_noise_floor(q, args.n_chains, rng=0), 95))
    real = binarize(test_images[: args.n_chains], rng=0).astype(np.float32)
    conf_real = float(clf.predict_proba(real).max(axis=1).mean())
    r = recipe(args.recipe)
    rows = []
    for seed in args.seeds:
        rbm = trained_model(n_hidden=r.n_hidden, rng=seed, name=f"{args.recipe}-seed{seed}", **_settings(r.config))
        run = sample(rbm, args.n_chains, STEPS, method="gibbs", rng=seed)
        row = [seed]
        for t in STEPS:
            p = clf.predict_proba(np.asarray(run.samples(t), np.float32))
            tv = tv_distance(class_histogram(p.argmax(axis=1)), q)
            conf = float(p.max(axis=1).mean())
            row += [f"{tv:.3f} ({'met' if tv <= floor else 'not met'})", f"{conf - conf_real:+.3f}"]
        ev = cached_evaluation(rbm, test_images, train_images, **EVAL_PARAMS)
        fwd = ev["test_log_likelihood"]
        rev = fwd + ev["log_z.log_z"] - ev["reverse_ais.log_z"]  # the same data term, the reverse log Z
        row += [f"{fwd:.2f}", f"{rev:.2f}", "met" if abs(fwd - rev) <= 0.5 else "not met"]
        rows.append(row)
        print(f"seed {seed} done", flush=True)
    header = ["seed"]
    for t in STEPS:
        header += [f"TV after {t} (floor {floor:.3f})", f"confidence - real's, {t}"]
    header += ["test LL, AIS (nats)", "reverse AIS", "forward and reverse within 0.5"]
    print(f"\n# Recipe `{args.recipe}` over seeds: {args.n_chains} Gibbs chains from random images\n")
    print(f"Real test digits' confidence: {conf_real:.3f}\n")
    print(tabulate(rows, headers=header, tablefmt="github", disable_numparse=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
