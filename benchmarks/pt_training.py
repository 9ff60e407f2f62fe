"""Training with tempered negatives from scratch: which mistakes make it diverge?

The recipe search once reported that parallel-tempering negatives in training "diverged, LL -156,
in our implementation" (8 and 16 replicas); that implementation was never committed. This script
trains ``best``'s model size from random parameters with :func:`rbmlib.train.fit_phase` and four
negative phases, at ``best``'s starting learning rate, and reports the test log-likelihood (AIS)
after every ``--epochs`` epochs:

* ``pcd`` -- 256 persistent Gibbs chains (the reference);
* ``tempered`` -- rbmlib's :class:`~rbmlib.train.negative.TemperedPhase`: the model term from the
  :math:`\\beta = 1` replicas, a ladder tuned at the start and rebalanced every 50 updates;
* ``fixed ladder`` -- 8 replicas on a fixed, evenly spaced ladder (tuned for nothing);
* ``all replicas`` -- the same ladder, but the model term averaged over every replica, hot ones
  included: statistics from the wrong distribution.

Run on demand (about 25 minutes on 2 cores)::

    .venv/bin/python benchmarks/pt_training.py [--epochs 4] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from tabulate import tabulate

from rbmlib import RBM
from rbmlib.data import binarize, load_mnist
from rbmlib.evaluate import log_likelihood, log_partition
from rbmlib.sampling import independent_pixel_biases
from rbmlib.train import TrainingDiverged, fit_phase
from rbmlib.train.negative import PersistentPhase, TemperedPhase


class AllReplicas(TemperedPhase):
    """The mistake: the model term from every replica of the ladder, not only the :math:`\\beta = 1` ones."""

    def draw(self, rbm):
        super().draw(rbm)
        return self.pt.v


def phases(base):
    fixed = np.linspace(0.0, 1.0, 8)
    return {
        "pcd": lambda: PersistentPhase(256),
        "tempered": lambda: TemperedPhase(base, 64),
        "fixed ladder": lambda: TemperedPhase(base, 64, betas=fixed, retune=10**9),
        "all replicas": lambda: AllReplicas(base, 64, betas=fixed, retune=10**9),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=0.02)
    args = parser.parse_args(argv)
    images, _ = load_mnist("train")
    test, _ = load_mnist("test")
    v_test = binarize(test, rng=20081)
    base = independent_pixel_biases(images)
    rows = []
    for name, make in phases(base).items():
        rbm = RBM(784, 500, rng=args.seed)
        rbm.a[:] = base  # as best's recipe (init_visible_bias)
        t0 = time.perf_counter()
        try:
            fit_phase(rbm, images, make(), epochs=args.epochs, lr=args.lr, lr_schedule=None, rng=args.seed)
            status = "finite"
        except TrainingDiverged:
            status = "diverged (NaN); last good epoch kept"
        seconds = time.perf_counter() - t0
        log_z = log_partition(rbm, "ais", data=images, n_runs=100, n_betas=5000, rng=0)
        rows.append([name, status, f"{log_likelihood(rbm, v_test, log_z):.2f}", f"{seconds / 60:.1f}"])
        print(rows[-1], flush=True)
    print(f"\n# {args.epochs} epochs from random parameters, lr {args.lr}, 500 hidden units, seed {args.seed}\n")
    print(tabulate(rows, headers=["negative phase", "parameters", "test LL (AIS)", "minutes"], tablefmt="github"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
