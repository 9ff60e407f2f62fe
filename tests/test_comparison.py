"""Tests for rbmlib.metrics.comparison: the comparison sets (noise, letters)."""

import numpy as np
import pytest

from rbmlib.metrics.comparison import LETTERS, MNIST_MEAN_DENSITY, density_noise, letters, uniform_noise


# ----------------------------------------------------------------------------- noise
def test_uniform_noise(rng):
    x = uniform_noise(500, rng=rng)
    assert x.shape == (500, 784) and x.dtype == np.uint8
    assert x.mean() == pytest.approx(127.5, abs=1.0)
    assert x.min() == 0 and x.max() == 255
    np.testing.assert_array_equal(uniform_noise(3, rng=1), uniform_noise(3, rng=np.random.default_rng(1)))
    assert uniform_noise(0, rng=rng).shape == (0, 784)


def test_density_noise_matches_mnist_density(rng):
    x = density_noise(2000, rng=rng)
    assert x.shape == (2000, 784) and x.dtype == np.uint8
    assert set(np.unique(x)) <= {0, 255}
    # 1.57M Bernoulli draws: standard error 2.7e-4
    assert (x > 0).mean() == pytest.approx(MNIST_MEAN_DENSITY, abs=2e-3)
    assert (density_noise(1000, rng=rng, density=0.5) > 0).mean() == pytest.approx(0.5, abs=0.01)


def test_density_noise_marginals(rng):
    p = np.zeros(784)
    p[:100] = 1.0
    p[100:200] = 0.5
    x = density_noise(400, rng=rng, marginals=p) > 0
    assert x[:, :100].all() and not x[:, 200:].any()
    assert x[:, 100:200].mean() == pytest.approx(0.5, abs=0.02)
    x8 = density_noise(10, rng=rng, marginals=(p * 255).astype(np.uint8)) > 0
    assert x8[:, :100].all() and not x8[:, 200:].any()


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        (dict(density=1.5), ValueError),
        (dict(density=0.1, marginals=np.zeros(784)), ValueError),
        (dict(marginals=np.zeros(100)), ValueError),
        (dict(marginals=np.full(784, 2.0)), ValueError),
    ],
)
def test_density_noise_validates(rng, kwargs, exc):
    with pytest.raises(exc):
        density_noise(5, rng=rng, **kwargs)


def test_noise_validates_n_and_rng(rng):
    with pytest.raises(ValueError, match="non-negative"):
        uniform_noise(-1, rng=rng)
    with pytest.raises(TypeError, match="rng must be"):
        uniform_noise(3, rng=0.5)
    with pytest.raises(TypeError, match="rng must be"):
        density_noise(3, rng=np.random.RandomState(0))
    np.testing.assert_array_equal(density_noise(4, rng=7), density_noise(4, rng=np.random.default_rng(7)))


# ----------------------------------------------------------------------------- letters
@pytest.fixture(scope="module")
def some_letters():
    return letters(300, rng=np.random.default_rng(0))


def test_letters_shape_dtype_labels(some_letters):
    x, y = some_letters
    assert x.shape == (300, 784) and x.dtype == np.uint8
    assert y.shape == (300,) and set(y) <= set(LETTERS)
    assert len(set(y)) > 30  # upper and lower case drawn
    assert any(c.isupper() for c in y) and any(c.islower() for c in y)
    assert x.max(axis=1).min() == 255  # every letter has fully inked pixels
    # ink comparable with MNIST digits (mean intensity 0.131)
    assert (x / 255.0).mean() == pytest.approx(0.131, abs=0.03)


def test_letters_normalised_like_mnist(some_letters):
    x, _ = some_letters
    img = x.reshape(-1, 28, 28).astype(np.float64)
    mass = img.sum(axis=(1, 2))
    r = np.arange(28)
    cy = (img.sum(axis=2) @ r) / mass
    cx = (img.sum(axis=1) @ r) / mass
    # centred by centre of mass at (14, 14), up to the integer placement
    assert np.all(np.abs(cy - 14) <= 1.0) and np.all(np.abs(cx - 14) <= 1.0)
    assert abs(cy.mean() - 14) < 0.2 and abs(cx.mean() - 14) < 0.2
    # ink fits a 20x20 box and its longer side fills it
    nz = img > 0
    h = np.array([np.ptp(np.flatnonzero(m.any(axis=1))) + 1 for m in nz])
    w = np.array([np.ptp(np.flatnonzero(m.any(axis=0))) + 1 for m in nz])
    assert h.max() <= 20 and w.max() <= 20
    assert np.all(np.maximum(h, w) >= 19)


def test_letters_deterministic(some_letters):
    x, y = some_letters
    x2, y2 = letters(300, rng=0)  # an int seed is the same as a Generator seeded with it
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    x3, _ = letters(300, rng=np.random.default_rng(1))
    assert not np.array_equal(x, x3)


def test_letters_options(rng):
    x, y = letters(20, rng=rng, chars="xyz", fonts=["DejaVuSans.ttf"])
    assert set(y) <= set("xyz")
    x0, y0 = letters(10, rng=np.random.default_rng(4), distort=0)
    x0b, _ = letters(10, rng=np.random.default_rng(4), distort=0)
    np.testing.assert_array_equal(x0, x0b)
    e, ey = letters(0, rng=rng)
    assert e.shape == (0, 784) and ey.shape == (0,)


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        (dict(chars=""), ValueError),
        (dict(fonts=[]), ValueError),
        (dict(fonts=["NoSuchFont.ttf"]), FileNotFoundError),
        (dict(distort=-1), ValueError),
    ],
)
def test_letters_validates(rng, kwargs, exc):
    with pytest.raises(exc):
        letters(2, rng=rng, **kwargs)
    with pytest.raises(TypeError, match="rng must be"):
        letters(2, rng="123")
