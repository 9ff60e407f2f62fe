import numpy as np
import pytest

from rbmlib import RBM
from rbmlib.sampling import run_chains
from helpers_exact import random_rbm


def test_snapshots_do_not_disturb_the_chains():
    """The snapshot after t steps is what a run of t steps alone gives: the chain is continued, not restarted."""
    rbm = random_rbm(8, 4, seed=1)
    both = run_chains(rbm, 50, steps=(3, 7), rng=5)
    assert set(both) == {3, 7}
    for t in (3, 7):
        alone = run_chains(rbm, 50, steps=(t,), rng=5)[t]
        assert np.array_equal(both[t][0], alone[0]) and np.array_equal(both[t][1], alone[1])
    v, p = both[7]
    assert v.shape == p.shape == (50, 8) and set(np.unique(v)) <= {0.0, 1.0} and 0 <= p.min() <= p.max() <= 1
    assert not np.array_equal(both[3][0], both[7][0])


def test_run_chains_from_given_starts_and_bad_steps():
    rbm = RBM(6, 3, rng=0)
    start = np.ones((4, 6))
    out = run_chains(rbm, 4, steps=(1,), rng=0, start=start)
    assert out[1][0].shape == (4, 6)
    with pytest.raises(ValueError, match="start must have 4 rows"):
        run_chains(rbm, 4, steps=(1,), start=np.ones((3, 6)))
    for steps in [(), (0, 1), (5, 5), (5, 3)]:
        with pytest.raises(ValueError, match="increasing positive"):
            run_chains(rbm, 4, steps=steps)
