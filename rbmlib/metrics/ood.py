r"""Out-of-distribution detection: how well a score tells digits from other images.

:func:`auroc` summarises the separation of two sets of scores (e.g. minus the free
energy of digits and of a comparison set from :mod:`rbmlib.metrics.comparison`).
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

__all__ = ["auroc"]


def _as_scores(x, name):
    a = np.asarray(x)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise TypeError(f"{name} must be numeric, got dtype {a.dtype}")
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} is empty")
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return a


def auroc(scores_pos, scores_neg):
    r"""Area under the ROC curve of scores where larger means "more positive".

    .. math::

        \mathrm{AUROC} = P(s^+ > s^-) + \tfrac12 P(s^+ = s^-),

    the probability that a randomly chosen positive scores *higher* than a randomly
    chosen negative, ties counting one half. 1 = perfect separation, 0.5 = chance
    (e.g. identical sets), 0 = perfectly reversed. To separate digits (positive)
    from noise with the free energy, use ``auroc(-F(digits), -F(noise))``.

    Parameters
    ----------
    scores_pos : array_like, shape (n_pos,)
        Scores of the positives (1-D, finite, non-empty).
    scores_neg : array_like, shape (n_neg,)
        Scores of the negatives (1-D, finite, non-empty).

    Returns
    -------
    float
        In [0, 1].

    Raises
    ------
    TypeError
        Non-numeric scores.
    ValueError
        Scores that are not 1-D, are empty, or hold NaN or infinite values.

    Notes
    -----
    Computed by :func:`sklearn.metrics.roc_auc_score` on the pooled scores with
    labels 1 (positives) and 0 (negatives), which equals the Mann-Whitney
    :math:`U / (n_+ n_-)` above.
    """
    pos = _as_scores(scores_pos, "scores_pos")
    neg = _as_scores(scores_neg, "scores_neg")
    labels = np.concatenate([np.ones(pos.size, dtype=np.int8), np.zeros(neg.size, dtype=np.int8)])
    return float(roc_auc_score(labels, np.concatenate([pos, neg])))
