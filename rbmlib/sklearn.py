r"""rbmlib as a scikit-learn citizen: :class:`BernoulliRBM`, a drop-in for scikit-learn's, on rbmlib's engine.

The RBM's third use is as a *feature detector*: the hidden units' probabilities
:math:`p(h_j = 1 \mid v)` of a trained model are features for a supervised learner. This
estimator has scikit-learn's ``BernoulliRBM`` interface (the same parameters, defaults and
fitted attributes), so it fits into a :class:`~sklearn.pipeline.Pipeline` or a
:class:`~sklearn.model_selection.GridSearchCV` in its place, and it trains with
:func:`rbmlib.train.fit`:

* the same algorithm by default, persistent contrastive divergence (``method="pcd"``, one
  persistent chain per minibatch row), but every image is binarised afresh each time it is
  used and the negative phase samples its hidden units (scikit-learn uses the images'
  values and the hidden mean field);
* the extras of :class:`~rbmlib.train.config.TrainConfig`: CD-k, more persistent chains, momentum, weight
  decay, a learning-rate schedule, centring;
* ``random_state`` in scikit-learn's convention: ``None``, an ``int`` (the same int gives the
  same model, on any number of threads) or a ``RandomState`` (a seed is drawn from it);
* ``score_samples`` returns scikit-learn's pseudo-likelihood by default, or the exact
  (``likelihood="exact"``, at most 25 units on one side) or AIS (``likelihood="ais"``)
  log-likelihood.

Visible values must be probabilities in [0, 1] (binary images, or grey values scaled by
1/255); anything else is an error that says so. scikit-learn's own estimator does not check.

Conversions: :meth:`rbmlib.model.RBM.from_sklearn` and :meth:`rbmlib.model.RBM.to_sklearn` map a fitted
estimator (either one) to an :class:`~rbmlib.model.RBM` and back without changing a parameter:
``W = components_.T``, ``a = intercept_visible_``, ``b = intercept_hidden_``.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .evaluate import MAX_EXACT_UNITS, log_partition
from .model import RBM
from .train import TrainConfig, fit

__all__ = ["BernoulliRBM"]

#: What :meth:`BernoulliRBM.score_samples` returns.
LIKELIHOODS = ("pseudo", "exact", "ais")


class BernoulliRBM(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    r"""Bernoulli restricted Boltzmann machine, scikit-learn's interface on rbmlib's engine.

    Parameters
    ----------
    n_components : int
        Hidden units.
    learning_rate : float
        Learning rate (rbmlib's ``lr``).
    batch_size : int
        Examples per minibatch (at most the number of samples).
    n_iter : int
        Passes over the training data (rbmlib's ``epochs``).
    verbose : int
        Show a progress bar while fitting.
    random_state : None, int or numpy.random.RandomState
        scikit-learn's convention; mapped onto rbmlib's ``rng``.
    method : {"pcd", "cd"}
        Persistent contrastive divergence (scikit-learn's algorithm) or CD-k.
    k : int
        Gibbs steps per update.
    n_chains : int, optional
        PCD's persistent chains (default ``batch_size``).
    momentum, weight_decay, lr_schedule, centering, init_visible_bias
        As :class:`~rbmlib.train.config.TrainConfig`.
    likelihood : {"pseudo", "exact", "ais"}
        What :meth:`score_samples` returns.

    Attributes
    ----------
    components_ : ndarray, shape (n_components, n_features)
        Weights (``W.T``).
    intercept_hidden_ : ndarray, shape (n_components,)
    intercept_visible_ : ndarray, shape (n_features,)
    n_features_in_ : int
    rbm_ : rbmlib.model.RBM
        The fitted model itself (float32), with its training history in ``metadata``.
    """

    def __init__(
        self,
        n_components=256,
        *,
        learning_rate=0.1,
        batch_size=10,
        n_iter=10,
        verbose=0,
        random_state=None,
        method="pcd",
        k=1,
        n_chains=None,
        momentum=0.0,
        weight_decay=0.0,
        lr_schedule=None,
        centering=False,
        init_visible_bias=False,
        likelihood="pseudo",
    ):
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.verbose = verbose
        self.random_state = random_state
        self.method = method
        self.k = k
        self.n_chains = n_chains
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.centering = centering
        self.init_visible_bias = init_visible_bias
        self.likelihood = likelihood

    # ------------------------------------------------------------------ scikit-learn plumbing
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _validate(self, X, *, reset: bool) -> np.ndarray:
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=reset)
        if X.size and (X.min() < 0 or X.max() > 1):
            negative = "Negative values in data: " if X.min() < 0 else ""
            raise ValueError(
                f"{negative}{type(self).__name__} models binary units, so X must hold probabilities in [0, 1] "
                f"(binary images or grey values / 255); got values in [{X.min():.4g}, {X.max():.4g}]"
            )
        return X

    def _rng(self):
        """rbmlib's ``rng`` for ``random_state``: None, the int itself, or a seed drawn from a RandomState."""
        rs = self.random_state
        if rs is None or isinstance(rs, (int, np.integer)):
            return rs
        return int(check_random_state(rs).randint(np.iinfo(np.int32).max))

    def _config(self, n_samples: int, epochs: int) -> TrainConfig:
        batch = min(int(self.batch_size), n_samples)
        return TrainConfig(
            epochs=epochs,
            lr=self.learning_rate,
            batch_size=batch,
            method=self.method,
            k=self.k,
            n_chains=self.n_chains if self.method == "pcd" else None,
            momentum=self.momentum,
            weight_decay=self.weight_decay,
            lr_schedule=self.lr_schedule,
            centering=self.centering,
            init_visible_bias=self.init_visible_bias,
        )

    def _train(self, X, epochs: int, rng) -> None:
        fit(
            self.rbm_,
            X.astype(np.float32, copy=False),
            self._config(len(X), epochs),
            rng=rng,
            progress=bool(self.verbose),
            monitor_size=min(1000, len(X)),
        )
        self._log_z = None

    # ----------------------------------------------------------------------- the estimator
    def fit(self, X, y=None):
        """Fit the model to the data ``X`` (probabilities in [0, 1]); ``y`` is ignored. Returns ``self``."""
        X = self._validate(X, reset=True)
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {', '.join(LIKELIHOODS)}, got {self.likelihood!r}")
        self._stream = np.random.default_rng(self._rng())  # all the fitted model's randomness, in order
        self.rbm_ = RBM(X.shape[1], self.n_components, rng=self._stream)
        self._train(X, self.n_iter, self._stream)
        return self

    def partial_fit(self, X, y=None):
        """One pass over ``X`` (one minibatch when ``len(X) <= batch_size``), from the current parameters.

        The first call initialises the model. PCD's persistent chains start afresh with every
        call; for long runs, :meth:`fit` (or :func:`rbmlib.train.fit`) keeps them. Returns ``self``.
        """
        first = not hasattr(self, "rbm_")
        X = self._validate(X, reset=first)
        if first:
            self._stream = np.random.default_rng(self._rng())
            self.rbm_ = RBM(X.shape[1], self.n_components, rng=self._stream)
        self._train(X, 1, self._stream)
        return self

    def transform(self, X):
        """Hidden-unit probabilities :math:`p(h_j = 1 \\mid v)`, shape (n_samples, n_components): the features."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        return self.rbm_.hidden_probs(X.astype(np.float32)).astype(X.dtype, copy=False)

    def gibbs(self, v):
        """One Gibbs step from ``v``: :math:`h \\sim p(h \\mid v)`, then a visible sample :math:`v' \\sim p(v \\mid h)`.

        ``v`` holds probabilities in [0, 1] (binarised first). Returns 0/1 values, shape like ``v``.
        Successive calls continue one random stream (seeded by ``random_state`` at fit time).
        """
        check_is_fitted(self)
        v = self._validate(v, reset=False)
        return self.rbm_.gibbs(v.astype(np.float32), 1, rng=self._stream)[0].astype(v.dtype)

    def score_samples(self, X):
        r"""Per sample: scikit-learn's pseudo-likelihood (``likelihood="pseudo"``), or :math:`\log p(v)` in nats.

        The pseudo-likelihood flips one pixel :math:`i` of each sample and returns
        :math:`n \log \sigma(F(\tilde v) - F(v))`, as scikit-learn does; the pixel is chosen by
        a hash of the sample's values and ``random_state`` rather than drawn anew, so that a
        sample's score does not depend on the other samples or their order.
        ``likelihood="exact"`` returns :math:`-F(v) - \log Z` with the exact
        :math:`\log Z` (at most 25 units on the smaller side); ``likelihood="ais"`` with an AIS
        estimate (:func:`rbmlib.evaluate.log_partition`, computed once per fit).
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False).astype(np.float64)
        m = self.rbm_.astype(np.float64)
        if self.likelihood == "pseudo":
            flipped = X.copy()
            rows, cols = np.arange(len(X)), self._pixel_to_flip(X)
            flipped[rows, cols] = 1 - flipped[rows, cols]
            return -X.shape[1] * np.logaddexp(0, -(m.free_energy(flipped) - m.free_energy(X)))
        if self._log_z is None:
            if self.likelihood == "exact" or min(m.n_visible, m.n_hidden) <= MAX_EXACT_UNITS:
                self._log_z = log_partition(m).log_z
            else:
                self._log_z = log_partition(self.rbm_, "ais", rng=self._rng()).log_z
        return -m.free_energy(X) - self._log_z

    def _pixel_to_flip(self, X) -> np.ndarray:
        """A pixel index per row: a multiplicative hash of the row's values (to 1/255) and ``random_state``."""
        seed = self.random_state if isinstance(self.random_state, (int, np.integer)) else 0
        odd = np.random.default_rng(seed).integers(1, 2**62, size=X.shape[1], dtype=np.uint64) | np.uint64(1)
        with np.errstate(over="ignore"):
            h = (np.rint(X * 255).astype(np.uint64) * odd).sum(axis=1, dtype=np.uint64)
            h ^= h >> np.uint64(29)
            h *= np.uint64(0xBF58476D1CE4E5B9)
            h ^= h >> np.uint64(32)
        return (h % np.uint64(X.shape[1])).astype(np.int64)

    # ------------------------------------------------------------------ scikit-learn's names
    @property
    def components_(self):
        check_is_fitted(self)
        return self.rbm_.W.T

    @property
    def intercept_hidden_(self):
        check_is_fitted(self)
        return self.rbm_.b

    @property
    def intercept_visible_(self):
        check_is_fitted(self)
        return self.rbm_.a

    @property
    def _n_features_out(self):
        return self.n_components
