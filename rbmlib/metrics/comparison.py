r"""Comparison sets for discrimination ("is this a digit?"): images that are not digits.

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
  statistics, different shapes.

Every function takes ``rng`` (None, an int or a Generator; :func:`rbmlib.rng.as_rng`).
:func:`rbmlib.metrics.ood.auroc` summarises how well a score separates digits from
such a set.
"""

from __future__ import annotations

import functools
import os

import matplotlib
import numpy as np
from matplotlib.ft2font import FT2Font
from scipy import ndimage

from ..data import binarize, check_probs
from ..rng import as_rng
from ..validation import check_int, check_number

__all__ = [
    "MNIST_MEAN_DENSITY",
    "LETTERS",
    "LETTER_FONTS",
    "uniform_noise",
    "density_noise",
    "letters",
]

#: Mean pixel intensity of the 60 000 MNIST training digits, on the [0, 1] scale
#: (uint8 / 255): 0.13066.  A binarized digit has on average
#: 784 * 0.13066 = 102.4 pixels on.
MNIST_MEAN_DENSITY = 0.13066

#: The 52 letters drawn by :func:`letters` by default.
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

#: Font files (in matplotlib's ``mpl-data/fonts/ttf``) used by :func:`letters`.
LETTER_FONTS = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSans-BoldOblique.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf",
    "DejaVuSerif-BoldItalic.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSansMono-Oblique.ttf",
    "DejaVuSansMono-BoldOblique.ttf",
    "STIXGeneral.ttf",
    "STIXGeneralItalic.ttf",
    "STIXGeneralBol.ttf",
    "STIXGeneralBolIta.ttf",
    "cmr10.ttf",
    "cmss10.ttf",
    "cmti10.ttf",
    "cmtt10.ttf",
    "cmb10.ttf",
)

#: Range of the pen width drawn for each letter, in pixels of the 20x20 box as
#: measured by the distance-transform estimate (4 x mean distance of ink to background).
#: Calibrated so that the letters' mean ink, ~0.13, matches MNIST's (0.131).
STROKE_WIDTH = (2.8, 4.8)

_GLYPH_PT = 64  # render size in points at 72 dpi: glyphs ~45-60 px tall before normalisation


# ----------------------------------------------------------------------------- noise
def uniform_noise(n, *, rng=None):
    """Images whose pixel intensities are independent and uniform on 0..255.

    After binarization every pixel is on with probability ~1/2 -- about 392 pixels
    on, four times the ink of a digit.

    Parameters
    ----------
    n : int
        Number of images.
    rng : None, int or numpy.random.Generator

    Returns
    -------
    ndarray, shape (n, 784), uint8
    """
    n = check_int(n, "n", low=0)
    rng = as_rng(rng)
    return rng.integers(0, 256, size=(n, 784), dtype=np.uint8)


def density_noise(n, *, rng=None, density=None, marginals=None):
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
    rng : None, int or numpy.random.Generator
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
    n = check_int(n, "n", low=0)
    rng = as_rng(rng)
    if marginals is not None:
        if density is not None:
            raise ValueError("pass either density or marginals, not both")
        p = check_probs(marginals, name="marginals")
        if p.shape != (784,):
            raise ValueError(f"marginals must have shape (784,), got {p.shape}")
    else:
        p = MNIST_MEAN_DENSITY if density is None else density
        p = np.float64(check_number(p, "density", low=0.0, high=1.0))
    return binarize(np.broadcast_to(p, (n, 784)), rng=rng).astype(np.uint8) * np.uint8(255)


# ----------------------------------------------------------------------------- letters
def _font_path(name):
    path = os.path.join(matplotlib.get_data_path(), "fonts", "ttf", name)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"font file {name} not found in matplotlib's data directory")
    return path


@functools.cache
def _font(name):
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
    img = img[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
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
        0.0,
        None,
    )
    return overlap / overlap.sum(axis=1, keepdims=True)


def _mnist_normalise(img):
    """Fit the ink into a 20x20 box (aspect kept, area-averaged) and centre it in 28x28 by mass."""
    mask = img > 0.05
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    img = img[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
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
    out[top : top + oh, left : left + ow] = small
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
    canvas[y0 : y0 + h, x0 : x0 + w] = glyph
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


@functools.cache
def _disk(r):
    y, x = np.mgrid[-r : r + 1, -r : r + 1]
    return (x * x + y * y) <= r * r + r


def letters(n, *, rng=None, chars=LETTERS, fonts=LETTER_FONTS, distort=1.0):
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
    rng : None, int or numpy.random.Generator
        The only source of randomness: the same seed or generator state gives the same images.
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
    n = check_int(n, "n", low=0)
    rng = as_rng(rng)
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
