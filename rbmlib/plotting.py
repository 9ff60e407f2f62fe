"""Figures for MNIST images and RBM parameters.

All functions build their figure with :func:`matplotlib.pyplot.subplots` and
return the :class:`~matplotlib.figure.Figure` without calling ``plt.show()``.
In a notebook the figure appears when the cell finishes; end the line with
``;`` (or assign the result) so it is not shown a second time as the cell's
value. Close figures you no longer need with ``plt.close(fig)``.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

from .data import check_probs
from .validation import check_int

__all__ = ["plot_me", "plot_weights", "plot_biases", "tile_images", "grid_shape"]

SIDE = 28  # MNIST images are 28 x 28


def grid_shape(n: int, ncols: int | None = None) -> tuple[int, int]:
    """Rows and columns of a grid for ``n`` tiles.

    Default ``ncols = ceil(sqrt(n))`` (so 64 -> 8 x 8, 10 -> 3 rows x 4 columns).
    """
    if n < 1:
        raise ValueError(f"need at least one image, got {n}")
    if ncols is None:
        ncols = math.ceil(math.sqrt(n))
    ncols = min(check_int(ncols, "ncols"), n)
    return math.ceil(n / ncols), ncols


def _side(n_pixels: int, what: str) -> int:
    side = math.isqrt(n_pixels)
    if side * side != n_pixels:
        raise ValueError(f"{what}: {n_pixels} pixels per image is not a square number (MNIST has 784 = 28 x 28)")
    return side


def tile_images(images: np.ndarray, ncols: int | None = None, pad: int = 1, fill: float = np.nan) -> np.ndarray:
    """Arrange images ``(n, side, side)`` into one mosaic 2-D array.

    Tiles are separated by ``pad`` pixels of value ``fill``; empty grid cells
    are ``fill`` too (NaN is drawn as the axes background).
    """
    n, h, w = images.shape
    rows, cols = grid_shape(n, ncols)
    out = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad), fill, dtype=np.float32)
    for k in range(n):
        r, c = divmod(k, cols)
        out[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = images[k]
    return out


def _as_unit_images(images) -> np.ndarray:
    """Validate images and return float32 values in [0, 1], shape (n, side, side)."""
    x = check_probs(images)
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / np.float32(255)
    if x.ndim == 1:  # a single flat image
        x = x[None, :]
    if x.ndim == 2:
        if x.shape[0] == 0:
            raise ValueError("images is empty (shape (0, ...))")
        side = _side(x.shape[1], "images")
        return x.reshape(-1, side, side)
    if x.ndim == 3 and x.shape[1] == x.shape[2]:
        if x.shape[0] == 0:
            raise ValueError("images is empty (shape (0, ...))")
        return x
    raise ValueError(f"images must have shape (n, 784), (n, 28, 28) or (784,), got {np.shape(images)}")


def plot_me(images, *, ax=None, title=None, ncols=None):
    """Show flat MNIST images as a grid (the assignment's ``PlotMe``).

    Parameters
    ----------
    images : array_like, shape (n, 784), (n, 28, 28) or (784,)
        ``uint8`` grey values 0..255, or floats (probabilities or 0/1 samples)
        in [0, 1]. 64 images give an 8 x 8 grid; other counts use
        ``ceil(sqrt(n))`` columns.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; default: a new figure.
    title : str, optional
        Axes title.
    ncols : int, optional
        Number of grid columns (overrides the default).

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the grid (``ax.figure`` when ``ax`` was given).

    Raises
    ------
    ValueError
        On shapes that are not square images, or values outside [0, 1].
    TypeError
        On non-numeric input.
    """
    x = _as_unit_images(images)
    rows, cols = grid_shape(len(x), ncols)
    if ax is None:
        scale = min(1.0, 8.0 / max(rows, cols))  # 8 x 8 grid -> 8 x 8 inch figure at most
        fig, ax = plt.subplots(figsize=(max(2.0, cols * scale), max(2.0, rows * scale)))
    else:
        fig = ax.figure
    mosaic = tile_images(x, ncols=cols, pad=1, fill=np.nan)
    cmap = plt.get_cmap("gray").with_extremes(bad="tab:gray")
    ax.imshow(mosaic, cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title)
    return fig


def plot_rows(rows, *, title=None, width=12.0, row_height=1.0):
    """Show several sets of images one above the other, one labelled row each.

    The book's way of comparing an input, what a model makes of it and the original, image by image.

    Parameters
    ----------
    rows : sequence of (str, array_like)
        ``(label, images)`` pairs; every ``images`` has shape ``(n, 784)`` (the same ``n`` for
        every row) and is drawn as one row of ``n`` images by :func:`plot_me`.
    title : str, optional
        Figure title.
    width, row_height : float
        Figure width and the height of one row, in inches.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        When ``rows`` is empty or the rows hold different numbers of images.
    """
    rows = list(rows)
    if not rows:
        raise ValueError("rows is empty: give at least one (label, images) pair")
    counts = {len(_as_unit_images(images)) for _, images in rows}
    if len(counts) != 1:
        raise ValueError(f"every row must hold the same number of images, got {sorted(counts)}")
    (n,) = counts
    fig, axes = plt.subplots(len(rows), 1, figsize=(width, row_height * len(rows) + 0.6), layout="constrained")
    for ax, (label, images) in zip(np.atleast_1d(axes), rows, strict=True):
        plot_me(images, ax=ax, ncols=n, title=label)
    if title is not None:
        fig.suptitle(title)
    return fig


def _params(rbm):
    try:
        W = np.asarray(rbm.W, dtype=np.float64)
        a = np.asarray(rbm.a, dtype=np.float64)
        b = np.asarray(rbm.b, dtype=np.float64)
    except AttributeError as exc:
        raise TypeError(f"expected an RBM with attributes W, a, b; {exc}") from None
    if W.ndim != 2 or a.shape != (W.shape[0],) or b.shape != (W.shape[1],):
        raise ValueError(
            f"inconsistent RBM parameters: W {W.shape}, a {a.shape}, b {b.shape} "
            "(expected W (n_visible, n_hidden), a (n_visible,), b (n_hidden,))"
        )
    return W, a, b


def plot_weights(rbm, *, ncols=None):
    r"""Show each hidden unit's weights :math:`W_{:, j}` as a 28 x 28 image.

    Each tile is scaled to its own range (minimum white, maximum black with
    ``plt.cm.binary``), so the *pattern* a hidden unit responds to is visible
    even when units have very different weight norms.

    Parameters
    ----------
    rbm : RBM
        Any object with ``W`` of shape ``(n_visible, n_hidden)`` (``n_visible``
        a square number, 784 for MNIST), ``a`` and ``b``.
    ncols : int, optional
        Number of grid columns; default ``ceil(sqrt(n_hidden))``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    W, _, _ = _params(rbm)
    side = _side(W.shape[0], "rbm.W")
    tiles = W.T.reshape(-1, side, side)
    lo = tiles.min(axis=(1, 2), keepdims=True)
    span = tiles.max(axis=(1, 2), keepdims=True) - lo
    tiles = np.where(span > 0, (tiles - lo) / np.where(span > 0, span, 1.0), 0.5)
    rows, cols = grid_shape(len(tiles), ncols)
    mosaic = tile_images(tiles, ncols=cols, pad=1, fill=np.nan)
    scale = min(1.0, 10.0 / max(rows, cols))
    fig, ax = plt.subplots(figsize=(max(3.0, cols * scale), max(3.0, rows * scale) + 0.3))
    cmap = plt.cm.binary.with_extremes(bad="tab:gray")
    ax.imshow(mosaic, cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"weights of {W.shape[1]} hidden units", fontsize="medium")
    return fig


def plot_biases(rbm):
    """Show the visible biases ``a`` as an image and histograms of ``b`` and ``W``.

    Parameters
    ----------
    rbm : RBM
        Object with ``W`` (n_visible, n_hidden), ``a`` (n_visible,), ``b`` (n_hidden,);
        ``n_visible`` must be a square number.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels: ``a`` as a 28 x 28 image with colour bar, histogram of
        the hidden biases ``b``, histogram of all weights ``W``.
    """
    W, a, b = _params(rbm)
    side = _side(a.size, "rbm.a")
    fig, (ax_a, ax_b, ax_w) = plt.subplots(1, 3, figsize=(12, 3.6), layout="constrained")
    lim = float(np.max(np.abs(a))) or 1.0
    im = ax_a.imshow(a.reshape(side, side), cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
    ax_a.set_xticks([])
    ax_a.set_yticks([])
    ax_a.set_title("visible biases $a$")
    fig.colorbar(im, ax=ax_a, shrink=0.85)
    ax_b.hist(b, bins=min(50, max(5, b.size // 2)), color="tab:blue")
    ax_b.set_title(f"hidden biases $b$ ({b.size})")
    ax_b.set_xlabel("value")
    ax_b.set_ylabel("count")
    ax_w.hist(W.ravel(), bins=100, color="tab:orange")
    ax_w.set_title(f"weights $W$ ({W.shape[0]} x {W.shape[1]})")
    ax_w.set_xlabel("value")
    return fig
