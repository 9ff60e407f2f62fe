"""rbmlib: binary restricted Boltzmann machines on MNIST, small, exact and fast.

The package is layered; imports run one way, downwards:

* core: :mod:`rbmlib.data`, :mod:`rbmlib.model` (with :mod:`rbmlib.rng`,
  :mod:`rbmlib.validation` and the engine), then :mod:`rbmlib.train`,
  :mod:`rbmlib.sampling`, :mod:`rbmlib.evaluate`, :mod:`rbmlib.completion`,
  :mod:`rbmlib.pretrained` and :mod:`rbmlib.plotting`;
* the evaluation kit :mod:`rbmlib.metrics` (digit classifier, sample quality,
  comparison sets, recall scoring; needs scikit-learn) and the scikit-learn estimator
  :mod:`rbmlib.sklearn`;
* the course book's glue :mod:`rbmlib.book` and the command line :mod:`rbmlib.cli`.

Importing rbmlib does not import numba: the engine's compiled kernels are loaded when
first used.

The assignment's names map to rbmlib's as follows: ``PlotMe`` is
:func:`rbmlib.plotting.plot_me`, ``SampleHidden`` is :meth:`RBM.sample_hidden`,
``SampleVisible`` is :meth:`RBM.sample_visible` and ``SampleVisibleProb`` is
:meth:`RBM.visible_probs`.
"""

from .completion import half_mask, recall
from .evaluate import LogZ, evaluate_model, log_likelihood, log_partition, reconstruction_error
from .model import RBM, ModelFileError
from .pretrained import load_pretrained
from .sampling import SampleRun, sample
from .train import RECIPES, TrainConfig, TrainingDiverged, fit, recipe

__version__ = "0.3.0"

__all__ = [
    "RBM",
    "ModelFileError",
    "load_pretrained",
    "fit",
    "TrainConfig",
    "recipe",
    "RECIPES",
    "TrainingDiverged",
    "sample",
    "SampleRun",
    "LogZ",
    "log_partition",
    "log_likelihood",
    "reconstruction_error",
    "evaluate_model",
    "recall",
    "half_mask",
    "__version__",
]
