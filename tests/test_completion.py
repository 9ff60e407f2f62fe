import numpy as np
import pytest

from rbmlib import RBM, fit, half_mask, recall
from rbmlib.completion import HALVES


def test_half_masks_split_the_image():
    for kind in HALVES:
        m = half_mask(kind, rng=0)
        assert m.shape == (784,) and m.dtype == bool and m.sum() == 392
    img = half_mask("top").reshape(28, 28)
    assert not img[:14].any() and img[14:].all()
    assert half_mask("left").reshape(28, 28)[:, 14:].all()
    assert np.array_equal(half_mask("random", rng=1), half_mask("random", rng=1))
    with pytest.raises(ValueError, match="kind must be one of"):
        half_mask("middle")


@pytest.fixture(scope="module")
def pattern_model():
    """An RBM trained on one repeated binary pattern (a thick ring)."""
    yy, xx = np.mgrid[:28, :28]
    r = np.hypot(yy - 13.5, xx - 13.5)
    pattern = ((r > 6) & (r < 10)).astype(np.float32).ravel()
    rbm = RBM(784, 8, rng=0)
    fit(rbm, np.tile(pattern, (640, 1)), epochs=10, lr=0.1, batch_size=64, rng=0, progress=False)
    return rbm, pattern


@pytest.mark.parametrize("kind", HALVES)
def test_recall_restores_the_single_pattern(pattern_model, kind):
    rbm, pattern = pattern_model
    known = half_mask(kind, rng=3)
    noisy = np.tile(pattern, (5, 1))
    v, p = recall(rbm, noisy, known, steps=20, rng=4)
    assert np.array_equal(v[:, known], noisy[:, known])
    dropped = ~known
    assert np.abs(p[:, dropped] - pattern[dropped]).mean() < 0.05
    # an untrained model does not restore it: the check has power
    _, p0 = recall(RBM(784, 8, rng=0), noisy, known, steps=20, rng=4)
    assert np.abs(p0[:, dropped] - pattern[dropped]).mean() > 0.3


def test_recall_bad_mask(pattern_model):
    rbm, pattern = pattern_model
    with pytest.raises(TypeError, match="boolean"):
        recall(rbm, pattern[None], np.ones(784), 1)
    with pytest.raises(ValueError, match="mask must have shape"):
        recall(rbm, pattern[None], np.ones(100, bool), 1)
