"""How the engine's kernels are compiled: one set of options, and parallel/serial twins."""

from __future__ import annotations

import types as pytypes

import numba as nb

__all__ = ["OPT", "variants"]

# Strict IEEE arithmetic (no fast-math, no FMA contraction): a plain numpy replay of the
# sigmoid and the draws gives the same bits (tests/test_engine.py). cache=True keeps the
# compiled code in __pycache__ (or numba's user cache directory if that is read-only), so
# a new process loads the kernels instead of compiling them again.
OPT = dict(nogil=True, cache=True, error_model="numpy")


def variants(f):
    """``(parallel, serial)`` compilations of ``f``, each under its own name.

    One thread runs the serial twin (no OpenMP fork). numba's on-disk cache is keyed by
    the function's qualified name, so two dispatchers of one function would share one
    cache entry and the second would silently load the first one's code.
    """
    out = []
    for suffix, parallel in (("_par", True), ("_ser", False)):
        g = pytypes.FunctionType(f.__code__, f.__globals__, f.__name__ + suffix, f.__defaults__, f.__closure__)
        g.__qualname__ = f.__qualname__ + suffix
        g.__doc__ = f.__doc__
        out.append(nb.njit(g, parallel=parallel, **OPT))
    return out
