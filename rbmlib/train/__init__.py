"""Training RBMs: :func:`fit` (the loop), :class:`~rbmlib.train.config.TrainConfig` (its settings), the step's algebra
(:func:`apply_gradient` with its :class:`~rbmlib.train.Optimizer` record), the resumable state
(:mod:`~rbmlib.train.state`), named :data:`RECIPES`, and :func:`fit_phase`, training with any
negative phase of :mod:`~rbmlib.train.negative`."""

from .config import LR_SCHEDULES, TrainConfig, lr_factor
from .loop import TrainingDiverged, fit
from .phased import fit_phase
from .recipes import RECIPES, PhaseStage, Recipe, recipe
from .step import Optimizer, apply_gradient

__all__ = [
    "fit",
    "fit_phase",
    "TrainConfig",
    "TrainingDiverged",
    "Recipe",
    "PhaseStage",
    "RECIPES",
    "recipe",
    "Optimizer",
    "apply_gradient",
    "lr_factor",
    "LR_SCHEDULES",
]
