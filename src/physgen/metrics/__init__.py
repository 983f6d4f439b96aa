"""Metrics comparing two sample sets: numbers with errors, beside the real-data floor.

Array-level functions (samples ``(N, d)``):

* :func:`kl_divergence`, :func:`js_divergence` (per-feature histograms), :func:`kl_exact`,
  :func:`js_exact` (probability vectors), :func:`pair_divergences`, :func:`discrete_divergences`
* :func:`mmd` (the course's Gaussian MMD), :func:`mmd2_unbiased`, :func:`kpd` — blockwise torch
* :func:`wasserstein` (per feature), :func:`sliced_wasserstein`
* :func:`frechet_distance`, :func:`frechet_distance_samples`, :func:`fpd` (1/N extrapolation)
* :func:`c2st_auc` (classifier two-sample test, DeLong interval)

Dataset-level: :func:`evaluate` / :func:`evaluate_arrays` produce the ``metrics.json`` content
(docs/metrics.md), used by ``physgen evaluate``.
"""
from physgen.metrics.c2st import c2st_auc, delong
from physgen.metrics.divergences import (discrete_divergences, js_divergence, js_exact, kl_divergence, kl_exact,
                                         pair_divergences)
from physgen.metrics.evaluate import METRICS, EvalConfig, evaluate, evaluate_arrays
from physgen.metrics.frechet import fpd, frechet_distance, frechet_distance_samples
from physgen.metrics.mmd import kpd, mmd, mmd2_unbiased
from physgen.metrics.wasserstein import sliced_wasserstein, wasserstein

__all__ = ["METRICS", "EvalConfig", "c2st_auc", "delong", "discrete_divergences", "evaluate", "evaluate_arrays",
           "fpd", "frechet_distance", "frechet_distance_samples", "js_divergence", "js_exact", "kl_divergence",
           "kl_exact", "kpd", "mmd", "mmd2_unbiased", "pair_divergences", "sliced_wasserstein", "wasserstein"]
