r"""The engine: fused numba kernels behind training, sampling, tempering and annealing.

Every hot loop of rbmlib (a CD-k/PCD-k update, a block Gibbs sweep, a tempered sweep of
parallel tempering, an AIS step) is a handful of matrix products, a logistic function and
Bernoulli draws. The engine runs them so that

* the **results do not depend on the number of threads** (nor on how a run is cut into
  calls): same seed, same bits, on one thread or two;
* the elementwise work costs about 1 ns per unit on one core instead of about 3 ns with
  numpy;
* a training epoch does not collapse when another program holds the cores.

One concern per module:

* :mod:`~rbmlib._engine.records` -- the named tuples the kernels take (no numba);
* :mod:`~rbmlib._engine.jit` -- compile options, parallel/serial twins;
* :mod:`~rbmlib._engine.blas` -- single-threaded ``gemm`` on fixed blocks, row dot products;
* :mod:`~rbmlib._engine.sparse` -- products with a 0/1 operand as sums of rows of ``W``,
  chosen per block by the operand's density (about 2x faster than ``gemm`` on MNIST);
* :mod:`~rbmlib._engine.philox` -- counter-based random numbers addressed by unit and row;
* :mod:`~rbmlib._engine.draw` -- the one draw primitive (logistic function, Bernoulli draw,
  optional inverse temperature, base and clamp) and binarisation;
* :mod:`~rbmlib._engine.threads` -- the thread count, chosen per chunk by measured speed;
* :mod:`~rbmlib._engine.gibbs`, :mod:`~rbmlib._engine.tempered`,
  :mod:`~rbmlib._engine.anneal`, :mod:`~rbmlib._engine.train` -- the kernels.

The package is loaded lazily (:mod:`lazy_loader`): ``import rbmlib`` imports no numba; the
first use of a name below imports its module, and numba then loads the compiled kernels
from its cache (or compiles them, once per machine).
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "anneal": ["anneal"],
        "draw": ["binarize", "half_step"],
        "gibbs": ["GibbsChains"],
        "philox": ["key_from", "philox4x32"],
        "records": ["Optimizer", "Params", "as_params"],
        "sparse": ["products"],
        "tempered": ["TemperedChains"],
        "threads": ["MAX_THREADS", "Chooser", "chain_block", "max_threads", "shared_chooser", "threads"],
        "train": ["N_COL_BLOCKS", "TrainKernel", "apply_gradient", "schedule"],
    },
)
