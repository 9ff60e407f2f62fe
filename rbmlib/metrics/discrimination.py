r"""Is it a digit? Every out-of-distribution score of :mod:`rbmlib.metrics.ood`, measured in one call.

:func:`comparison_sets` builds the images that are not digits (noise and letters, from
a seed); :func:`discrimination_report` scores the digits and those sets with

* ``log_likelihood``: :math:`\log p(v) = -F(v) - \log Z`, the RBM alone;
* ``ratio_independent``: the likelihood ratio against independent pixels;
* ``ratio_context``: the likelihood ratio against a causal context model
  (:class:`~rbmlib.metrics.background.ContextModel`);
* ``complexity_png``, ``complexity_zlib``: the input-complexity correction with a
  general-purpose compressor;
* ``combined``: ``log_likelihood`` and ``ratio_context``, each calibrated on held-out
  digits, combined by Fisher's method (:func:`~rbmlib.metrics.ood.combined_score`),

and measures each score per image (AUROC against every set) and per batch
(:class:`~rbmlib.metrics.ood.TypicalityTest`). The digits are split at random into a
*calibration* half, which sets the standardisation and the tests' thresholds, and an
*evaluation* half, on which every number is measured.
"""

from __future__ import annotations

import numpy as np

from ..data import as_binary, as_binary_images, binarize
from ..model import RBM
from ..rng import as_rng
from ..validation import check_int, check_number
from .background import ContextModel, IndependentPixels, RBMDensity
from .comparison import density_noise, letters, uniform_noise
from .ood import TypicalityTest, auroc, combined_score, complexity_score, likelihood_ratio

__all__ = ["SCORES", "comparison_sets", "split", "fit_backgrounds", "score_sets", "discrimination_report"]

#: The scores of :func:`score_sets`, in the order of the report.
SCORES = (
    "log_likelihood",
    "ratio_independent",
    "ratio_context",
    "complexity_png",
    "complexity_zlib",
    "combined",
)


def comparison_sets(n: int, *, rng=None, return_labels: bool = False):
    """Binary images that are not digits: ``n`` each of uniform noise, density-matched noise and letters.

    Parameters
    ----------
    n : int
    rng : None, int or numpy.random.Generator
        Draws the images and their binarisation, in that order.
    return_labels : bool
        Also return the character drawn in each letter image.

    Returns
    -------
    sets : dict
        ``{"uniform noise", "density noise", "letters"}`` -> float32 0/1 arrays of shape (n, 784)
        (:func:`~rbmlib.metrics.comparison.uniform_noise`, ``density_noise``, ``letters``).
    letter_labels : ndarray of str, shape (n,), only with ``return_labels``
    """
    rng = as_rng(rng)
    letter_images, letter_labels = letters(n, rng=rng)
    raw = {
        "uniform noise": uniform_noise(n, rng=rng),
        "density noise": density_noise(n, rng=rng),
        "letters": letter_images,
    }
    sets = {name: binarize(x, rng=rng) for name, x in raw.items()}
    return (sets, letter_labels) if return_labels else sets


