import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def mnist():
    """(train_images, train_labels, test_images, test_labels) from the cache or the PyPI route."""
    from rbmlib.data import load_mnist

    return (*load_mnist("train"), *load_mnist("test"))


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
