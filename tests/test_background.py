"""Tests for rbmlib.metrics.background: exactly normalised densities of binary images."""

import numpy as np
import pytest
from helpers_exact import all_states, brute_log_z, random_rbm
from scipy.special import logsumexp

from rbmlib.metrics.background import TEMPLATES, ContextModel, IndependentPixels, RBMDensity


@pytest.fixture(scope="module")
def small_images():
    """Binary 4x4 images with structure: vertical strokes plus a little noise."""
    rng = np.random.default_rng(0)
    x = np.zeros((500, 4, 4))
    x[np.arange(500), :, rng.integers(0, 4, 500)] = 1
    flip = rng.random(x.shape) < 0.05
    return np.where(flip, 1 - x, x).reshape(500, 16)


@pytest.mark.parametrize("template", ["left", "left+up", "4", ((-1, 0), (-2, 0), (0, -1))])
def test_context_model_is_normalised(small_images, template):
    model = ContextModel(template, side=4).fit(small_images)
    log_p = model.log_prob(all_states(16))
    assert logsumexp(log_p) == pytest.approx(0.0, abs=1e-9)
    # it learned something: the training images are more probable than under fair coins
    assert model.log_prob(small_images).mean() > -16 * np.log(2) + 1.5


def test_independent_pixels_is_normalised_and_matches_the_means(small_images):
    model = IndependentPixels(prior=0.5).fit(small_images)
    np.testing.assert_allclose(model.q, (small_images.sum(axis=0) + 0.5) / (500 + 1))
    assert logsumexp(model.log_prob(all_states(16))) == pytest.approx(0.0, abs=1e-9)


def test_context_indices_by_brute_force():
    rng = np.random.default_rng(1)
    images = (rng.random((3, 25)) < 0.5).astype(np.float32)
    offsets = TEMPLATES["4"]
    model = ContextModel("4", side=5)
    got = model.contexts(images)
    for n in range(3):
        img = images[n].reshape(5, 5)
        for r in range(5):
            for c in range(5):
                bits = [img[r + dy, c + dx] if 0 <= r + dy < 5 and 0 <= c + dx < 5 else 0 for dy, dx in offsets]
                assert got[n, r * 5 + c] == sum(int(b) << i for i, b in enumerate(bits))


def test_context_probabilities_are_smoothed_counts():
    # template "left": the context of a pixel is its left neighbour (0 at the left edge)
    images = np.zeros((3, 9), dtype=np.float32)  # 3x3 images: first rows 0 1 1 / 1 1 0 / 0 0 0, the rest blank
    images[0, :3] = [0, 1, 1]
    images[1, :3] = [1, 1, 0]
    model = ContextModel("left", side=3, prior=1.0).fit(images)
    # counted by hand: context 0 (left pixel off) 24 times, pixel on 2 of them; context 1 three times, on twice
    assert model.counts[0].tolist() == [22, 2] and model.counts[1].tolist() == [1, 2]
    p = model.pixel_probs(images)
    assert p[0, 0] == pytest.approx((2 + 1) / (24 + 2)) and p[0, 2] == pytest.approx((2 + 1) / (3 + 2))


def test_rbm_density_with_exact_log_z_is_normalised():
    rbm = random_rbm(6, 4, seed=3)
    density = RBMDensity(rbm, brute_log_z(rbm))
    assert logsumexp(density.log_prob(all_states(6))) == pytest.approx(0.0, abs=1e-9)
    assert density.fit(None) is density


@pytest.mark.parametrize(
    "images, match",
    [
        (np.full((2, 16), 0.5), "binary"),
        (np.full((2, 16), np.nan), "NaN"),
        (np.full((2, 16), 3.0), r"\[0, 1\]"),
        (np.zeros((2, 15)), "shape"),
        (np.zeros((2, 16), np.uint8), "uint8"),
    ],
)
def test_log_prob_validates(small_images, images, match):
    model = ContextModel("4", side=4).fit(small_images)
    with pytest.raises(ValueError, match=match):
        model.log_prob(images)


def test_bad_construction_and_use():
    with pytest.raises(ValueError, match="unknown template"):
        ContextModel("huge")
    with pytest.raises(ValueError, match="earlier pixels"):
        ContextModel(((0, 1),))
    with pytest.raises(ValueError, match="distinct"):
        ContextModel(((0, -1), (0, -1)))
    with pytest.raises(ValueError, match="prior"):
        ContextModel("4", prior=0)
    with pytest.raises(RuntimeError, match="fit"):
        ContextModel("4", side=4).log_prob(np.zeros((1, 16)))
    with pytest.raises(RuntimeError, match="fit"):
        IndependentPixels().log_prob(np.zeros((1, 16)))
    with pytest.raises(ValueError, match="finite"):
        RBMDensity(random_rbm(), np.nan)
    with pytest.raises(TypeError, match="RBM"):
        RBMDensity("model", 0.0)
