"""Tests for rbmlib.plotting (Agg backend, no display)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from rbmlib.plotting import grid_shape, plot_biases, plot_me, plot_rows, plot_weights, tile_images


@pytest.fixture
def rng():
    return np.random.default_rng(7)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


class StandIn:
    """Minimal object with the RBM parameter attributes."""

    def __init__(self, n_hidden, rng, n_visible=784):
        self.W = rng.normal(0, 0.1, (n_visible, n_hidden)).astype(np.float32)
        self.a = rng.normal(0, 1, n_visible).astype(np.float32)
        self.b = rng.normal(0, 1, n_hidden).astype(np.float32)


def _image(fig):
    (ax,) = fig.axes
    (im,) = ax.get_images()
    return ax, np.ma.filled(im.get_array(), np.nan)


@pytest.mark.parametrize("n, shape", [(64, (8, 8)), (1, (1, 1)), (10, (3, 4)), (100, (10, 10)), (3, (2, 2))])
def test_grid_shape(n, shape):
    assert grid_shape(n) == shape


def test_grid_shape_ncols():
    assert grid_shape(10, ncols=5) == (2, 5)
    assert grid_shape(3, ncols=10) == (1, 3)
    with pytest.raises(ValueError):
        grid_shape(0)


def test_plot_me_64_uint8(rng):
    x = rng.integers(0, 256, (64, 784), dtype=np.uint8)
    fig = plot_me(x, title="samples")
    assert isinstance(fig, Figure)
    ax, img = _image(fig)
    assert img.shape == (8 * 29 - 1, 8 * 29 - 1)
    assert ax.get_xticks().size == 0 and ax.get_yticks().size == 0
    assert ax.get_title() == "samples"
    # top-left tile is the first image scaled to [0, 1]
    np.testing.assert_allclose(img[:28, :28], x[0].reshape(28, 28) / 255.0, rtol=1e-6)
    # second tile in the first row is the second image (row-major grid)
    np.testing.assert_allclose(img[:28, 29:57], x[1].reshape(28, 28) / 255.0, rtol=1e-6)
    fig.canvas.draw()


def test_plot_me_float_and_other_counts(rng):
    x = rng.random((10, 784))
    fig = plot_me(x)
    _, img = _image(fig)
    assert img.shape == (3 * 29 - 1, 4 * 29 - 1)
    assert np.isnan(img[-28:, -28:]).all()  # empty grid cells stay blank


def test_plot_me_single_and_3d(rng):
    _, img = _image(plot_me(rng.random(784)))
    assert img.shape == (28, 28)
    _, img = _image(plot_me(rng.random((4, 28, 28)) > 0.5))
    assert img.shape == (57, 57)


def test_plot_me_into_given_axes(rng):
    fig, (ax1, ax2) = plt.subplots(1, 2)
    out = plot_me(rng.random((64, 784)), ax=ax2)
    assert out is fig
    assert ax2.get_images() and not ax1.get_images()


@pytest.mark.parametrize(
    "bad, exc, match",
    [
        (np.zeros((64, 780)), ValueError, "square"),
        (np.zeros((2, 3, 4, 5)), ValueError, "shape"),
        (np.zeros((0, 784)), ValueError, "empty"),
        (np.full((2, 784), 1.5), ValueError, r"\[0, 1\]"),
        (np.full((2, 784), np.nan), ValueError, "NaN"),
        (np.full((2, 784), 255, dtype=np.int64), ValueError, "uint8"),
        (np.array([["a"] * 784]), TypeError, "dtype"),
    ],
)
def test_plot_me_bad_input(bad, exc, match):
    with pytest.raises(exc, match=match):
        plot_me(bad)


def test_tile_images_padding():
    t = tile_images(np.ones((2, 2, 2)), ncols=2, pad=1, fill=0.0)
    np.testing.assert_array_equal(t, [[1, 1, 0, 1, 1], [1, 1, 0, 1, 1]])


def _rbm_objects(rng, n_hidden):
    objs = [StandIn(n_hidden, rng)]
    try:
        from rbmlib.model import RBM
    except ImportError:
        return objs
    objs.append(RBM(784, n_hidden, rng=0))
    return objs


@pytest.mark.parametrize("n_hidden", [1, 10, 64])
def test_plot_weights(rng, n_hidden):
    for rbm in _rbm_objects(rng, n_hidden):
        fig = plot_weights(rbm)
        assert isinstance(fig, Figure)
        ax, img = _image(fig)
        (im,) = ax.get_images()
        assert im.get_cmap().name == plt.cm.binary.name
        rows, cols = grid_shape(n_hidden)
        assert img.shape == (rows * 29 - 1, cols * 29 - 1)
        # each tile is min-max scaled: first tile spans [0, 1] and keeps the pattern of W[:, 0]
        tile = img[:28, :28]
        w0 = np.asarray(rbm.W)[:, 0].reshape(28, 28)
        if np.ptp(w0) > 0:
            np.testing.assert_allclose(tile, (w0 - w0.min()) / np.ptp(w0), atol=1e-5)
        fig.canvas.draw()
        plt.close(fig)


def test_plot_weights_ncols_and_constant_unit(rng):
    rbm = StandIn(6, rng)
    rbm.W[:, 2] = 0.0  # a dead unit must not produce NaN
    _, img = _image(plot_weights(rbm, ncols=6))
    assert img.shape == (28, 6 * 29 - 1)
    assert np.all(img[:, 2 * 29 : 2 * 29 + 28] == 0.5)


def test_plot_weights_bad_rbm(rng):
    with pytest.raises(TypeError, match="W, a, b"):
        plot_weights(object())
    with pytest.raises(ValueError, match="square"):
        plot_weights(StandIn(3, rng, n_visible=10))
    bad = StandIn(3, rng)
    bad.b = bad.b[:2]
    with pytest.raises(ValueError, match="inconsistent"):
        plot_weights(bad)


def test_plot_biases(rng):
    for rbm in _rbm_objects(rng, 20):
        fig = plot_biases(rbm)
        assert isinstance(fig, Figure)
        ax_a, ax_b, ax_w = fig.axes[:3]
        (im,) = ax_a.get_images()
        np.testing.assert_allclose(im.get_array(), np.asarray(rbm.a).reshape(28, 28), rtol=1e-6)
        assert sum(p.get_height() for p in ax_b.patches) == 20
        assert sum(p.get_height() for p in ax_w.patches) == 784 * 20
        fig.canvas.draw()
        plt.close(fig)


def test_plot_rows_one_labelled_row_per_set(rng):
    x = rng.random((5, 784))
    fig = plot_rows([("input", x), ("output", 1 - x)], title="pairs")
    axes = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in axes] == ["input", "output"]
    for ax, want in zip(axes, (x, 1 - x), strict=True):
        img = ax.images[0].get_array()
        assert img.shape == (28, 5 * 29 - 1)  # one row of five images
        np.testing.assert_allclose(img[:, 29:57], want[1].reshape(28, 28), rtol=1e-6)
    assert fig._suptitle.get_text() == "pairs"


def test_plot_rows_rejects_empty_and_ragged(rng):
    with pytest.raises(ValueError, match="empty"):
        plot_rows([])
    with pytest.raises(ValueError, match="same number"):
        plot_rows([("a", rng.random((3, 784))), ("b", rng.random((4, 784)))])
