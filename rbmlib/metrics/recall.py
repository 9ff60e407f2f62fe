r"""Scoring recall: how well an RBM completes half-images, against baselines that use no RBM.

:func:`score_recall` drops each kind of half (:data:`rbmlib.completion.HALVES`) from the
same test digits, completes them with the RBM's estimators
(:func:`rbmlib.completion.recall_estimates`) and with three baselines, and scores
every completion in two ways:

* **pixel error**: the mean absolute difference between the filled-in values
  :math:`q_i` and the original binary pixels :math:`v_i` on the dropped half. For a
  binary :math:`v_i`, :math:`|q_i - v_i|` is the probability that a pixel drawn from
  :math:`q_i` is wrong, so this is the *expected* fraction of dropped pixels that a
  completion sampled from :math:`q` gets wrong. The squared error (Brier score) is
  reported beside it: unlike the absolute error it is a proper scoring rule, which
  rewards calibrated probabilities rather than confident ones;
* **accuracy**: the fraction of completed images that a separately trained digit
  classifier labels as the original digit, i.e. whether the *right* digit was recalled.
"""

from __future__ import annotations

import numpy as np

from ..completion import HALVES, half_mask, recall_estimates
from ..data import as_binary, as_images
from ..model import RBM
from ..rng import as_rng
from ..validation import check_mask
from .baselines import knn_complete

__all__ = [
    "RBM_METHODS",
    "BASELINES",
    "score_recall",
    "completion_errors",
    "paired_difference",
    "recall_to_arrays",
    "recall_from_arrays",
]

#: The RBM's completions scored by :func:`score_recall`, by estimator of :func:`rbmlib.completion.recall`.
RBM_METHODS = {"last": "rbm_last", "mean": "rbm_mean", "vote": "rbm_vote"}

#: The completions that use no RBM.
BASELINES = ("knn", "mean_fill", "half_only")


def completion_errors(filled, images, mask) -> dict:
    r"""Pixel errors of completions on the dropped pixels.

    Parameters
    ----------
    filled : array_like, shape (N, n_pixels)
        Completions, values in [0, 1].
    images : array_like, shape (N, n_pixels)
        The original binary (0/1) images.
    mask : array_like of bool, shape (n_pixels,)
        True where a pixel was known; errors are taken over the others.

    Returns
    -------
    dict
        ``pixel_error``: :math:`\langle |q_i - v_i| \rangle` and ``squared_error``:
        :math:`\langle (q_i - v_i)^2 \rangle`, averaged over the images and their
        dropped pixels.
    """
    q = as_images(filled, None, name="filled")
    v = as_images(images, q.shape[1])
    if v.shape != q.shape:
        raise ValueError(f"filled and images must have the same shape, got {q.shape} and {v.shape}")
    if not np.all((v == 0) | (v == 1)):
        raise ValueError("images must be binary (0/1): the errors are against the binarised originals")
    mask = check_mask(mask, q.shape[1])
    diff = q[:, ~mask].astype(np.float64) - v[:, ~mask]
    return {"pixel_error": float(np.abs(diff).mean()), "squared_error": float((diff**2).mean())}


