r"""Images as the RBM sees them: validation, stochastic binarisation and random chain starts.

The RBM in this project is a *binary* model: visible units :math:`v_i \in \{0, 1\}`.
MNIST pixels are grey values :math:`x_i \in \{0, \dots, 255\}`; we treat
:math:`p_i = x_i / 255` as the probability that pixel :math:`i` is on and draw
:math:`v_i \sim \mathrm{Bernoulli}(p_i)` afresh every time an image is used
(:func:`binarize`; training does the same draws inside the engine's training kernel).
"""

from __future__ import annotations

import numpy as np

from .. import _engine
from ..rng import as_rng
from ..validation import check_memory

#: Seed that binarises the MNIST test set once for every log-likelihood and
#: discrimination figure (the CLI's ``evaluate``, the book, the benchmarks).
TEST_BINARIZE_SEED = 20081


def check_probs(p, *, name: str = "images") -> np.ndarray:
    """Validate pixel values of any shape: ``uint8`` grey values, bools, 0/1 integers or floats in [0, 1].

    This is rbmlib's one image validator (:func:`as_images` adds the shape check).

    Parameters
    ----------
    p : array_like
        ``uint8`` is read as grey values :math:`x / 255`; ``bool`` and other integer
        dtypes must hold only 0 and 1; floats must be finite and lie in :math:`[0, 1]`.
    name : str
        Used in error messages.

    Returns
    -------
    ndarray
        ``uint8`` arrays unchanged, everything else as a floating array (``float32``,
        or ``float64`` if the input was ``float64``).

    Raises
    ------
    TypeError
        Non-numeric, complex or object arrays.
    ValueError
        NaN or infinite values, floats outside [0, 1], integers other than 0/1.
    """
    x = np.asarray(p)
    if x.dtype == np.uint8:
        return x
    if x.dtype == np.bool_:
        return x.astype(np.float32)
    if x.dtype == object or np.iscomplexobj(x) or not np.issubdtype(x.dtype, np.number):
        raise TypeError(
            f"{name} must be a real numeric array (uint8 grey values or probabilities), got dtype {x.dtype}"
        )
    if np.issubdtype(x.dtype, np.integer):
        if x.size and (x.min() < 0 or x.max() > 1):
            raise ValueError(
                f"{name}: integer arrays other than uint8 must hold only 0 and 1, got values in "
                f"[{x.min()}, {x.max()}]; pass uint8 grey values (0..255) or floats in [0, 1]"
            )
        return x.astype(np.float32)
    x = x.astype(np.float64 if x.dtype == np.float64 else np.float32, copy=False)
    if x.size:
        lo, hi = np.min(x), np.max(x)  # NaN propagates into both
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError(f"{name} contains NaN or infinite values")
        if lo < 0 or hi > 1:
            raise ValueError(
                f"{name}: probabilities must lie in [0, 1], got values in [{lo:.4g}, {hi:.4g}] "
                "(pass uint8 for 0..255 grey values)"
            )
    return x


def as_images(
    images, n_pixels: int | None = 784, *, name: str = "images", keep_uint8: bool = False, allow_empty: bool = False
) -> np.ndarray:
    """Validate a batch of images and return it as rows, shape ``(N, n_pixels)``.

    Parameters
    ----------
    images : array_like, shape (N, n_pixels) or (n_pixels,)
        Values as accepted by :func:`check_probs`; a single image is made a row.
    n_pixels : int or None
        Required row length (``None``: any).
    name : str
        Used in error messages.
    keep_uint8 : bool
        Return ``uint8`` grey values as they are instead of as probabilities.
    allow_empty : bool
        Accept ``N = 0``.

    Returns
    -------
    ndarray, shape (N, n_pixels)
        ``float32`` (or ``float64``) probabilities in [0, 1], or ``uint8`` with ``keep_uint8``.
    """
    x = check_probs(images, name=name)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or (n_pixels is not None and x.shape[1] != n_pixels):
        want = f"(N, {n_pixels})" if n_pixels is not None else "(N, n_pixels)"
        raise ValueError(f"{name} must have shape {want}, got {np.shape(images)}")
    if x.shape[0] == 0 and not allow_empty:
        raise ValueError(f"{name} is empty")
    if x.dtype == np.uint8 and not keep_uint8:
        return x.astype(np.float32) / np.float32(255)
    return x


