r"""Out-of-distribution detection: scores that tell digits from other images, and how well they do.

Every score here is larger for images that look more like the training digits:

* the raw log-likelihood :math:`\log p(v) = -F(v) - \log Z` (:class:`~rbmlib.metrics.background.RBMDensity`);
* :func:`likelihood_ratio` against a background model (Ren et al., 2019):
  :math:`\log p(v) - \log p_\text{bg}(v)`;
* :func:`complexity_score`, the input-complexity correction (Serrà et al., 2020):
  :math:`\log p(v) + L(v)`, with :math:`L` the code length of the image by a
  general-purpose compressor (:func:`code_length`);
* :func:`combined_score`: several scores, each calibrated on held-out digits, combined
  by Fisher's method.

:func:`auroc` summarises how well a score separates digits from a comparison set
(:mod:`rbmlib.metrics.comparison`), image by image; :class:`TypicalityTest` decides for a
*batch* of images whether it was drawn from the digits (Nalisnick et al., 2019).

References
----------
Nalisnick, Matsukawa, Teh, Gorur, Lakshminarayanan (2019), Do deep generative models
know what they don't know? ICLR; and Detecting out-of-distribution inputs to deep
generative models using typicality, arXiv:1906.02994.
Ren, Liu, Fertig, Snoek, Poplin, DePristo, Dillon, Lakshminarayanan (2019), Likelihood
ratios for out-of-distribution detection, NeurIPS.
Serrà, Álvarez, Gómez, Slizovskaia, Núñez, Luque (2020), Input complexity and
out-of-distribution detection with likelihood-based generative models, ICLR.
"""

from __future__ import annotations

import io
import zlib

import numpy as np
from PIL import Image
from scipy.special import log_ndtr
from sklearn.metrics import roc_auc_score

from ..data import as_binary_images
from ..rng import as_rng
from ..validation import check_int, check_number

__all__ = [
    "auroc",
    "likelihood_ratio",
    "COMPRESSORS",
    "code_length",
    "complexity_score",
    "standardize",
    "combined_score",
    "TypicalityTest",
]

#: General-purpose lossless compressors for :func:`code_length`.
COMPRESSORS = ("png", "zlib")


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


def _log_prob(model, v, name):
    if not callable(getattr(model, "log_prob", None)):
        raise TypeError(f"{name} must have a log_prob(images) method (see rbmlib.metrics.background)")
    out = np.asarray(model.log_prob(v), dtype=np.float64)
    if out.shape != (v.shape[0],):
        raise ValueError(f"{name}.log_prob returned shape {out.shape}, expected ({v.shape[0]},)")
    return out


def likelihood_ratio(model, background, images) -> np.ndarray:
    r"""Log-likelihood ratio of a model against a background model, per image.

    .. math::

        \mathrm{LR}(v) = \log p_\text{model}(v) - \log p_\text{bg}(v) .

    Both models see the same pixels, so what they share -- e.g. how likely the
    amount of ink and the local texture of the strokes are -- cancels, and what is
    left is the evidence the model has *beyond* the background (Ren et al., 2019).
    A model against itself gives 0 for every image.

    Parameters
    ----------
    model, background : objects with ``log_prob(images) -> (N,)``
        E.g. :class:`~rbmlib.metrics.background.RBMDensity` and
        :class:`~rbmlib.metrics.background.ContextModel`.
    images : array_like, shape (N, n_pixels)
        Binary (0/1) images.

    Returns
    -------
    ndarray, shape (N,), float64
        In nats; larger means more like the model's data than the background's.
    """
    v = as_binary_images(images)
    return _log_prob(model, v, "model") - _log_prob(background, v, "background")


def _png_bytes(image: np.ndarray) -> int:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG", optimize=True)
    return len(buf.getvalue())


def code_length(images, compressor: str = "png", *, side: int = 28) -> np.ndarray:
    r"""Length, in nats, of each binary image compressed by a general-purpose lossless compressor.

    ``"png"`` writes a 1-bit-per-pixel PNG file (Pillow, ``optimize=True``), ``"zlib"``
    deflates the packed bits (``np.packbits``) at level 9. The length
    :math:`L(v) = 8\,\text{bytes} \cdot \ln 2` includes each format's fixed overhead
    (for PNG about 70 bytes of header and checksums), the same for every image, so it
    shifts all scores equally.

    Parameters
    ----------
    images : array_like, shape (N, side*side)
        Binary (0/1) images.
    compressor : {"png", "zlib"}
    side : int
        Image side length (PNG needs the 2-D shape).

    Returns
    -------
    ndarray, shape (N,), float64
    """
    if compressor not in COMPRESSORS:
        raise ValueError(f"compressor must be one of {', '.join(COMPRESSORS)}, got {compressor!r}")
    v = as_binary_images(images, side * side) > 0.5
    if compressor == "png":
        n_bytes = [_png_bytes(x.reshape(side, side)) for x in v]
    else:
        n_bytes = [len(zlib.compress(np.packbits(x).tobytes(), 9)) for x in v]
    return 8 * np.log(2) * np.asarray(n_bytes, dtype=np.float64)


