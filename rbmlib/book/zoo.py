"""The course book's models and results, shared through an on-disk cache.

A notebook asks for a model by its settings, ``trained_model(n_hidden=400, epochs=10)``;
the first caller on a machine trains it (with a checkpoint, so an interrupted run
resumes), later callers load it. The cache folder is ``$RBMLIB_CACHE`` or
``~/.cache/rbmlib/models`` (``$XDG_CACHE_HOME`` respected). A file lock lets
notebooks executed in parallel wait for each other instead of training twice.

The key is a SHA-256 of the settings, the seed, the version of the training code
(:data:`TRAINING_VERSION`) and the MNIST checksums, so a change to any of them
trains a new model. The committed models (:mod:`rbmlib.pretrained`) are loaded, not
trained; only when the book asks for it (``retrain=True``) is a missing or corrupt one
replaced by training its recipe.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import fields

import numpy as np

from .._io import atomic_savez, cache_dir, cached_artifact
from ..data import SHA256, binarized_test_set, load_mnist
from ..evaluate import log_likelihood, log_partition
from ..model import RBM, ModelFileError
from ..pretrained import PRETRAINED, load_pretrained
from ..train import RECIPES, Recipe, TrainConfig, fit
from ..train import recipe as get_recipe

__all__ = [
    "TRAINING_VERSION",
    "BOOK_MODELS",
    "book_model",
    "require_seed",
    "model_key",
    "trained_model",
    "recipe_model",
    "book_model",
    "cached_result",
]

#: Bump when a change to the training code changes what a configuration produces (5: the
#: monitor sets are binarised by the engine's rule, so the histories differ; 6: products
#: with a 0/1 operand sum rows of ``W`` (``rbmlib/_engine/sparse.py``), which rounds
#: differently from sgemm, and pixel means are summed as integers).
TRAINING_VERSION = 6

#: The models the course book uses, by name: settings for :func:`trained_model`.
#: ``cd1-10`` and ``cd1-400`` are the assignment's configuration (CD-1, lr 0.1, batch 64).
BOOK_MODELS: dict[str, dict] = {
    "cd1-10": dict(n_hidden=10, epochs=20, lr=0.1, batch_size=64, method="cd", k=1, exact_log_likelihood=True),
    "cd1-400": dict(n_hidden=400, epochs=20, lr=0.1, batch_size=64, method="cd", k=1),
}


def require_seed(rng) -> int:
    """``rng`` as an int seed; the book's caches are keyed by it, so a Generator will not do."""
    if isinstance(rng, bool) or not isinstance(rng, (int, np.integer)) or rng < 0:
        raise TypeError(f"rng must be a non-negative int seed here (it is part of the cache key), got {rng!r}")
    return int(rng)


