"""Speed of rbmlib's training and sampling beside their matrix-product bounds and scikit-learn.

Run on demand (it is not a test)::

    .venv/bin/python benchmarks/speed.py [--quick] [--repeats 3] [--no-load] [--only cd pcd sampling load]

Everything is measured in this one run, on this machine, and compared as ratios within
the run (the machine may be shared: absolute times drift, ratios much less):

* **CD-1 epochs** (batch 64, 60,000 MNIST images) at 10 and 400 hidden units: rbmlib's
  ``fit`` (its own per-epoch ``seconds``: training only) with the default adaptive thread
  count, on 2 threads and on 1, with products forced dense (sgemm only, no row sums over
  the 0/1 operands: :mod:`rbmlib._engine.sparse`), and the whole ``fit`` call timed
  around it (validation, pixel means, monitor); scikit-learn's ``BernoulliRBM`` (``batch_size=64``,
  ``learning_rate=0.1``, ``n_iter=1``) on float32 and float64 input; and the **GEMM
  bound**: the epoch's float32 matrix products alone (positive phase, down pass, negative
  up pass, the stacked gradient) with numpy's BLAS on 2 threads and on 1.
* **A PCD epoch** at 500 hidden units with the ``best`` settings: centred PCD-1, batch
  64, 256 persistent chains, lr 0.02, linear schedule, ``init_visible_bias``; against
  the GEMM bound of its own products.
* **Sampling** from the trained ``best`` model (500 hidden units): sweeps per second of
  plain Gibbs (``sample``, 1000 chains; also with dense products) and of parallel
  tempering (10 rungs of 100 chains: 1000 replicas; evenly spaced inverse temperatures,
  the base model of independent pixels that ``sample`` uses with data), on 2 threads and on 1, against the
  GEMM bound of 1000 rows (the two products of a sweep).
* **Densities**: the fraction of units on in each phase's 0/1 operand (data, the model's
  visible and hidden samples), which decides what the row sums can save.
* **Under load**: each epoch above beside one other 2-thread NumPy job (float64
  1500x1500 products in a subprocess), interleaved with unloaded runs; the ratio is
  loaded / unloaded per repetition (median).

Every sample records how many cores *other* processes kept busy meanwhile (Linux
``/proc/stat`` minus this process's own CPU time); an unloaded sample is retried while
that exceeds 0.3 cores. Between samples the script sleeps 0.3 s, so that idle BLAS
workers of the previous measurement have stopped spinning. Tables are Markdown.
scikit-learn is a fair peer but not an identical algorithm: it does not binarise its
input and uses the mean field for the hidden units of the negative phase.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numba
from tabulate import tabulate
from threadpoolctl import threadpool_info, threadpool_limits

from rbmlib import RBM, fit, load_pretrained
from rbmlib._engine import max_threads, threads
from rbmlib._engine.sparse import products
from rbmlib.data import binarize, load_mnist
from rbmlib.sampling import independent_pixel_biases, sample

NV, BATCH = 784, 64
FIXED = "fit call's fixed cost (whole call - in-loop seconds, same call; not scaled)"
BEST = dict(method="pcd", k=1, n_chains=256, centering=True, lr=0.02, lr_schedule="linear", init_visible_bias=True)
LOAD_CODE = (
    "import numpy as np\n"
    "a = np.random.default_rng(0).random((1500, 1500)); b = a.copy(); c = np.empty_like(a)\n"
    "while True:\n"
    "    np.dot(a, b, out=c)\n"
)


# ------------------------------------------------------------------ timing on a shared machine
def _busy_seconds():
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return None
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf("SC_CLK_TCK")


def _own_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(fn):
    """(seconds, foreign cores): ``fn()``'s own figure if it returns one, else its wall time."""
    time.sleep(0.3)
    b0, s0, t0 = _busy_seconds(), _own_seconds(), time.perf_counter()
    out = fn()
    wall = time.perf_counter() - t0
    b1, s1 = _busy_seconds(), _own_seconds()
    foreign = float("nan") if b0 is None else max(0.0, ((b1 - b0) - (s1 - s0)) / wall)
    return (out if isinstance(out, float) else wall), foreign


def quiet_sample(fn, tries=3, limit=0.3):
    """A sample taken while other processes used at most ``limit`` cores (the least disturbed of ``tries``)."""
    best = None
    for _ in range(tries):
        t, foreign = timed(fn)
        if not foreign > limit:  # also when unknown (nan)
            return t, foreign
        if best is None or foreign < best[1]:
            best = (t, foreign)
    return best