def complexity_score(model, images, compressor: str = "png") -> np.ndarray:
    r"""The input-complexity-corrected log-likelihood (Serrà et al., 2020), per image.

    .. math::

        S(v) = \log p_\text{model}(v) + L(v),

    with :math:`L(v)` the code length of :func:`code_length`. A compressor's code
    length is the negative log-likelihood of an implicit "universal" model of
    images, so :math:`S` is a likelihood ratio against that model: it discounts how
    simple or complex an image is. (Serrà et al. call :math:`-S` the score, with
    lengths in bits; the ranking is the same.)

    Parameters
    ----------
    model : object with ``log_prob(images) -> (N,)``
    images : array_like, shape (N, n_pixels)
        Binary (0/1) images.
    compressor : {"png", "zlib"}

    Returns
    -------
    ndarray, shape (N,), float64
        Larger means more like the model's data.
    """
    v = as_binary_images(images)
    side = int(round(np.sqrt(v.shape[1])))
    if side * side != v.shape[1]:
        raise ValueError(f"images must be square to be compressed, got {v.shape[1]} pixels")
    return _log_prob(model, v, "model") + code_length(v, compressor, side=side)


def standardize(scores, reference) -> np.ndarray:
    r"""Scores in units of the reference set's spread: :math:`z = (s - \bar s_\text{ref}) / \sigma_\text{ref}`.

    Parameters
    ----------
    scores : array_like, shape (N,)
    reference : array_like, shape (M,)
        Scores of in-distribution images held out for calibration (M >= 2, not all equal).

    Returns
    -------
    ndarray, shape (N,), float64
    """
    s = _as_scores(scores, "scores")
    ref = _as_scores(reference, "reference")
    sd = ref.std(ddof=1) if ref.size > 1 else 0.0
    if not sd > 0:
        raise ValueError("reference must hold at least two different scores")
    return (s - ref.mean()) / sd


def combined_score(scores, references, method: str = "fisher") -> np.ndarray:
    r"""Several scores combined into one, each calibrated on held-out in-distribution images.

    Each score :math:`s_k` is first standardised on the reference images,
    :math:`z_k = (s_k - \bar s_k) / \sigma_k`, using digits only -- no out-of-distribution
    data. Then, by default, the one-sided tests "is :math:`s_k` too low for a digit?" are
    combined by **Fisher's method**, with normal tail probabilities
    :math:`p_k = \Phi(z_k)`:

    .. math::

        s(v) = \sum_k \log \Phi\bigl(z_k(v)\bigr) \qquad (= -\tfrac12 \chi^2_\text{Fisher}),

    so an image must look like a digit to *every* score: one very small :math:`p_k`
    makes :math:`s` very small, whatever the others say (:math:`\log\Phi(z) \approx -z^2/2`
    for :math:`z \ll 0`, and :math:`\approx 0` for :math:`z \gg 0`). With
    ``method="sum"`` the combination is :math:`\sum_k z_k` instead, in which a very
    high score can cancel a very low one.

    Parameters
    ----------
    scores : sequence of array_like, each shape (N,)
        The scores of the images to judge (larger = more in-distribution).
    references : sequence of array_like, each shape (M_k,)
        The same scores, in the same order, on held-out digits.
    method : {"fisher", "sum"}

    Returns
    -------
    ndarray, shape (N,), float64
        Larger means more like the reference images.
    """
    if method not in ("fisher", "sum"):
        raise ValueError(f"method must be 'fisher' or 'sum', got {method!r}")
    scores, references = list(scores), list(references)
    if not scores or len(scores) != len(references):
        raise ValueError(f"need one reference per score, got {len(scores)} scores and {len(references)} references")
    z = [standardize(s, r) for s, r in zip(scores, references, strict=True)]
    if len({x.shape for x in z}) != 1:
        raise ValueError(f"scores must all have the same length, got {[x.size for x in z]}")
    return np.sum(z, axis=0) if method == "sum" else np.sum(log_ndtr(z), axis=0)


