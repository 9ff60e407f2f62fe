"""Randomness in rbmlib: one ``rng`` argument everywhere.

Every function that draws random numbers takes a single argument ``rng``, which may
be ``None`` (fresh, unpredictable entropy), an ``int`` seed, or a
:class:`numpy.random.Generator` (used as it is, and advanced). This is the
convention of the Scientific Python ecosystem (SPEC 7). The same seed gives the same
result; passing one Generator through several calls gives one reproducible stream.

:func:`as_rng` is the one place that turns such an argument into a Generator.
"""

from __future__ import annotations

import numpy as np

__all__ = ["as_rng"]


def as_rng(rng=None) -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` for an ``rng`` argument.

    Parameters
    ----------
    rng : None, int or numpy.random.Generator
        ``None`` draws fresh entropy from the operating system, an ``int`` (>= 0) is a
        seed, a Generator is returned unchanged (not copied).

    Returns
    -------
    numpy.random.Generator

    Raises
    ------
    TypeError
        For anything else (a float, a string, the legacy ``RandomState``, ...).
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be None, an int seed or a numpy.random.Generator, got {type(rng).__name__}")
