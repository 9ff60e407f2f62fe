"""Data: MNIST (:mod:`~rbmlib.data.mnist`: routes, checksums, cache) and images as the RBM sees
them (:mod:`~rbmlib.data.images`: validation, binarisation, random chain starts)."""

from .images import (
    TEST_BINARIZE_SEED,
    as_binary,
    as_binary_images,
    as_images,
    binarize,
    binarize_fixed,
    check_probs,
    random_bits,
)
from .mnist import IDX_FILES, IDX_MD5, MIRRORS, SHA256, DataError, binarized_test_set, default_data_dir, load_mnist

__all__ = [
    "DataError",
    "load_mnist",
    "binarized_test_set",
    "default_data_dir",
    "SHA256",
    "IDX_FILES",
    "IDX_MD5",
    "MIRRORS",
    "TEST_BINARIZE_SEED",
    "as_binary",
    "as_binary_images",
    "as_images",
    "binarize",
    "binarize_fixed",
    "check_probs",
    "random_bits",
]
