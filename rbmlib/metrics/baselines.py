r"""Completion baselines that use no RBM: the k nearest training digits.

To fill in the dropped pixels of an image, find the ``k`` training digits closest to
it on the *known* pixels and put the mean of their values into the dropped ones:

.. math::

    \hat v_U = \frac1k \sum_{j \in \mathcal N_k(v_K)} x^{(j)}_U, \qquad
    \mathcal N_k(v_K) = \operatorname{arg\,min}_{|S| = k} \sum_{j \in S}
    \lVert v_K - x^{(j)}_K \rVert_2^2 .

This is the obvious non-parametric answer to the recall task, and a strong one: with
60,000 training digits most half-images have close neighbours. ``k`` trades
resolution (small ``k``: one neighbour's stroke) against averaging (large ``k``: a
smoother, more probable blend); :func:`select_k` chooses it on held-out digits.

The neighbour search is the evaluation kit's one search,
:func:`rbmlib.metrics.neighbours.nearest_distances` (tiled float32 products; faster than
scikit-learn's brute-force :class:`~sklearn.neighbors.NearestNeighbors` on this workload,
with the same neighbours: see its notes).
"""

from __future__ import annotations

import numpy as np

from ..data import as_images
from ..validation import check_int, check_mask
from .neighbours import nearest_distances

__all__ = ["knn_neighbours", "knn_complete", "select_k"]


def _mask(mask, n_pixels):
    return check_mask(mask, n_pixels, proper=True)


def _k(k, n_bank):
    return check_int(k, "k", high=n_bank)


def knn_neighbours(images, mask, bank, k: int) -> np.ndarray:
    r"""Indices of the ``k`` rows of ``bank`` nearest to each image on the known pixels.

    Parameters
    ----------
    images : array_like, shape (N, n_pixels)
        Query images: 0/1, probabilities in [0, 1] or ``uint8`` grey values.
    mask : array_like of bool, shape (n_pixels,)
        True where a pixel is known; distances use these pixels only.
    bank : array_like, shape (M, n_pixels)
        The candidate neighbours (e.g. the MNIST training digits, grey values).
    k : int
        Number of neighbours, 1 <= k <= M.

    Returns
    -------
    ndarray of int, shape (N, k)
        Row indices into ``bank``, nearest first (Euclidean distance
        :math:`\lVert v_K - x_K \rVert`; equal distances in no fixed order).
    """
    q = as_images(images, None)
    x = as_images(bank, q.shape[1], name="bank")
    m = _mask(mask, q.shape[1])
    k = _k(k, x.shape[0])
    _, idx = nearest_distances(q[:, m], x[:, m], k=k, metric="euclidean", return_index=True)
    return idx.reshape(len(q), k)


def knn_complete(images, mask, bank, k: int = 10, *, neighbours=None) -> np.ndarray:
    r"""Fill the unknown pixels with the mean of the ``k`` nearest bank images.

    Parameters
    ----------
    images : array_like, shape (N, n_pixels)
        Images whose known pixels are kept: 0/1, probabilities or ``uint8``.
    mask : array_like of bool, shape (n_pixels,)
        True where a pixel is known.
    bank : array_like, shape (M, n_pixels)
        Candidate neighbours, e.g. the training digits as grey values (their mean is
        then the expected value of a binarised neighbour).
    k : int
        Number of neighbours averaged.
    neighbours : array_like of int, shape (N, >= k), optional
        Precomputed :func:`knn_neighbours` (nearest first); the first ``k`` are used.

    Returns
    -------
    ndarray, shape (N, n_pixels), float
        :math:`\hat v_U` (above) on the unknown pixels, the images' values on the
        known ones, as probabilities in [0, 1].
    """
    q = as_images(images, None)
    x = as_images(bank, q.shape[1], name="bank")
    m = _mask(mask, q.shape[1])
    k = _k(k, x.shape[0])
    if neighbours is None:
        idx = knn_neighbours(q, m, x, k)
    else:
        idx = np.asarray(neighbours)
        if idx.ndim != 2 or idx.shape[0] != q.shape[0] or idx.shape[1] < k:
            raise ValueError(f"neighbours must have shape ({q.shape[0]}, >= {k}), got {idx.shape}")
        idx = idx[:, :k]
    fill = x[:, ~m][idx].mean(axis=1, dtype=np.float64)
    out = q.astype(np.float64 if q.dtype == np.float64 else np.float32, copy=True)
    out[:, ~m] = fill
    return out


def select_k(images, mask, bank, ks, score) -> tuple[int, dict]:
    """Choose ``k`` for :func:`knn_complete` by a score on held-out images.

    Parameters
    ----------
    images : array_like, shape (N, n_pixels)
        Held-out images (not in ``bank``) whose dropped pixels are to be filled.
    mask : array_like of bool, shape (n_pixels,)
    bank : array_like, shape (M, n_pixels)
    ks : sequence of int
        Candidate values of ``k``.
    score : callable
        ``score(filled) -> float``, larger is better, for the filled images (N, n_pixels);
        e.g. the fraction a classifier labels correctly.

    Returns
    -------
    best_k : int
        The candidate with the largest score (the smallest such ``k`` on ties).
    scores : dict
        ``{k: score}`` for every candidate.
    """
    ks = sorted({_k(k, np.shape(bank)[0]) for k in ks})
    if not ks:
        raise ValueError("ks must hold at least one candidate")
    idx = knn_neighbours(images, mask, bank, ks[-1])
    scores = {k: float(score(knn_complete(images, mask, bank, k, neighbours=idx))) for k in ks}
    return max(ks, key=lambda k: (scores[k], -k)), scores
