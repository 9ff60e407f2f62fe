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

from .._fast import key_from
from ..model import RBM, load_state
from .updates import Optimizer

__all__ = ["TrainState", "RESUME_KEYS"]

#: Settings that must match for a checkpoint to be resumed.
RESUME_KEYS = (
    "n_visible",
    "n_hidden",
    "batch_size",
    "method",
    "k",
    "n_chains",
    "momentum",
    "centering",
    "dtype",
    "n_images",
)


@dataclass
class TrainState:
    """Everything :func:`rbmlib.train.fit` needs to continue a run.

    Attributes
    ----------
    config : dict
        The run's settings (saved as ``metadata['config']``).
    rng, mon_rng : numpy.random.Generator
        Training randomness (shuffles, chain starts) and monitoring randomness.
    key : tuple of int
        Philox key of the updates' random numbers (:mod:`rbmlib.train.updates`).
    opt : Optimizer
        Momentum velocities and centering offsets.
    chains : ndarray or None, shape (n_chains, n_hidden)
        Persistent hidden states (PCD).
    history : list of dict
        One row per completed epoch.
    """

    config: dict
    rng: np.random.Generator
    mon_rng: np.random.Generator
    key: tuple
    opt: Optimizer
    chains: np.ndarray | None = None
    history: list = field(default_factory=list)

    def _arrays(self) -> dict:
        arrays = {}
        if self.opt.velocity is not None:
            arrays.update({f"vel_{k}": v for k, v in self.opt.velocity.items()})
        if self.opt.lam is not None:
            arrays["lam"] = self.opt.lam
        if self.chains is not None:
            arrays["chains"] = self.chains
        return arrays

    def save(self, path, rbm: RBM) -> None:
        """Write ``rbm`` and this state to the checkpoint ``path`` atomically."""
        meta = {
            "config": self.config,
            "history": self.history,
            "train_state": {
                "rng": self.rng.bit_generator.state,
                "mon_rng": self.mon_rng.bit_generator.state,
                "key": list(self.key),
            },
        }
        checkpoint = rbm.copy()
        checkpoint.save(path, meta, state=self._arrays())

    def restore(self, path, rbm: RBM) -> None:
        """Load the checkpoint ``path`` into ``rbm`` (parameters) and this state.

        Raises
        ------
        ValueError
            If the checkpoint was made with other settings (:data:`RESUME_KEYS`) or
            holds no training state.
        """
        path = Path(path)
        saved = RBM.load(path)
        old = saved.metadata.get("config", {})
        diff = [
            f"{key}: checkpoint {old.get(key)!r} != now {self.config[key]!r}"
            for key in RESUME_KEYS
            if old.get(key) != self.config[key]
        ]
        if diff:
            raise ValueError(f"checkpoint {path} was made with a different configuration ({'; '.join(diff)})")
        gens = saved.metadata.get("train_state")
        if gens is None:
            raise ValueError(f"{path} is a model file without training state; it cannot be resumed")
        arrays = load_state(path)
        rbm.W, rbm.a, rbm.b = saved.W, saved.a, saved.b
        rbm.metadata = {k: v for k, v in saved.metadata.items() if k != "train_state"}
        self.history = list(saved.metadata.get("history", []))
        self.rng.bit_generator.state = gens["rng"]
        self.mon_rng.bit_generator.state = gens["mon_rng"]
        # Checkpoints of rbmlib < 0.3 hold no key: such a run goes on with a key drawn from
        # its restored generator (reproducible, though not the bits an older rbmlib gave).
        self.key = tuple(int(k) for k in gens["key"]) if "key" in gens else key_from(self.rng)
        if self.opt.velocity is not None:
            self.opt.velocity = {k: arrays[f"vel_{k}"] for k in ("W", "a", "b")}
        if self.opt.lam is not None:
            self.opt.lam = arrays["lam"]
        if self.chains is not None:
            self.chains = arrays["chains"]
