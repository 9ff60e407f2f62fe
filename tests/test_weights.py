import numpy as np
import pytest

from rbmlib.metrics.weights import weight_pair_correlation, weight_smoothness


def test_weight_statistics_on_known_images():
    yy, xx = np.mgrid[:28, :28]
    smooth = np.stack([np.sin(xx / 4 + k) + np.cos(yy / 5 - k) for k in range(6)], axis=-1).reshape(784, 6)
    noise = np.random.default_rng(0).normal(size=(784, 6))
    assert np.all(weight_smoothness(smooth) > 0.9)
    assert np.all(np.abs(weight_smoothness(noise)) < 0.15)
    same = np.tile(noise[:, :1], (1, 4))
    assert weight_pair_correlation(same) == pytest.approx(1.0)
    assert abs(weight_pair_correlation(noise)) < 0.1
    with pytest.raises(ValueError, match="shape"):
        weight_smoothness(np.zeros((100, 3)))
