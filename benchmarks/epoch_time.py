"""Seconds per epoch of CD-1 (batch 64, all 60,000 MNIST images): rbmlib vs scikit-learn.

Run on demand (it is not a test)::

    .venv/bin/python benchmarks/epoch_time.py [--hidden 10 400] [--repeats 3]

For each hidden size it prints, all measured in this one run on this machine:

* rbmlib's epoch time (``fit``'s own per-epoch ``seconds``: training only);
* scikit-learn's ``BernoulliRBM`` (same ``n_components``, ``batch_size=64``,
  ``learning_rate=0.1``, ``n_iter=1``) on float32 input and on its default float64;
* the ratios between them;
* the GEMM bound: the time of the epoch's float32 matrix products alone, at the same
  shapes (positive phase, down pass, negative up pass and the stacked gradient),
  measured with numpy's BLAS. No CD-1 epoch can be faster than this.

The median of ``--repeats`` runs is reported. scikit-learn is a fair peer but not
an identical algorithm: it does not binarise its input and uses the mean field for
the hidden units of the negative phase.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from rbmlib import RBM, fit
from rbmlib.data import load_mnist

N_VISIBLE, BATCH = 784, 64


def flops_per_epoch(n_images: int, n_hidden: int) -> float:
    """Floating-point operations of the four GEMMs of one CD-1 epoch."""
    batches = n_images // BATCH
    per_batch = 3 * 2 * BATCH * N_VISIBLE * n_hidden + 2 * (2 * BATCH) * N_VISIBLE * n_hidden
    return batches * per_batch


def gemm_bound(n_images: int, n_hidden: int, repeats: int) -> float:
    """Seconds for one epoch's worth of the float32 GEMMs alone."""
    rng = np.random.default_rng(0)
    W = rng.random((N_VISIBLE, n_hidden), dtype=np.float32)
    V = rng.random((2 * BATCH, N_VISIBLE), dtype=np.float32)
    H = rng.random((2 * BATCH, n_hidden), dtype=np.float32)
    ph, pv, dW = np.empty((BATCH, n_hidden), np.float32), np.empty((BATCH, N_VISIBLE), np.float32), np.empty_like(W)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n_images // BATCH):
            np.dot(V[:BATCH], W, out=ph)
            np.dot(H[:BATCH], W.T, out=pv)
            np.dot(V[BATCH:], W, out=ph)
            np.dot(V.T, H, out=dW)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def rbmlib_epoch(images, n_hidden: int, repeats: int) -> float:
    rbm = RBM(N_VISIBLE, n_hidden, rng=0)
    _, history = fit(
        rbm, images, epochs=repeats, lr=0.1, batch_size=BATCH, method="cd", k=1, rng=0, progress=False, monitor_size=10
    )
    return statistics.median(row["seconds"] for row in history)


def sklearn_epoch(images, n_hidden: int, dtype, repeats: int) -> float:
    from sklearn.neural_network import BernoulliRBM

    X = (images / 255).astype(dtype)
    times = []
    for r in range(repeats):
        model = BernoulliRBM(n_components=n_hidden, batch_size=BATCH, learning_rate=0.1, n_iter=1, random_state=r)
        t0 = time.perf_counter()
        model.fit(X)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info

        info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if info:
            i = info[0]
            return (
                f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}, {i.get('num_threads')} threads)"
            )
    except ImportError:
        pass
    return "unknown BLAS"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, nargs="+", default=[10, 400])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-sklearn", action="store_true")
    args = parser.parse_args(argv)

    images, _ = load_mnist("train")
    n = len(images)
    print(
        f"# CD-1, batch {BATCH}, {n} images, median of {args.repeats}; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, numpy {np.__version__}, {blas_info()}"
    )
    header = (
        "hidden",
        "rbmlib s",
        "sklearn f32 s",
        "sklearn f64 s",
        "x vs f32",
        "x vs f64",
        "GEMM bound s",
        "rbmlib/bound",
        "GFLOP/s",
    )
    print(" | ".join(header))
    for nh in args.hidden:
        ours = rbmlib_epoch(images, nh, args.repeats)
        bound = gemm_bound(n, nh, args.repeats)
        if args.skip_sklearn:
            s32 = s64 = float("nan")
        else:
            s32 = sklearn_epoch(images, nh, np.float32, args.repeats)
            s64 = sklearn_epoch(images, nh, np.float64, args.repeats)
        gflops = flops_per_epoch(n, nh) / bound / 1e9
        row = (
            f"{nh}",
            f"{ours:.3f}",
            f"{s32:.3f}",
            f"{s64:.3f}",
            f"{s32 / ours:.2f}",
            f"{s64 / ours:.2f}",
            f"{bound:.3f}",
            f"{ours / bound:.2f}",
            f"{gflops:.0f}",
        )
        print(" | ".join(row), flush=True)
    print("# assignment's reference on Colab: 20 s/epoch at 10 hidden units, 80 s/epoch at 400")
    return 0


if __name__ == "__main__":
    sys.exit(main())
