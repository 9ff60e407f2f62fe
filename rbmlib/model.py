r"""The binary restricted Boltzmann machine.

An RBM with visible units :math:`v \in \{0,1\}^{n_v}` and hidden units
:math:`h \in \{0,1\}^{n_h}` has the energy

.. math::

    E(v, h) = -a^\top v - b^\top h - v^\top W h ,

with weights ``W`` of shape ``(n_visible, n_hidden)``, visible biases ``a`` and
hidden biases ``b``. Its conditionals factorise,

.. math::

    p(h_j = 1 \mid v) = \sigma(b_j + (v W)_j), \qquad
    p(v_i = 1 \mid h) = \sigma(a_i + (W h)_i),

and summing out ``h`` gives the free energy

.. math::

    F(v) = -a^\top v - \sum_j \log\bigl(1 + e^{b_j + (vW)_j}\bigr),
    \qquad p(v) = e^{-F(v)} / Z .
"""

from __future__ import annotations

import importlib
import json
import zipfile
from pathlib import Path

import numpy as np

from . import _engine
from ._io import atomic_savez
from .data import as_binary, check_probs
from .rng import as_rng
from .validation import check_int, check_mask, check_memory

__all__ = ["RBM", "ModelFileError", "load_state", "sigmoid", "softplus", "FORMAT_VERSION"]

FORMAT_VERSION = 1

#: Prefix of the extra arrays (e.g. a training state) stored beside ``W``, ``a``, ``b``.
STATE_PREFIX = "state:"


class ModelFileError(ValueError):
    """A model file is missing, corrupt or does not describe a valid RBM."""


def sigmoid(x, out=None):
    r"""The logistic function :math:`\sigma(x) = 1/(1+e^{-x}) = \tfrac12 + \tfrac12\tanh(x/2)`.

    Computed through ``np.tanh``, which numpy vectorises (several times faster than
    ``scipy.special.expit`` in float32) and which cannot overflow. The absolute error
    is a few units in the last place; probabilities below about ``1e-8`` (float32)
    round to 0. ``out`` may be ``x`` itself.
    """
    out = np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def softplus(x):
    r"""Numerically stable :math:`\log(1 + e^x)`, computed in the dtype of ``x``."""
    return np.logaddexp(x, 0, dtype=np.result_type(x, np.float32))


def _check_units(x, n: int, what: str, dtype) -> np.ndarray:
    """Validate a batch of unit values: rows ``(N, n)`` (1-D is a single row) in [0, 1], cast to ``dtype``."""
    if np.asarray(x).dtype == np.uint8:
        raise TypeError(
            f"{what}: uint8 arrays are grey-value images, not unit states; binarise them first "
            "(rbmlib.data.binarize) or pass probabilities x / 255"
        )
    arr = check_probs(x, name=what)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != n:
        raise ValueError(f"{what} must have shape (N, {n}), got {np.shape(x)}")
    return arr.astype(dtype, copy=False)


