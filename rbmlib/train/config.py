"""A training run's settings, validated once (:class:`TrainConfig`), and the learning-rate schedules."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from ..validation import check_choice, check_int, check_number

__all__ = ["LR_SCHEDULES", "TrainConfig", "lr_factor"]

#: Named learning-rate schedules: multiplier of ``lr`` at ``progress`` in [0, 1) of the run.
LR_SCHEDULES = {
    "constant": lambda progress: 1.0,
    "linear": lambda progress: max(1.0 - progress, 0.0),
    "cosine": lambda progress: 0.5 * (1.0 + math.cos(math.pi * progress)),
}


def lr_factor(schedule, progress: float) -> float:
    """Learning-rate multiplier of ``schedule`` (None, a name in :data:`LR_SCHEDULES` or a callable)."""
    if schedule is None:
        return 1.0
    if callable(schedule):
        return float(schedule(progress))
    if schedule in LR_SCHEDULES:
        return LR_SCHEDULES[schedule](progress)
    raise ValueError(f"lr_schedule must be None, one of {', '.join(LR_SCHEDULES)} or a callable, got {schedule!r}")


def _resume(default):
    """A field that must be the same for a checkpoint to be resumed."""
    return field(default=default, metadata={"resume": True})


@dataclass(frozen=True)
class TrainConfig:
    r"""The settings of a training run; validated when made, stored in checkpoints and recipes.

    The defaults are the assignment's: plain CD-1, lr 0.1, minibatches of 64.

    Attributes
    ----------
    epochs : int
        Total number of epochs (on resuming, including those already done).
    lr : float
        Learning rate (the assignment's :math:`\eta = 0.1`).
    batch_size : int
        Minibatch size (the assignment's :math:`M = 64`).
    method : {"cd", "pcd"}
        CD-k (chains start at the data) or persistent CD-k (Tieleman, 2008).
    k : int
        Gibbs steps per update.
    n_chains : int or None
        PCD only: persistent chains (default ``batch_size``). The negative phase averages
        over all of them, the positive phase over the minibatch.
    momentum : float
        Momentum coefficient in [0, 1) (0 = plain SGD).
    weight_decay : float
        L2 penalty :math:`\tfrac{\text{weight\_decay}}{2}\lVert W\rVert^2` on the weights.
    lr_schedule : None, "constant", "linear", "cosine" or callable
        Multiplier of ``lr`` as a function of the fraction of training done.
    init_visible_bias : bool
        Set :math:`a_i = \log(\bar p_i / (1-\bar p_i))` from the pixel means first.
    centering : bool
        Follow the centred gradient (offsets: data mean and running hidden mean).

    Fields that change what a checkpoint holds (``batch_size``, ``method``, ``k``,
    ``n_chains``, ``momentum``, ``centering``) must match to resume one; the others may change.
    """

    epochs: int = 10
    lr: float = 0.1
    batch_size: int = _resume(64)
    method: str = _resume("cd")
    k: int = _resume(1)
    n_chains: int | None = _resume(None)
    momentum: float = _resume(0.0)
    weight_decay: float = 0.0
    lr_schedule: object = None
    init_visible_bias: bool = False
    centering: bool = _resume(False)

    def __post_init__(self):
        set_ = lambda name, value: object.__setattr__(self, name, value)  # the dataclass is frozen
        for name in ("epochs", "batch_size", "k"):
            set_(name, check_int(getattr(self, name), name))
        set_("lr", check_number(self.lr, "lr", low=0.0, open_low=True))
        set_("momentum", check_number(self.momentum, "momentum", low=0.0))
        if self.momentum >= 1:
            raise ValueError(f"momentum must be < 1, got {self.momentum}")
        set_("weight_decay", check_number(self.weight_decay, "weight_decay", low=0.0))
        check_choice(self.method, "method", ("cd", "pcd"))
        if self.n_chains is not None:
            if self.method != "pcd":
                raise ValueError("n_chains is for method='pcd' (CD starts one chain at each image of the minibatch)")
            set_("n_chains", check_int(self.n_chains, "n_chains"))
        lr_factor(self.lr_schedule, 0.0)
        set_("init_visible_bias", bool(self.init_visible_bias))
        set_("centering", bool(self.centering))

    @property
    def chains(self) -> int:
        """Model rows of an update: the persistent chains (PCD) or the minibatch (CD)."""
        return self.n_chains if self.n_chains is not None else self.batch_size

    def replace(self, **changes) -> TrainConfig:
        """A copy with ``changes`` (validated anew)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """The settings as JSON-able values (a callable schedule is recorded as ``"callable"``)."""
        d = dataclasses.asdict(self)
        if self.method == "pcd":
            d["n_chains"] = self.chains
        if callable(self.lr_schedule):
            d["lr_schedule"] = "callable"
        return d

    @classmethod
    def resume_fields(cls) -> tuple[str, ...]:
        """The fields that must match for a checkpoint to be resumed."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.metadata.get("resume"))