def split(n: int, *, rng=None, fraction: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Random disjoint index sets: ``round(fraction * n)`` for calibration, the rest for evaluation."""
    n = check_int(n, "n", low=2)
    if not 0 < check_number(fraction, "fraction") < 1:
        raise ValueError(f"fraction must lie in (0, 1), got {fraction!r}")
    perm = as_rng(rng).permutation(n)
    k = min(max(int(round(fraction * n)), 1), n - 1)
    return np.sort(perm[:k]), np.sort(perm[k:])


def fit_backgrounds(train_images, *, template="4", rng=None) -> dict:
    """The background models fitted on the training digits, binarised once with ``rng``.

    Returns
    -------
    dict
        ``"independent"``: :class:`~rbmlib.metrics.background.IndependentPixels`,
        ``"context"``: :class:`~rbmlib.metrics.background.ContextModel` with ``template``.
    """
    v = as_binary(train_images, None, rng=rng)
    return {"independent": IndependentPixels().fit(v), "context": ContextModel(template).fit(v)}


def score_sets(rbm: RBM, sets: dict, backgrounds: dict, *, log_z: float = 0.0, calibration=None, scores=SCORES) -> dict:
    """The scores of :data:`SCORES` (or those named in ``scores``) for every set of binary images.

    Parameters
    ----------
    rbm : RBM
    sets : dict of str to array_like, shape (N_k, n_visible)
        Binary images by set name; must hold ``"digits"``.
    backgrounds : dict
        From :func:`fit_backgrounds`.
    log_z : float
        The RBM's log partition function (shifts ``log_likelihood`` and the ratios only).
    calibration : array_like of int, optional
        Indices of the digits that calibrate the scores of ``combined`` (default: all).
    scores : sequence of str
        The scores to compute, among :data:`SCORES`.

    Returns
    -------
    dict
        ``{set: {score: ndarray (N_k,)}}``.
    """
    if "digits" not in sets:
        raise ValueError("sets must include 'digits'")
    scores = _check_scores(scores)
    model = RBMDensity(rbm, log_z)
    compute = {
        "log_likelihood": model.log_prob,
        "ratio_independent": lambda v: likelihood_ratio(model, backgrounds["independent"], v),
        "ratio_context": lambda v: likelihood_ratio(model, backgrounds["context"], v),
        "complexity_png": lambda v: complexity_score(model, v, "png"),
        "complexity_zlib": lambda v: complexity_score(model, v, "zlib"),
    }
    parts = [k for k in compute if k in scores or ("combined" in scores and k in _COMBINED)]
    out = {}
    for name, images in sets.items():
        v = as_binary_images(images, rbm.n_visible, name=name)
        out[name] = {k: compute[k](v) for k in parts}
    if "combined" in scores:
        cal = slice(None) if calibration is None else np.asarray(calibration)
        refs = [out["digits"][k][cal] for k in _COMBINED]
        for s in out.values():
            s["combined"] = combined_score([s[k] for k in _COMBINED], refs)
    return {name: {k: s[k] for k in scores} for name, s in out.items()}


#: The scores that ``combined`` adds up.
_COMBINED = ("log_likelihood", "ratio_context")


def _check_scores(scores):
    scores = tuple(scores)
    unknown = [k for k in scores if k not in SCORES]
    if unknown or not scores:
        raise ValueError(f"scores must be a non-empty selection of {', '.join(SCORES)}, got {list(scores)}")
    return tuple(k for k in SCORES if k in scores)


def discrimination_report(
    rbm: RBM,
    digits,
    others: dict,
    train_images,
    *,
    log_z: float = 0.0,
    template="4",
    batch_size: int = 5,
    alpha: float = 0.05,
    n_batches: int = 10000,
    scores=SCORES,
    rng=None,
) -> dict:
    """Score digits and non-digits every way, per image and per batch.

    Parameters
    ----------
    rbm : RBM
    digits : array_like, shape (N, n_visible)
        Binary test digits (e.g. :func:`rbmlib.data.binarized_test_set`); half of them
        (at random) calibrate, the other half are evaluated.
    others : dict of str to array_like
        Binary non-digit images by name (e.g. :func:`comparison_sets`).
    train_images : array_like, shape (M, n_visible)
        Training digits for the background models (grey values are binarised once).
    log_z : float
        The RBM's log partition function.
    template : str or sequence
        Template of the context model (:data:`rbmlib.metrics.background.TEMPLATES`).
    batch_size, alpha : int, float
        Of the batch tests (:class:`~rbmlib.metrics.ood.TypicalityTest`).
    n_batches : int
        Random batches per set for the batch tests.
    scores : sequence of str
        The scores to measure, among :data:`SCORES` (default: all).
    rng : None, int or numpy.random.Generator

    Returns
    -------
    dict
        ``"auroc"``: rows ``{"score", "set", "auroc"}`` (evaluation digits against each
        set); ``"batch"``: rows ``{"score", "test", "set", "rejected"}``, the fraction of
        random batches rejected, with ``set="digits"`` the false-alarm rate on
        evaluation digits, for the two-sided (typicality) and the one-sided test;
        ``"scores"``: the output of :func:`score_sets`; ``"calibration"``,
        ``"evaluation"``: the digits' index sets.
    """
    rng = as_rng(rng)
    v = as_binary_images(digits, rbm.n_visible, name="digits")
    if "digits" in others:
        raise ValueError("others must not be called 'digits'")
    cal, ev = split(v.shape[0], rng=rng)
    backgrounds = fit_backgrounds(train_images, template=template, rng=rng)
    names = _check_scores(scores)
    scores = score_sets(rbm, {"digits": v, **others}, backgrounds, log_z=log_z, calibration=cal, scores=names)
    auroc_rows, batch_rows = [], []
    for score in names:
        digit_ev = scores["digits"][score][ev]
        for name in others:
            auroc_rows.append({"score": score, "set": name, "auroc": auroc(digit_ev, scores[name][score])})
        for test, two_sided in (("two-sided", True), ("one-sided", False)):
            tt = TypicalityTest(batch_size, alpha, two_sided).fit(
                scores["digits"][score][cal], n_batches=n_batches, rng=rng
            )
            for name in ("digits", *others):
                s = digit_ev if name == "digits" else scores[name][score]
                batch_rows.append(
                    {
                        "score": score,
                        "test": test,
                        "set": name,
                        "rejected": tt.rejection_rate(s, n_batches=n_batches, rng=rng),
                    }
                )
    return {"auroc": auroc_rows, "batch": batch_rows, "scores": scores, "calibration": cal, "evaluation": ev}