def as_binary_images(images, n_pixels: int | None = None, *, name: str = "images") -> np.ndarray:
    """Validate binary images: rows of 0/1 values, shape (N, n_pixels), float32.

    A density of binary images is evaluated at binary images only, so grey values
    (``uint8`` or probabilities strictly between 0 and 1) are an error here:
    binarise them first (:func:`binarize`).

    Raises
    ------
    TypeError
        Non-numeric input.
    ValueError
        Wrong shape, NaN or values outside [0, 1] (one message from :func:`as_images`),
        or values other than 0 and 1.
    """
    if np.asarray(images).dtype == np.uint8:
        raise ValueError(f"{name}: uint8 grey values are not binary images; binarise them first (rbmlib.data.binarize)")
    x = as_images(images, n_pixels, name=name)
    if not np.all((x == 0) | (x == 1)):
        raise ValueError(f"{name} must be binary (0/1); binarise grey images first (rbmlib.data.binarize)")
    return x.astype(np.float32, copy=False)


def binarize(p, *, rng=None, out=None) -> np.ndarray:
    r"""Draw binary images :math:`v \sim \mathrm{Bernoulli}(p)`, elementwise.

    rbmlib's one binarisation rule: this function (test sets, monitor sets, comparison
    sets, chain starts from probabilities) and the training kernel's fresh draw of every
    minibatch use the same draw of the engine.

    Parameters
    ----------
    p : array_like
        Pixel probabilities, any shape: ``uint8`` grey values, read as
        :math:`p = x / 255` (so 0 is always off and 255 always on), or values accepted by
        :func:`check_probs`.
    rng : None, int or numpy.random.Generator
    out : ndarray, optional
        Where to write the result (same shape; any real dtype).

    Returns
    -------
    ndarray, float32 (or ``out``), same shape as ``p``
        Zeros and ones with :math:`P(v_i = 1) = p_i`.

    Raises
    ------
    TypeError, ValueError
        As :func:`check_probs`.

    Notes
    -----
    A 32-bit random word :math:`u` (Philox, addressed by pixel and row under a key drawn
    from ``rng``) turns a grey value :math:`x` into :math:`v = [\lfloor 255 u / 2^{32}
    \rfloor < x]`, so :math:`P(v = 1) = x / 255` within :math:`2^{-32}`; a probability
    :math:`p` into :math:`v = [\lfloor u / 2^8 \rfloor < 2^{24} p]` (24-bit resolution).
    """
    p = check_probs(p, name="p")
    if out is None:
        check_memory(4.0 * p.size, f"binarising {p.size} pixels")
        out = np.empty(p.shape, dtype=np.float32)
    elif np.shape(out) != p.shape:
        raise ValueError(f"out must have shape {p.shape}, got {np.shape(out)}")
    return _engine.binarize(p, _engine.key_from(as_rng(rng)), out)


def as_binary(images, n_pixels: int | None = 784, *, rng=None, dtype=np.float32, name: str = "images"):
    """``images`` as binary (0/1) rows: input that is already 0/1 is kept, anything else binarised.

    Parameters
    ----------
    images : array_like, shape (N, n_pixels)
        ``uint8`` grey values, probabilities or 0/1 images (see :func:`as_images`).
    n_pixels : int or None
    rng : None, int or numpy.random.Generator
        Used only when the input is not already binary.
    dtype : numpy dtype
    name : str

    Returns
    -------
    ndarray, shape (N, n_pixels), ``dtype``
    """
    x = as_images(images, n_pixels, name=name, keep_uint8=True)
    if x.dtype != np.uint8 and np.all((x == 0) | (x == 1)):
        return x.astype(dtype)
    return binarize(x, rng=rng).astype(dtype, copy=False)


def random_bits(n: int, n_units: int, *, rng=None, dtype=np.float32) -> np.ndarray:
    """``n`` rows of independent fair 0/1 bits: the random starts of Markov chains.

    Parameters
    ----------
    n, n_units : int
    rng : None, int or numpy.random.Generator
    dtype : numpy dtype

    Returns
    -------
    ndarray, shape (n, n_units)
    """
    check_memory(float(n) * n_units * (4 + np.dtype(dtype).itemsize), f"{n} random starts of {n_units} units")
    return (as_rng(rng).random((int(n), int(n_units)), dtype=np.float32) < 0.5).astype(dtype)


def binarize_fixed(images) -> np.ndarray:
    """``images`` (rows) binarised once with :data:`TEST_BINARIZE_SEED`: the same 0/1 images every time.

    Every log-likelihood and discrimination figure of rbmlib uses the test set
    binarised this way, so that they can be compared.
    """
    return binarize(as_images(images, None, keep_uint8=True), rng=TEST_BINARIZE_SEED)
