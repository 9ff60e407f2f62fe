"""Training RBMs: :func:`fit` (the loop), :class:`~rbmlib.train.config.TrainConfig` (its settings), the step's algebra
(:func:`apply_gradient` with its :class:`~rbmlib.train.Optimizer` record), the resumable state
(:mod:`~rbmlib.train.state`) and named :data:`RECIPES`."""

from .config import LR_SCHEDULES, TrainConfig, lr_factor
from .loop import TrainingDiverged, fit
from .recipes import RECIPES, Recipe, recipe
from .step import Optimizer, apply_gradient

__all__ = [
    "fit",
    "TrainConfig",
    "TrainingDiverged",
    "Recipe",
    "RECIPES",
    "recipe",
    "Optimizer",
    "apply_gradient",
    "lr_factor",
    "LR_SCHEDULES",
]
