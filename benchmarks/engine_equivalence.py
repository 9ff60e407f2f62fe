"""Is the engine bit-identical to an earlier one? Same seeds, same inputs, both engines, every array compared.

Run on demand (it is not a test; it compiles the earlier engine's kernels, a minute or two)::

    .venv/bin/python benchmarks/engine_equivalence.py [--base a38cc24] [--threads 1]

The earlier rbmlib is taken from git (``git archive <base> rbmlib``) into a temporary folder and
imported as ``rbmlib_old``. Compared: the parameters after short float32 training runs of every
update variant (CD-1, CD-3 on probability images, centred PCD with more chains than the batch and a
linear schedule, PCD-2 with momentum and weight decay, CD with momentum or centring and decay), plain
Gibbs chains with energies, parallel tempering with energies and swap counts, and clamped Gibbs
chains, all from binary inputs. (Binarisation through ``rbmlib.data.binarize`` and float64 PCD chain
starts changed on purpose, so runs that use them are not compared.) The current engine runs with
its products forced dense (``products("dense")``: sgemm, the earlier engine's only path); its row
sums over 0/1 operands (:mod:`rbmlib._engine.sparse`) round differently, and ``tests/test_sparse.py``
compares the two paths to float tolerance. Centred runs' pixel means are now summed as integers
(changed on purpose; they differ in the last bits), so the current engine is given them computed
the earlier way, from float32 probabilities. Exit status 1 if any differs.
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

import rbmlib
from rbmlib._engine import products, threads
from rbmlib.data import load_mnist

CASES = {
    "cd1": dict(n_hidden=40, epochs=2, method="cd", k=1),
    "cd3 (probabilities)": dict(n_hidden=30, epochs=1, method="cd", k=3, lr=0.05),
    "centred pcd, 96 chains": dict(
        n_hidden=50,
        epochs=2,
        method="pcd",
        k=1,
        n_chains=96,
        centering=True,
        init_visible_bias=True,
        lr=0.02,
        lr_schedule="linear",
    ),  # fmt: skip
    "pcd-2, momentum, decay": dict(
        n_hidden=20, epochs=1, method="pcd", k=2, momentum=0.5, weight_decay=1e-3, centering=True
    ),  # fmt: skip
    "cd, momentum, decay": dict(n_hidden=20, epochs=1, method="cd", k=1, momentum=0.9, weight_decay=1e-3),
    "cd, decay, centred": dict(n_hidden=20, epochs=1, method="cd", k=1, weight_decay=1e-3, centering=True),
}


def old_package(base: str, folder: str):
    """The rbmlib of commit ``base``, imported as ``rbmlib_old``."""
    raw = subprocess.run(["git", "archive", base, "rbmlib"], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        tar.extractall(folder, filter="data")
    os.rename(os.path.join(folder, "rbmlib"), os.path.join(folder, "rbmlib_old"))
    sys.path.insert(0, folder)
    return importlib.import_module("rbmlib_old")


def _float32_means(x):
    """The pixel means as the earlier engine computed them: float32 probabilities, averaged in float64."""
    return rbmlib.data.as_images(x, x.shape[1]).mean(axis=0, dtype=np.float64)


def runs(lib, new: bool) -> dict:
    """Every compared array of one engine."""
    x, _ = load_mnist("train")
    x = x[:3000]
    out = {}
    for name, settings in CASES.items():
        s = dict(settings)
        rbm = lib.RBM(784, s.pop("n_hidden"), rng=1)
        images = (x / 255).astype(np.float32) if "probabilities" in name else x
        lib.fit(rbm, images, rng=2, progress=False, **s)
        out.update({f"train {name}: {p}": getattr(rbm, p) for p in "Wab"})
    rbm = lib.RBM.load(os.path.join(ROOT, "rbmlib", "models", "best.npz"))
    run = lib.sampling.sample(rbm, 300, (5, 20), rng=3, trace_every=5)
    out.update({f"gibbs v{t}": v for t, (v, _) in run.snapshots.items()}, **{"gibbs energies": run.energy})
    run = lib.sampling.sample(rbm, 40, (3, 10), method="pt", rng=4, data=x, trace_every=2)
    out.update({f"pt v{t}": v for t, (v, _) in run.snapshots.items()})
    out.update({"pt energies": run.energy, "pt ladder": run.betas, "pt acceptance": run.acceptance})
    start = (x[:70] > 127).astype(np.float32)
    clamp = np.arange(784) % 28 >= 14
    v, p = rbm.gibbs(start, 4, rng=6, clamp=clamp) if new else rbm.gibbs(start, 4, 6, clamp=clamp)
    out.update({"clamped gibbs v": v, "clamped gibbs p": p})
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="a38cc24", help="the earlier commit (default: the last one with _fast.py)")
    parser.add_argument("--threads", type=int, default=None, help="run both engines on this many threads")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        old = old_package(args.base, folder)
        with threads(args.threads), old._fast.threads(args.threads):
            a = runs(old, new=False)
            loop = importlib.import_module("rbmlib.train.loop")
            integer_means, loop.pixel_means = loop.pixel_means, _float32_means
            try:
                with products("dense"):
                    b = runs(rbmlib, new=True)
            finally:
                loop.pixel_means = integer_means
    bad = [k for k in a if not np.array_equal(a[k], b[k])]
    for k in a:
        print(f"{'identical' if k not in bad else 'DIFFERENT'}  {k}")
    print(f"\n{len(a) - len(bad)} of {len(a)} arrays bit-identical to the engine of {args.base}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
