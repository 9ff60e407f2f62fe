r"""Scoring recall: how well an RBM completes half-images, against two simple baselines."""

from __future__ import annotations

import numpy as np

from ..completion import HALVES, half_mask, recall
from ..data import as_binary
from ..model import RBM
from ..rng import as_rng

__all__ = ["score_recall"]


def score_recall(
    rbm: RBM, images, labels, *, classifier, mean_image, steps: int = 100, kinds=HALVES, rng=None
) -> list[dict]:
    r"""Measure recall for each way of dropping half the pixels, against two baselines.

    For every ``kind`` the same binary images are completed three ways:

    * ``rbm``: :func:`rbmlib.completion.recall` with ``steps`` Gibbs steps, scored on
      :math:`p(v_U \mid h)`;
    * ``mean_fill``: the dropped pixels set to the mean training image;
    * ``half_only``: the dropped pixels set to 0 (what the classifier sees of the half image).

    Parameters
    ----------
    rbm : RBM
    images : array_like, shape (N, n_visible)
        Test images: binary (kept as they are), or ``uint8`` grey values or
        probabilities (binarised once with ``rng``; :func:`rbmlib.data.as_binary`).
    labels : array_like, shape (N,)
        Their digit labels.
    classifier : object with ``predict(images) -> labels``
        E.g. :func:`rbmlib.metrics.classifier.load_classifier`.
    mean_image : array_like, shape (n_visible,)
        Mean training image in [0, 1].
    steps : int
        Gibbs steps of the RBM's completion.
    kinds : iterable of str
        Halves to drop (see :func:`rbmlib.completion.half_mask`).
    rng : None, int or numpy.random.Generator

    Returns
    -------
    list of dict
        One row per (kind, method): ``kind``, ``method`` (``"rbm"``, ``"mean_fill"``,
        ``"half_only"``), ``pixel_error`` (mean absolute error on the dropped pixels
        against the binary image), ``squared_error`` (mean squared error there: the
        Brier score, which, unlike the absolute error, does not reward filling the
        half with zeros), ``accuracy`` (fraction the classifier labels as the
        original digit).
    """
    rng = as_rng(rng)
    v = as_binary(images, rbm.n_visible, rng, rbm.dtype)
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
        fills = {"rbm": p, "mean_fill": np.where(known, v, mean_image), "half_only": np.where(known, v, 0)}
        for method, filled in fills.items():
            diff = filled[:, dropped] - v[:, dropped]
            rows.append(
                {
                    "kind": kind,
                    "method": method,
                    "pixel_error": float(np.abs(diff).mean()),
                    "squared_error": float((diff**2).mean()),
                    "accuracy": float(np.mean(classifier.predict(filled) == labels)),
                }
            )
    return rows
