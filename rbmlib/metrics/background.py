r"""Simple, exactly normalised densities of binary images: backgrounds for likelihood ratios.

A likelihood ratio :math:`\log p_\text{RBM}(v) - \log p_\text{bg}(v)`
(:func:`rbmlib.metrics.ood.likelihood_ratio`) keeps what the RBM knows about an
image beyond what a *background* model knows. Every model here has a ``fit`` and a
``log_prob`` method, so they can be swapped:

* :class:`IndependentPixels` -- every pixel its own coin, :math:`p(v) = \prod_i q_i^{v_i}
  (1 - q_i)^{1 - v_i}`, with the training digits' pixel means: ink *where* digits have ink;
* :class:`ContextModel` -- every pixel predicted from a few already-seen neighbours
  (a causal template), one table for all positions:

  .. math::

      p(v) = \prod_{i} p\bigl(v_i \mid v_{\mathcal C(i)}\bigr),

  read in raster order (row by row, left to right), where :math:`\mathcal C(i)` are
  the template's neighbours of pixel :math:`i` above it or to its left (pixels
  outside the image count as 0). This is the model of the context-based coders for
  binary images, such as JBIG: its negative log-likelihood is the code length such a
  coder achieves. With a small template it knows how strokes continue locally,
  nothing about the shape they draw;
* :class:`RBMDensity` -- an RBM with its log partition function, :math:`-F(v) - \log Z`.

All ``log_prob`` methods take binary images (0/1) and return nats.
"""

from __future__ import annotations

import numpy as np

from ..data import as_binary, as_binary_images
from ..model import RBM
from ..validation import check_int, check_number

__all__ = ["TEMPLATES", "IndependentPixels", "ContextModel", "RBMDensity"]

#: Causal templates for :class:`ContextModel`: offsets (row, column) of the neighbours a
#: pixel is predicted from, in rows above or to the left in the same row.
TEMPLATES = {
    "left": ((0, -1),),
    "left+up": ((0, -1), (-1, 0)),
    # the pixel's four neighbours seen earlier in raster order: left, up-left, up, up-right
    "4": ((-1, -1), (-1, 0), (-1, 1), (0, -1)),
    # two more: two to the left and two up
    "6": ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, -2), (-2, 0)),
    # JBIG's three-line template (10 pixels)
    "jbig": ((-2, -1), (-2, 0), (-2, 1), (-1, -2), (-1, -1), (-1, 0), (-1, 1), (-1, 2), (0, -2), (0, -1)),
    # a wider one (16 pixels)
    "16": (
        *((-2, x) for x in range(-2, 3)),
        *((-1, x) for x in range(-3, 4)),
        (0, -4),
        (0, -3),
        (0, -2),
        (0, -1),
    ),
}


class IndependentPixels:
    r"""Independent Bernoulli pixels: :math:`\log p(v) = \sum_i v_i \log q_i + (1 - v_i)\log(1 - q_i)`.

    Parameters
    ----------
    prior : float
        Pseudo-count added to the "on" and the "off" count of every pixel when
        fitting (a Beta(prior, prior) prior), so that no pixel gets probability 0 or 1.

    Attributes
    ----------
    q : ndarray, shape (n_pixels,)
        :math:`P(v_i = 1)` after :meth:`fit`.
    """

    def __init__(self, prior: float = 0.5):
        self.prior = check_number(prior, "prior", low=0.0, open_low=True)
        self.q = None

    def fit(self, images, *, rng=None) -> IndependentPixels:
        """Estimate :math:`q_i` from training images (0/1, or grey, binarised once with ``rng``).

        Returns ``self``.
        """
        v = as_binary(images, None, rng=rng)
        self.q = (v.sum(axis=0, dtype=np.float64) + self.prior) / (v.shape[0] + 2 * self.prior)
        return self

    def log_prob(self, images) -> np.ndarray:
        r""":math:`\log p(v)` in nats, shape (N,), for binary images of shape (N, n_pixels)."""
        if self.q is None:
            raise RuntimeError("call fit() first")
        v = as_binary_images(images, self.q.size).astype(np.float64)
        return v @ np.log(self.q) + (1 - v) @ np.log1p(-self.q)


