"""Statistics of a trained model's weight images: are the hidden units distinct, stroke-like features?"""

from __future__ import annotations

import numpy as np

__all__ = ["weight_pair_correlation", "weight_smoothness"]


def weight_pair_correlation(W) -> float:
    r"""Mean Pearson correlation between the weight vectors of two different hidden units.

    Near 1 when all units learned the same thing; near 0 for distinct features (and for noise).

    Parameters
    ----------
    W : array_like, shape (n_visible, n_hidden)
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[1] < 2:
        raise ValueError(f"W must have shape (n_visible, n_hidden >= 2), got {W.shape}")
    c = np.corrcoef(W.T)
    return float(c[~np.eye(len(c), dtype=bool)].mean())


def weight_smoothness(W, side: int = 28, margin: int = 4) -> np.ndarray:
    r"""Per hidden unit, the correlation of each weight with its right and lower neighbour.

    Computed on the central square of ``side - 2*margin`` pixels a side of each unit's weight image
    :math:`W_j(x, y)`. Stroke-like features are spatially smooth (close to 1); noise,
    or the same values with the pixels shuffled, gives about 0.

    Parameters
    ----------
    W : array_like, shape (side*side, n_hidden)

    Returns
    -------
    ndarray, shape (n_hidden,)
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] != side * side:
        raise ValueError(f"W must have shape ({side * side}, n_hidden), got {W.shape}")
    tiles = W.T.reshape(-1, side, side)[:, margin : side - margin, margin : side - margin]
    n = len(tiles)
    first = np.concatenate([tiles[:, :, :-1].reshape(n, -1), tiles[:, :-1, :].reshape(n, -1)], axis=1)
    second = np.concatenate([tiles[:, :, 1:].reshape(n, -1), tiles[:, 1:, :].reshape(n, -1)], axis=1)
    first = first - first.mean(axis=1, keepdims=True)
    second = second - second.mean(axis=1, keepdims=True)
    return np.sum(first * second, axis=1) / np.sqrt(np.sum(first**2, axis=1) * np.sum(second**2, axis=1))
