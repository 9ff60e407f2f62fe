r"""Scoring a set of generated samples against MNIST.

Three questions, three families of numbers:

1. **Do the samples have the right digit proportions?**  Label every sample with
   the :class:`~rbmlib.metrics.classifier.DigitClassifier`, build the class histogram
   :math:`\hat p` and compare it with the MNIST class frequencies :math:`q` by the
   total variation distance :math:`\mathrm{TV}(\hat p, q) = \tfrac12 \sum_c |\hat p_c - q_c|`
   (0 = same proportions, 1 = disjoint support).
2. **Do they look like digits?**  The classifier's mean confidence
   :math:`\overline{\max_c p(c \mid v)}` on the samples, next to the same number for
   real test digits.
3. **Are they new, or copies of training digits?**  Nearest-neighbour distances to
   the training set, compared with those of real *test* digits (which the model never
   saw), and the nearest-neighbour adversarial accuracy :math:`AA_{TS}` of
   Yale et al. (2020).

Every reference number is computed the same way on real held-out digits, so each
score comes with the value a perfect generator would get (its noise floor).

References
----------
A. Yale, S. Dash, R. Dutta, I. Guyon, A. Pavao, K. P. Bennett,
"Generation and evaluation of privacy preserving synthetic health data",
Neurocomputing 416 (2020) 244-255.
"""

from __future__ import annotations

import numpy as np

from ..data import binarize
from ..rng import as_rng
from ..validation import check_int
from .neighbours import is_binary, nearest_distances, pixel_rows

__all__ = [
    "class_histogram",
    "tv_distance",
    "mnist_class_frequencies",
    "tv_noise_floor",
    "tv_interval",
    "adversarial_accuracy",
    "class_mix_scores",
    "confidence_scores",
    "novelty_scores",
    "aats_scores",
    "sample_report",
    "within_class_spread",
]


# ----------------------------------------------------------------------------- histograms
def class_histogram(probs_or_labels, n_classes=10, *, soft=False):
    r"""Normalised class histogram of labels or of classifier outputs.

    Parameters
    ----------
    probs_or_labels : array_like
        Either integer labels of shape (N,) with values in ``0..n_classes-1``, or
        class probabilities of shape (N, n_classes) (rows summing to one).
    n_classes : int
        Number of classes.
    soft : bool
        For probabilities only: average the probability vectors
        (:math:`\hat p_c = \frac1N\sum_n p(c\mid x_n)`) instead of counting argmax labels.

    Returns
    -------
    ndarray, shape (n_classes,), float64
        Non-negative, sums to one.
    """
    n_classes = check_int(n_classes, "n_classes")
    x = np.asarray(probs_or_labels)
    if x.size == 0:
        raise ValueError("probs_or_labels is empty")
    if x.ndim == 2:
        if x.shape[1] != n_classes:
            raise ValueError(f"probabilities must have shape (N, {n_classes}), got {x.shape}")
        if not np.issubdtype(x.dtype, np.floating):
            raise TypeError(f"probabilities must be floats, got dtype {x.dtype}")
        if not np.all(np.isfinite(x)) or x.min() < 0:
            raise ValueError("probabilities must be finite and non-negative")
        if not np.allclose(x.sum(axis=1), 1.0, atol=1e-3):
            raise ValueError("each row of probabilities must sum to 1")
        if soft:
            h = x.mean(axis=0, dtype=np.float64)
            return h / h.sum()
        x = np.argmax(x, axis=1)
    elif x.ndim != 1:
        raise ValueError(f"expected labels (N,) or probabilities (N, {n_classes}), got shape {x.shape}")
    elif soft:
        raise ValueError("soft=True needs probabilities of shape (N, n_classes), not labels")
    if not np.issubdtype(x.dtype, np.integer):
        raise TypeError(f"labels must be integers, got dtype {x.dtype}")
    if x.min() < 0 or x.max() >= n_classes:
        raise ValueError(f"labels must lie in 0..{n_classes - 1}, got [{x.min()}, {x.max()}]")
    return np.bincount(x, minlength=n_classes).astype(np.float64) / x.size


