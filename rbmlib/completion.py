r"""Recall: drop part of an image, clamp the rest, and let Gibbs sampling fill it in.

With the known pixels :math:`v_K` clamped, block Gibbs sampling draws from the
conditional :math:`p(v_U \mid v_K)` of the unknown pixels, so the RBM completes the
image the way a Hopfield network recalls a memory.

A chain gives a sequence of completions; three ways to turn it into one answer
(:func:`recall_estimates`, :func:`recall`):

* ``"last"``: :math:`p(v_U \mid h)` of the last Gibbs step, one draw of the hidden units;
* ``"mean"``: the **posterior mean** :math:`E[v_U \mid v_K]`, estimated by averaging
  :math:`p(v_U \mid h)` over the steps after a burn-in and over several independent
  chains. It answers "what does the missing part look like on average": it is the
  completion with the smallest expected squared error under the model, and where the
  known half fits several digits it is a blend of them;
* ``"vote"``: the **posterior mode of the label**, by a classifier's vote: each of
  many completions along the chains is labelled, the label most of them get is the
  answer to "which digit was it", and the completion returned is the mean of the
  completions that got that label.
"""

from __future__ import annotations

import numpy as np

from . import _engine
from .data import as_binary
from .model import RBM
from .rng import as_rng
from .validation import check_choice, check_int, check_mask, check_memory

__all__ = ["HALVES", "ESTIMATORS", "STARTS", "half_mask", "clamped_chains", "recall_estimates", "recall"]

#: The ways of dropping half of a 28x28 image; the name is the half that is dropped.
HALVES = ("top", "bottom", "left", "right", "random")

#: The completions :func:`recall` can return (see the module docstring).
ESTIMATORS = ("last", "mean", "vote")

#: Starting values of the unknown pixels: all off, or fair random bits.
STARTS = ("zeros", "random")


def half_mask(kind: str, *, rng=None, side: int = 28) -> np.ndarray:
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


def clamped_chains(rbm: RBM, images, mask, steps: int, *, burn_in: int = 0, n_chains: int = 1, start="zeros", rng=None):
    r"""Run clamped Gibbs chains for every image and yield their states after the burn-in.

    Each of the ``n_chains`` chains per image starts from the known pixels of the image
    and ``start`` values for the unknown ones, then alternates
    :math:`h \sim p(h \mid v)` and :math:`v \sim p(v \mid h)`, resetting the known
    pixels after every step. This is block Gibbs sampling of
    :math:`p(v_U, h \mid v_K)`, so after the burn-in the unknown pixels are draws from
    the model's conditional :math:`p(v_U \mid v_K)`.

    Parameters
    ----------
    rbm : RBM
    images : array_like, shape (N, n_visible)
        Binary images (0/1); ``uint8`` or probability images are binarised first.
    mask : array_like of bool, shape (n_visible,) or (N, n_visible)
        True where a pixel is known and clamped.
    steps : int
        Total number of Gibbs steps, burn-in included (>= 1).
    burn_in : int
        Steps run before the first state is yielded (0 <= burn_in < steps).
    n_chains : int
        Independent chains per image (>= 1).
    start : {"zeros", "random"}
        Starting values of the unknown pixels: all off (a blank half, the default)
        or fair random bits. On MNIST, blank starts reach the typical completions
        faster: random bits put about 200 pixels of ink into the empty half, and the
        chain takes hundreds of steps to clear them.
    rng : None, int or numpy.random.Generator

    Yields
    ------
    v : ndarray, shape (n_chains, N, n_visible)
        The visible states after each of the steps ``burn_in + 1, ..., steps``; known
        pixels equal the input.
    p : ndarray, shape (n_chains, N, n_visible)
        :math:`p(v \mid h)` of that step; known pixels show their clamped value.

    Notes
    -----
    The yielded arrays are views of the sampler's buffers, overwritten by the next
    step: copy what you keep.
    """
    rng = as_rng(rng)
    steps = check_int(steps, "steps")
    burn_in = check_int(burn_in, "burn_in", low=0)
    if burn_in >= steps:
        raise ValueError(f"burn_in must be smaller than steps, got burn_in={burn_in}, steps={steps}")
    n_chains = check_int(n_chains, "n_chains")
    check_choice(start, "start", STARTS)
    v0 = as_binary(images, rbm.n_visible, rng=rng, dtype=rbm.dtype)
    known = np.broadcast_to(check_mask(mask, rbm.n_visible, rows=len(v0)), v0.shape)
    n, d = v0.shape
    check_memory(4.0 * n_chains * v0.size * rbm.dtype.itemsize, f"{n_chains} clamped chains for {n} images")
    fixed = np.tile(v0, (n_chains, 1))
    clamp = np.tile(known, (n_chains, 1))
    if start == "zeros":
        v = np.where(clamp, fixed, 0).astype(rbm.dtype)
    else:
        v = np.where(clamp, fixed, rng.random(fixed.shape) < 0.5).astype(rbm.dtype)
    engine = _engine.GibbsChains(rbm.W, rbm.a, rbm.b, v, _engine.key_from(rng), clamp=clamp)
    if burn_in:
        engine.run(burn_in, want_p=False)  # the same chains as burn_in single steps
    for _ in range(steps - burn_in):
        p = engine.run(1)
        yield v.reshape(n_chains, n, d), p.reshape(n_chains, n, d)


