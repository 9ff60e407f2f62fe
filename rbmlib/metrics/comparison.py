r"""Comparison sets for discrimination ("is this a digit?") and the AUROC.

An RBM trained on digits assigns each image a free energy :math:`F(v)`; a good
model gives digits lower :math:`F` than images that are not digits.  This module
supplies the "not digits" -- all as uint8 intensity images of shape (N, 784), so
they go through the same stochastic binarization as MNIST:

* :func:`uniform_noise` -- every pixel intensity uniform on 0..255;
* :func:`density_noise` -- Bernoulli pixels with MNIST's ink density, so that
  the number of "on" pixels matches that of binarized digits;
* :func:`letters` -- handwriting-like letters A-Z / a-z rendered from the fonts
  shipped with matplotlib, distorted and normalised exactly like MNIST digits
  (20x20 box, centred by centre of mass in 28x28): the hard case, same stroke
  statistics, different shapes;
* :func:`emnist_letters` -- real handwritten letters, only where torchvision
  and the network are available (never required).

and :func:`auroc` to summarise how well a score separates two sets.
"""

from __future__ import annotations

import functools
import os

import numpy as np
from scipy import ndimage
from scipy.stats import rankdata

__all__ = [
    "MNIST_MEAN_DENSITY",
    "LETTERS",
    "LETTER_FONTS",
    "uniform_noise",
    "density_noise",
    "letters",
    "emnist_letters",
    "auroc",
]

#: Mean pixel intensity of the 60 000 MNIST training digits, on the [0, 1] scale
#: (uint8 / 255): 0.13066.  A binarized digit has on average
#: 784 * 0.13066 = 102.4 pixels on.
MNIST_MEAN_DENSITY = 0.13066

#: The 52 letters drawn by :func:`letters` by default.
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

#: Font files (in matplotlib's ``mpl-data/fonts/ttf``) used by :func:`letters`.
LETTER_FONTS = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf",
    "DejaVuSans-BoldOblique.ttf",
    "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf",
    "DejaVuSerif-BoldItalic.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSansMono-Oblique.ttf",
    "DejaVuSansMono-BoldOblique.ttf",
    "STIXGeneral.ttf", "STIXGeneralItalic.ttf", "STIXGeneralBol.ttf", "STIXGeneralBolIta.ttf",
    "cmr10.ttf", "cmss10.ttf", "cmti10.ttf", "cmtt10.ttf", "cmb10.ttf",
)

#: Range of the pen width drawn for each letter, in pixels of the 20x20 box as
#: measured by the distance-transform estimate (4 x mean distance of ink to background).
#: Calibrated so that the letters' mean ink, ~0.13, matches MNIST's (0.131).
STROKE_WIDTH = (2.8, 4.8)

_GLYPH_PT = 64  # render size in points at 72 dpi: glyphs ~45-60 px tall before normalisation


def _check_n(n):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    return int(n)


def _check_rng(rng):
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}"
        )
    return rng


# ----------------------------------------------------------------------------- noise
def uniform_noise(n, rng):
    """Images whose pixel intensities are independent and uniform on 0..255.

    After binarization every pixel is on with probability ~1/2 -- about 392 pixels
    on, four times the ink of a digit.

    Parameters
    ----------
    n : int
        Number of images.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (n, 784), uint8
    """
    n = _check_n(n)
    rng = _check_rng(rng)
    return rng.integers(0, 256, size=(n, 784), dtype=np.uint8)


