"""Tests for rbmlib.metrics.baselines: the k-nearest-neighbour completion."""

import numpy as np
import pytest

from rbmlib.completion import HALVES, half_mask
from rbmlib.metrics.baselines import knn_complete, knn_neighbours, select_k


@pytest.fixture(scope="module")
def bank():
    """200 random binary images: no two share a known half, so every nearest neighbour is unique."""
    return (np.random.default_rng(0).random((200, 784)) < 0.3).astype(np.float32)


@pytest.mark.parametrize("kind", HALVES)
def test_k1_completion_of_a_bank_image_is_that_image(bank, kind):
    known = half_mask(kind, rng=1)
    rows = [0, 17, 199]
    damaged = np.where(known, bank[rows], 0.5)  # the dropped half is unknown; its values must not matter
    assert np.array_equal(knn_complete(damaged, known, bank, k=1), bank[rows])
    assert np.array_equal(knn_neighbours(damaged, known, bank, 3)[:, 0], rows)


def test_neighbours_match_brute_force(bank):
    rng = np.random.default_rng(2)
    queries = rng.random((20, 784))
    known = half_mask("random", rng=3)
    d = ((queries[:, None, known] - bank[None, :, known]) ** 2).sum(axis=2)
    expected = np.argsort(d, axis=1)[:, :7]
    assert np.array_equal(knn_neighbours(queries, known, bank, 7), expected)
    filled = knn_complete(queries, known, bank, 7)
    np.testing.assert_allclose(filled[:, ~known], bank[expected][:, :, ~known].mean(axis=1), rtol=1e-6)
    assert np.array_equal(filled[:, known], queries[:, known])
    # all of the bank: the fill is the bank's mean, whatever the query
    everything = knn_complete(queries[:2], known, bank, 200)
    np.testing.assert_allclose(everything[:, ~known], np.tile(bank[:, ~known].mean(axis=0), (2, 1)), rtol=1e-5)


def test_uint8_bank_is_read_as_grey_values(bank):
    known = half_mask("left")
    grey = (bank * 255).astype(np.uint8)
    assert np.array_equal(knn_complete(bank[:4], known, grey, 1), bank[:4])


def test_select_k_takes_the_best_score_and_the_smallest_k_on_ties(bank):
    known = half_mask("top")
    held_out = bank[:10]
    scores_seen = []

    def score(filled):
        err = np.abs(filled - held_out).mean()
        scores_seen.append(err)
        return -err

    k, scores = select_k(held_out, known, bank, [5, 1, 3], score)
    assert sorted(scores) == [1, 3, 5] and len(scores_seen) == 3
    assert k == 1 and scores[1] == 0.0  # held-out images inside the bank: k = 1 copies them
    k, scores = select_k(held_out, known, bank, [4, 2, 8], lambda filled: 1.0)
    assert k == 2


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"mask": np.ones(784)}, TypeError, "boolean"),
        ({"mask": np.ones(10, bool)}, ValueError, "shape"),
        ({"mask": np.ones(784, bool)}, ValueError, "keep some units and drop some"),
        ({"k": 0}, ValueError, "k must be an integer"),
        ({"k": 201}, ValueError, "k must be an integer"),
        ({"images": np.full((2, 784), np.nan)}, ValueError, "NaN"),
        ({"images": np.full((2, 784), 1.5)}, ValueError, r"\[0, 1\]"),
        ({"images": np.zeros((2, 100))}, ValueError, "bank must have shape"),
    ],
)
def test_knn_validates(bank, kwargs, exc, match):
    args = {"images": bank[:2], "mask": half_mask("top"), "bank": bank, "k": 3, **kwargs}
    with pytest.raises(exc, match=match):
        knn_complete(**args)


def test_precomputed_neighbours_must_fit(bank):
    with pytest.raises(ValueError, match="neighbours must have shape"):
        knn_complete(bank[:2], half_mask("top"), bank, 5, neighbours=np.zeros((2, 3), int))
