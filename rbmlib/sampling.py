r"""Long Gibbs chains, with snapshots along the way.

The assignment's resampling test runs Markov chains for 100, 1000 and 10,000
up–down steps. :func:`run_chains` runs one set of chains once and keeps the visible
sample (``SampleVisible``) and the visible probabilities of the last step
(``SampleVisibleProb``) at each requested step count.
"""
from __future__ import annotations

from .data import random_bits
from .model import RBM
from .rng import as_rng

__all__ = ["run_chains"]


def run_chains(rbm: RBM, n_chains: int, steps=(100, 1000, 10000), rng=None, start=None) -> dict:
    r"""Run ``n_chains`` Gibbs chains and snapshot them after each number of ``steps``.

    Parameters
    ----------
    rbm : RBM
    n_chains : int
    steps : sequence of int
        Increasing step counts at which to take snapshots.
    rng : None, int or numpy.random.Generator
    start : array_like, shape (n_chains, n_visible), optional
        Starting visible states; by default independent uniform random bits
        ("random starts").

    Returns
    -------
    dict
        ``{t: (v, p)}`` for each ``t`` in ``steps``: ``v`` (n_chains, n_visible) is the
        sample after ``t`` steps and ``p`` its :math:`p(v \mid h)` at step ``t``.
    """
    rng = as_rng(rng)
    steps = [int(t) for t in steps]
    if not steps or steps[0] < 1 or any(b <= a for a, b in zip(steps, steps[1:])):
        raise ValueError(f"steps must be increasing positive integers, got {steps}")
    if start is None:
        v = random_bits(n_chains, rbm.n_visible, rng, rbm.dtype)
    else:
        v = rbm._v(start)
        if v.shape[0] != n_chains:
            raise ValueError(f"start must have {n_chains} rows, got {v.shape[0]}")
    out, done = {}, 0
    for t in steps:
        v, p = rbm.gibbs(v, t - done, rng)
        out[t] = (v.copy(), p.copy())
        done = t
    return out
