"""Argument checks of the core, each with an error that names the argument and the problem.

One place for what every public function checks: counts (:func:`check_int`), finite
numbers (:func:`check_number`), choices (:func:`check_choice`), boolean pixel masks
(:func:`check_mask`) and whether a request fits in memory before anything is allocated
(:func:`check_memory`).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import psutil

__all__ = ["MemoryRequestError", "check_choice", "check_int", "check_mask", "check_memory", "check_number"]


def check_int(value, name: str, *, low: int = 1, high: int | None = None) -> int:
    """``value`` as an ``int`` in ``[low, high]``; ``bool`` and non-integers are refused.

    Raises
    ------
    ValueError
        Naming ``name``, the range and the value.
    """
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if ok and value >= low and (high is None or value <= high):
        return int(value)
    if high is not None:
        want = f"an integer in [{low}, {high}]"
    elif low == 1:
        want = "a positive integer"
    elif low == 0:
        want = "a non-negative integer"
    else:
        want = f"an integer >= {low}"
    raise ValueError(f"{name} must be {want}, got {value!r}")


def check_number(value, name: str, *, low: float | None = None, high: float | None = None, open_low=False) -> float:
    """``value`` as a finite ``float`` in ``[low, high]`` (``(low, high]`` with ``open_low``).

    Raises
    ------
    ValueError
        Naming ``name``, the range and the value.
    """
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok and (low is None or value > low or (value == low and not open_low)) and (high is None or value <= high):
        return float(value)
    parts = ["a finite number"]
    if low is not None:
        parts.append(f"{'>' if open_low else '>='} {low}")
    if high is not None:
        parts.append(f"<= {high}")
    raise ValueError(f"{name} must be {' '.join(parts)}, got {value!r}")


def check_choice(value, name: str, choices) -> str:
    """``value`` if it is one of ``choices``; otherwise a ``ValueError`` that lists them."""
    if value in choices:
        return value
    raise ValueError(f"{name} must be one of {', '.join(repr(c) for c in choices)}, got {value!r}")


def check_mask(mask, n: int, *, rows: int | None = None, name: str = "mask", proper: bool = False) -> np.ndarray:
    """A boolean mask of ``n`` units: shape ``(n,)`` or, with ``rows``, ``(rows, n)``.

    Parameters
    ----------
    mask : array_like of bool
    n : int
        Units per row.
    rows : int, optional
        Also accept one mask per row of a batch of this many rows.
    name : str
    proper : bool
        Refuse a mask that is all True or all False (it must keep some units and drop some).

    Returns
    -------
    ndarray of bool, shape (n,) or (rows, n)

    Raises
    ------
    TypeError
        A mask that is not boolean.
    ValueError
        A wrong shape, or an improper mask when ``proper``.
    """
    m = np.asarray(mask)
    if m.dtype != np.bool_:
        raise TypeError(f"{name} must be a boolean mask (True = known or clamped unit), got dtype {m.dtype}")
    shapes = [(n,)] + ([(rows, n)] if rows is not None else [])
    if m.shape not in shapes:
        raise ValueError(f"{name} must have shape {' or '.join(str(s) for s in shapes)}, got {m.shape}")
    if proper and (not m.any() or m.all()):
        raise ValueError(f"{name} must keep some units and drop some")
    return m


class MemoryRequestError(ValueError):
    """A request (chains, samples, AIS runs, images) needs more memory than the machine has."""


def _size(nbytes: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes / 1e3:.1f} kB"


def check_memory(nbytes: float, what: str) -> None:
    """Refuse a request of ``nbytes`` bytes that exceeds the memory available now (psutil).

    Called before allocating, so that a request too large for the machine ends with a
    one-line error that names it and the memory it would need, not a ``MemoryError``
    traceback (or the machine swapping).

    Raises
    ------
    MemoryRequestError
        ``"<what> needs <size>; <size> of memory is available"``.
    """
    available = psutil.virtual_memory().available
    if nbytes > available:
        raise MemoryRequestError(f"{what} needs {_size(nbytes)}; {_size(available)} of memory is available")