def density_noise(n, rng, density=None, *, marginals=None):
    r"""Binary noise with MNIST's ink density.

    Pixels are independent, :math:`v_i \sim \mathrm{Bernoulli}(\rho)` with
    :math:`\rho` = :data:`MNIST_MEAN_DENSITY` = 0.13066 by default, so the expected
    number of on pixels (102) matches a binarized digit; only the *arrangement* of
    the ink differs.  With ``marginals`` each pixel gets its own probability
    :math:`\rho_i` (e.g. the MNIST mean image): the per-pixel statistics of digits
    without their correlations.

    Parameters
    ----------
    n : int
        Number of images.
    rng : numpy.random.Generator
    density : float in [0, 1], optional
        Probability that a pixel is on (default :data:`MNIST_MEAN_DENSITY`).
    marginals : array_like, shape (784,), optional
        Per-pixel on-probabilities: floats in [0, 1] or uint8 (divided by 255).
        Excludes ``density``.

    Returns
    -------
    ndarray, shape (n, 784), uint8
        Values 0 and 255 only.
    """
    n = _check_n(n)
    rng = _check_rng(rng)
    if marginals is not None:
        if density is not None:
            raise ValueError("pass either density or marginals, not both")
        p = np.asarray(marginals)
        if p.shape != (784,):
            raise ValueError(f"marginals must have shape (784,), got {p.shape}")
        p = p / 255.0 if p.dtype == np.uint8 else p.astype(np.float64)
        if not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1:
            raise ValueError("marginals must lie in [0, 1] (or be uint8)")
    else:
        p = MNIST_MEAN_DENSITY if density is None else density
        if not isinstance(p, (float, int, np.floating, np.integer)) or isinstance(p, bool) \
                or not 0 <= p <= 1:
            raise ValueError(f"density must be a number in [0, 1], got {density!r}")
        p = float(p)
    return np.where(rng.random((n, 784)) < p, np.uint8(255), np.uint8(0))


# ----------------------------------------------------------------------------- letters
def _font_path(name):
    import matplotlib

    path = os.path.join(matplotlib.get_data_path(), "fonts", "ttf", name)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"font file {name} not found in matplotlib's data directory")
    return path


@functools.lru_cache(maxsize=None)
def _font(name):
    from matplotlib.ft2font import FT2Font

    font = FT2Font(_font_path(name))
    font.set_size(_GLYPH_PT, 72)
    return font


