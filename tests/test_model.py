import json

import numpy as np
import pytest
from helpers_exact import all_states, brute_log_p, joint_neg_energy, random_rbm
from scipy import stats
from scipy.special import logsumexp

from rbmlib import RBM, ModelFileError


def test_init_follows_assignment():
    rbm = RBM(784, 400, rng=1)
    assert rbm.W.shape == (784, 400) and rbm.a.shape == (784,) and rbm.b.shape == (400,)
    assert rbm.W.dtype == np.float32
    assert np.all(np.abs(rbm.W) <= 0.01) and np.all(np.abs(rbm.a) <= 0.01)
    assert np.all(rbm.b == 0)
    # uniform on (-0.01, 0.01): mean ~0, std ~0.01/sqrt(3)
    assert abs(rbm.W.mean()) < 1e-4 and abs(rbm.W.std() - 0.01 / np.sqrt(3)) < 1e-4


def test_same_seed_same_init_and_different_seed_differs():
    assert np.array_equal(RBM(20, 5, rng=3).W, RBM(20, 5, rng=3).W)
    assert not np.array_equal(RBM(20, 5, rng=3).W, RBM(20, 5, rng=4).W)


def test_energy_matches_formula():
    rbm = random_rbm()
    ne, V, H = joint_neg_energy(rbm)
    for i in (0, 17, 63):
        for j in (0, 5, 15):
            assert rbm.energy(V[i], H[j])[0] == pytest.approx(-ne[i, j], abs=1e-12)


def test_free_energy_is_minus_log_sum_over_h():
    rbm = random_rbm()
    ne, V, _ = joint_neg_energy(rbm)
    np.testing.assert_allclose(rbm.free_energy(V), -logsumexp(ne, axis=1), rtol=0, atol=1e-12)


def test_conditionals_match_enumeration():
    rbm = random_rbm()
    ne, V, H = joint_neg_energy(rbm)
    # p(h | v): normalise each row of the joint over h, then marginalise each h_j.
    p_h_given_v = np.exp(ne - logsumexp(ne, axis=1, keepdims=True))
    np.testing.assert_allclose(rbm.hidden_probs(V), p_h_given_v @ H, atol=1e-12)
    p_v_given_h = np.exp(ne - logsumexp(ne, axis=0, keepdims=True))
    np.testing.assert_allclose(rbm.visible_probs(H), p_v_given_h.T @ V, atol=1e-12)


def test_samplers_draw_from_conditionals():
    rbm = random_rbm()
    rng = np.random.default_rng(0)
    v = np.tile(all_states(6)[[5]], (20000, 1))
    h = rbm.sample_hidden(v, rng=rng)
    assert set(np.unique(h)) <= {0.0, 1.0}
    p = rbm.hidden_probs(v[:1])[0]
    np.testing.assert_allclose(h.mean(axis=0), p, atol=5 * np.sqrt(0.25 / 20000))
    hs = np.tile(all_states(4)[[9]], (20000, 1))
    vs = rbm.sample_visible(hs, rng=rng)
    np.testing.assert_allclose(vs.mean(axis=0), rbm.visible_probs(hs[:1])[0], atol=5 * np.sqrt(0.25 / 20000))


def _state_index(v):
    return (v.astype(int) * (1 << np.arange(v.shape[1])[::-1])).sum(axis=1)


def _chi2_pvalue(samples, log_p):
    counts = np.bincount(_state_index(samples), minlength=len(log_p))
    expected = np.exp(log_p) * len(samples)
    return stats.chisquare(counts, expected).pvalue


def test_gibbs_stationary_distribution_goodness_of_fit():
    rbm = random_rbm(5, 3, seed=2)
    V, log_p = brute_log_p(rbm)  # states ordered like _state_index
    rng = np.random.default_rng(1)
    v0 = (rng.random((20000, 5)) < 0.5).astype(float)
    v, _ = rbm.gibbs(v0, 30, rng=rng)
    assert _chi2_pvalue(v, log_p) > 1e-4
    # The same test rejects a different model: it has power.
    other = random_rbm(5, 3, seed=3)
    _, log_q = brute_log_p(other)
    assert _chi2_pvalue(v, log_q) < 1e-6


def test_gibbs_with_clamp_samples_the_conditional():
    rbm = random_rbm(5, 3, seed=4)
    V, log_p = brute_log_p(rbm)
    clamp = np.array([True, False, True, False, False])
    given = np.array([1.0, 0, 0.0, 0, 0])
    keep = np.all(V[:, clamp] == given[clamp], axis=1)
    log_cond = np.where(keep, log_p, -np.inf)
    log_cond -= logsumexp(log_cond)
    rng = np.random.default_rng(5)
    start = np.tile(given, (20000, 1))
    start[:, ~clamp] = rng.random((20000, 3)) < 0.5
    v, p = rbm.gibbs(start, 30, rng=rng, clamp=clamp)
    assert np.all(v[:, clamp] == given[clamp]) and np.all(p[:, clamp] == given[clamp])
    counts = np.bincount(_state_index(v), minlength=32)[keep]
    assert stats.chisquare(counts, np.exp(log_cond[keep]) * 20000).pvalue > 1e-4


