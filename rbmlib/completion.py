r"""Recall: drop part of an image, clamp the rest, and let Gibbs sampling fill it in.

With the known pixels :math:`v_K` clamped, block Gibbs sampling draws from the
conditional :math:`p(v_U \mid v_K)` of the unknown pixels, so the RBM completes the
image the way a Hopfield network recalls a memory.
"""

from __future__ import annotations

import numpy as np

from .data import as_binary, random_bits
from .model import RBM
from .rng import as_rng

__all__ = ["HALVES", "half_mask", "recall"]

#: The ways of dropping half of a 28x28 image; the name is the half that is dropped.
HALVES = ("top", "bottom", "left", "right", "random")


def half_mask(kind: str, rng=None, side: int = 28) -> np.ndarray:
    """Boolean mask of the *known* (kept, clamped) pixels when half is dropped.

    Parameters
    ----------
    kind : {"top", "bottom", "left", "right", "random"}
        The half that is dropped; ``"random"`` drops a random half of the pixels
        (drawn with ``rng``).
    rng : None, int or numpy.random.Generator
        Only used for ``"random"``.
    side : int
        Image side length (28 for MNIST).

    Returns
    -------
    ndarray of bool, shape (side*side,)
    """
    rows, cols = np.divmod(np.arange(side * side), side)
    half = side // 2
    if kind == "top":
        return rows >= half
    if kind == "bottom":
        return rows < half
    if kind == "left":
        return cols >= half
    if kind == "right":
        return cols < half
    if kind == "random":
        mask = np.zeros(side * side, dtype=bool)
        mask[as_rng(rng).choice(side * side, size=side * side // 2, replace=False)] = True
        return mask
    raise ValueError(f"kind must be one of {', '.join(HALVES)}, got {kind!r}")


def recall(rbm: RBM, images, mask, steps: int, rng=None):
    r"""Complete images from their known pixels by clamped Gibbs sampling.

    Parameters
    ----------
    rbm : RBM
    images : array_like, shape (N, n_visible)
        Binary images (0/1). ``uint8`` or probability images are binarised first.
    mask : array_like of bool, shape (n_visible,) or (N, n_visible)
        True where a pixel is known and clamped.
    steps : int
        Gibbs steps.
    rng : None, int or numpy.random.Generator

    Returns
    -------
    v : ndarray, shape (N, n_visible)
        The final sample; known pixels equal the input.
    p : ndarray, shape (N, n_visible)
        :math:`p(v_U \mid h)` at the last step for the unknown pixels, the input elsewhere.
    """
    rng = as_rng(rng)
    v = as_binary(images, rbm.n_visible, rng, rbm.dtype)
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"mask must be boolean (True = known pixel), got dtype {mask.dtype}")
    mask = np.broadcast_to(mask, v.shape) if mask.shape in ((rbm.n_visible,), v.shape) else None
    if mask is None:
        raise ValueError(f"mask must have shape ({rbm.n_visible},) or {v.shape}, got {np.shape(mask)}")
    start = np.where(mask, v, random_bits(v.shape[0], v.shape[1], rng, v.dtype))
    return rbm.gibbs(start, steps, rng, clamp=mask)