class _Ballot:
    """Running tally of the labels given to completions: per image and label, a count and a sum of images."""

    def __init__(self):
        self.count, self.total = {}, {}

    def add(self, labels, images):
        labels = np.asarray(labels)
        if labels.shape != images.shape[:1]:
            raise ValueError(f"classifier.predict returned shape {labels.shape}, expected ({images.shape[0]},)")
        for label in np.unique(labels):
            hit = labels == label
            if label not in self.count:
                self.count[label] = np.zeros(images.shape[0], dtype=np.int64)
                self.total[label] = np.zeros(images.shape, dtype=np.float64)
            self.count[label] += hit
            self.total[label][hit] += images[hit]

    def result(self):
        """Majority label per image (ties: the first label in sorted order), its share, the mean of its images."""
        names = sorted(self.count)
        counts = np.stack([self.count[k] for k in names])
        best = counts.argmax(axis=0)
        rows = np.arange(counts.shape[1])
        image = np.empty(self.total[names[0]].shape)
        for j, k in enumerate(names):
            sel = best == j
            image[sel] = self.total[k][sel] / counts[j, sel, None]
        return np.asarray(names)[best], counts[best, rows] / counts.sum(axis=0), image


def recall_estimates(
    rbm: RBM,
    images,
    mask,
    steps: int,
    *,
    burn_in: int | None = None,
    n_chains: int = 1,
    classifier=None,
    vote_every: int = 10,
    start="zeros",
    rng=None,
) -> dict:
    r"""Complete images from their known pixels in the three ways of :data:`ESTIMATORS`, from one run.

    Runs :func:`clamped_chains` and keeps, for every image,

    .. math::

        \hat v_U^{\text{mean}} = \frac{1}{C\,(T - B)} \sum_{c=1}^{C} \sum_{t=B+1}^{T}
        p\bigl(v_U = 1 \mid h^{(c, t)}\bigr),

    the average over the ``n_chains`` :math:`C` and the steps after the burn-in
    :math:`B` of the visible probabilities. Its expectation under the chain's
    stationary distribution is exactly :math:`P(v_U = 1 \mid v_K)` (a Rao-Blackwellised
    estimate: each term averages out the last visible draw).

    Parameters
    ----------
    rbm, images, mask, steps, n_chains
        As :func:`clamped_chains` (``steps`` per chain, burn-in included).
    burn_in : int, optional
        Steps discarded before averaging (default ``steps // 2``).
    classifier : object with ``predict(images) -> labels``, optional
        Labels the completions for the ``"vote"`` estimator (e.g.
        :func:`rbmlib.metrics.classifier.load_classifier`); without it there is no vote.
    vote_every : int
        Label :math:`p(v \mid h)` every ``vote_every`` steps after the burn-in, in every chain.
    start : {"zeros", "random"}
        Starting values of the unknown pixels (see :func:`clamped_chains`).
    rng : None, int or numpy.random.Generator

    Returns
    -------
    dict
        ``"sample"``: the last visible state of the first chain, shape (N, n_visible);
        ``"last"``: its :math:`p(v \mid h)`; ``"mean"``: the posterior mean above; with
        a classifier also ``"vote"`` (the mean of the labelled completions that got
        the majority label), ``"vote_label"`` (N,) and ``"vote_share"`` (N,), the
        fraction of labelled completions that agree with it. Known pixels equal the
        (binarised) input in every image.
    """
    steps = check_int(steps, "steps")
    burn_in = steps // 2 if burn_in is None else burn_in
    vote_every = check_int(vote_every, "vote_every")
    if classifier is not None and not callable(getattr(classifier, "predict", None)):
        raise TypeError("classifier must have a predict(images) method")
    total = None
    ballot = _Ballot()
    chain = clamped_chains(rbm, images, mask, steps, burn_in=burn_in, n_chains=n_chains, start=start, rng=rng)
    for i, state in enumerate(chain):
        p = state[1]
        total = p.sum(axis=0, dtype=np.float64) if total is None else total + p.sum(axis=0, dtype=np.float64)
        if classifier is not None and (i + 1) % vote_every == 0:
            for c in range(p.shape[0]):
                ballot.add(classifier.predict(p[c]), p[c])
    out = {
        "sample": state[0][0].copy(),
        "last": p[0].copy(),
        "mean": (total / (n_chains * (steps - burn_in))).astype(rbm.dtype),
    }
    if classifier is not None:
        if not ballot.count:
            raise ValueError(
                f"no completion was labelled: vote_every={vote_every} exceeds the {steps - burn_in} steps after burn-in"
            )
        winner, share, image = ballot.result()
        out.update(vote=image.astype(rbm.dtype), vote_label=winner, vote_share=share)
    return out