def test_gibbs_returns_probabilities_of_last_step():
    """p is p(v | h) for a binary h (one of the 16), and v was drawn from it: where p is almost
    certain, v agrees (with p of an earlier step, v would disagree at random)."""
    rbm = random_rbm(6, 4, scale=6.0, seed=3)  # strong weights: most probabilities are near 0 or 1
    v, p = rbm.gibbs(np.zeros((2000, 6)), 3, rng=0)
    assert v.shape == p.shape == (2000, 6)
    candidates = rbm.visible_probs(all_states(4))  # p(v | h) of every h
    assert np.abs(p[:, None, :] - candidates[None]).max(axis=2).min(axis=1).max() < 1e-12
    sure = (p < 1e-6) | (p > 1 - 1e-6)
    assert sure.mean() > 0.3 and np.all(v[sure] == np.round(p[sure]))


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((2, 5)), r"shape \(N, 6\)"),
        (np.full((2, 6), 1.5), r"\[0, 1\]"),
        (np.full((2, 6), np.nan), "NaN"),
        (np.array([["a"] * 6]), "numeric"),
    ],
)
def test_bad_visible_input(bad, message):
    with pytest.raises((ValueError, TypeError), match=message):
        random_rbm().free_energy(bad)


def test_bad_constructor_and_gibbs_args():
    with pytest.raises(ValueError, match="n_visible must be a positive integer"):
        RBM(0, 3)
    with pytest.raises(ValueError, match="dtype"):
        RBM(3, 3, dtype=np.int32)
    rbm = random_rbm()
    with pytest.raises(ValueError, match="steps"):
        rbm.gibbs(np.zeros((1, 6)), 0)
    with pytest.raises(TypeError, match="boolean mask"):
        rbm.gibbs(np.zeros((1, 6)), 1, clamp=np.ones(6))
    with pytest.raises(ValueError, match="clamp must have shape"):
        rbm.gibbs(np.zeros((1, 6)), 1, clamp=np.ones(5, bool))
    with pytest.raises(TypeError, match="rng"):
        rbm.sample_hidden(np.zeros((1, 6)), rng="seed")


def test_save_load_roundtrip(tmp_path):
    rbm = RBM(784, 12, rng=0)
    rbm.W += 0.5
    path = rbm.save(tmp_path / "m.npz", {"config": {"lr": 0.1}, "history": [{"epoch": 1}]})
    back = RBM.load(path)
    for name in "Wab":
        assert np.array_equal(getattr(back, name), getattr(rbm, name))
        assert getattr(back, name).dtype == np.float32
    assert back.metadata["config"] == {"lr": 0.1} and back.metadata["history"] == [{"epoch": 1}]
    assert not list(tmp_path.glob("*.tmp"))


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    RBM(4, 2, rng=0).save(path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez_compressed", boom)
    with pytest.raises(KeyboardInterrupt):
        RBM(4, 2, rng=1).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def _write(path, **arrays):
    np.savez(path, **arrays)
    return path


META = np.array(json.dumps({"format_version": 1}))


@pytest.mark.parametrize(
    "arrays, message",
    [
        (dict(W=np.zeros((4, 2)), a=np.zeros(4), metadata=META), "missing array"),
        (dict(W=np.zeros((4, 2)), a=np.zeros(3), b=np.zeros(2), metadata=META), "shapes do not match"),
        (dict(W=np.full((4, 2), np.nan), a=np.zeros(4), b=np.zeros(2), metadata=META), "NaN"),
        (dict(W=np.zeros((4, 2), int), a=np.zeros(4), b=np.zeros(2), metadata=META), "dtype"),
        (dict(W=np.zeros(4), a=np.zeros(4), b=np.zeros(2), metadata=META), "2-D"),
        (dict(W=np.zeros((4, 2)), a=np.zeros(4), b=np.zeros(2), metadata=np.array("{oops")), "JSON"),
        (
            dict(
                W=np.zeros((4, 2)), a=np.zeros(4), b=np.zeros(2), metadata=np.array(json.dumps({"format_version": 99}))
            ),
            "format version",
        ),
    ],
)
def test_load_rejects_bad_files(tmp_path, arrays, message):
    with pytest.raises(ModelFileError, match=message):
        RBM.load(_write(tmp_path / "bad.npz", **arrays))


def test_load_refuses_pickles(tmp_path):
    path = _write(tmp_path / "p.npz", W=np.array([{"x": 1}], dtype=object), a=np.zeros(1), b=np.zeros(1), metadata=META)
    with pytest.raises(ModelFileError, match="pickle"):
        RBM.load(path)


def test_load_missing_and_corrupt(tmp_path):
    with pytest.raises(FileNotFoundError, match="model file not found"):
        RBM.load(tmp_path / "nope.npz")
    bad = tmp_path / "corrupt.npz"
    bad.write_bytes(b"this is not a zip archive")
    with pytest.raises(ModelFileError, match="not a valid .npz"):
        RBM.load(bad)
    good = RBM(4, 2, rng=0).save(tmp_path / "ok.npz")
    truncated = tmp_path / "trunc.npz"
    truncated.write_bytes(good.read_bytes()[:100])
    with pytest.raises(ModelFileError):
        RBM.load(truncated)