def _as_distribution(p, name):
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D probability vector, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or p.min() < 0:
        raise ValueError(f"{name} must be finite and non-negative")
    if abs(p.sum() - 1.0) > 1e-6:
        raise ValueError(f"{name} must sum to 1, sums to {p.sum():.6g}")
    return p


def tv_distance(p, q):
    r"""Total variation distance :math:`\mathrm{TV}(p, q) = \tfrac12\sum_c |p_c - q_c|`.

    Parameters
    ----------
    p, q : array_like, shape (C,)
        Probability vectors (non-negative, summing to one within 1e-6).

    Returns
    -------
    float
        In [0, 1]: 0 for identical, 1 for disjoint distributions.

    Notes
    -----
    For an empirical histogram of :math:`N` draws from :math:`q` the distance is not
    0 but of order :math:`\sum_c \sqrt{q_c(1-q_c)/(2\pi N)}` (about 0.04 for ten
    equally likely classes and :math:`N = 1000`), which is why
    :func:`sample_report` also reports the value for real digits.
    """
    p = _as_distribution(p, "p")
    q = _as_distribution(q, "q")
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same length, got {p.size} and {q.size}")
    return float(min(1.0, 0.5 * np.abs(p - q).sum()))


def mnist_class_frequencies(labels, n_classes=10):
    """Relative frequency of each digit in ``labels`` (e.g. MNIST training labels).

    Parameters
    ----------
    labels : array_like of int, shape (N,)

    Returns
    -------
    ndarray, shape (n_classes,), float64
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must have shape (N,), got {labels.shape}")
    return class_histogram(labels, n_classes=n_classes)


def tv_noise_floor(q, n: int, *, n_draws: int = 1000, rng=None) -> np.ndarray:
    """TV distances between ``q`` and histograms of ``n`` independent draws from ``q`` (the sampling noise).

    What a perfect sampler with perfect labels would score with ``n`` samples: compare a
    measured TV distance with a high quantile of these (e.g. the 95th percentile).

    Parameters
    ----------
    q : array_like, shape (C,)
        Class frequencies.
    n : int
        Samples per histogram (for correlated samples, their effective number).
    n_draws : int
        Histograms simulated.
    rng : None, int or numpy.random.Generator

    Returns
    -------
    ndarray, shape (n_draws,)
    """
    q = _as_distribution(q, "q")
    n = check_int(n, "n")
    counts = as_rng(rng).multinomial(int(n), q, size=int(n_draws))
    return 0.5 * np.abs(counts / n - q).sum(axis=1)


def tv_interval(p, q, n: int, *, level: float = 0.95, n_draws: int = 2000, rng=None) -> tuple[float, float]:
    """An interval for the TV distance of a histogram ``p`` of ``n`` (effective) samples to ``q``.

    A parametric bootstrap: histograms of ``n`` draws from ``p`` itself, their TV distances
    to ``q``, and the central ``level`` of those. Beside :func:`tv_noise_floor` (what a perfect
    sampler would score), it says how much the measured distance could move with other samples.

    Returns
    -------
    (low, high) : tuple of float
    """
    p, q = _as_distribution(p, "p"), _as_distribution(q, "q")
    n = check_int(n, "n")
    counts = as_rng(rng).multinomial(n, p, size=check_int(n_draws, "n_draws"))
    tv = 0.5 * np.abs(counts / n - q).sum(axis=1)
    lo, hi = np.quantile(tv, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def adversarial_accuracy(samples, real, *, metric="auto", batch=1024, return_parts=False):
    r"""Nearest-neighbour adversarial accuracy :math:`AA_{TS}` (Yale et al., 2020).

    A 1-nearest-neighbour "adversary" tries to tell real rows :math:`T` from synthetic
    rows :math:`S`: each point is classified correctly when its nearest neighbour in
    its own set (leave-one-out) is closer than its nearest neighbour in the other set,

    .. math::

        AA_{TS} = \frac12\left(
            \frac1n\sum_{i} \mathbf 1\!\left[d_{TS}(i) > d_{TT}(i)\right] +
            \frac1n\sum_{i} \mathbf 1\!\left[d_{ST}(i) > d_{SS}(i)\right]\right),

    where :math:`d_{TS}(i)` is the distance from real point :math:`i` to the nearest
    sample, :math:`d_{TT}(i)` to the nearest *other* real point, and so on.

    Interpretation: :math:`\approx 0.5` -- the adversary is at chance, the samples are
    indistinguishable from the real set; :math:`\to 0` -- every sample sits on top of a
    real point (copying / overfitting); :math:`\to 1` -- samples are far from the data
    (or from each other, e.g. mode collapse pulls :math:`d_{SS}` down and
    :math:`d_{TS}` up), easy to tell apart.  Ties count as "not correct".
    Read the two halves as well: in high dimension, noise that is far from the data
    but as spread out as the data gives a real-side accuracy near 1 and a
    sample-side accuracy near 0 -- an average of 0.5 that does *not* mean
    "indistinguishable".

    Parameters
    ----------
    samples : array_like, shape (n, D)
        Synthetic set :math:`S`: binary images, ``uint8`` grey values or probabilities
        in [0, 1].
    real : array_like, shape (n, D)
        Real set :math:`T` -- the *training* data to detect copying (compare with held-out
        data to measure generalisation; Yale et al. call the difference the privacy loss).
        Both sets must have the same size, because nearest-neighbour distances shrink
        as a set grows; subsample the larger one first.
    metric : {"auto", "euclidean", "hamming"}
        See :func:`nearest_distances`.
    batch : int
        Tile size for :func:`nearest_distances`.
    return_parts : bool
        Also return the two halves (real-side accuracy, sample-side accuracy).

    Returns
    -------
    float, or (float, float, float) when ``return_parts``.
    """
    s = pixel_rows(samples, "samples")
    t = pixel_rows(real, "real")
    if s.shape[0] != t.shape[0]:
        raise ValueError(
            f"samples and real must have the same number of rows (got {s.shape[0]} and "
            f"{t.shape[0]}); subsample the larger set"
        )
    if s.shape[0] < 2:
        raise ValueError("adversarial_accuracy needs at least 2 rows per set")
    if metric == "auto":
        metric = "hamming" if (is_binary(s) and is_binary(t)) else "euclidean"
    kw = dict(metric=metric, batch=batch)
    d_ts = nearest_distances(t, s, **kw)
    d_tt = nearest_distances(t, t, exclude_self=True, **kw)
    d_st = nearest_distances(s, t, **kw)
    d_ss = nearest_distances(s, s, exclude_self=True, **kw)
    aa_real = float(np.mean(d_ts > d_tt))
    aa_synth = float(np.mean(d_st > d_ss))
    aa = 0.5 * (aa_real + aa_synth)
    return (aa, aa_real, aa_synth) if return_parts else aa


# ----------------------------------------------------------------------------- the four analyses
def class_mix_scores(p_samples, p_reference, target):
    r"""Class proportions: TV distance of the samples' label histogram to the target frequencies.

    Parameters
    ----------
    p_samples : array_like, shape (n, n_classes)
        Classifier probabilities of the samples.
    p_reference : array_like, shape (m, n_classes)
        The same for real digits (ideally ``m = n``): the TV distance a perfect
        generator gets, sampling noise plus classifier errors.
    target : array_like, shape (n_classes,)
        Target class frequencies, e.g. :func:`mnist_class_frequencies` of the
        training labels.

    Returns
    -------
    dict
        ``histogram`` (n_classes,), ``target_frequencies`` (n_classes,),
        ``tv_distance``, ``reference_tv_distance``.
    """
    hist = class_histogram(p_samples)
    target = np.asarray(target, dtype=np.float64)
    return {
        "histogram": hist,
        "target_frequencies": target,
        "tv_distance": tv_distance(hist, target),
        "reference_tv_distance": tv_distance(class_histogram(p_reference), target),
    }


def confidence_scores(p_samples, p_reference):
    r"""Digit-likeness: mean classifier confidence :math:`\max_c p(c \mid v)`, samples and real digits.

    Parameters
    ----------
    p_samples : array_like, shape (n, n_classes)
    p_reference : array_like, shape (m, n_classes)

    Returns
    -------
    dict
        ``mean_confidence``, ``reference_confidence`` and ``confidence_gap``
        (reference minus samples; > 0 means the samples look less like digits).
    """
    conf = float(np.mean(np.max(p_samples, axis=1)))
    ref_conf = float(np.mean(np.max(p_reference, axis=1)))
    return {"mean_confidence": conf, "reference_confidence": ref_conf, "confidence_gap": ref_conf - conf}


def novelty_scores(samples, reference, train, *, copy_quantile=0.01):
    r"""Novelty: distances to the two nearest training digits, and the fraction of copies.

    With :math:`d_1 \le d_2` the Euclidean distances from an image to its two
    nearest training digits, an image is a copy when :math:`\rho = d_1 / d_2` is
    below the ``copy_quantile`` quantile of :math:`\rho` over the ``reference``
    digits (real digits the model never saw). See :func:`sample_report`.

    Parameters
    ----------
    samples : array_like, shape (n, 784)
    reference : array_like, shape (m, 784)
        Real held-out digits, in the samples' space (binarised when they are binary).
    train : array_like, shape (M, 784)
        Training digits (grey), M >= 2.
    copy_quantile : float in (0, 0.5)

    Returns
    -------
    dict
        ``nn_distance_median``, ``reference_nn_distance_median``, ``nn_distance_ratio``,
        ``copy_threshold``, ``copy_fraction``, ``copy_expected``.
    """
    if not 0 < copy_quantile < 0.5:
        raise ValueError(f"copy_quantile must lie in (0, 0.5), got {copy_quantile!r}")
    d_s = nearest_distances(samples, train, k=2, metric="euclidean")
    d_r = nearest_distances(reference, train, k=2, metric="euclidean")
    with np.errstate(divide="ignore", invalid="ignore"):
        rho_s = np.where(d_s[:, 1] > 0, d_s[:, 0] / d_s[:, 1], 1.0)
        rho_r = np.where(d_r[:, 1] > 0, d_r[:, 0] / d_r[:, 1], 1.0)
    threshold = float(np.quantile(rho_r, copy_quantile))
    med_s = float(np.median(d_s[:, 0]))
    med_r = float(np.median(d_r[:, 0]))
    return {
        "nn_distance_median": med_s,
        "reference_nn_distance_median": med_r,
        "nn_distance_ratio": med_s / med_r if med_r > 0 else float("nan"),
        "copy_threshold": threshold,
        "copy_fraction": float(np.mean(rho_s < threshold)),
        "copy_expected": float(np.mean(rho_r < threshold)),
    }


def aats_scores(samples, train, test, *, n_aats=None, rng=None):
    r"""Adversarial accuracy :math:`AA_{TS}` of the samples against training and test digits.

    Equal-size random subsets of ``n_aats`` samples, training digits and test digits
    are drawn; when the samples are binary the real digits are binarised and the
    Hamming distance is used, otherwise the Euclidean one.

    Parameters
    ----------
    samples : array_like, shape (n, 784)
    train : array_like, shape (M, 784)
    test : array_like, shape (K, 784)
    n_aats : int, optional
        Subset size, default ``min(n, M, K, 2000)``.
    rng : None, int or numpy.random.Generator

    Returns
    -------
    dict
        ``aats`` (samples vs training digits), ``aats_real`` and ``aats_samples`` (its
        two halves, see :func:`adversarial_accuracy`), ``aats_test`` (samples vs test
        digits), ``aats_reference`` (test vs training digits: what a perfect
        generator gets), ``privacy_loss`` (``aats_test - aats``), ``n_aats``,
        ``aats_metric``.
    """
    rng = as_rng(rng)
    s, train, test = pixel_rows(samples, "samples"), pixel_rows(train, "train"), pixel_rows(test, "test")
    n = s.shape[0]
    k = min(n, test.shape[0], train.shape[0], 2000 if n_aats is None else int(n_aats))
    if k < 2:
        raise ValueError(f"n_aats must be >= 2 (and every set needs 2 rows), got {n_aats!r}")
    binary = is_binary(s)
    metric = "hamming" if binary else "euclidean"
    s_k = s[rng.choice(n, size=k, replace=False)]
    tr_k = train[rng.choice(train.shape[0], size=k, replace=False)]
    te_k = test[rng.choice(test.shape[0], size=k, replace=False)]
    if binary:
        tr_k = binarize(tr_k, rng=rng)
        te_k = binarize(te_k, rng=rng)
    aats, aats_real, aats_synth = adversarial_accuracy(s_k, tr_k, metric=metric, return_parts=True)
    aats_test = adversarial_accuracy(s_k, te_k, metric=metric)
    return {
        "aats": aats,
        "aats_real": aats_real,
        "aats_samples": aats_synth,
        "aats_test": aats_test,
        "aats_reference": adversarial_accuracy(te_k, tr_k, metric=metric),
        "privacy_loss": aats_test - aats,
        "n_aats": int(k),
        "aats_metric": metric,
    }


# ----------------------------------------------------------------------------- report
def sample_report(
    samples,
    *,
    classifier,
    train_images,
    test_images,
    train_labels=None,
    test_labels=None,
    n_reference=None,
    n_aats=None,
    copy_quantile=0.01,
    rng=None,
):
    r"""Score generated digits against MNIST.

    Composes :func:`class_mix_scores`, :func:`confidence_scores`,
    :func:`novelty_scores` and :func:`aats_scores`. Each score on the samples comes
    with a *reference* value: the same computation on real MNIST test digits (never
    seen by the model), put in the samples' space -- stochastically binarized,
    :math:`v_i \sim \mathrm{Bernoulli}(x_i)`, when every sample is 0/1, gray
    otherwise. A perfect generator matches the reference.

    * **Class proportions**: TV distance between the classifier's label histogram on
      the samples and the target class frequencies (``reference_tv_distance``: the
      same for as many real digits -- sampling noise plus classifier errors).
    * **Digit-likeness**: mean classifier confidence :math:`\max_c p(c\mid v)`.
    * **Novelty**: Euclidean distances from each image to its two nearest *gray*
      training digits, :math:`d_1 \le d_2`.  ``nn_distance_median`` is the median
      :math:`d_1`.  A sample is counted as a **copy** when
      :math:`\rho = d_1/d_2` is below the ``copy_quantile`` quantile of :math:`\rho`
      on the reference digits: a copy of training digit :math:`j` is much closer to
      :math:`j` than to any other training digit, while a new digit is about as close
      to its first as to its second neighbour.  The ratio adapts to the local density
      of MNIST (a raw distance threshold flags every simple "1"); on binarized copies
      of training digits it flags ~90 % of them at ``copy_quantile=0.01``.  Since
      the threshold is a quantile of real new digits, a non-copying generator gets
      ``copy_fraction`` ≈ ``copy_expected`` (≈ ``copy_quantile``).
    * **Adversarial accuracy** :math:`AA_{TS}` (:func:`adversarial_accuracy`)
      between equal-size random subsets (``n_aats``) of the samples and of the
      training digits, in the samples' space (Hamming distance for binary samples,
      with the real digits binarized); ``aats_test`` uses test digits instead and
      ``privacy_loss = aats_test - aats`` (Yale et al.): clearly positive when the
      samples are closer to the training digits than to new ones.  ``aats_reference``
      is test versus train digits, ≈ 0.5.  Look at the two halves too: noise far
      from the data but spread as widely as the digits gives ``aats_real`` ≈ 1 and
      ``aats_samples`` ≈ 0 (in 784 dimensions, random images are all about
      equally far from everything), hence :math:`AA_{TS}` ≈ 0.5.  And because
      :math:`AA_{TS}` uses a random subset of the training digits, it only
      sees copies of digits in that subset; ``copy_fraction`` is the sharper
      copying test.

    Its time is dominated by the nearest-neighbour matrix products.

    Parameters
    ----------
    samples : array_like, shape (n, 784)
        Generated images, binary 0/1 or probabilities in [0, 1] (uint8 allowed).
    classifier : DigitClassifier
        From :func:`rbmlib.metrics.classifier.load_classifier`.
    train_images : array_like, shape (M, 784)
        MNIST training digits (uint8).
    test_images : array_like, shape (K, 784)
        MNIST test digits (uint8).
    train_labels : array_like, shape (M,), optional
        Gives the target class frequencies.  Without it the classifier's histogram
        on the reference test digits is used.
    test_labels : array_like, shape (K,), optional
        Only used to report the classifier's accuracy on the reference digits.
    n_reference : int, optional
        Number of test digits used as reference, default ``max(n, 1000)`` (capped at
        K); the confidence and TV references use the first ``n`` of them.
    n_aats : int, optional
        Set size for :math:`AA_{TS}`, default ``min(n, 2000)``: that many samples,
        training digits and test digits are drawn at random (the full training set
        would make :math:`AA_{TS}` meaningless, it needs equal-size sets).
    copy_quantile : float
        False-positive rate of the copy criterion on real new digits (see above).
    rng : None, int or numpy.random.Generator
        For the choice and binarisation of the reference digits and the
        :math:`AA_{TS}` subsets.

    Returns
    -------
    dict
        ``n_samples``, ``space`` ("binary"/"gray"), ``aats_metric``,
        ``histogram`` (n_classes,), ``target_frequencies``, ``tv_distance``,
        ``reference_tv_distance``, ``mean_confidence``, ``reference_confidence``,
        ``confidence_gap`` (reference minus samples; > 0 means less digit-like),
        ``nn_distance_median`` (samples to train), ``reference_nn_distance_median``
        (test to train), ``nn_distance_ratio`` (samples / reference medians),
        ``copy_threshold`` (on :math:`\rho`),
        ``copy_fraction``, ``copy_expected``, ``aats`` (samples vs train subsample),
        its two halves ``aats_real`` and ``aats_samples`` (see :func:`adversarial_accuracy`),
        ``aats_test`` (samples vs test subsample), ``aats_reference``
        (test vs train subsample: what a perfect generator gets),
        ``privacy_loss`` (``aats_test - aats``, Yale et al.), ``n_aats``, and
        ``reference_accuracy`` when ``test_labels`` is given.
        Numbers are Python floats, histograms numpy arrays.
    """
    rng = as_rng(rng)
    if not hasattr(classifier, "predict_proba"):
        raise TypeError("classifier must be a DigitClassifier (has predict_proba)")
    if not 0 < copy_quantile < 0.5:
        raise ValueError(f"copy_quantile must lie in (0, 0.5), got {copy_quantile!r}")
    s = pixel_rows(samples, "samples")
    train = pixel_rows(train_images, "train_images")
    test = pixel_rows(test_images, "test_images")
    for x, name in ((s, "samples"), (train, "train_images"), (test, "test_images")):
        if x.shape != (x.shape[0], 784) or x.shape[0] < 2:
            raise ValueError(f"{name} must have shape (N, 784) with at least 2 rows, got {x.shape}")
    n = s.shape[0]
    binary = is_binary(s)

    # reference digits in the samples' space: binarised when the samples are binary
    n_ref = min(test.shape[0], max(n, 1000) if n_reference is None else int(n_reference))
    if n_ref < 2:
        raise ValueError(f"n_reference must be >= 2, got {n_reference!r}")
    ref_idx = rng.choice(test.shape[0], size=n_ref, replace=False)
    ref = binarize(test[ref_idx], rng=rng) if binary else test[ref_idx]
    ref_same = ref[: min(n, n_ref)]  # as many as the samples, for the confidence and TV references

    p_s = classifier.predict_proba(s)
    p_r = classifier.predict_proba(ref_same)
    if train_labels is not None:
        target = mnist_class_frequencies(train_labels)
    else:
        target = class_histogram(classifier.predict_proba(ref))

    report = {"n_samples": int(n), "space": "binary" if binary else "gray"}
    report.update(class_mix_scores(p_s, p_r, target))
    report.update(confidence_scores(p_s, p_r))
    report.update(novelty_scores(s, ref, train, copy_quantile=copy_quantile))
    report.update(aats_scores(s, train, test, n_aats=n_aats, rng=rng))
    if test_labels is not None:
        y = np.asarray(test_labels)
        if y.shape != (test.shape[0],):
            raise ValueError(f"test_labels must have shape ({test.shape[0]},), got {y.shape}")
        report["reference_accuracy"] = float(np.mean(np.argmax(p_r, axis=1) == y[ref_idx[: len(ref_same)]]))
    return report


def within_class_spread(samples, sample_labels, real, real_labels, *, n_classes: int = 10, rng=None) -> list[dict]:
    r"""How varied the samples of each class are, against real digits of that class: not a few prototypes.

    For every class :math:`c`, the median distance from each sample labelled :math:`c` to its
    nearest *other* sample of that class (leave-one-out), and the same for as many real digits
    of class :math:`c` drawn at random. A generator that repeats a few prototypes per class
    has much smaller distances than the real digits; one as varied as the data, about the same.

    Parameters
    ----------
    samples, real : array_like, shapes (N, D) and (M, D)
        Binary images (0/1).
    sample_labels, real_labels : array_like of int, shapes (N,) and (M,)
        Classifier labels of the samples; labels of the real digits.
    n_classes : int
    rng : None, int or numpy.random.Generator
        Draws the real digits.

    Returns
    -------
    list of dict
        Per class with at least two samples and two real digits: ``class``, ``n`` (samples of the
        class), ``samples`` and ``real`` (the median nearest-neighbour distances, Euclidean) and
        ``ratio`` (samples / real).
    """
    s, r = pixel_rows(samples, "samples"), pixel_rows(real, "real")
    ys, yr = np.asarray(sample_labels), np.asarray(real_labels)
    if ys.shape != (len(s),) or yr.shape != (len(r),):
        raise ValueError(f"labels must have shapes ({len(s)},) and ({len(r)},), got {ys.shape} and {yr.shape}")
    rng = as_rng(rng)
    rows = []
    for c in range(check_int(n_classes, "n_classes")):
        mine, theirs = s[ys == c], r[yr == c]
        n = min(len(mine), len(theirs))
        if n < 2:
            continue
        theirs = theirs[rng.choice(len(theirs), size=n, replace=False)]
        mine = mine[rng.choice(len(mine), size=n, replace=False)]
        d_s = float(np.median(nearest_distances(mine, mine, exclude_self=True, metric="euclidean")))
        d_r = float(np.median(nearest_distances(theirs, theirs, exclude_self=True, metric="euclidean")))
        rows.append({"class": c, "n": n, "samples": d_s, "real": d_r, "ratio": d_s / d_r})
    return rows