def recall(
    rbm: RBM,
    images,
    mask,
    steps: int,
    *,
    rng=None,
    estimator: str = "last",
    burn_in: int | None = None,
    n_chains: int = 1,
    classifier=None,
    vote_every: int = 10,
    start="zeros",
):
    r"""Complete images from their known pixels by clamped Gibbs sampling.

    Parameters
    ----------
    rbm : RBM
    images : array_like, shape (N, n_visible)
        Binary images (0/1). ``uint8`` or probability images are binarised first.
    mask : array_like of bool, shape (n_visible,) or (N, n_visible)
        True where a pixel is known and clamped.
    steps : int
        Gibbs steps (per chain, burn-in included).
    rng : None, int or numpy.random.Generator
    estimator : {"last", "mean", "vote"}
        Which completion ``p`` is (see the module docstring): :math:`p(v_U \mid h)` of
        the last step, the posterior mean over the chains after ``burn_in``, or the
        mean of the completions that carry the label most of them get (needs
        ``classifier``).
    burn_in : int, optional
        For ``"mean"`` and ``"vote"``: steps discarded first (default ``steps // 2``).
    n_chains : int
        For ``"mean"`` and ``"vote"``: independent chains per image.
    classifier : object with ``predict(images) -> labels``, optional
        For ``"vote"``.
    vote_every : int
        For ``"vote"``: label the completion every ``vote_every`` steps after the burn-in.
    start : {"zeros", "random"}
        Starting values of the unknown pixels (see :func:`clamped_chains`).

    Returns
    -------
    v : ndarray, shape (N, n_visible)
        The final sample (of the first chain); known pixels equal the input.
    p : ndarray, shape (N, n_visible)
        The completion: probabilities for the unknown pixels, the input elsewhere.

    See Also
    --------
    recall_estimates : all three completions (and the voted labels) from one run.
    """
    check_choice(estimator, "estimator", ESTIMATORS)
    if estimator == "last" and n_chains != 1:
        raise ValueError("estimator='last' uses one chain; pass estimator='mean' or 'vote' to average chains")
    if estimator == "vote" and classifier is None:
        raise ValueError("estimator='vote' needs a classifier")
    if estimator == "last":
        burn_in = steps - 1 if isinstance(steps, (int, np.integer)) and steps >= 1 else 0
    out = recall_estimates(
        rbm,
        images,
        mask,
        steps,
        burn_in=burn_in,
        n_chains=n_chains,
        classifier=classifier if estimator == "vote" else None,
        vote_every=vote_every,
        start=start,
        rng=rng,
    )
    return out["sample"], out[estimator]
