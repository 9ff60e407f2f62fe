"""Tests for rbmlib.metrics.ood: the AUROC."""

import itertools

import numpy as np
import pytest

from rbmlib.metrics.ood import auroc


# ----------------------------------------------------------------------------- AUROC
def _brute_auroc(pos, neg):
    wins = sum((p > n) + 0.5 * (p == n) for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def test_auroc_known_values(rng):
    a = rng.standard_normal(50)
    assert auroc(a + 100, a) == 1.0
    assert auroc(a, a + 100) == 0.0
    assert auroc(a, a) == 0.5
    assert auroc(np.zeros(7), np.zeros(3)) == 0.5  # all tied


def test_auroc_matches_pair_count_with_ties(rng):
    for _ in range(5):
        pos = rng.integers(0, 6, size=int(rng.integers(1, 40)))
        neg = rng.integers(0, 6, size=int(rng.integers(1, 40)))
        assert auroc(pos, neg) == pytest.approx(_brute_auroc(pos, neg), abs=1e-12)
    pos, neg = rng.standard_normal(60) + 1, rng.standard_normal(70)
    assert auroc(pos, neg) == pytest.approx(_brute_auroc(pos, neg), abs=1e-12)
    assert auroc(pos, neg) + auroc(neg, pos) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "pos, neg, exc",
    [
        ([], [1.0], ValueError),
        ([1.0], [[1.0]], ValueError),
        ([np.nan], [1.0], ValueError),
        (["a"], [1.0], TypeError),
    ],
)
def test_auroc_validates(pos, neg, exc):
    with pytest.raises(exc):
        auroc(pos, neg)
