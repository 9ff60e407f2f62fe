"""Brute-force references for tiny RBMs, written independently of rbmlib.evaluate."""

import itertools

import numpy as np
from scipy.special import logsumexp

from rbmlib import RBM


def random_rbm(n_visible=6, n_hidden=4, scale=1.0, seed=0):
    """A float64 RBM with O(1) parameters, so the distribution is far from uniform."""
    rng = np.random.default_rng(seed)
    rbm = RBM(n_visible, n_hidden, rng=seed, dtype=np.float64)
    rbm.W = rng.normal(0, scale, (n_visible, n_hidden))
    rbm.a = rng.normal(0, scale, n_visible)
    rbm.b = rng.normal(0, scale, n_hidden)
    return rbm


def all_states(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def joint_neg_energy(rbm):
    """-E(v, h) for every (v, h), shape (2**nv, 2**nh), from the energy formula directly."""
    V, H = all_states(rbm.n_visible), all_states(rbm.n_hidden)
    return V @ rbm.a[:, None] + (H @ rbm.b)[None, :] + V @ rbm.W @ H.T, V, H


def brute_log_z(rbm):
    ne, _, _ = joint_neg_energy(rbm)
    return logsumexp(ne)


def brute_log_p(rbm):
    ne, V, _ = joint_neg_energy(rbm)
    return V, logsumexp(ne, axis=1) - logsumexp(ne)