def _batches(scores, batch_size, n_batches, rng):
    """``n_batches`` random batches of ``batch_size`` scores, each drawn without replacement.

    Indices are drawn uniformly and rows that repeat an index are drawn again, which
    leaves every set of ``batch_size`` distinct indices equally likely.
    """
    if batch_size > scores.size:
        raise ValueError(f"batch_size {batch_size} exceeds the {scores.size} scores available")
    check_int(n_batches, "n_batches")
    if 2 * batch_size > scores.size:  # dense: a permutation per batch
        keys = rng.random((n_batches, scores.size))
        return scores[np.argpartition(keys, batch_size - 1, axis=1)[:, :batch_size]]
    idx = rng.integers(0, scores.size, size=(n_batches, batch_size))
    while True:
        srt = np.sort(idx, axis=1)
        redo = np.flatnonzero((np.diff(srt, axis=1) == 0).any(axis=1))
        if redo.size == 0:
            return scores[idx]
        idx[redo] = rng.integers(0, scores.size, size=(redo.size, batch_size))


class TypicalityTest:
    r"""Is a batch of images drawn from the digits? A test on the batch's mean score.

    For a batch :math:`v_1, \dots, v_M` and a per-image score :math:`s` (e.g. the
    log-likelihood), the statistic is the distance of the batch mean from the mean
    :math:`\bar s` of held-out digits,

    .. math::

        T = \Bigl|\frac1M \sum_{m=1}^M s(v_m) - \bar s\Bigr|
        \quad\text{(two-sided)}, \qquad
        T = \bar s - \frac1M \sum_{m=1}^M s(v_m) \quad\text{(one-sided)},

    and the batch is rejected when :math:`T > \varepsilon_\alpha`, the
    :math:`1 - \alpha` quantile of :math:`T` over random batches of held-out digits.
    With :math:`s = \log p` the two-sided version is the typicality test of Nalisnick
    et al. (2019): it rejects batches that are *too likely* as well as too unlikely,
    since a large sample from a model lies in its typical set, not at its mode.

    Parameters
    ----------
    batch_size : int
        :math:`M`, images per batch.
    alpha : float
        False-alarm rate on digit batches, in (0, 1).
    two_sided : bool

    Attributes
    ----------
    centre, threshold : float
        :math:`\bar s` and :math:`\varepsilon_\alpha` after :meth:`fit`.
    """

    def __init__(self, batch_size: int = 5, alpha: float = 0.05, two_sided: bool = True):
        batch_size = check_int(batch_size, "batch_size")
        if not 0 < check_number(alpha, "alpha") < 1:
            raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")
        self.batch_size, self.alpha, self.two_sided = int(batch_size), float(alpha), bool(two_sided)
        self.centre = self.threshold = None

    def statistic(self, batch_means) -> np.ndarray:
        """:math:`T` for batch means, any shape."""
        if self.centre is None:
            raise RuntimeError("call fit() first")
        d = np.asarray(batch_means, dtype=np.float64) - self.centre
        return np.abs(d) if self.two_sided else -d

    def fit(self, calibration, *, n_batches: int = 10000, rng=None) -> TypicalityTest:
        r"""Set :math:`\bar s` and :math:`\varepsilon_\alpha` from scores of held-out digits. Returns ``self``.

        Parameters
        ----------
        calibration : array_like, shape (N,)
            Scores of in-distribution images not used elsewhere (N >= batch_size).
        n_batches : int
            Random batches drawn to estimate the quantile.
        rng : None, int or numpy.random.Generator
        """
        s = _as_scores(calibration, "calibration")
        self.centre = float(s.mean())
        means = _batches(s, self.batch_size, int(n_batches), as_rng(rng)).mean(axis=1)
        self.threshold = float(np.quantile(self.statistic(means), 1 - self.alpha))
        return self

    def reject(self, batch_scores) -> np.ndarray:
        """Whether each batch is rejected; ``batch_scores`` has shape (n_batches, batch_size)."""
        b = np.asarray(batch_scores, dtype=np.float64)
        if b.ndim != 2 or b.shape[1] != self.batch_size:
            raise ValueError(f"batch_scores must have shape (n_batches, {self.batch_size}), got {b.shape}")
        if not np.all(np.isfinite(b)):
            raise ValueError("batch_scores contains NaN or infinite values")
        return self.statistic(b.mean(axis=1)) > self.threshold

    def rejection_rate(self, scores, *, n_batches: int = 10000, rng=None) -> float:
        """Fraction of random batches of ``scores`` (one set of images) that the test rejects.

        For held-out digits not used in :meth:`fit` this estimates the false-alarm
        rate (about ``alpha``); for another set, the test's power against it.
        """
        s = _as_scores(scores, "scores")
        return float(self.reject(_batches(s, self.batch_size, int(n_batches), as_rng(rng))).mean())
