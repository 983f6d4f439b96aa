"""Report sections from analysis results (the API the demo report uses), with and without PNG files."""
import numpy as np

from physgen.analysis import analyze_forest, analyze_hierarchical, analyze_kmeans, analyze_pca
from physgen.analysis.plots import cluster_section, dendrogram_figure, forest_section, pca_section
from physgen.data import Dataset
from physgen.report import Report


def _spins(seed=0):
    rng = np.random.default_rng(seed)
    t = np.repeat([1.0, 1.5, 3.0, 3.5], 10)
    x = np.where(rng.random((40, 4, 4)) < 0.5, 1, -1).astype(np.int8)
    x[t < 2] = np.where(rng.random(20) < 0.5, 1, -1).astype(np.int8)[:, None, None]
    return Dataset(x, "spins", {"temperature": t})


def test_sections_embed_figures_and_optionally_save_pngs(tmp_path):
    ds = _spins()
    report = Report("analysis")
    pca_section(report, analyze_pca(ds, n_components=3, n_boot=0), ds)  # no interval: still renders
    cluster_section(report, analyze_kmeans(ds, 3), ds, "k-means", save_dir=tmp_path)
    h = analyze_hierarchical(ds, "complete", k=3)
    cluster_section(report, h, ds, "hierarchical", save_dir=tmp_path, prefix="hierarchical")
    dendrogram_figure(report, h.extra["linkage_matrix"], "complete", save_dir=tmp_path, k=3)
    forest_section(report, analyze_forest(ds, "phase", n_estimators=10, variance_repeats=2, n_boot=10), ds,
                   save_dir=tmp_path)
    html = report.render()
    assert html.count("data:image/png;base64") == 2 + 2 + 2 + 1 + 2
    assert {p.name for p in tmp_path.iterdir()} == {
        "kmeans_centroids.png", "kmeans_histograms.png", "hierarchical_centroids.png",
        "hierarchical_histograms.png", "hierarchical_dendrogram.png", "forest_accuracy_importances.png",
        "forest_bagging_variance.png"}
    assert "PC1 is oriented along +m" in html and "Critical region: |T - Tc| &lt; 0.3" in html


def test_tabular_and_labelled_images_render():
    rng = np.random.default_rng(1)
    tab = Dataset(rng.standard_normal((30, 3)).astype(np.float32), "continuous",
                  attrs={"feature_names": ["s", "t", "y"]})
    imgs = Dataset(rng.random((30, 1, 3, 3)).astype(np.float32), "image", labels=np.repeat([0, 1, 2], 10))
    report = Report("any kind")
    for ds in (tab, imgs):
        pca_section(report, analyze_pca(ds, n_components=2), ds)
        cluster_section(report, analyze_kmeans(ds, 2), ds, "k-means")
    assert report.render().count("<img") == 8
