"""rbmlib: binary restricted Boltzmann machines on MNIST, small, exact and fast.

The assignment's names map to rbmlib's as follows: ``PlotMe`` is
:func:`rbmlib.plotting.plot_me`, ``SampleHidden`` is :meth:`RBM.sample_hidden`,
``SampleVisible`` is :meth:`RBM.sample_visible` and ``SampleVisibleProb`` is
:meth:`RBM.visible_probs`.
"""
from .model import RBM, ModelFileError
from .train import RECIPES, TrainingDiverged, fit, recipe
from .evaluate import LogZ, log_likelihood, log_partition, reconstruction_error
from .completion import half_mask, recall

__version__ = "0.1.0"

__all__ = ["RBM", "ModelFileError", "fit", "recipe", "RECIPES", "TrainingDiverged",
           "LogZ", "log_partition", "log_likelihood", "reconstruction_error", "recall",
           "half_mask", "__version__"]
