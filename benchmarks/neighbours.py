"""The kit's nearest-neighbour search against scikit-learn's brute force, on the kit's three workloads.

Run on demand (it is not a test)::

    .venv/bin/python benchmarks/neighbours.py

Prints the best of 3 wall times of each search and whether both found the same neighbours:
the recall baseline (500 test half-images against 59,000 training digits on 392 known pixels,
k = 50), sample novelty (1000 binary samples against the 60,000 training digits, k = 2) and one
of the four Hamming searches of AA_TS (2000 x 2000 binary images).
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from sklearn.neighbors import NearestNeighbors

from rbmlib.data import load_mnist
from rbmlib.metrics.neighbours import nearest_distances


def best_of(fn, n=3):
    times, out = [], None
    for _ in range(n):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> int:
    x, _ = load_mnist("train")
    xt, _ = load_mnist("test")
    rng = np.random.default_rng(0)
    known = np.zeros(784, bool)
    known[:392] = True
    q = (xt[:500] / 255.0).astype(np.float32)[:, known]
    bank = (x[:59000] / 255.0).astype(np.float32)[:, known]
    a, ia = best_of(lambda: NearestNeighbors(n_neighbors=50, algorithm="brute").fit(bank).kneighbors(q)[1])
    b, ib = best_of(lambda: nearest_distances(q, bank, k=50, metric="euclidean", return_index=True)[1])
    same = np.mean([len(set(i) & set(j)) / 50 for i, j in zip(ia, ib, strict=True)])
    print(f"recall baseline, 500 x 59000 x 392, k=50: sklearn {a:.3f} s, rbmlib {b:.3f} s, same neighbours {same:.4f}")
    s = (rng.random((1000, 784)) < 0.13).astype(np.float32)
    train = (x / 255.0).astype(np.float32)
    a, da = best_of(lambda: NearestNeighbors(n_neighbors=2, algorithm="brute").fit(train).kneighbors(s)[0])
    b, db = best_of(lambda: nearest_distances(s, train, k=2, metric="euclidean"))
    print(f"novelty, 1000 x 60000, k=2: sklearn {a:.3f} s, rbmlib {b:.3f} s, largest distance difference "
          f"{np.abs(da - db).max():.2g}")  # fmt: skip
    s2, t2 = ((rng.random((2000, 784)) < 0.13).astype(np.float32) for _ in range(2))
    nn = NearestNeighbors(n_neighbors=1, algorithm="brute", metric="sqeuclidean")
    a, da = best_of(lambda: nn.fit(t2).kneighbors(s2)[0][:, 0])
    b, db = best_of(lambda: nearest_distances(s2, t2, metric="hamming"))
    print(f"AA_TS Hamming, 2000 x 2000: sklearn {a:.3f} s, rbmlib {b:.3f} s, same distances {np.array_equal(da, db)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
