"""Statistical errors shared by the physics observables, the metrics and the analyses.

* :func:`bootstrap` — confidence intervals of any statistic (wraps :func:`scipy.stats.bootstrap`).
* :func:`integrated_autocorrelation_time`, :func:`effective_sample_size`, :func:`mean_with_error` —
  Markov-chain errors with Sokal's automatic windowing.
"""
from physgen.stats.autocorr import (autocorrelation, effective_sample_size, integrated_autocorrelation_time,
                                    mean_with_error)
from physgen.stats.bootstrap import Estimate, bootstrap

__all__ = ["Estimate", "autocorrelation", "bootstrap", "effective_sample_size",
           "integrated_autocorrelation_time", "mean_with_error"]
