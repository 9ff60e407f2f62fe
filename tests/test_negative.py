"""Negative phases (rbmlib.train.negative) and fit_phase against exact enumeration on tiny models.

For every phase: the distribution of the rows it returns, at fixed parameters, against the
exact distribution it targets (the model, or for the restarted chains the mixture of the
t-step distributions from random starts, by powers of the exact transition matrix), by a
chi-square goodness-of-fit test; and the model term of the gradient it gives against the
exact expectation, within the standard error of the average over draws.
"""

import json

import numpy as np
import pytest
from helpers_exact import all_states, brute_log_p, random_rbm
from scipy.special import expit
from scipy.stats import chi2

from rbmlib import RBM
from rbmlib.evaluate import exact_log_probs
from rbmlib.train import PhaseStage, fit_phase
from rbmlib.train.negative import JarzynskiPhase, PersistentPhase, RestartedPhase, TemperedPhase, systematic_resample
from rbmlib.train.phased import training_seconds

ALPHA = 1e-3


def _index(v):
    return (np.asarray(v) @ (2 ** np.arange(v.shape[1])[::-1])).astype(int)


def _chi2_pvalue(rows, p):
    """Goodness of fit of independent rows to the distribution ``p`` over all_states (pooled tails)."""
    counts = np.bincount(_index(rows), minlength=len(p))
    expected = p * len(rows)
    big = expected >= 5
    obs = np.append(counts[big], counts[~big].sum())
    exp = np.append(expected[big], expected[~big].sum())
    keep = exp > 0
    stat = np.sum((obs[keep] - exp[keep]) ** 2 / exp[keep])
    return chi2.sf(stat, keep.sum() - 1)


def _model_p(rbm):
    _, log_p = brute_log_p(rbm)
    return np.exp(log_p)


def _transition(rbm):
    """Exact Gibbs transition matrix T[v, v'] = sum_h p(h|v) p(v'|h)."""
    V, H = all_states(rbm.n_visible), all_states(rbm.n_hidden)
    ph = expit(V @ rbm.W + rbm.b)  # (nV, nh)
    p_h = np.prod(np.where(H[None] == 1, ph[:, None], 1 - ph[:, None]), axis=2)  # (nV, nH)
    pv = expit(H @ rbm.W.T + rbm.a)  # (nH, nv)
    p_v = np.prod(np.where(V[None] == 1, pv[:, None], 1 - pv[:, None]), axis=2)  # (nH, nV)
    return p_h @ p_v


def _age_mixture(rbm, ages):
    """The mixture over ``ages`` of the distributions t sweeps after a uniformly random start."""
    T = _transition(rbm)
    p = np.full(len(T), 1.0 / len(T))
    out, t = np.zeros(len(T)), 0
    for age in sorted(ages):
        while t < age:
            p, t = p @ T, t + 1
        out += p
    return out / len(ages)


def _rbm32(seed=0, nv=5, nh=3):
    r = random_rbm(nv, nh, seed=seed)
    return r.astype(np.float32)


def test_systematic_resample_counts():
    rng = np.random.default_rng(0)
    w = rng.random(50) ** 3
    for n in (50, 137):
        counts = np.bincount(systematic_resample(w, n, rng=rng), minlength=50)
        expected = n * w / w.sum()
        assert counts.sum() == n
        assert np.all(np.abs(counts - expected) < 1.0 + 1e-9)  # floor or ceiling of n w_i


def test_restarted_rows_follow_the_age_mixture():
    rbm = _rbm32(1)
    rbm.W *= 3.0  # strong couplings: the chains are still far from equilibrium at these ages
    min_age, max_age, per_age = 1, 5, 1500
    phase = RestartedPhase(max_age * per_age, min_age=min_age, max_age=max_age)
    phase.start(rbm, rng=np.random.default_rng(0))
    target = _age_mixture(rbm.astype(np.float64), range(min_age, max_age))
    for _ in range(max_age + 1):  # through a full cycle of restarts
        rows = phase.draw(rbm)
    assert len(rows) == (max_age - min_age) * per_age
    assert _chi2_pvalue(rows, target) > ALPHA
    # power: the equilibrium is a different distribution at these ages
    assert _chi2_pvalue(rows, _model_p(rbm.astype(np.float64))) < ALPHA


def test_restarted_rejects_an_empty_window():
    with pytest.raises(ValueError, match="min_age"):
        RestartedPhase(10, min_age=5, max_age=5)
    with pytest.raises(ValueError, match="no chain"):
        RestartedPhase(2, min_age=99, max_age=100)