def model_key(settings: dict, *, rng: int) -> str:
    """Hex digest identifying a trained model: settings, seed, code version and data."""
    blob = json.dumps(
        {"settings": settings, "seed": require_seed(rng), "version": TRAINING_VERSION, "data": SHA256["train_images"]},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def trained_model(
    *,
    n_hidden: int,
    rng: int = 0,
    name: str | None = None,
    progress: bool = True,
    exact_log_likelihood: bool = False,
    data_dir=None,
    **settings,
) -> RBM:
    """Return an RBM trained on MNIST with ``settings``, from the cache or trained now.

    Parameters
    ----------
    n_hidden : int
    rng : int
        Seed of the initial parameters and of training (part of the cache key).
    name : str, optional
        A readable prefix for the cache file name.
    progress : bool
        Show the training progress bar when training is needed.
    exact_log_likelihood : bool
        Record the exact test log-likelihood after each epoch in the history
        (``test_log_likelihood``); only for small models.
    data_dir : path, optional
        MNIST folder (see :func:`rbmlib.data.load_mnist`).
    **settings
        Fields of :class:`~rbmlib.train.config.TrainConfig` (``epochs``, ``lr``, ``method``, ...).

    Returns
    -------
    RBM
        With ``metadata['history']`` from its training and ``metadata['cache_key']``.
    """
    seed = require_seed(rng)
    config = TrainConfig(**settings)  # validated before anything is trained or looked up
    key_settings = dict(settings, n_hidden=n_hidden, exact_log_likelihood=exact_log_likelihood)
    key = model_key(key_settings, rng=seed)
    path = cache_dir() / f"{name or 'rbm'}-{n_hidden}h-{key}.npz"

    def build(path):
        images, _ = load_mnist("train", data_dir=data_dir)
        held, _ = load_mnist("test", data_dir=data_dir)
        callback = _exact_test_ll_callback(data_dir) if exact_log_likelihood else None
        rbm = RBM(images.shape[1], n_hidden, rng=seed)
        ckpt = path.with_suffix(".ckpt.npz")
        fit(
            rbm,
            images,
            config,
            rng=seed,
            held_out=held,
            checkpoint=ckpt,
            resume=True,
            progress=progress,
            callback=callback,
        )
        rbm.save(path, {"cache_key": key, "settings": key_settings, "seed": seed})
        ckpt.unlink(missing_ok=True)
        return rbm

    return cached_artifact(path, RBM.load, build)


def recipe_model(name: str, *, rng: int = 0, recipe: Recipe | None = None, progress: bool = True, data_dir=None) -> RBM:
    """The recipe ``name`` trained with seed ``rng`` on MNIST, both its stages, from the cache or trained now.

    The first stage is :func:`trained_model` with the recipe's configuration (file
    ``<name>-seed<rng>-...``, or the name of the recipe without a second stage that it
    equals); a second stage (:class:`rbmlib.train.PhaseStage`) continues from
    it and is cached under a key of the first stage's key and the stage's settings.

    Parameters
    ----------
    name : str
        A key of :data:`rbmlib.train.recipes.RECIPES`, or the name (file prefix) of ``recipe``.
    rng : int
        Seed of the initial parameters and of both stages.
    recipe : rbmlib.train.Recipe, optional
        A recipe not in :data:`rbmlib.train.recipes.RECIPES` (a candidate of the recipe search).
    progress : bool
    data_dir : path, optional

    Returns
    -------
    RBM
    """
    seed = require_seed(rng)
    r = get_recipe(name) if recipe is None else recipe
    settings = _settings(r.config)
    # a first stage that is a recipe of its own (``best`` for ``equilibrium``) shares its file
    same = [k for k, o in RECIPES.items() if o.then is None and (o.n_hidden, o.config) == (r.n_hidden, r.config)]
    first = trained_model(
        n_hidden=r.n_hidden,
        rng=seed,
        name=f"{(same or [name])[0]}-seed{seed}",
        progress=progress,
        data_dir=data_dir,
        **settings,
    )
    if r.then is None:
        return first
    first_key = model_key(
        dict(settings, n_hidden=r.n_hidden, exact_log_likelihood=False), rng=seed
    )  # as trained_model's
    stage = r.then.to_dict()
    key = model_key({"first": first_key, "then": stage}, rng=seed)
    path = cache_dir() / f"{name}-seed{seed}-then-{r.n_hidden}h-{key}.npz"

    def build(path):
        images, _ = load_mnist("train", data_dir=data_dir)
        rbm = first.copy()
        r.then.run(rbm, images, rng=seed, progress=progress)
        rbm.save(path, {"cache_key": key, "then": stage, "seed": seed})
        return rbm

    return cached_artifact(path, RBM.load, build)


def _exact_test_ll_callback(data_dir):
    """Per-epoch exact average test log-likelihood (test set: :func:`rbmlib.data.binarized_test_set`)."""
    v = binarized_test_set(data_dir)

    def callback(rbm, row):
        return {"test_log_likelihood": log_likelihood(rbm, v, log_partition(rbm, "exact"))}

    return callback


def book_model(name: str, *, retrain: bool = False, progress: bool = True, data_dir=None) -> RBM:
    """A model of the course book: one of :data:`BOOK_MODELS` (trained once per machine) or a
    committed model (:data:`rbmlib.pretrained.PRETRAINED`, loaded and checked).

    Parameters
    ----------
    name : str
    retrain : bool
        For a committed model whose file is missing or fails its SHA-256 check: train its
        recipe instead (cached like every book model; tens of minutes), with a warning.
        Without it, that failure is an error (:class:`rbmlib.model.ModelFileError`).
    progress : bool
    data_dir : path, optional
    """
    if name in PRETRAINED:
        try:
            return load_pretrained(name)
        except ModelFileError as err:
            if not retrain:
                raise
            warnings.warn(f"{err}; training the {name!r} recipe instead", RuntimeWarning, stacklevel=2)
        return recipe_model(name, progress=progress, data_dir=data_dir)
    if name not in BOOK_MODELS:
        raise ValueError(f"unknown book model {name!r}; choose one of {', '.join([*BOOK_MODELS, *PRETRAINED])}")
    return trained_model(name=name, progress=progress, data_dir=data_dir, **BOOK_MODELS[name])


def _settings(config: TrainConfig) -> dict:
    """The fields of ``config`` that differ from the defaults (the settings a recipe's cache key holds)."""
    default = TrainConfig()
    changed = (f.name for f in fields(config) if getattr(config, f.name) != getattr(default, f.name))
    return {name: getattr(config, name) for name in changed}


def cached_result(kind: str, rbm: RBM, params: dict, compute) -> dict:
    """Compute ``compute() -> dict`` once per model, ``kind`` and ``params``; cache it on disk.

    The result maps names to numbers or numpy arrays (no objects); it is stored as
    an ``.npz`` in ``cache_dir()/results`` under a key made of the model's
    parameters (their bytes), ``kind`` and ``params``. Notebooks use it so an
    expensive estimate (AIS, long chains) is made once per machine and shared.

    joblib.Memory would do the hashing, but it has no cross-process lock: two notebooks
    executed side by side would both run the same AIS; ``rbmlib._io.cached_artifact``
    makes the second one wait and load.
    """
    h = hashlib.sha256()
    for arr in (rbm.W, rbm.a, rbm.b):
        h.update(np.ascontiguousarray(arr).tobytes())
    h.update(json.dumps({"kind": kind, "params": params, "version": TRAINING_VERSION}, sort_keys=True).encode())
    path = cache_dir() / "results" / f"{kind}-{h.hexdigest()[:16]}.npz"

    def load(path):
        with np.load(path, allow_pickle=False) as z:
            return {k: (z[k].item() if z[k].ndim == 0 else z[k]) for k in z.files}

    def build(path):
        result = compute()
        arrays = {}
        for k, v in result.items():
            arr = np.asarray(v)
            if arr.dtype == object:
                raise TypeError(
                    f"cached_result: {kind!r} result {k!r} is a {type(v).__name__}, not a number, "
                    f"string or numeric array; flatten it first (rbmlib.book.nbtools.flatten)"
                )
            arrays[k] = arr
        atomic_savez(path, **arrays)
        return result

    return cached_artifact(path, load, build)