def score_recall(
    rbm: RBM,
    images,
    labels,
    *,
    classifier,
    mean_image,
    steps: int = 100,
    kinds=HALVES,
    estimators=("last",),
    burn_in: int | None = None,
    n_chains: int = 1,
    vote_every: int = 10,
    start="zeros",
    knn_bank=None,
    knn_k=10,
    rng=None,
    return_predictions: bool = False,
):
    r"""Measure recall for each way of dropping half the pixels, against baselines.

    For every ``kind`` the same binary images are completed several ways:

    * ``rbm_last``, ``rbm_mean``, ``rbm_vote``: the RBM's estimators named in
      ``estimators`` (:func:`rbmlib.completion.recall_estimates`, all from one run of
      ``n_chains`` clamped chains per image with ``steps`` Gibbs steps);
    * ``knn``: the mean of the ``knn_k`` training digits nearest on the known half
      (:func:`rbmlib.metrics.baselines.knn_complete`), if ``knn_bank`` is given;
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
        E.g. :func:`rbmlib.metrics.classifier.load_classifier`; it also casts the
        votes of ``rbm_vote``.
    mean_image : array_like, shape (n_visible,)
        Mean training image in [0, 1].
    steps : int
        Gibbs steps per chain (burn-in included).
    kinds : iterable of str
        Halves to drop (see :func:`rbmlib.completion.half_mask`).
    estimators : iterable of {"last", "mean", "vote"}
        The RBM completions to score.
    burn_in : int, optional
        Steps discarded before averaging (default ``steps // 2``).
    n_chains : int
        Clamped chains per image (``rbm_last`` uses the first).
    vote_every : int
        Steps between labelled completions for ``rbm_vote``.
    start : {"zeros", "random"}
        Starting values of the dropped pixels (:func:`rbmlib.completion.clamped_chains`).
    knn_bank : array_like, shape (M, n_visible), optional
        Training digits for the ``knn`` baseline (grey values or probabilities).
    knn_k : int or dict of str to int
        Neighbours averaged by the ``knn`` baseline, or one value per kind (e.g. chosen
        per half by :func:`rbmlib.metrics.baselines.select_k`).
    rng : None, int or numpy.random.Generator
    return_predictions : bool
        Also return the classifier's label of every completion.

    Returns
    -------
    rows : list of dict
        One row per (kind, method): ``kind``, ``method``, ``pixel_error``,
        ``squared_error`` (see :func:`completion_errors`) and ``accuracy`` (fraction
        the classifier labels as the original digit).
    predictions : dict, only with ``return_predictions``
        ``{(kind, method): labels}``, arrays of shape (N,), and
        ``{(kind, "vote_share"): share}``, the fraction of the RBM's labelled
        completions that agree with the vote (if ``"vote"`` is scored).
    """
    rng = as_rng(rng)
    v = as_binary(images, rbm.n_visible, rng=rng, dtype=rbm.dtype)
    labels = np.asarray(labels)
    if labels.shape != (v.shape[0],):
        raise ValueError(f"labels must have shape ({v.shape[0]},), got {labels.shape}")
    mean_image = as_images(mean_image, rbm.n_visible, name="mean_image")
    if mean_image.shape != (1, rbm.n_visible):
        raise ValueError(f"mean_image must have shape ({rbm.n_visible},), got {np.shape(mean_image)}")
    estimators = tuple(estimators)
    unknown = [e for e in estimators if e not in RBM_METHODS]
    if unknown:
        raise ValueError(f"estimators must be among {', '.join(RBM_METHODS)}, got {unknown}")
    kinds = tuple(kinds)
    if knn_bank is not None:
        knn_bank = as_images(knn_bank, rbm.n_visible, name="knn_bank")
        ks = knn_k if isinstance(knn_k, dict) else dict.fromkeys(kinds, knn_k)
        missing = [kind for kind in kinds if kind not in ks]
        if missing:
            raise ValueError(f"knn_k has no value for {', '.join(missing)}")
    rows, predictions = [], {}
    for kind in kinds:
        known = half_mask(kind, rng=rng)
        fills = {}
        if estimators:
            est = recall_estimates(
                rbm,
                v,
                known,
                steps,
                burn_in=burn_in,
                n_chains=n_chains,
                classifier=classifier if "vote" in estimators else None,
                vote_every=vote_every,
                start=start,
                rng=rng,
            )
            fills.update({RBM_METHODS[e]: est[e] for e in estimators})
            if "vote" in estimators:
                predictions[kind, "vote_share"] = est["vote_share"]
        if knn_bank is not None:
            fills["knn"] = knn_complete(v, known, knn_bank, ks[kind])
        fills["mean_fill"] = np.where(known, v, mean_image[0])
        fills["half_only"] = np.where(known, v, 0)
        for method, filled in fills.items():
            predicted = np.asarray(classifier.predict(filled))
            predictions[kind, method] = predicted
            rows.append(
                {
                    "kind": kind,
                    "method": method,
                    **completion_errors(filled, v, known),
                    "accuracy": float(np.mean(predicted == labels)),
                }
            )
    return (rows, predictions) if return_predictions else rows


def paired_difference(predicted_a, predicted_b, labels, *, z: float = 1.96) -> dict:
    r"""Difference of two methods' accuracies on the same images, with a normal-approximation interval.

    With :math:`d_n = [a_n = y_n] - [b_n = y_n] \in \{-1, 0, 1\}` for image :math:`n`,
    the difference is :math:`\bar d` and its standard error
    :math:`\mathrm{sd}(d) / \sqrt{N}`: pairing the images removes the part of the
    spread that both methods share (the hard digits).

    Parameters
    ----------
    predicted_a, predicted_b : array_like, shape (N,)
        Labels the classifier gave the completions of methods a and b.
    labels : array_like, shape (N,)
        The true labels.
    z : float
        Half-width of the interval in standard errors (1.96: 95 %).

    Returns
    -------
    dict
        ``difference`` (accuracy of a minus that of b), ``low``, ``high``,
        ``a_only`` and ``b_only`` (images only a, or only b, gets right).
    """
    y = np.asarray(labels)
    a, b = np.asarray(predicted_a), np.asarray(predicted_b)
    if y.ndim != 1 or y.size < 2 or a.shape != y.shape or b.shape != y.shape:
        raise ValueError(
            f"predictions and labels must share one 1-D shape (N >= 2), got {a.shape}, {b.shape}, {y.shape}"
        )
    d = (a == y).astype(np.float64) - (b == y)
    se = d.std(ddof=1) / np.sqrt(d.size)
    return {
        "difference": float(d.mean()),
        "low": float(d.mean() - z * se),
        "high": float(d.mean() + z * se),
        "a_only": int((d > 0).sum()),
        "b_only": int((d < 0).sum()),
    }


def recall_to_arrays(rows, predictions) -> dict:
    """Flatten :func:`score_recall`'s ``(rows, predictions)`` into named arrays (for an ``.npz`` cache)."""
    out = {f"row.{key}": np.asarray([r[key] for r in rows]) for key in rows[0]}
    out.update({f"pred.{kind}.{method}": np.asarray(v) for (kind, method), v in predictions.items()})
    return out


def recall_from_arrays(arrays: dict):
    """Inverse of :func:`recall_to_arrays`: ``(rows, predictions)``."""
    keys = [k[len("row.") :] for k in arrays if k.startswith("row.")]
    n = len(arrays[f"row.{keys[0]}"])
    rows = [{k: arrays[f"row.{k}"][i].item() for k in keys} for i in range(n)]
    predictions = {
        tuple(k[len("pred.") :].split(".", 1)): np.asarray(v) for k, v in arrays.items() if k.startswith("pred.")
    }
    return rows, predictions