def test_tempered_model_rows_sample_the_model_while_the_ladder_moves():
    rbm = _rbm32(2, nv=6, nh=4)
    rbm.W *= 2.0  # sharper, so that the ladder matters
    base = np.zeros(rbm.n_visible)
    phase = TemperedPhase(base, 3000, betas=np.linspace(0, 1, 5), retune=5)
    phase.start(rbm, rng=np.random.default_rng(3))
    for _ in range(40):
        rows = phase.draw(rbm)
    assert not np.allclose(phase.pt.betas, np.linspace(0, 1, 5))  # the ladder was rebalanced
    assert _chi2_pvalue(rows, _model_p(rbm.astype(np.float64))) > ALPHA


def test_tempered_ladder_grows_when_the_model_sharpens():
    """A 2-rung ladder on a sharp model swaps rarely; the phase adds rungs, and the model rows stay exact."""
    rbm = _rbm32(3, nv=6, nh=4)
    rbm.W *= 4.0
    phase = TemperedPhase(np.zeros(rbm.n_visible), 2000, betas=[0.0, 1.0], retune=5, target=0.5, max_replicas=6)
    phase.start(rbm, rng=np.random.default_rng(4))
    for _ in range(60):
        rows = phase.draw(rbm)
    assert phase.pt.n_replicas > 2
    assert _chi2_pvalue(rows, _model_p(rbm.astype(np.float64))) > ALPHA


def _exact_model_term(rbm, p):
    V = all_states(rbm.n_visible)
    return (p[:, None, None] * V[:, :, None] * expit(V @ rbm.W + rbm.b)[:, None, :]).sum(axis=0)


@pytest.mark.parametrize("kind", ["persistent", "tempered", "jarzynski", "restarted"])
def test_model_term_matches_the_exact_expectation(kind):
    """The model term <v p(h|v)^T> averaged over draws, against enumeration, within 4 standard errors."""
    rbm = _rbm32(4)
    r64 = rbm.astype(np.float64)
    target = _model_p(r64)
    if kind == "persistent":
        phase = PersistentPhase(200, k=1)
    elif kind == "tempered":
        phase = TemperedPhase(np.zeros(rbm.n_visible), 200, betas=np.linspace(0, 1, 4))
    elif kind == "jarzynski":
        phase = JarzynskiPhase(200)
    else:
        phase = RestartedPhase(400, min_age=1, max_age=4)
        target = _age_mixture(r64, range(1, 4))
    phase.start(rbm, rng=np.random.default_rng(5))
    for _ in range(30):  # burn-in
        phase.draw(rbm)
    terms = []
    for _ in range(300):
        v = phase.draw(rbm).astype(np.float64)
        terms.append(v.T @ expit(v @ r64.W + r64.b) / len(v))
        phase.after_step(rbm)
    terms = np.array(terms)
    # batch means over blocks of 30 draws absorb the chains' autocorrelation
    blocks = terms.reshape(10, 30, *terms.shape[1:]).mean(axis=1)
    se = blocks.std(axis=0, ddof=1) / np.sqrt(len(blocks))
    err = np.abs(terms.mean(axis=0) - _exact_model_term(r64, target))
    assert np.all(err <= 4 * se + 1e-4), (err.max(), se.max())


def test_jarzynski_weights_carry_samples_to_the_new_parameters():
    """Exact samples of p_theta, reweighted by F_theta - F_theta', estimate p_theta' (importance sampling)."""
    old = random_rbm(5, 3, seed=6)
    new = old.copy()
    new.a += np.random.default_rng(7).normal(0, 0.4, old.n_visible)
    new.W += np.random.default_rng(8).normal(0, 0.3, old.W.shape)
    p_old, p_new = _model_p(old), _model_p(new)
    phase = JarzynskiPhase(40000, ess_min=0.0)
    rng = np.random.default_rng(9)
    phase.start(old.astype(np.float32), rng=rng)
    phase.v[:] = all_states(5)[rng.choice(32, size=40000, p=p_old)]
    phase._f = old.free_energy(phase.v)
    phase.after_step(new)
    w = phase.weights
    est = np.bincount(_index(phase.v), weights=w, minlength=32)
    # TV of a multinomial estimate from n draws is about sum sqrt(p(1-p)/(2 pi n)); allow 3 times that at the ESS
    tol = 3 * np.sum(np.sqrt(p_new * (1 - p_new) / (2 * np.pi * phase.ess)))
    assert 0.5 * np.abs(est - p_new).sum() < tol
    unweighted = np.bincount(_index(phase.v), minlength=32) / len(phase.v)
    assert 0.5 * np.abs(unweighted - p_new).sum() > 3 * tol  # power: without the weights it is p_theta


def test_jarzynski_resamples_when_the_ess_falls():
    rbm = _rbm32(10)
    phase = JarzynskiPhase(100, ess_min=0.9)
    phase.start(rbm, rng=np.random.default_rng(0))
    phase.draw(rbm)
    phase.log_w[:] = np.linspace(0, 8, 100)  # ESS far below 0.9
    phase.draw(rbm)
    assert phase.resamples == 1 and np.all(phase.log_w == 0)