class ContextModel:
    r"""A causal context model of binary images: each pixel predicted from a few earlier neighbours.

    .. math::

        \log p(v) = \sum_i \log p\bigl(v_i \mid c_i\bigr), \qquad
        p(v_i = 1 \mid c) = \frac{n_1(c) + \alpha}{n(c) + 2\alpha},

    where :math:`c_i` is the pattern of the template's neighbours of pixel :math:`i`
    (:math:`2^{|\mathcal C|}` possible contexts, shared by all positions),
    :math:`n(c)` and :math:`n_1(c)` count how often context :math:`c` occurs in the
    training images and how often its pixel is on, and :math:`\alpha` is the prior.
    Because every pixel is predicted only from pixels before it in raster order, the
    product is a normalised distribution over all :math:`2^{n}` images.

    Parameters
    ----------
    template : str or sequence of (int, int)
        A name in :data:`TEMPLATES` or offsets (row, column) with row < 0, or row 0
        and column < 0 (earlier in raster order).
    side : int
        Image side length (28 for MNIST).
    prior : float
        The pseudo-count :math:`\alpha` > 0.
    """

    def __init__(self, template="4", side: int = 28, prior: float = 0.5):
        offsets = TEMPLATES[template] if isinstance(template, str) and template in TEMPLATES else template
        if isinstance(offsets, str):
            raise ValueError(f"unknown template {template!r}; choose one of {', '.join(TEMPLATES)}")
        offsets = tuple((int(dy), int(dx)) for dy, dx in offsets)
        if not offsets or len(offsets) > 24 or len(set(offsets)) != len(offsets):
            raise ValueError(f"template must hold 1 to 24 distinct offsets, got {offsets}")
        if any(not (dy < 0 or (dy == 0 and dx < 0)) for dy, dx in offsets):
            raise ValueError(
                f"template offsets must point to earlier pixels (row < 0, or row 0 and column < 0): {offsets}"
            )
        side = check_int(side, "side")
        prior = check_number(prior, "prior", low=0.0, open_low=True)
        self.offsets, self.side, self.prior = offsets, side, prior
        self.counts = None  # (2**len(offsets), 2): how often each context was seen with the pixel off, on

    @property
    def n_contexts(self) -> int:
        return 1 << len(self.offsets)

    def contexts(self, images) -> np.ndarray:
        """The context index of every pixel, shape (N, side*side), for binary images."""
        v = as_binary_images(images, self.side * self.side)
        n, s = v.shape[0], self.side
        pad = max(max(-dy, abs(dx)) for dy, dx in self.offsets)
        grid = np.zeros((n, s + pad, s + 2 * pad), dtype=np.uint32)
        grid[:, pad:, pad : pad + s] = v.reshape(n, s, s)
        index = np.zeros((n, s, s), dtype=np.uint32)
        for bit, (dy, dx) in enumerate(self.offsets):
            index |= grid[:, pad + dy : pad + dy + s, pad + dx : pad + dx + s] << np.uint32(bit)
        return index.reshape(n, s * s)

    def fit(self, images, *, rng=None, batch: int = 10000) -> ContextModel:
        """Count contexts in training images (0/1, or grey, binarised once with ``rng``). Returns ``self``."""
        v = as_binary(images, self.side * self.side, rng=rng)
        counts = np.zeros((self.n_contexts, 2))
        for i in range(0, v.shape[0], batch):
            chunk = v[i : i + batch]
            c = self.contexts(chunk).ravel()
            on = chunk.ravel() > 0.5
            counts[:, 1] += np.bincount(c[on], minlength=self.n_contexts)
            counts[:, 0] += np.bincount(c[~on], minlength=self.n_contexts)
        self.counts = counts
        return self

    def pixel_probs(self, images) -> np.ndarray:
        r""":math:`p(v_i = 1 \mid c_i)` for every pixel of binary images, shape (N, side*side)."""
        if self.counts is None:
            raise RuntimeError("call fit() first")
        p_on = (self.counts[:, 1] + self.prior) / (self.counts.sum(axis=1) + 2 * self.prior)
        return p_on[self.contexts(images)]

    def log_prob(self, images) -> np.ndarray:
        r""":math:`\log p(v)` in nats, shape (N,), for binary images of shape (N, side*side)."""
        v = as_binary_images(images, self.side * self.side)
        p = self.pixel_probs(v)
        return np.where(v > 0.5, np.log(p), np.log1p(-p)).sum(axis=1)


class RBMDensity:
    r"""An RBM as a density: :math:`\log p(v) = -F(v) - \log Z`.

    Parameters
    ----------
    rbm : RBM
    log_z : float
        Its log partition function (exact for small models, AIS otherwise:
        :func:`rbmlib.evaluate.log_partition`). Differences and rankings of
        ``log_prob`` within one model do not depend on it.
    """

    def __init__(self, rbm: RBM, log_z: float):
        if not isinstance(rbm, RBM):
            raise TypeError(f"rbm must be an RBM, got {type(rbm).__name__}")
        log_z = float(log_z)
        if not np.isfinite(log_z):
            raise ValueError(f"log_z must be finite, got {log_z}")
        self.rbm, self.log_z = rbm, log_z

    def fit(self, images, *, rng=None) -> RBMDensity:
        """Nothing to fit: the RBM is trained already (here for the common interface). Returns ``self``."""
        return self

    def log_prob(self, images) -> np.ndarray:
        r""":math:`-F(v) - \log Z` in nats, shape (N,), for binary images."""
        v = as_binary_images(images, self.rbm.n_visible)
        return -self.rbm.free_energy(v).astype(np.float64) - self.log_z
