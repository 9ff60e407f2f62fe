"""The evaluation kit: tools for judging trained models (needs scikit-learn, the ``metrics`` extra).

* :mod:`~rbmlib.metrics.classifier` -- a digit classifier that labels samples;
* :mod:`~rbmlib.metrics.quality` -- sample quality: class mix, confidence, novelty, :math:`AA_{TS}`;
* :mod:`~rbmlib.metrics.comparison` -- comparison sets that are not digits (noise, letters);
* :mod:`~rbmlib.metrics.ood` -- out-of-distribution scores: AUROC, likelihood ratio, complexity, typicality;
* :mod:`~rbmlib.metrics.background` -- simple exact densities, the backgrounds of likelihood ratios;
* :mod:`~rbmlib.metrics.discrimination` -- every discrimination score and batch test in one report;
* :mod:`~rbmlib.metrics.baselines` -- the k-nearest-neighbour completion of half-images;
* :mod:`~rbmlib.metrics.recall` -- scoring the completion of half-images;
* :mod:`~rbmlib.metrics.mixing` -- how well a sampler mixes (label changes, autocorrelation times).

The kit imports the core (:mod:`rbmlib.data`, :mod:`rbmlib.model`, ...), never
:mod:`rbmlib.book` or :mod:`rbmlib.cli`; nothing in the core imports the kit.
"""
