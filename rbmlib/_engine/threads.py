"""How many threads the engine's kernels run on, and how they share out blocks of work.

Why adaptive: a per-batch fork/join across 2 threads is fastest on a quiet machine but
collapses when another program holds the cores (the partner thread is descheduled and the
batch waits for it: 2.3 s against 0.53 s per epoch at 10 hidden units). One thread never
waits. The kernels' bits do not depend on the thread count, so :class:`Chooser` can follow
the load: every kernel runs its work in chunks through it.

Process-wide effects: ``GOMP_SPINCOUNT`` gets a default of 20000 (see
:func:`threading_layer`), and while a kernel runs, BLAS libraries are limited to one thread
(threadpoolctl), which other threads of the process see meanwhile.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import deque

import numba as nb
import numpy as np
from numba import prange, types
from numba.core import cgutils
from numba.extending import intrinsic
from threadpoolctl import ThreadpoolController

from .jit import OPT

__all__ = [
    "MAX_THREADS",
    "Chooser",
    "chain_block",
    "fixed_threads",
    "max_threads",
    "next_block",
    "run_on",
    "shared_chooser",
    "threading_layer",
    "threads",
]

#: Most threads the kernels use (untested beyond 2).
MAX_THREADS = 4

_forced = threading.local()
_layer: list = []


def chain_block(n: int) -> int:
    """Chains per block of the samplers, for ``n`` chains: half of them (two blocks, so that two
    threads share the work), rounded up to 16, within [64, 512].

    A block's sweeps run on one thread without synchronising; its matrix products get faster
    with more rows (1000 chains at 500 hidden units, 2 threads: 1.10x the GEMM bound with
    blocks of 512, 1.14x with 256). It depends on ``n`` only, never on the thread count.
    """
    half = -(-n // 2)
    return int(min(512, max(64, -(-half // 16) * 16)))


@nb.njit(parallel=True, cache=True)
def _probe(x):
    for i in prange(x.shape[0]):
        x[i] = i


def threading_layer() -> str:
    """Start numba's threading layer once and return its name.

    libgomp's idle workers spin ``GOMP_SPINCOUNT`` iterations before sleeping; its default
    (milliseconds of spinning) burns a loaded machine's cores between our forks, which
    made the 2-thread chunks collapse (25 s instead of 1.1 s per epoch beside another job).
    20000 (tens of µs) keeps the forks of one batch warm. It is a ``setdefault``: a value
    set by the user wins, and it only acts if libgomp is loaded after this point.
    """
    if not _layer:
        os.environ.setdefault("GOMP_SPINCOUNT", "20000")
        _probe(np.zeros(2))
        _layer.append(nb.threading_layer())
    return _layer[0]


def fixed_threads() -> int | None:
    """The thread count forced by :func:`threads` in this thread, or None."""
    return getattr(_forced, "n", None)


def max_threads() -> int:
    """Threads the kernels may use: ``min(NUMBA_NUM_THREADS, MAX_THREADS)``, or 1 without a safe threading layer.

    numba's fallback layer (``workqueue``, used when libgomp is missing) costs about 100 µs
    per parallel region and must not be entered from two Python threads at once; the
    kernels then run on one thread, with the same results.
    """
    forced = fixed_threads()
    if forced is not None:
        return forced
    n = min(nb.config.NUMBA_NUM_THREADS, MAX_THREADS)
    if n < 2 or threading_layer() not in ("omp", "tbb"):
        return 1
    return n


@contextlib.contextmanager
def threads(n: int | None):
    """Run this thread's kernels on exactly ``n`` threads (None: the default adaptive choice).

    For tests and benchmarks; results are the same for every ``n``.
    """
    if n is not None and not 1 <= n <= nb.config.NUMBA_NUM_THREADS:
        raise ValueError(f"threads must be between 1 and NUMBA_NUM_THREADS={nb.config.NUMBA_NUM_THREADS}, got {n}")
    old = fixed_threads()
    _forced.n = n
    try:
        yield
    finally:
        _forced.n = old


_controller: list = []


@contextlib.contextmanager
def run_on(T: int):
    """BLAS at one thread (our products must not fork) and numba at ``T`` threads."""
    if not _controller:
        _controller.append(ThreadpoolController())
    with _controller[0].limit(limits=1, user_api="blas"):
        if T > 1:
            old = nb.get_num_threads()
            nb.set_num_threads(T)
            try:
                yield
            finally:
                nb.set_num_threads(old)
        else:
            yield


class Chooser:
    """The thread count for each chunk of work, from measured seconds per unit of work.

    Work starts on ``tmax`` threads (at most :func:`max_threads`), the faster mode on a
    quiet machine. Every ``interval`` chunks (8 at first, doubling to 32 while the choice
    stands) the other mode runs one chunk of a quarter of the usual size, and the mode
    with the better median of its last 3 chunks is kept; a fresh probe replaces the old
    figures, so the choice follows load that comes and goes. Chunks last about
    ``chunk_seconds``, so load is noticed within about half a second. The first chunk is
    not measured (it may load compiled code). With :func:`threads` in force, that count is
    used throughout.
    """

    def __init__(self, tmax: int, chunk_seconds: float = 0.05):
        tmax = max(1, min(tmax, max_threads()))
        self.modes = [tmax, 1] if tmax > 1 else [1]
        self.rate = {m: deque(maxlen=3) for m in self.modes}
        self.seen = dict.fromkeys(self.modes, 0)
        self.n, self.interval, self.next_probe, self.best = 0, 8, 8, self.modes[0]
        self.probing = False
        self.chunk_seconds = chunk_seconds

    def _pick(self) -> int:
        self.n += 1
        other = [m for m in self.modes if m != self.best]
        self.probing = bool(other) and self.n >= self.next_probe
        return other[0] if self.probing else self.best

    def _record(self, mode: int, sec_per_unit: float) -> None:
        self.seen[mode] += 1
        if self.probing:
            self.next_probe = self.n + self.interval
            self.rate[mode].clear()
        elif self.seen[mode] == 1:
            return
        self.rate[mode].append(sec_per_unit)
        if all(len(self.rate[m]) for m in self.modes):
            best = min(self.modes, key=lambda m: float(np.median(self.rate[m])))
            if self.probing:
                self.interval = 8 if best != self.best else min(2 * self.interval, 32)
                self.next_probe = self.n + self.interval
            if best != self.best:
                self.rate[best] = deque([self.rate[best][-1]], maxlen=3)
            self.best = best

    def _size(self, mode: int) -> int:
        r = self.rate[mode] or self.rate[self.best]
        if not r:
            return 4
        share = 0.25 if self.probing else 1.0
        return int(np.clip(share * self.chunk_seconds / float(np.median(r)), 2, 512))

    def run(self, n: int, fn, done=None) -> None:
        """Call ``fn(start, count, threads)`` over ``range(n)`` in chunks; ``done(count)`` after each."""
        fixed = fixed_threads()
        t = 0
        while t < n:  # always in chunks (at most 512 units), so that Ctrl-C is seen between them
            if fixed is not None or len(self.modes) == 1:
                T = fixed if fixed is not None else 1
                m = min(512, n - t)
                fn(t, m, T)
            else:
                T = self._pick()
                m = min(self._size(T), n - t)
                t0 = time.perf_counter()
                fn(t, m, T)
                self._record(T, (time.perf_counter() - t0) / m)
            if done is not None:
                done(m)
            t += m


_choosers: dict = {}
_choosers_lock = threading.Lock()


def shared_chooser(key: tuple, tmax: int) -> Chooser:
    """The :class:`Chooser` of one kind and shape of work, shared by every call in this process.

    The machine's load is the same for all of them, so a new call (a fresh ``sample`` or
    ``fit``) continues the measurements instead of probing one thread anew: on 60-sweep
    runs of parallel tempering that probe cost 3 %.
    """
    with _choosers_lock:
        chooser = _choosers.get(key)
        if chooser is None:
            chooser = _choosers[key] = Chooser(tmax)
        return chooser


# Atomic block claiming: the threads of a sampler kernel take whole blocks of chains from
# a shared counter, so a thread that runs late takes fewer blocks instead of stalling the rest.
@intrinsic
def _fetch_add(typingctx, arr, idx, val):
    """Atomic ``old = arr[idx]; arr[idx] += val`` on an int64 array; returns ``old``."""

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]])
        return builder.atomic_rmw("add", ptr, args[2], "seq_cst")

    return types.int64(arr, idx, val), codegen


@nb.njit(**OPT)
def next_block(counter, nblk, R, N):
    """Claim the next block of ``R`` rows of ``N`` (shared ``counter``): (first row, rows), or (0, 0) when done.

    The kernels (Gibbs, tempering, AIS) write their claim loop out around this call. A numba
    generator yielding the blocks would serve all three, but numba 0.68 cannot load a cached
    kernel that iterates a generator from another module (``KeyError`` in ``get_generator_impl``).
    """
    j = _fetch_add(counter, 0, 1)
    if j >= nblk:
        return 0, 0
    r0 = j * R
    return r0, min(N, r0 + R) - r0