class Load:
    """One other 2-thread NumPy job: float64 1500x1500 products in a subprocess."""

    def __enter__(self):
        env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
        self.proc = subprocess.Popen([sys.executable, "-c", LOAD_CODE], env=env)
        time.sleep(1.5)
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


# ------------------------------------------------------------------ what is timed
def rbmlib_epoch(images, n_hidden, T, mode="auto", whole=False, **kwargs):
    """fit's per-epoch training seconds, scaled to 60,000 images; ``whole``: the fixed cost of the call
    instead (the whole call timed around it, less the in-loop seconds of that same call; not scaled)."""
    settings = dict(method="cd", k=1, lr=0.1) | kwargs
    scale = 60000 / len(images)

    def run():
        rbm = RBM(NV, n_hidden, rng=0)
        with threads(T), products(mode):
            t0 = time.perf_counter()
            hist = fit(rbm, images, epochs=1, batch_size=BATCH, rng=0, progress=False, **settings)
            call = time.perf_counter() - t0
        return call - hist[0]["seconds"] if whole else hist[0]["seconds"] * scale

    return run


def gemm_bound(n_images, n_hidden, T, n_chains=BATCH):
    """The float32 products of an epoch with numpy's BLAS on T threads (None: all)."""
    rng = np.random.default_rng(0)
    B, C = BATCH, n_chains
    W = rng.random((NV, n_hidden), dtype=np.float32)
    V = rng.random((B + C, NV), dtype=np.float32)
    H = rng.random((B + C, n_hidden), dtype=np.float32)
    ph, pv, dW = np.empty((B + C, n_hidden), np.float32), np.empty((C, NV), np.float32), np.empty_like(W)
    batches = n_images // B

    def run():
        with threadpool_limits(limits=T, user_api="blas"):
            t0 = time.perf_counter()
            for _ in range(batches):
                np.dot(V[:B], W, out=ph[:B])  # positive phase
                np.dot(H[B:], W.T, out=pv)  # down pass of the negative phase
                np.dot(V[B:], W, out=ph[B:])  # its up pass
                np.dot(V.T, H, out=dW)  # the gradient, both phases stacked
            return (time.perf_counter() - t0) * 60000 / n_images

    return run


def sklearn_epoch(images, n_hidden, dtype):
    from sklearn.neural_network import BernoulliRBM

    X = (images / 255).astype(dtype)
    scale = 60000 / len(images)

    def run():
        model = BernoulliRBM(n_components=n_hidden, batch_size=BATCH, learning_rate=0.1, n_iter=1, random_state=0)
        t0 = time.perf_counter()
        model.fit(X)
        return (time.perf_counter() - t0) * scale

    return run


def sweeps_gibbs(rbm, n_chains, sweeps, T, mode="auto"):
    def run():
        with threads(T), products(mode):
            t0 = time.perf_counter()
            sample(rbm, n_chains, (sweeps,), method="gibbs", rng=0)
            return (time.perf_counter() - t0) / sweeps

    return run


def sweeps_pt(rbm, rungs, chains, sweeps, T, base):
    betas = np.linspace(0.0, 1.0, rungs)

    def run():
        with threads(T):
            t0 = time.perf_counter()
            sample(rbm, chains, (sweeps,), method="pt", betas=betas, base=base, rng=0)
            return (time.perf_counter() - t0) / sweeps

    return run


def sweeps_bound(n_rows, n_hidden, T):
    rng = np.random.default_rng(0)
    W = rng.random((NV, n_hidden), dtype=np.float32)
    V = (rng.random((n_rows, NV)) < 0.3).astype(np.float32)
    H, P = np.empty((n_rows, n_hidden), np.float32), np.empty((n_rows, NV), np.float32)

    def run():
        with threadpool_limits(limits=T, user_api="blas"):
            t0 = time.perf_counter()
            for _ in range(30):
                np.dot(V, W, out=H)
                np.dot(H, W.T, out=P)
            return (time.perf_counter() - t0) / 30

    return run