def _mean_log_p(rbm, data):
    states, log_p = exact_log_probs(rbm.astype(np.float64))
    return float(log_p[np.argsort(_index(states))][_index(data)].mean())  # rbmlib counts bits the other way


@pytest.mark.parametrize("kind", ["tempered", "jarzynski", "restarted"])
def test_fit_phase_raises_the_exact_likelihood(kind):
    """A few epochs on a tiny data set raise the exact log-likelihood of a fresh model clearly."""
    rng = np.random.default_rng(11)
    teacher = random_rbm(6, 3, scale=1.5, seed=12)
    V, log_p = brute_log_p(teacher)
    data = V[rng.choice(len(V), size=2000, p=np.exp(log_p))]
    rbm = RBM(6, 8, rng=0)
    phase = {
        "tempered": TemperedPhase(np.zeros(6), 64, betas=np.linspace(0, 1, 4)),
        "jarzynski": JarzynskiPhase(64),
        "restarted": RestartedPhase(256, min_age=20, max_age=40),
    }[kind]
    q = np.bincount(_index(data), minlength=64) / len(data)
    best = np.sum(q[q > 0] * np.log(q[q > 0]))  # no model scores the data higher (empirical entropy)
    gap_before = best - _mean_log_p(rbm, data)
    history = fit_phase(rbm, data, phase, epochs=5, lr=0.05, batch_size=20, rng=0, progress=False)
    gap_after = best - _mean_log_p(rbm, data)
    assert len(history) == 5 and rbm.metadata["phases"][-1]["phase"] == type(phase).__name__
    assert gap_after < 0.5 * gap_before, (gap_before, gap_after)


def test_fit_phase_is_reproducible():
    data = (np.random.default_rng(0).random((300, 6)) < 0.3).astype(np.float32)
    out = []
    for _ in range(2):
        rbm = RBM(6, 4, rng=0)
        fit_phase(rbm, data, JarzynskiPhase(32), epochs=2, lr=0.05, batch_size=30, rng=1, progress=False)
        out.append(rbm.W.copy())
    np.testing.assert_array_equal(out[0], out[1])


def test_fit_phase_checks_its_input():
    rbm = RBM(6, 4, rng=0)
    with pytest.raises(ValueError, match="batch_size"):
        fit_phase(rbm, np.zeros((10, 6)), PersistentPhase(8), epochs=1, lr=0.1, batch_size=20, progress=False)
    with pytest.raises(ValueError):
        fit_phase(rbm, np.zeros((10, 5)), PersistentPhase(8), epochs=1, lr=0.1, progress=False)


def test_phase_stage_validates_and_builds_its_phase():
    with pytest.raises(ValueError, match="unknown phase"):
        PhaseStage("annealed", 1, 0.01, 8)
    stage = PhaseStage("restarted", 2, 0.01, 64, (("min_age", 3), ("max_age", 9)))
    phase = stage.make_phase(np.zeros((5, 6)))
    assert isinstance(phase, RestartedPhase) and (phase.min_age, phase.max_age) == (3, 9)
    assert stage.to_dict() == {
        "phase": "restarted",
        "epochs": 2,
        "lr": 0.01,
        "n_chains": 64,
        "min_age": 3,
        "max_age": 9,
    }
    assert isinstance(PhaseStage("tempered", 1, 0.01, 8).make_phase(np.full((5, 6), 0.5)), TemperedPhase)


def test_a_recipe_with_a_second_stage_trains_both(tmp_path, monkeypatch, capsys):
    """The CLI runs a recipe's second stage after its fit and records it (a tiny stand-in for ``equilibrium``)."""
    from rbmlib import cli
    from rbmlib.train import RECIPES, Recipe, TrainConfig

    tiny = Recipe(5, TrainConfig(epochs=1, method="pcd"), PhaseStage("jarzynski", 1, 0.01, 32))
    monkeypatch.setitem(RECIPES, "tiny", tiny)
    images = (np.random.default_rng(0).random((256, 784)) * 255).astype(np.uint8)
    monkeypatch.setattr(cli, "load_mnist", lambda split, data_dir=None: (images, np.zeros(len(images), int)))
    out = tmp_path / "m.npz"
    assert cli.main(["train", "--recipe", "tiny", "--no-progress", "--out", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["then"] == "jarzynski" and report["then_epochs"] == 1
    rbm = RBM.load(out)
    assert rbm.n_hidden == 5 and rbm.metadata["then"]["phase"] == "jarzynski"
    assert rbm.metadata["phases"][-1]["phase"] == "JarzynskiPhase"
    stages = [rbm.metadata["history"], rbm.metadata["phases"][-1]["history"]]
    total = sum(r["seconds"] for h in stages for r in h)
    assert total > 0
    assert training_seconds(rbm) == pytest.approx(total)
