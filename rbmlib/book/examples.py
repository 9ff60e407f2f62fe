"""scikit-learn's example "RBM features for digit classification", written again for the book.

The example trains a ``BernoulliRBM`` on scikit-learn's 8x8 digits, made five times as many by
shifting every image one pixel up, down, left and right, and feeds its hidden units to a
logistic regression; a logistic regression on the raw pixels is the baseline. The book runs it
with scikit-learn's estimator and with :class:`rbmlib.sklearn.BernoulliRBM` in its place.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

__all__ = ["nudged_digits", "digits_example"]


def _shift(images, dy: int, dx: int) -> np.ndarray:
    """8x8 images moved by (dy, dx) pixels, zeros shifted in."""
    out = np.zeros_like(images)
    src = images.reshape(-1, 8, 8)
    dst = out.reshape(-1, 8, 8)
    rows, cols = slice(max(dy, 0), 8 + min(dy, 0)), slice(max(dx, 0), 8 + min(dx, 0))
    dst[:, rows, cols] = src[:, slice(max(-dy, 0), 8 + min(-dy, 0)), slice(max(-dx, 0), 8 + min(-dx, 0))]
    return out


def nudged_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1797 digits and their four one-pixel shifts, scaled to [0, 1]: (8985, 64) and labels."""
    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    shifted = [x] + [_shift(x, dy, dx) for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1))]
    return np.concatenate(shifted).astype(np.float32), np.tile(y, 5)


def digits_example(rbm, *, rng: int = 0) -> dict:
    """The example's two pipelines on the nudged digits, an 80/20 split drawn with ``rng``.

    Parameters
    ----------
    rbm : estimator
        A ``BernoulliRBM`` (scikit-learn's or rbmlib's) with the example's settings.
    rng : int
        Seed of the train/test split.

    Returns
    -------
    dict
        ``rbm_accuracy`` (RBM features + logistic regression with C = 6000), ``pixel_accuracy``
        (logistic regression on the pixels, C = 100), ``n_test``, and ``rbm_seconds`` (the
        RBM's fit alone, after a short fit of a copy has loaded whatever the estimator loads on
        first use: rbmlib's compiled kernels).
    """
    x, y = nudged_digits()
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=rng)
    clone(rbm).set_params(n_iter=1).fit(x_train[:100])
    t0 = time.perf_counter()
    features = rbm.fit(x_train)
    seconds = time.perf_counter() - t0
    head = LogisticRegression(C=6000, max_iter=1000).fit(features.transform(x_train), y_train)
    pipe = Pipeline([("rbm", rbm), ("logistic", head)])
    raw = LogisticRegression(C=100, max_iter=1000).fit(x_train, y_train)
    return {
        "rbm_accuracy": float(np.mean(pipe.predict(x_test) == y_test)),
        "pixel_accuracy": float(np.mean(raw.predict(x_test) == y_test)),
        "n_test": len(y_test),
        "rbm_seconds": seconds,
    }
