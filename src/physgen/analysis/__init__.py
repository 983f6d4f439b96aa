"""The course's unsupervised and classical tools on physics data: PCA, k-means, hierarchical
clustering, bagging and random forests — thin wrappers of scikit-learn and scipy.

Every ``analyze_*`` function takes a :class:`physgen.data.Dataset` of any kind and returns a result
with ``to_json()``; magnetization- and temperature-specific outputs appear only when the data have
them.  :mod:`physgen.analysis.plots` turns results into :class:`physgen.report.Report` sections.
"""
from physgen.analysis.clustering import LINKAGES, ClusterResult, analyze_hierarchical, analyze_kmeans, kmeans
from physgen.analysis.forests import (CRITICAL_HALF_WIDTH, ForestResult, analyze_forest, bagging_variance,
                                      critical_mask, critical_temperature, phase_labels)
from physgen.analysis.pca import PCAResult, analyze_pca, fit_pca

__all__ = ["CRITICAL_HALF_WIDTH", "LINKAGES", "ClusterResult", "ForestResult", "PCAResult", "analyze_forest",
           "analyze_hierarchical", "analyze_kmeans", "analyze_pca", "bagging_variance", "critical_mask",
           "critical_temperature", "fit_pca", "kmeans", "phase_labels"]