def densities(rbm, images, rng=0):
    """Fractions of units on in the 0/1 operands of a CD-1 step from 2000 images, and in 1000 Gibbs chains."""
    from scipy.special import expit

    g = np.random.default_rng(rng)
    W, a, b = (np.asarray(x, np.float64) for x in (rbm.W, rbm.a, rbm.b))
    v0 = binarize(images[g.choice(len(images), 2000, replace=False)], rng=g).astype(np.float64)
    h0 = g.random((len(v0), W.shape[1])) < expit(v0 @ W + b)
    v1 = g.random(v0.shape) < expit(h0 @ W.T + a)
    h1 = g.random(h0.shape) < expit(v1 @ W + b)
    run = sample(rbm, 1000, (200,), method="gibbs", rng=rng)
    vc = np.asarray(run.snapshots[200][0], np.float64)
    hc = g.random((len(vc), W.shape[1])) < expit(vc @ W + b)
    return {"data v": v0.mean(), "data h": h0.mean(), "model v (CD-1)": v1.mean(), "model h (CD-1)": h1.mean(),
            "chains v (200 sweeps)": vc.mean(), "chains h (200 sweeps)": hc.mean()}  # fmt: skip


def measure_rows(rows, repeats):
    """Median seconds of each row over ``repeats`` interleaved rounds (order shuffled per round)."""
    for _, fn in rows:  # warm-up: compilation, caches, first-touch of buffers
        fn()
    times = {name: [] for name, _ in rows}
    disturbed = 0
    for r in range(repeats):
        order = list(rows)
        np.random.default_rng(r).shuffle(order)
        for name, fn in order:
            t, foreign = quiet_sample(fn)
            disturbed += foreign > 0.3
            times[name].append(t)
    return {name: statistics.median(v) for name, v in times.items()}, times, disturbed


# ------------------------------------------------------------------ report
def table(header, rows):
    """A GitHub Markdown table of already formatted cells (kept as written)."""
    return tabulate(rows, headers=header, tablefmt="github", disable_numparse=True)