class RBM:
    r"""A binary–binary restricted Boltzmann machine.

    Parameters
    ----------
    n_visible, n_hidden : int
        Numbers of visible and hidden units (784 and, e.g., 10 or 400 for MNIST).
    rng : None, int or numpy.random.Generator
        Source of the initial parameters. As in the assignment, ``W`` and ``a`` are
        drawn from :math:`U(-0.01, 0.01)` and ``b`` is zero.
    dtype : numpy dtype
        ``float32`` (default, fast) or ``float64`` (for exact checks).

    Attributes
    ----------
    W : ndarray, shape (n_visible, n_hidden)
    a : ndarray, shape (n_visible,)
        Visible biases.
    b : ndarray, shape (n_hidden,)
        Hidden biases.
    metadata : dict
        Free-form, JSON-serialisable information saved with the model
        (training configuration, history, provenance).
    """

    def __init__(self, n_visible: int, n_hidden: int, *, rng=None, dtype=np.float32):
        check_int(n_visible, "n_visible")
        check_int(n_hidden, "n_hidden")
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype}")
        rng = as_rng(rng)
        self.W = rng.uniform(-0.01, 0.01, size=(n_visible, n_hidden)).astype(dtype)
        self.a = rng.uniform(-0.01, 0.01, size=n_visible).astype(dtype)
        self.b = np.zeros(n_hidden, dtype=dtype)
        self.metadata: dict = {}

    # ------------------------------------------------------------------ shape
    @property
    def n_visible(self) -> int:
        return self.W.shape[0]

    @property
    def n_hidden(self) -> int:
        return self.W.shape[1]

    @property
    def dtype(self) -> np.dtype:
        return self.W.dtype

    def __repr__(self) -> str:
        return f"RBM(n_visible={self.n_visible}, n_hidden={self.n_hidden}, dtype={self.dtype.name})"

    def astype(self, dtype) -> RBM:
        """Return a copy of the model with parameters in ``dtype``."""
        out = RBM.__new__(RBM)
        out.W, out.a, out.b = (np.array(x, dtype=dtype) for x in (self.W, self.a, self.b))
        out.metadata = json.loads(json.dumps(self.metadata))
        return out

    def copy(self) -> RBM:
        return self.astype(self.dtype)

    # ----------------------------------------------------------- scikit-learn
    @classmethod
    def from_sklearn(cls, estimator) -> RBM:
        """The RBM of a fitted ``BernoulliRBM`` (scikit-learn's or :class:`rbmlib.sklearn.BernoulliRBM`).

        ``W = components_.T``, ``a = intercept_visible_``, ``b = intercept_hidden_``, copied
        exactly in their dtype (float64 from scikit-learn), so free energies and conditionals
        are the estimator's to rounding.

        Raises
        ------
        TypeError
            If ``estimator`` has no fitted ``components_``, ``intercept_visible_`` and
            ``intercept_hidden_``.
        """
        try:
            W, a, b = estimator.components_.T, estimator.intercept_visible_, estimator.intercept_hidden_
        except AttributeError:
            raise TypeError(
                f"from_sklearn needs a fitted BernoulliRBM (components_, intercept_visible_, intercept_hidden_), "
                f"got {type(estimator).__name__}"
            ) from None
        dtype = np.result_type(W, a, b)
        rbm = cls.__new__(cls)
        rbm.W, rbm.a, rbm.b = (np.array(x, dtype=dtype, order="C") for x in (W, a, b))
        rbm.metadata = {"source": f"{type(estimator).__module__}.{type(estimator).__name__}"}
        if rbm.W.ndim != 2 or rbm.a.shape != (rbm.n_visible,) or rbm.b.shape != (rbm.n_hidden,):
            raise ValueError(f"inconsistent shapes: components_ {W.T.shape}, intercepts {a.shape} and {b.shape}")
        return rbm

    def to_sklearn(self):
        """A fitted ``sklearn.neural_network.BernoulliRBM`` with this model's parameters (needs scikit-learn).

        Its ``components_`` is ``W.T``, its intercepts ``b`` and ``a``, in this model's dtype;
        its persistent chains start at zero. :meth:`from_sklearn` of it gives this model back.
        """
        # imported here: scikit-learn is an optional extra and the core must not need it
        nn = importlib.import_module("sklearn.neural_network")
        est = nn.BernoulliRBM(n_components=self.n_hidden)
        est.components_ = self.W.T.copy()
        est.intercept_hidden_ = self.b.copy()
        est.intercept_visible_ = self.a.copy()
        est.n_features_in_ = self.n_visible
        est.h_samples_ = np.zeros((est.batch_size, self.n_hidden), dtype=self.dtype)
        est.random_state_ = np.random.RandomState()
        return est

    def _v(self, v):
        return _check_units(v, self.n_visible, "v", self.dtype)

    def _h(self, h):
        return _check_units(h, self.n_hidden, "h", self.dtype)

    # ----------------------------------------------------------- conditionals
    def hidden_probs(self, v) -> np.ndarray:
        r""":math:`p(h_j=1 \mid v) = \sigma(b_j + (vW)_j)`.

        Parameters
        ----------
        v : array_like, shape (N, n_visible)

        Returns
        -------
        ndarray, shape (N, n_hidden)
        """
        return sigmoid(self._v(v) @ self.W + self.b)

    def visible_probs(self, h) -> np.ndarray:
        r""":math:`p(v_i=1 \mid h) = \sigma(a_i + (W h)_i)` — the assignment's ``SampleVisibleProb``.

        Takes hidden states ``h`` of shape (N, n_hidden) and returns the (N, n_visible)
        probabilities, the mirror image of :meth:`hidden_probs`.
        """
        return sigmoid(self._h(h) @ self.W.T + self.a)

    def sample_hidden(self, v, *, rng=None) -> np.ndarray:
        """Draw :math:`h \\sim p(h \\mid v)` — the assignment's ``SampleHidden``.

        Returns an array of 0/1 values, shape (N, n_hidden), in the model's dtype.
        """
        return self._draw(self._v(v) @ self.W, self.b, rng)

    def sample_visible(self, h, *, rng=None) -> np.ndarray:
        """Draw :math:`v \\sim p(v \\mid h)` — the assignment's ``SampleVisible``.

        Returns an array of 0/1 values, shape (N, n_visible), in the model's dtype.
        """
        return self._draw(self._h(h) @ self.W.T, self.a, rng)

    @staticmethod
    def _draw(pre, bias, rng):
        """Bernoulli draws with probabilities :math:`\\sigma(\\text{pre} + \\text{bias})` (the engine's draw)."""
        key = _engine.key_from(as_rng(rng))
        return _engine.half_step(pre, bias, key, want_p=False)[0]

    # --------------------------------------------------------------- energies
    def energy(self, v, h) -> np.ndarray:
        r""":math:`E(v,h) = -a^\top v - b^\top h - v^\top W h`, shape (N,)."""
        v, h = self._v(v), self._h(h)
        if v.shape[0] != h.shape[0]:
            raise ValueError(f"v and h must have the same number of rows, got {v.shape[0]} and {h.shape[0]}")
        return -(v @ self.a) - (h @ self.b) - np.einsum("ni,ij,nj->n", v, self.W, h)

    def free_energy(self, v) -> np.ndarray:
        r"""Free energy :math:`F(v) = -\log \sum_h e^{-E(v,h)}`.

        .. math::

            F(v) = -a^\top v - \sum_j \operatorname{softplus}(b_j + (vW)_j)

        Parameters
        ----------
        v : array_like, shape (N, n_visible)

        Returns
        -------
        ndarray, shape (N,)
        """
        v = self._v(v)
        return -(v @ self.a) - softplus(v @ self.W + self.b).sum(axis=1)

    # ------------------------------------------------------------------ Gibbs
    def gibbs(self, v, steps: int, *, rng=None, clamp=None):
        r"""Run ``steps`` rounds of block Gibbs sampling :math:`v \to h \to v`.

        Parameters
        ----------
        v : array_like, shape (N, n_visible)
            Starting visible states (0/1; probabilities are binarised first).
        steps : int
            Number of up–down rounds (``steps >= 1``).
        rng : None, int or numpy.random.Generator
        clamp : array_like of bool, shape (n_visible,) or (N, n_visible), optional
            Visible units held at their starting values (for recall).

        Returns
        -------
        v : ndarray, shape (N, n_visible)
            The final visible sample (``SampleVisible``).
        p : ndarray, shape (N, n_visible)
            :math:`p(v \mid h)` of the last step (``SampleVisibleProb``);
            clamped units show their clamped value.

        Notes
        -----
        Runs on rbmlib's fused Gibbs engine: the chains' random numbers are addressed by
        chain, layer and step under a key drawn from ``rng``, so the result is the same
        on any number of threads.
        """
        rng = as_rng(rng)
        steps = check_int(steps, "steps")
        x = self._v(v)
        check_memory(3.0 * x.size * self.dtype.itemsize, f"Gibbs chains of {x.shape[0]} x {self.n_visible} units")
        v = np.ascontiguousarray(as_binary(x, self.n_visible, rng=rng, dtype=self.dtype, name="v"))  # a copy
        if clamp is not None:
            clamp = check_mask(clamp, self.n_visible, rows=v.shape[0], name="clamp")
        chains = _engine.GibbsChains(self.W, self.a, self.b, v, _engine.key_from(rng), clamp=clamp)
        return v, chains.run(steps)

    # -------------------------------------------------------------------- I/O
    def save(self, path, metadata: dict | None = None, *, state: dict | None = None) -> Path:
        """Save to ``path`` (``.npz``) atomically: write a temporary file, then rename.

        The archive holds the arrays ``W``, ``a``, ``b`` and ``metadata`` (JSON text
        with the format version and :attr:`metadata`, updated by ``metadata``).

        Parameters
        ----------
        path : path-like
        metadata : dict, optional
            Entries added to :attr:`metadata` before saving.
        state : dict of str to ndarray, optional
            Extra arrays stored beside the parameters (a training state: momentum,
            persistent chains ...); :meth:`load` ignores them, :func:`load_state`
            reads them back.
        """
        path = Path(path)
        if metadata:
            self.metadata.update(metadata)
        meta = {
            "format_version": FORMAT_VERSION,
            "n_visible": self.n_visible,
            "n_hidden": self.n_hidden,
            "dtype": self.dtype.name,
            **self.metadata,
        }
        try:
            text = json.dumps(meta)
        except TypeError as err:
            raise ValueError(f"model metadata must be JSON-serialisable: {err}") from None
        extra = {STATE_PREFIX + k: np.asarray(v) for k, v in (state or {}).items()}
        atomic_savez(path, W=self.W, a=self.a, b=self.b, metadata=np.array(text), **extra)
        return path

    @classmethod
    def load(cls, path) -> RBM:
        """Load a model saved by :meth:`save`, checking it thoroughly.

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        ModelFileError
            If the file is not an ``.npz`` archive, holds pickles, lacks an array,
            or has mismatched shapes, a wrong dtype or non-finite values.
        """
        path = Path(path)
        arrays = _read_npz(path)
        missing = [k for k in ("W", "a", "b", "metadata") if k not in arrays]
        if missing:
            raise ModelFileError(f"{path}: missing array(s) {', '.join(missing)}")
        try:
            meta = json.loads(str(arrays["metadata"]))
        except json.JSONDecodeError as err:
            raise ModelFileError(f"{path}: metadata is not valid JSON ({err})") from None
        if not isinstance(meta, dict):
            raise ModelFileError(f"{path}: metadata must be a JSON object")
        version = meta.pop("format_version", None)
        if version != FORMAT_VERSION:
            raise ModelFileError(f"{path}: unsupported format version {version!r} (expected {FORMAT_VERSION})")
        W, a, b = arrays["W"], arrays["a"], arrays["b"]
        for name, arr, nd in (("W", W, 2), ("a", a, 1), ("b", b, 1)):
            if arr.ndim != nd:
                raise ModelFileError(f"{path}: {name} must be {nd}-D, got shape {arr.shape}")
            if arr.dtype not in (np.float32, np.float64):
                raise ModelFileError(f"{path}: {name} has dtype {arr.dtype}, expected float32 or float64")
            if not np.all(np.isfinite(arr)):
                raise ModelFileError(f"{path}: {name} contains NaN or infinite values")
        if a.shape[0] != W.shape[0] or b.shape[0] != W.shape[1]:
            raise ModelFileError(f"{path}: shapes do not match: W {W.shape}, a {a.shape}, b {b.shape}")
        if not (W.dtype == a.dtype == b.dtype):
            raise ModelFileError(f"{path}: W, a and b must share one dtype, got {W.dtype}, {a.dtype}, {b.dtype}")
        for key in ("n_visible", "n_hidden"):
            expect = W.shape[0] if key == "n_visible" else W.shape[1]
            if key in meta and meta[key] != expect:
                raise ModelFileError(f"{path}: metadata says {key}={meta[key]} but W has shape {W.shape}")
        for key in ("n_visible", "n_hidden", "dtype"):
            meta.pop(key, None)
        rbm = cls.__new__(cls)
        rbm.W, rbm.a, rbm.b = W, a, b
        rbm.metadata = meta
        return rbm


def _read_npz(path: Path) -> dict:
    """All arrays of a model file, refusing pickles; errors name the file and the problem."""
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path}: not a valid .npz model file (not a zip archive)")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except ValueError as err:
        if "pickle" in str(err).lower():
            raise ModelFileError(f"{path}: refusing to load pickled objects from a model file") from None
        raise ModelFileError(f"{path}: not a valid .npz model file ({err})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as err:
        raise ModelFileError(f"{path}: not a valid .npz model file ({err})") from None


def load_state(path) -> dict:
    """The extra arrays that :meth:`RBM.save` stored with ``state=``, by name (empty if none)."""
    arrays = _read_npz(Path(path))
    return {k[len(STATE_PREFIX) :]: v for k, v in arrays.items() if k.startswith(STATE_PREFIX)}
