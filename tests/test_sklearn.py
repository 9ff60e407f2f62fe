"""rbmlib.sklearn.BernoulliRBM as a scikit-learn citizen, and exact conversion to and from scikit-learn's."""

import pickle

import numpy as np
import pytest
import sklearn.utils.estimator_checks as ec
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import BernoulliRBM as SkBernoulliRBM
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from rbmlib import RBM, log_partition
from rbmlib.sklearn import BernoulliRBM

_enforce = ec._enforce_estimator_tags_X


def _into_unit_interval(estimator, X, X_test=None, **kwargs):
    """scikit-learn's data adaptation, then (for this estimator) the data scaled into [0, 1].

    The generic checks draw unbounded data and map it to what an estimator's tags say it takes
    (non-negative values for ``positive_only``); a Bernoulli RBM takes probabilities, and no tag
    says so, so its data are divided by their maximum as well (a private hook of scikit-learn's).
    """
    out = _enforce(estimator, X, X_test, **kwargs)
    if not isinstance(estimator, BernoulliRBM):
        return out
    unit = lambda a: a / a.max() if a.size and a.max() > 1 else a
    return (unit(out[0]), unit(out[1])) if X_test is not None else unit(out)


@pytest.fixture(autouse=True)
def _bounded_check_data(monkeypatch):
    monkeypatch.setattr(ec, "_enforce_estimator_tags_X", _into_unit_interval)


@parametrize_with_checks([BernoulliRBM(n_components=4, n_iter=2, random_state=0)])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def _digits():
    x, y = load_digits(return_X_y=True)
    return x / 16.0, y


def test_out_of_range_input_is_a_clear_error():
    est = BernoulliRBM(n_components=3, n_iter=1)
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\].*got values in \[0, 16\]"):
        est.fit(load_digits().data)
    with pytest.raises(ValueError, match="Negative values in data"):
        est.fit(-np.ones((5, 4)))


def test_same_random_state_same_model_and_a_randomstate_is_accepted():
    x, _ = _digits()
    a = BernoulliRBM(n_components=8, n_iter=2, random_state=3).fit(x)
    b = BernoulliRBM(n_components=8, n_iter=2, random_state=3).fit(x)
    c = BernoulliRBM(n_components=8, n_iter=2, random_state=4).fit(x)
    assert np.array_equal(a.components_, b.components_) and not np.array_equal(a.components_, c.components_)
    d = BernoulliRBM(n_components=8, n_iter=1, random_state=np.random.RandomState(0)).fit(x)
    assert d.components_.shape == (8, 64) and np.all(np.isfinite(d.components_))


def test_features_in_a_pipeline_with_grid_search_and_pickle():
    x, y = _digits()
    pipe = Pipeline(
        [
            ("rbm", BernoulliRBM(n_iter=10, learning_rate=0.05, random_state=0)),
            ("clf", LogisticRegression(max_iter=500)),
        ]
    )
    search = GridSearchCV(pipe, {"rbm__n_components": [16, 64]}, cv=2).fit(x, y)
    assert search.best_params_["rbm__n_components"] in (16, 64) and search.best_score_ > 0.5  # chance: 0.1
    fitted = search.best_estimator_
    back = pickle.loads(pickle.dumps(fitted))
    assert np.array_equal(back.predict(x[:50]), fitted.predict(x[:50]))
    assert np.array_equal(back[0].transform(x[:5]), fitted[0].transform(x[:5]))


def test_conversion_from_and_to_scikit_learn_is_exact():
    """Free energies and p(h | v) of a fitted scikit-learn BernoulliRBM and of its rbmlib RBM agree, and
    RBM -> scikit-learn -> RBM gives every parameter back bit for bit."""
    x, _ = _digits()
    est = SkBernoulliRBM(n_components=20, n_iter=3, random_state=0).fit(x)
    rbm = RBM.from_sklearn(est)
    assert rbm.dtype == np.float64 and rbm.W.shape == (64, 20)
    np.testing.assert_allclose(rbm.free_energy(x), est._free_energy(x), rtol=0, atol=1e-9)
    np.testing.assert_allclose(rbm.hidden_probs(x), est.transform(x), rtol=0, atol=1e-12)
    back = RBM.from_sklearn(rbm.to_sklearn())
    assert all(np.array_equal(getattr(back, k), getattr(rbm, k)) for k in "Wab")
    np.testing.assert_array_equal(rbm.to_sklearn().transform(x), est.transform(x))
    ours = BernoulliRBM(n_components=5, n_iter=1, random_state=0).fit(x)
    assert np.array_equal(RBM.from_sklearn(ours).W, ours.rbm_.W)
    with pytest.raises(TypeError, match="needs a fitted BernoulliRBM"):
        RBM.from_sklearn(SkBernoulliRBM())


def test_score_samples_pseudo_and_exact():
    """The pseudo-likelihood is scikit-learn's formula; the exact log-likelihood sums to at most 1 in probability."""
    x, _ = _digits()
    xb = (x > 0.5).astype(float)
    est = BernoulliRBM(n_components=6, n_iter=3, random_state=0, likelihood="exact").fit(xb)
    rbm = est.rbm_.astype(np.float64)
    log_p = est.score_samples(xb[:40])
    np.testing.assert_allclose(log_p, -rbm.free_energy(xb[:40]) - log_partition(rbm).log_z, rtol=1e-12)
    assert np.all(log_p < 0)
    pseudo = est.set_params(likelihood="pseudo").score_samples(xb[:40])
    assert pseudo.shape == (40,) and np.all(pseudo <= 0)
    assert np.array_equal(pseudo[::-1], est.score_samples(xb[:40][::-1]))  # each sample's own score


def test_partial_fit_and_gibbs():
    x, _ = _digits()
    est = BernoulliRBM(n_components=10, batch_size=20, random_state=0)
    for chunk in np.array_split(x, 5):
        est.partial_fit(chunk)
    assert est.components_.shape == (10, 64) and len(est.rbm_.metadata["history"]) == 1
    v = est.gibbs((x[:30] > 0.5).astype(float))
    assert v.shape == (30, 64) and set(np.unique(v)) <= {0.0, 1.0}
    assert not np.array_equal(v, est.gibbs(v))  # one stream, advancing
