"""Where row sums beat sgemm: the up pass ``V @ W`` of a 0/1 block on both paths, and the cost model fitted to it.

Run on demand (it is not a test)::

    .venv/bin/python benchmarks/sparse_crossover.py [--repeats 30]

One core (BLAS and numba at one thread), blocks of 512 rows of 784 visible units with
random 0/1 entries at densities 0.05-0.5, output widths 64-500 columns. For each it prints
the time of :func:`rbmlib._engine.sparse.up` forced to row sums over its time forced to
sgemm, then fits the model ``ratio = rho (s + r / w) + f / w`` by least squares and prints
it beside the constants the engine uses (``COST_SLOPE``, ``COST_ROW``, ``COST_FIXED``),
and the density up to which the engine takes row sums at each width. Last, the library
alternative: ``scipy.sparse`` CSR times dense at 400 and 500 columns, with and without the
conversion of the 0/1 block to CSR, against the same sgemm.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from tabulate import tabulate

from rbmlib._engine.sparse import COST_FIXED, COST_MARGIN, COST_ROW, COST_SLOPE, DENSE, SPARSE, up
from rbmlib._engine.threads import run_on

WIDTHS = (64, 128, 256, 400, 500)
DENSITIES = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.5)


def per_call(fn, args, repeats):
    fn(*args)
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn(*args)
    return (time.perf_counter() - t0) / repeats


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    rows, fit_rows = [], []
    with run_on(1):
        for w in WIDTHS:
            W = rng.standard_normal((784, w)).astype(np.float32)
            out, idx = np.empty((512, w), np.float32), np.empty((512, 784), np.int32)
            line = [str(w)]
            for rho in DENSITIES:
                V = (rng.random((512, 784)) < rho).astype(np.float32)
                t_dense = per_call(up, (V, 0, 512, W, out, idx, DENSE), args.repeats)
                t_sums = per_call(up, (V, 0, 512, W, out, idx, SPARSE), args.repeats)
                ratio = t_sums / t_dense
                line.append(f"{ratio:.2f}")
                fit_rows.append((rho, w, ratio))
            rows.append(line)
    print("# Row sums / sgemm, one core, 512 rows x 784 visible units\n")
    print(tabulate(rows, headers=["width"] + [f"rho={d}" for d in DENSITIES], tablefmt="github"))
    rho, w, ratio = (np.array(c, float) for c in zip(*fit_rows, strict=True))
    A = np.stack([rho, rho / w, 1 / w], axis=1)
    (s, r, f), *_ = np.linalg.lstsq(A, ratio, rcond=None)
    print(f"\nFitted: ratio = rho ({s:.2f} + {r:.1f} / w) + {f:.1f} / w")
    print(f"Engine: ratio = rho ({COST_SLOPE} + {COST_ROW} / w) + {COST_FIXED} / w, row sums below {COST_MARGIN}\n")
    print(
        tabulate(
            [(w_, f"{(COST_MARGIN - COST_FIXED / w_) / (COST_SLOPE + COST_ROW / w_):.2f}") for w_ in WIDTHS],
            headers=["width", "engine takes row sums below density"],
            tablefmt="github",
        )
    )
    scipy_rows = []
    import scipy.sparse as sp

    with run_on(1):
        for w in (400, 500):
            W = rng.standard_normal((784, w)).astype(np.float32)
            out, idx = np.empty((512, w), np.float32), np.empty((512, 784), np.int32)
            for rho in (0.1, 0.15):
                V = (rng.random((512, 784)) < rho).astype(np.float32)
                t_dense = per_call(up, (V, 0, 512, W, out, idx, DENSE), args.repeats)
                t_sums = per_call(up, (V, 0, 512, W, out, idx, SPARSE), args.repeats)
                csr = sp.csr_matrix(V)
                t_csr = per_call(csr.__matmul__, (W,), args.repeats)
                t_conv = per_call(lambda V, W: sp.csr_matrix(V) @ W, (V, W), args.repeats)
                scipy_rows.append(
                    (w, rho, f"{t_sums / t_dense:.2f}", f"{t_csr / t_dense:.2f}", f"{t_conv / t_dense:.2f}")
                )
    print("\n# The library alternative: scipy.sparse, time / sgemm\n")
    print(
        tabulate(
            scipy_rows,
            headers=["width", "density", "rbmlib row sums", "scipy CSR @ W", "scipy, converting V to CSR"],
            tablefmt="github",
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