def spread(values):
    return f"{min(values):.3f}-{max(values):.3f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run (1 round, a tenth of the data)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-load", action="store_true", help="skip the runs beside another job")
    parser.add_argument("--only", nargs="+", choices=["cd", "pcd", "sampling", "load"], default=None)
    args = parser.parse_args(argv)
    parts = set(args.only or ["cd", "pcd", "sampling", "load"]) - ({"load"} if args.no_load else set())
    repeats = 1 if args.quick else args.repeats
    images, _ = load_mnist("train")
    if args.quick:
        images = images[:6400]
    blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    blas_text = ", ".join(f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')})" for i in blas)
    print(f"# rbmlib speed ({'quick' if args.quick else 'full'} run, {repeats} interleaved round(s), median)\n")
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; numpy {np.__version__}, "
        f"numba {numba.__version__}, {blas_text}; rbmlib threads: up to {max_threads()} "
        f"(layer {numba.threading_layer() if max_threads() > 1 else 'serial'}), "
        f"GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT')}; epochs of {len(images)} images scaled to 60,000.\n"
    )
    results = {}

    if "cd" in parts:
        for nh in (10, 400):
            rows = [
                ("rbmlib fit, adaptive threads (default)", rbmlib_epoch(images, nh, None)),
                ("rbmlib fit, 2 threads", rbmlib_epoch(images, nh, 2)),
                ("rbmlib fit, 1 thread", rbmlib_epoch(images, nh, 1)),
                ("rbmlib fit, dense products (sgemm only)", rbmlib_epoch(images, nh, None, mode="dense")),
                (FIXED, rbmlib_epoch(images, nh, None, whole=True)),
                ("GEMM bound, numpy, 2 threads", gemm_bound(len(images), nh, None)),
                ("GEMM bound, numpy, 1 thread", gemm_bound(len(images), nh, 1)),
                ("scikit-learn BernoulliRBM, float32", sklearn_epoch(images, nh, np.float32)),
                ("scikit-learn BernoulliRBM, float64", sklearn_epoch(images, nh, np.float64)),
            ]
            med, raw, disturbed = measure_rows(rows, repeats)
            bound, s32, s64 = (
                med["GEMM bound, numpy, 2 threads"],
                med["scikit-learn BernoulliRBM, float32"],
                med["scikit-learn BernoulliRBM, float64"],
            )
            print(f"## CD-1 epoch, {nh} hidden units, batch 64 (seconds per 60,000 images)\n")
            print(
                table(
                    ["", "s/epoch", "range", "/ GEMM bound", "faster than sklearn f32", "faster than sklearn f64"],
                    [
                        (
                            n,
                            f"{med[n]:.3f}",
                            spread(raw[n]),
                            f"{med[n] / bound:.2f}",
                            f"{s32 / med[n]:.2f}x",
                            f"{s64 / med[n]:.2f}x",
                        )
                        for n, _ in rows
                        if n != FIXED
                    ],  # fmt: skip
                )
            )
            print(f"\n({disturbed} sample(s) taken while other processes used > 0.3 cores)\n", flush=True)
            print(f"{FIXED}: {med[FIXED]:.3f} s (range {spread(raw[FIXED])})\n")
            results[f"cd{nh}"] = med

    if "pcd" in parts:
        rows = [
            ("rbmlib fit, adaptive threads (default)", rbmlib_epoch(images, 500, None, **BEST)),
            ("rbmlib fit, 2 threads", rbmlib_epoch(images, 500, 2, **BEST)),
            ("rbmlib fit, 1 thread", rbmlib_epoch(images, 500, 1, **BEST)),
            ("rbmlib fit, dense products (sgemm only)", rbmlib_epoch(images, 500, None, mode="dense", **BEST)),
            (FIXED, rbmlib_epoch(images, 500, None, whole=True, **BEST)),
            ("GEMM bound, numpy, 2 threads", gemm_bound(len(images), 500, None, n_chains=256)),
            ("GEMM bound, numpy, 1 thread", gemm_bound(len(images), 500, 1, n_chains=256)),
        ]
        med, raw, disturbed = measure_rows(rows, repeats)
        bound = med["GEMM bound, numpy, 2 threads"]
        print("## PCD epoch, `best` settings, 500 hidden units (seconds per 60,000 images)\n")
        print("Centred PCD-1, batch 64, 256 persistent chains, lr 0.02, linear schedule, init_visible_bias.\n")
        print(
            table(
                ["", "s/epoch", "range", "/ GEMM bound"],
                [(n, f"{med[n]:.3f}", spread(raw[n]), f"{med[n] / bound:.2f}") for n, _ in rows if n != FIXED],
            )
        )
        print(f"\n({disturbed} sample(s) taken while other processes used > 0.3 cores)\n", flush=True)
        print(f"{FIXED}: {med[FIXED]:.3f} s (range {spread(raw[FIXED])})\n")
        results["pcd500"] = med

    if "sampling" in parts:
        rbm = load_pretrained("best")
        base = independent_pixel_biases(images, NV)  # sample()'s default base with data: data-like noise
        sweeps = 20 if args.quick else 60
        rows = [
            ("Gibbs, 1000 chains, adaptive threads", sweeps_gibbs(rbm, 1000, sweeps, None)),
            ("Gibbs, 1000 chains, dense products", sweeps_gibbs(rbm, 1000, sweeps, None, mode="dense")),
            ("Gibbs, 1000 chains, 1 thread", sweeps_gibbs(rbm, 1000, sweeps, 1)),
            ("tempering, 10 rungs x 100 chains, adaptive threads", sweeps_pt(rbm, 10, 100, sweeps, None, base)),
            ("tempering, 10 rungs x 100 chains, 1 thread", sweeps_pt(rbm, 10, 100, sweeps, 1, base)),
            ("GEMM bound, 1000 rows, numpy, 2 threads", sweeps_bound(1000, 500, None)),
            ("GEMM bound, 1000 rows, numpy, 1 thread", sweeps_bound(1000, 500, 1)),
        ]
        med, raw, disturbed = measure_rows(rows, repeats)
        b2, b1 = med["GEMM bound, 1000 rows, numpy, 2 threads"], med["GEMM bound, 1000 rows, numpy, 1 thread"]
        print("## Sampling from `best` (500 hidden units): sweeps of 1000 chains (or replicas) per second\n")
        print(
            table(
                ["", "sweeps/s", "/ GEMM bound (2 threads)", "/ GEMM bound (1 thread)"],
                [(n, f"{1 / med[n]:.1f}", f"{med[n] / b2:.2f}", f"{med[n] / b1:.2f}") for n, _ in rows],
            )
        )
        g2, p2 = med["Gibbs, 1000 chains, adaptive threads"], med["tempering, 10 rungs x 100 chains, adaptive threads"]
        g1, p1 = med["Gibbs, 1000 chains, 1 thread"], med["tempering, 10 rungs x 100 chains, 1 thread"]
        print(
            f"\nTempering's swaps and bookkeeping: {100 * (p2 / g2 - 1):+.1f} % per sweep of 1000 replicas "
            f"(1 thread: {100 * (p1 / g1 - 1):+.1f} %). ({disturbed} disturbed sample(s))\n",
            flush=True,
        )
        results["sampling"] = med

    if "cd" in parts or "sampling" in parts:
        cd400 = RBM(NV, 400, rng=0)
        fit(cd400, images, epochs=1, batch_size=BATCH, rng=0, progress=False, method="cd", k=1, lr=0.1)
        dens = {
            "CD-1, 400 hidden, after one epoch": densities(cd400, images),
            "`best`": densities(load_pretrained("best"), images),
        }
        cols = list(next(iter(dens.values())))
        print("## Densities: fraction of units on in each 0/1 operand\n")
        print(table(["model"] + cols, [[name] + [f"{d[c]:.3f}" for c in cols] for name, d in dens.items()]))
        print(
            "\nRow sums pay where the operand is sparse: the visible layer everywhere; the hidden layer"
            " is about half on, so the down pass h W^T stays sgemm.\n",
            flush=True,
        )
        results["densities"] = dens

    if "load" in parts:
        configs = [
            ("CD-1, 10 hidden units", rbmlib_epoch(images, 10, None)),
            ("CD-1, 400 hidden units", rbmlib_epoch(images, 400, None)),
            ("PCD `best` settings, 500 hidden units", rbmlib_epoch(images, 500, None, **BEST)),
        ]
        for _, fn in configs:
            fn()
        out = []
        for name, fn in configs:
            quiet, loaded, ratios, cores = [], [], [], []
            for _ in range(repeats):
                t_quiet, _f = quiet_sample(fn)
                with Load():
                    t_load, f_load = timed(fn)
                quiet.append(t_quiet)
                loaded.append(t_load)
                ratios.append(t_load / t_quiet)
                cores.append(f_load)
            out.append(
                (name, f"{statistics.median(quiet):.3f}", f"{statistics.median(loaded):.3f}",
                 f"{statistics.median(ratios):.2f}", spread(ratios), f"{statistics.median(cores):.2f}")
            )  # fmt: skip
            results[f"load {name}"] = statistics.median(ratios)
        print("## Under load: one epoch beside one other 2-thread NumPy job (adaptive threads)\n")
        print(
            table(
                ["epoch", "alone s", "loaded s", "loaded / alone (median)", "range", "cores used by others (loaded)"],
                out,
            )
        )
        print(flush=True)

    print("## Targets (ratios from this run)\n")
    rows = []
    for key, nh in (("cd400", 400), ("cd10", 10)):
        if key not in results:
            continue
        m = results[key]
        x = m["rbmlib fit, adaptive threads (default)"]
        b = m["GEMM bound, numpy, 2 threads"]
        s32 = m["scikit-learn BernoulliRBM, float32"] / x
        dense = m["rbmlib fit, dense products (sgemm only)"]
        whole = m[FIXED]
        if nh == 400:
            rows.append(("CD-1 400 h: epoch / GEMM bound <= 0.6", f"{x / b:.2f}", x / b <= 0.6))
            rows.append(("CD-1 400 h: faster than sklearn f32 >= 4x", f"{s32:.2f}x", s32 >= 4))
        else:
            rows.append(("CD-1 10 h: no slower than dense products (<= 1.05)", f"{x / dense:.2f}", x / dense <= 1.05))
        rows.append((f"CD-1 {nh} h: row sums against dense products (no target)", f"{dense / x:.2f}x faster", "-"))
        rows.append((f"CD-1 {nh} h: fit call's fixed cost (no target)", f"{whole:.3f} s", "-"))
    if "pcd500" in results:
        m = results["pcd500"]
        x, b = m["rbmlib fit, adaptive threads (default)"], m["GEMM bound, numpy, 2 threads"]
        rows.append(("`best` PCD epoch / GEMM bound <= 0.8", f"{x / b:.2f}", x / b <= 0.8))
        rows.append(
            (
                "`best` PCD: fit call's fixed cost (no target)",
                f"{m[FIXED]:.3f} s",
                "-",
            )
        )
    if "sampling" in results:
        m = results["sampling"]
        g = m["Gibbs, 1000 chains, adaptive threads"] / m["GEMM bound, 1000 rows, numpy, 2 threads"]
        rows.append(("Gibbs 1000 chains 500 h (`best`): sweep / GEMM bound <= 0.7", f"{g:.2f}", g <= 0.7))
        extra = m["tempering, 10 rungs x 100 chains, adaptive threads"] / m["Gibbs, 1000 chains, adaptive threads"]
        rows.append(("tempering's swaps and bookkeeping <= 5 %", f"{100 * (extra - 1):+.1f} %", extra <= 1.05))
    for key, value in results.items():
        if key.startswith("load "):
            rows.append((f"under load, {key[5:]}: loaded / alone <= 2.5", f"{value:.2f}", value <= 2.5))
    print(table(["target", "measured", "met"], [(t, v, {True: "yes", False: "no"}.get(ok, ok)) for t, v, ok in rows]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
