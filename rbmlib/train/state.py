"""The state of a training run beyond the model's parameters, and its checkpoints.

A checkpoint is an ordinary model file (:meth:`rbmlib.model.RBM.save`): it loads as the
model of the last completed epoch, and it carries the training state as extra arrays
(``state=``) and the generators' states in its metadata, so that a resumed run gives
exactly the parameters of an uninterrupted one. The random numbers of training are
addressed by the Philox ``key`` and the global batch index, so the key and the generators'
states are all the randomness a checkpoint needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import _engine
from .._engine.records import Optimizer
from ..model import RBM, load_state
from .config import TrainConfig

__all__ = ["TrainState"]

#: Facts about the model and the data that must match for a checkpoint to be resumed.
_FACTS = ("n_visible", "n_hidden", "dtype", "n_images")


@dataclass
class TrainState:
    """Everything :func:`rbmlib.train.fit` needs to continue a run.

    Attributes
    ----------
    config : rbmlib.train.config.TrainConfig
    facts : dict
        ``n_visible``, ``n_hidden``, ``dtype`` and ``n_images`` of the run.
    rng, mon_rng : numpy.random.Generator
        Training randomness (shuffles, chain starts) and monitoring randomness.
    key : tuple of int
        Philox key of the updates' random numbers.
    opt : rbmlib.train.Optimizer
        Momentum velocities and centering offsets.
    chains : ndarray or None, shape (n_chains, n_hidden)
        Persistent hidden states (PCD).
    history : list of dict
        One row per completed epoch.
    """

    config: TrainConfig
    facts: dict
    rng: np.random.Generator
    mon_rng: np.random.Generator
    key: tuple
    opt: Optimizer
    chains: np.ndarray | None = None
    history: list = field(default_factory=list)

    def record(self) -> dict:
        """The run's settings and facts as saved in ``metadata['config']``."""
        return {**self.facts, **self.config.to_dict()}

    def _arrays(self) -> dict:
        arrays = {}
        if self.opt.momentum:
            arrays.update(vel_W=self.opt.vel_W, vel_a=self.opt.vel_a, vel_b=self.opt.vel_b)
        if self.opt.centering:
            arrays["lam"] = self.opt.lam
        if self.chains is not None:
            arrays["chains"] = self.chains
        return arrays

    def save(self, path, rbm: RBM) -> None:
        """Write ``rbm`` and this state to the checkpoint ``path`` atomically."""
        meta = {
            "config": self.record(),
            "history": self.history,
            "train_state": {
                "rng": self.rng.bit_generator.state,
                "mon_rng": self.mon_rng.bit_generator.state,
                "key": list(self.key),
            },
        }
        rbm.copy().save(path, meta, state=self._arrays())

    def restore(self, path, rbm: RBM) -> None:
        """Load the checkpoint ``path`` into ``rbm`` (parameters) and this state.

        Raises
        ------
        ValueError
            If the checkpoint was made with other settings (:meth:`~rbmlib.train.config.TrainConfig.resume_fields`
            or another model or data size) or holds no training state.
        """
        path = Path(path)
        saved = RBM.load(path)
        old, now = saved.metadata.get("config", {}), self.record()
        keys = (*_FACTS, *TrainConfig.resume_fields())
        diff = [f"{k}: checkpoint {old.get(k)!r} != now {now[k]!r}" for k in keys if old.get(k) != now[k]]
        if diff:
            raise ValueError(f"checkpoint {path} was made with a different configuration ({'; '.join(diff)})")
        gens = saved.metadata.get("train_state")
        if gens is None:
            raise ValueError(f"{path} is a model file without training state; it cannot be resumed")
        arrays = load_state(path)
        rbm.W, rbm.a, rbm.b = saved.W, saved.a, saved.b
        rbm.metadata = {k: v for k, v in saved.metadata.items() if k != "train_state"}
        self.history[:] = saved.metadata.get("history", [])
        self.rng.bit_generator.state = gens["rng"]
        self.mon_rng.bit_generator.state = gens["mon_rng"]
        # Checkpoints written before the fused engine (the book's TRAINING_VERSION < 4) hold no key:
        # such a run goes on with a key drawn from its restored generator (reproducible, though not
        # the bits that the older code would have given).
        self.key = tuple(int(k) for k in gens["key"]) if "key" in gens else _engine.key_from(self.rng)
        self.opt = self.opt._replace(**{k: arrays[k] for k in ("lam", "vel_W", "vel_a", "vel_b") if k in arrays})
        if self.chains is not None:
            self.chains = arrays["chains"]
