r"""The RBM as a feature detector: how much a linear classifier gains from its hidden units.

A *linear probe* trains a logistic regression on fixed features of the training images and
measures its accuracy on the test images. Compared on the same images, it says how much of
the digits' identity a representation makes linearly readable: the raw pixels, the first
principal components (PCA) of the same number of dimensions, or the hidden-unit
probabilities :math:`p(h_j = 1 \mid v)` of a trained RBM.
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..validation import check_int

__all__ = ["linear_probe", "pca_features"]


def linear_probe(train, train_labels, test, test_labels, *, max_iter: int = 200) -> dict:
    r"""Test accuracy of a logistic regression trained on ``train`` features, with a 95 % interval.

    The features are standardised (zero mean, unit variance per feature, from the training
    features), then a multinomial logistic regression (L2, ``C = 1``, lbfgs) is fitted.

    Parameters
    ----------
    train, test : array_like, shapes (N, d) and (M, d)
        Features of the training and test images.
    train_labels, test_labels : array_like, shapes (N,) and (M,)
    max_iter : int
        lbfgs iterations at most.

    Returns
    -------
    dict
        ``accuracy``, its 95 % interval ``low`` and ``high`` (normal approximation,
        :math:`\pm 1.96 \sqrt{p(1-p)/M}`), ``dimensions`` (d), ``iterations`` (lbfgs's) and
        ``predictions`` (M,).
    """
    train, test = np.asarray(train, dtype=np.float64), np.asarray(test, dtype=np.float64)
    if train.ndim != 2 or test.ndim != 2 or train.shape[1] != test.shape[1]:
        raise ValueError(f"train and test must be (N, d) and (M, d) features, got {train.shape} and {test.shape}")
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=check_int(max_iter, "max_iter")))
    clf.fit(train, np.asarray(train_labels))
    predictions = clf.predict(test)
    p = float(np.mean(predictions == np.asarray(test_labels)))
    half = 1.96 * np.sqrt(p * (1 - p) / len(test))
    return {
        "accuracy": p,
        "low": p - half,
        "high": p + half,
        "dimensions": train.shape[1],
        "iterations": int(np.max(clf[-1].n_iter_)),
        "predictions": predictions,
    }


def pca_features(train, test, n_components: int, *, rng=None) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n_components`` principal components of ``train``, and ``test`` projected on them.

    ``rng`` seeds the randomised SVD (an ``int``, None or a Generator).
    """
    seed = rng if isinstance(rng, (int, np.integer)) or rng is None else int(rng.integers(2**31))
    pca = PCA(n_components=check_int(n_components, "n_components"), svd_solver="randomized", random_state=seed)
    return pca.fit_transform(np.asarray(train, dtype=np.float64)), pca.transform(np.asarray(test, dtype=np.float64))