@functools.lru_cache(maxsize=4096)
def _glyph(font_name, char):
    """Anti-aliased rendering of one glyph, float32 in [0, 1], cropped to its ink."""
    font = _font(font_name)
    if font.get_char_index(ord(char)) == 0:
        raise ValueError(f"font {font_name} has no glyph for {char!r}")
    font.set_text(char, 0.0)
    font.draw_glyphs_to_bitmap(antialiased=True)
    img = np.asarray(font.get_image(), dtype=np.float32) / 255.0
    rows = np.flatnonzero(img.max(axis=1) > 0.05)
    cols = np.flatnonzero(img.max(axis=0) > 0.05)
    if rows.size == 0:
        raise ValueError(f"font {font_name} renders {char!r} empty")
    img = img[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    img.setflags(write=False)
    return img


@functools.lru_cache(maxsize=4096)
def _stroke_width(font_name, char):
    """Typical stroke width of a glyph in pixels: 4 x mean distance-to-background over its ink.

    (For a straight stroke of width w the distance to the background rises linearly
    from 0 to w/2 across it, so its mean is w/4.)
    """
    ink = _glyph(font_name, char) > 0.5
    edt = ndimage.distance_transform_edt(np.pad(ink, 1))
    return 4.0 * float(edt[np.pad(ink, 1)].mean())


def _area_matrix(n_in, n_out):
    """(n_out, n_in) matrix averaging input cells over each output cell (box filter)."""
    edges = np.linspace(0.0, n_in, n_out + 1)
    lo = np.arange(n_in)
    overlap = np.clip(
        np.minimum(edges[1:, None], lo[None, :] + 1) - np.maximum(edges[:-1, None], lo[None, :]),
        0.0, None,
    )
    return overlap / overlap.sum(axis=1, keepdims=True)


def _mnist_normalise(img):
    """Fit the ink into a 20x20 box (aspect kept, area-averaged) and centre it in 28x28 by mass."""
    mask = img > 0.05
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    img = img[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = img.shape
    scale = 20.0 / max(h, w)
    oh, ow = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
    small = _area_matrix(h, oh) @ img @ _area_matrix(w, ow).T
    small = np.clip(small / max(small.max(), 1e-6), 0.0, 1.0)  # strokes reach full intensity
    mass = small.sum()
    cy = (small.sum(axis=1) @ np.arange(oh)) / mass
    cx = (small.sum(axis=0) @ np.arange(ow)) / mass
    top = int(np.clip(np.rint(14.0 - cy), 0, 28 - oh))
    left = int(np.clip(np.rint(14.0 - cx), 0, 28 - ow))
    out = np.zeros((28, 28), dtype=np.float32)
    out[top:top + oh, left:left + ow] = small
    return out


def _distort(glyph, rng, strength, stroke_change):
    """Random affine (rotation, shear, anisotropic scale) + elastic jitter + stroke width.

    ``stroke_change`` (pixels, at the glyph's resolution) is the wanted change of the
    stroke width: > 0 thickens by grey dilation, < 0 thins by grey erosion.
    """
    h, w = glyph.shape
    size = int(np.ceil(1.6 * max(h, w))) + 8
    canvas = np.zeros((size, size), dtype=np.float32)
    y0, x0 = (size - h) // 2, (size - w) // 2
    canvas[y0:y0 + h, x0:x0 + w] = glyph
    c = (size - 1) / 2.0

    angle = np.deg2rad(rng.uniform(-15, 15) * strength)
    shear = rng.uniform(-0.3, 0.3) * strength
    sy, sx = np.exp(rng.uniform(-0.15, 0.15, size=2) * strength)
    # output coordinate -> input coordinate (inverse map), about the centre
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    fwd = rot @ np.array([[1.0, 0.0], [shear, 1.0]]) @ np.diag([sy, sx])
    inv = np.linalg.inv(fwd)

    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    yy -= c
    xx -= c
    src_y = inv[0, 0] * yy + inv[0, 1] * xx + c
    src_x = inv[1, 0] * yy + inv[1, 1] * xx + c
    # elastic jitter: smooth random displacement field (as in Simard et al. 2003, built from
    # coarse white noise for speed), scaled to a peak displacement alpha
    sigma = 0.12 * size
    alpha = 0.6 * sigma * strength
    smooth = _gaussian_matrix(size, sigma)
    for coords in (src_y, src_x):
        field = smooth @ rng.uniform(-1, 1, (smooth.shape[1],) * 2).astype(np.float32) @ smooth.T
        peak = np.abs(field).max()
        if peak > 0:
            coords += alpha * field / peak
    out = ndimage.map_coordinates(canvas, [src_y, src_x], order=1, mode="constant", cval=0.0)

    # stroke thickness: grey dilation (thicker) or erosion (thinner), disk of radius |t|
    t = int(np.rint(stroke_change / 2.0))
    if t > 0:
        out = ndimage.grey_dilation(out, footprint=_disk(t))
    elif t < 0:
        eroded = ndimage.grey_erosion(out, footprint=_disk(-t))
        if eroded.max() > 0.5:  # never erase a thin glyph
            out = eroded
    return out


@functools.lru_cache(maxsize=256)
def _gaussian_matrix(size, sigma, n_coarse=10):
    """(size, n_coarse) matrix G: G @ X @ G.T spreads white noise X on a coarse
    n_coarse x n_coarse grid into a smooth size x size field (Gaussian kernel of width sigma)."""
    fine = np.arange(size, dtype=np.float32)
    coarse = np.linspace(-sigma, size - 1 + sigma, n_coarse, dtype=np.float32)
    g = np.exp(-0.5 * ((fine[:, None] - coarse[None, :]) / np.float32(sigma)) ** 2)
    g.setflags(write=False)
    return g


@functools.lru_cache(maxsize=None)
def _disk(r):
    y, x = np.mgrid[-r:r + 1, -r:r + 1]
    return (x * x + y * y) <= r * r + r


def letters(n, rng, *, chars=LETTERS, fonts=LETTER_FONTS, distort=1.0):
    """Handwriting-like letters, normalised like MNIST digits.

    Every image is one character drawn uniformly from ``chars``, rendered
    (anti-aliased) from a font drawn uniformly from ``fonts`` -- the DejaVu, STIX
    and Computer Modern families shipped with matplotlib, upright, bold, oblique
    and italic -- and then distorted at high resolution:

    * rotation :math:`\\pm 15°`, shear :math:`\\pm 0.3`, independent x/y scaling
      :math:`e^{\\pm 0.15}`;
    * elastic jitter: a Gaussian-smoothed random displacement field
      (Simard et al., 2003), which wobbles the strokes like a hand would;
    * stroke width: the font's stroke width (estimated from the distance transform)
      is brought to a random pen width drawn from :data:`STROKE_WIDTH` (pixels at
      the final 20x20 scale) by grey dilation or erosion with a disk.

    Then the MNIST normalisation: the ink is scaled (anti-aliased, aspect ratio
    kept) to fit a 20x20 box and pasted into a 28x28 image so that its centre of
    mass sits at pixel (14, 14), as for the digits.

    Some letters (O, l, I, S, Z, B, g, q, ...) resemble digits; pass ``chars`` to
    leave them out.

    Parameters
    ----------
    n : int
        Number of images.
    rng : numpy.random.Generator
        The only source of randomness: the same generator state gives the same images.
    chars : str
        Characters to draw from (default: the 52 letters A-Z, a-z).
    fonts : sequence of str
        Font file names in matplotlib's ``mpl-data/fonts/ttf``.
    distort : float >= 0
        Scales all distortions (0: undistorted glyphs, only normalised).

    Returns
    -------
    images : ndarray, shape (n, 784), uint8
    labels : ndarray, shape (n,), dtype '<U1'
        The character in each image.

    Notes
    -----
    Glyph renders are cached, so after the first call 1000 letters take about a
    second.
    """
    n = _check_n(n)
    rng = _check_rng(rng)
    if not isinstance(chars, str) or len(chars) == 0:
        raise ValueError("chars must be a non-empty string")
    fonts = tuple(fonts)
    if len(fonts) == 0:
        raise ValueError("fonts must name at least one font file")
    if not isinstance(distort, (int, float, np.floating)) or not 0 <= distort <= 3:
        raise ValueError(f"distort must be a number in [0, 3], got {distort!r}")
    for f in fonts:
        _font_path(f)
    char_idx = rng.integers(0, len(chars), size=n)
    font_idx = rng.integers(0, len(fonts), size=n)
    out = np.empty((n, 784), dtype=np.uint8)
    # pen width wanted in the final 20x20 box (see STROKE_WIDTH)
    target = rng.uniform(*STROKE_WIDTH, size=n)
    for i in range(n):
        font, char = fonts[font_idx[i]], chars[char_idx[i]]
        glyph = _glyph(font, char)
        if distort > 0:
            wanted = target[i] * max(glyph.shape) / 20.0
            img = _distort(glyph, rng, float(distort), wanted - _stroke_width(font, char))
        else:
            img = glyph
        out[i] = np.rint(_mnist_normalise(img) * 255.0).astype(np.uint8).ravel()
    labels = np.array([chars[j] for j in char_idx], dtype="<U1")
    return out, labels


# ----------------------------------------------------------------------------- EMNIST
def emnist_letters(n, rng=None, *, train=False, data_dir=None):
    """Handwritten letters from EMNIST (split "letters"), MNIST-oriented uint8 images.

    Optional: needs ``torchvision`` and, unless the files are already in
    ``data_dir``, network access to download them.  Nothing else in rbmlib
    depends on it; use :func:`letters` where it is unavailable.

    Parameters
    ----------
    n : int
        Number of images (drawn without replacement).
    rng : numpy.random.Generator, optional
        For the random subset (default: a fresh unseeded generator).
    train : bool
        Draw from the EMNIST training split instead of the test split.
    data_dir : str or Path, optional
        Where torchvision keeps the files (default ``<rbmlib data dir>/../emnist``).

    Returns
    -------
    images : ndarray, shape (n, 784), uint8
    labels : ndarray, shape (n,), dtype '<U1'
        Upper-case letters 'A'..'Z' (EMNIST merges the cases).

    Raises
    ------
    rbmlib.data.DataError
        When torchvision is not installed or the data cannot be obtained.
    """
    from rbmlib.data import DataError, default_data_dir

    n = _check_n(n)
    rng = np.random.default_rng() if rng is None else _check_rng(rng)
    try:
        import torchvision  # noqa: F401
        from torchvision.datasets import EMNIST
    except Exception as exc:  # ImportError, or a broken torch install
        raise DataError(
            "emnist_letters needs torchvision, which is not importable "
            f"({type(exc).__name__}: {exc}). Install it (pip install torchvision) or use "
            "rbmlib.ood.letters, which renders letters from fonts and needs nothing extra."
        ) from exc
    root = os.fspath(data_dir) if data_dir is not None else os.fspath(default_data_dir().parent / "emnist")
    try:
        ds = EMNIST(root, split="letters", train=train, download=True)
        data = np.asarray(ds.data.numpy(), dtype=np.uint8)
        targets = np.asarray(ds.targets.numpy())
    except Exception as exc:
        raise DataError(
            f"could not load EMNIST letters into {root} ({type(exc).__name__}: {exc}); "
            "the download needs network access. Use rbmlib.ood.letters instead."
        ) from exc
    if n > len(data):
        raise ValueError(f"n={n} exceeds the {len(data)} EMNIST images available")
    idx = rng.choice(len(data), size=n, replace=False)
    images = data[idx].transpose(0, 2, 1).reshape(n, 784)  # EMNIST is stored transposed
    labels = np.array([chr(ord("A") + int(t) - 1) for t in targets[idx]], dtype="<U1")
    return np.ascontiguousarray(images), labels


# ----------------------------------------------------------------------------- AUROC
def auroc(scores_pos, scores_neg):
    r"""Area under the ROC curve, via the Mann-Whitney U statistic.

    .. math::

        \mathrm{AUROC} = P(s^+ > s^-) + \tfrac12 P(s^+ = s^-),

    the probability that a randomly chosen positive scores *higher* than a randomly
    chosen negative, ties counting one half.  1 = perfect separation, 0.5 = chance
    (e.g. identical sets), 0 = perfectly reversed.  Pass scores where larger means
    "more positive": e.g. to separate digits (positive) from noise using the free
    energy, use ``auroc(-F(digits), -F(noise))``.

    Parameters
    ----------
    scores_pos : array_like, shape (n_pos,)
        Scores of the positives (1-D, finite).
    scores_neg : array_like, shape (n_neg,)
        Scores of the negatives.

    Returns
    -------
    float
        In [0, 1].

    Notes
    -----
    Computed from the average ranks of the pooled scores in
    :math:`O((n_+ + n_-)\log(n_+ + n_-))`:
    :math:`U = R_+ - n_+(n_+ + 1)/2`, :math:`\mathrm{AUROC} = U / (n_+ n_-)`,
    where :math:`R_+` is the rank sum of the positives.
    """
    pos = _as_scores(scores_pos, "scores_pos")
    neg = _as_scores(scores_neg, "scores_neg")
    ranks = rankdata(np.concatenate([pos, neg]))  # average ranks for ties
    n_pos, n_neg = pos.size, neg.size
    u = ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


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
