"""Training RBMs: :func:`fit` (the loop), one update per method (:mod:`~rbmlib.train.updates`),
the resumable state (:mod:`~rbmlib.train.state`) and named :data:`RECIPES`."""

from .loop import LR_SCHEDULES, TrainingDiverged, fit, lr_factor
from .recipes import RECIPES, recipe

__all__ = ["fit", "TrainingDiverged", "RECIPES", "recipe", "lr_factor", "LR_SCHEDULES"]
