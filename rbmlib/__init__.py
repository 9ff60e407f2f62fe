"""rbmlib: binary restricted Boltzmann machines on MNIST, small, exact and fast.

The package is layered; imports run one way, downwards:

* core: :mod:`rbmlib.data`, :mod:`rbmlib.model` (with :mod:`rbmlib.rng`), then
  :mod:`rbmlib.train`, :mod:`rbmlib.sampling`, :mod:`rbmlib.evaluate`,
  :mod:`rbmlib.completion` and :mod:`rbmlib.plotting`;
* the evaluation kit :mod:`rbmlib.metrics` (digit classifier, sample quality,
  comparison sets, recall scoring; needs scikit-learn);
* the course book's glue :mod:`rbmlib.book` and the command line :mod:`rbmlib.cli`.

The assignment's names map to rbmlib's as follows: ``PlotMe`` is
:func:`rbmlib.plotting.plot_me`, ``SampleHidden`` is :meth:`RBM.sample_hidden`,
``SampleVisible`` is :meth:`RBM.sample_visible` and ``SampleVisibleProb`` is
:meth:`RBM.visible_probs`.
"""

from .completion import half_mask, recall
from .evaluate import LogZ, evaluate_model, log_likelihood, log_partition, reconstruction_error
from .model import RBM, ModelFileError
from .train import RECIPES, TrainingDiverged, fit, recipe

__version__ = "0.2.0"

__all__ = [
    "RBM",
    "ModelFileError",
    "fit",
    "recipe",
    "RECIPES",
    "TrainingDiverged",
    "LogZ",
    "log_partition",
    "log_likelihood",
    "reconstruction_error",
    "evaluate_model",
    "recall",
    "half_mask",
    "__version__",
]
