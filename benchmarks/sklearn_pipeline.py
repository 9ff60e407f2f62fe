"""RBM features for logistic regression: rbmlib's BernoulliRBM against scikit-learn's, at the same settings.

Run on demand (it is not a test)::

    .venv/bin/python benchmarks/sklearn_pipeline.py [--quick] [--repeats 3]

Both estimators get the same ``Pipeline(rbm, LogisticRegression)`` on MNIST (grey values / 255,
float32: scikit-learn's estimator keeps float32 and is fastest on it), with the same settings
(``n_components``, ``learning_rate``, ``batch_size``, ``n_iter``, ``random_state``). Reported, in
one run on this machine: the RBM's fit time (median of ``--repeats`` interleaved rounds; the
classifier's time is the same for both and reported apart), and the test accuracy of the
classifier on each estimator's features with a 95 % interval and the paired difference.

The two are not the same algorithm: rbmlib binarises every image afresh each time it is used and
samples the hidden units of the negative phase; scikit-learn uses the grey values as they are and
the hidden mean field (both persistent contrastive divergence).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import BernoulliRBM as SkBernoulliRBM
from tabulate import tabulate

from rbmlib.data import load_mnist
from rbmlib.metrics.recall import paired_difference
from rbmlib.sklearn import BernoulliRBM

SETTINGS = dict(n_components=256, learning_rate=0.05, batch_size=64, n_iter=10, random_state=0)


def timed_fit(make, X):
    est = make()
    t0 = time.perf_counter()
    est.fit(X)
    return time.perf_counter() - t0, est


def interval(p, n):
    half = 1.96 * np.sqrt(p * (1 - p) / n)
    return f"{p:.4f} [{p - half:.4f}, {p + half:.4f}]"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 training images, 3 epochs, 1 round")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    x, y = load_mnist("train")
    xt, yt = load_mnist("test")
    settings = dict(SETTINGS)
    repeats = args.repeats
    if args.quick:
        x, y, settings["n_iter"], repeats = x[:10000], y[:10000], 3, 1
    X, Xt = (x / np.float32(255)).astype(np.float32), (xt / np.float32(255)).astype(np.float32)
    makers = {"rbmlib": lambda: BernoulliRBM(**settings), "scikit-learn": lambda: SkBernoulliRBM(**settings)}
    times = {name: [] for name in makers}
    fitted = {}
    for r in range(repeats):
        for name in sorted(makers, reverse=bool(r % 2)):  # interleaved, alternating order
            t, fitted[name] = timed_fit(makers[name], X)
            times[name].append(t)
    predictions, clf_seconds = {}, {}
    for name, est in fitted.items():
        clf = LogisticRegression(max_iter=300)
        t0 = time.perf_counter()
        clf.fit(est.transform(X), y)
        clf_seconds[name] = time.perf_counter() - t0
        predictions[name] = clf.predict(est.transform(Xt))
    print(f"# RBM features + logistic regression on MNIST ({len(x)} training images, {len(xt)} test images)\n")
    print("Settings of both RBMs:", ", ".join(f"{k}={v}" for k, v in settings.items()), "\n")
    rows = []
    for name in makers:
        acc = float(np.mean(predictions[name] == yt))
        med = statistics.median(times[name])
        rows.append((name, f"{med:.2f}", ", ".join(f"{t:.2f}" for t in times[name]), f"{clf_seconds[name]:.1f}",
                     interval(acc, len(yt))))  # fmt: skip
    print(tabulate(rows, headers=["RBM", "fit s (median)", "rounds", "classifier fit s", "test accuracy [95 %]"],
                   tablefmt="github"))  # fmt: skip
    speed = statistics.median(times["scikit-learn"]) / statistics.median(times["rbmlib"])
    d = paired_difference(predictions["rbmlib"], predictions["scikit-learn"], yt)
    print(f"\nrbmlib's RBM fits {speed:.2f}x faster; accuracy difference (rbmlib - scikit-learn) "
          f"{d['difference']:+.4f}, 95 % interval [{d['low']:+.4f}, {d['high']:+.4f}]")  # fmt: skip
    print(f"Targets: >= 3x faster: {'met' if speed >= 3 else 'not met'} ({speed:.2f}x); equal or better accuracy: "
          f"{'met' if d['high'] >= 0 else 'not met'} (interval's upper end {d['high']:+.4f})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
