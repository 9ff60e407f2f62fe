r"""Recall: drop part of an image, clamp the rest, and let Gibbs sampling fill it in.

With the known pixels :math:`v_K` clamped, block Gibbs sampling draws from the
conditional :math:`p(v_U \mid v_K)` of the unknown pixels, so the RBM completes the
image the way a Hopfield network recalls a memory.
"""
from __future__ import annotations

import numpy as np

from .model import RBM, as_rng

__all__ = ["HALVES", "half_mask", "recall", "score_recall"]

#: The ways of dropping half of a 28x28 image; the name is the half that is dropped.
HALVES = ("top", "bottom", "left", "right", "random")


def half_mask(kind: str, rng=None, side: int = 28) -> np.ndarray:
    """Boolean mask of the *known* (kept, clamped) pixels when half is dropped.

    Parameters
    ----------
    kind : {"top", "bottom", "left", "right", "random"}
        The half that is dropped; ``"random"`` drops a random half of the pixels
        (drawn with ``rng``).
    rng : numpy.random.Generator, int or None
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
    rng : numpy.random.Generator, int or None

    Returns
    -------
    v : ndarray, shape (N, n_visible)
        The final sample; known pixels equal the input.
    p : ndarray, shape (N, n_visible)
        :math:`p(v_U \mid h)` at the last step for the unknown pixels, the input elsewhere.
    """
    rng = as_rng(rng)
    v = _binary(rbm, images, rng)
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"mask must be boolean (True = known pixel), got dtype {mask.dtype}")
    mask = np.broadcast_to(mask, v.shape) if mask.shape in ((rbm.n_visible,), v.shape) else None
    if mask is None:
        raise ValueError(f"mask must have shape ({rbm.n_visible},) or {v.shape}, got {np.shape(mask)}")
    start = np.where(mask, v, (rng.random(v.shape, dtype=v.dtype) < 0.5).astype(v.dtype))
    return rbm.gibbs(start, steps, rng, clamp=mask)


def _binary(rbm: RBM, images, rng) -> np.ndarray:
    arr = np.asarray(images)
    if arr.dtype == np.uint8:
        from .train import images_to_probs
        arr = images_to_probs(arr, rbm.n_visible)
    v = rbm._v(arr)
    if np.any((v != 0) & (v != 1)):
        v = (rng.random(v.shape, dtype=v.dtype) < v).astype(v.dtype)
    return v


def score_recall(rbm: RBM, images, labels, *, classifier, mean_image, steps: int = 100,
                 kinds=HALVES, rng=None) -> list[dict]:
    r"""Measure recall for each way of dropping half the pixels, against two baselines.

    For every ``kind`` the same binarised images are completed three ways:

    * ``rbm``: :func:`recall` with ``steps`` Gibbs steps, scored on :math:`p(v_U\mid h)`;
    * ``mean_fill``: the dropped pixels set to the mean training image;
    * ``half_only``: the dropped pixels set to 0 (what the classifier sees of the half image).

    Parameters
    ----------
    rbm : RBM
    images : array_like, shape (N, n_visible)
        Test images (``uint8`` or [0, 1]).
    labels : array_like, shape (N,)
        Their digit labels.
    classifier : object with ``predict(images) -> labels``
        E.g. :func:`rbmlib.classifier.load_classifier`.
    mean_image : array_like, shape (n_visible,)
        Mean training image in [0, 1].
    steps : int
    kinds : iterable of str
    rng : numpy.random.Generator, int or None

    Returns
    -------
    list of dict
        One row per (kind, method): ``kind``, ``method``, ``pixel_error`` (mean absolute
        error on the dropped pixels against the binarised image), ``squared_error``
        (mean squared error there: the Brier score, which, unlike the absolute error,
        does not reward filling the half with zeros), ``accuracy`` (fraction the
        classifier labels as the original digit).
    """
    rng = as_rng(rng)
    v = _binary(rbm, images, rng)
    labels = np.asarray(labels)
    if labels.shape != (v.shape[0],):
        raise ValueError(f"labels must have shape ({v.shape[0]},), got {labels.shape}")
    mean_image = np.asarray(mean_image, dtype=v.dtype)
    if mean_image.shape != (rbm.n_visible,):
        raise ValueError(f"mean_image must have shape ({rbm.n_visible},), got {mean_image.shape}")
    rows = []
    for kind in kinds:
        known = half_mask(kind, rng)
        dropped = ~known
        _, p = recall(rbm, v, known, steps, rng)
        fills = {"rbm": p,
                 "mean_fill": np.where(known, v, mean_image),
                 "half_only": np.where(known, v, 0)}
        for method, filled in fills.items():
            diff = filled[:, dropped] - v[:, dropped]
            acc = np.mean(classifier.predict(filled) == labels)
            rows.append({"kind": kind, "method": method, "pixel_error": float(np.abs(diff).mean()),
                         "squared_error": float((diff ** 2).mean()), "accuracy": float(acc)})
    return rows
