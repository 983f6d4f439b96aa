"""Demo stage: the course's unsupervised tools on the demo's Ising configurations."""
from __future__ import annotations

from typing import Any

from physgen.demo.runner import StageContext


def analysis_stage(ctx: StageContext) -> dict[str, Any]:
    """PCA (PC1 ~ magnetization), k-means with k=3, Ward clustering and a random-forest phase classifier."""
    from physgen.analysis import analyze_forest, analyze_hierarchical, analyze_kmeans, analyze_pca
    from physgen.analysis import plots
    from physgen.data import load

    ds = load(ctx.results["ising"]["summary"]["data"])
    ctx.report.text("PCA, k-means (k=3), Ward hierarchical clustering and a random forest that classifies "
                    "ordered vs disordered configurations (trained away from Tc, tested also in the critical "
                    "region |T − Tc| < 0.3), all on the Monte Carlo configurations above.")
    pca = analyze_pca(ds, seed=ctx.seed)
    plots.pca_section(ctx.report, pca, ds, ctx.stage_dir)
    km = analyze_kmeans(ds, 3, seed=ctx.seed)
    plots.cluster_section(ctx.report, km, ds, "k-means, k = 3", ctx.stage_dir, prefix="kmeans")
    hc = analyze_hierarchical(ds, "ward", k=3, max_points=600 if ctx.quick else 1500, seed=ctx.seed)
    plots.dendrogram_figure(ctx.report, hc.extra["linkage_matrix"], "ward", ctx.stage_dir, k=3)
    forest = analyze_forest(ds, "phase", n_estimators=50, seed=ctx.seed, variance_repeats=3)
    plots.forest_section(ctx.report, forest, ds, ctx.stage_dir)
    pj, kj, fj = pca.to_json(), km.to_json(), forest.to_json()
    return {"explained_variance_ratio": pj["explained_variance_ratio"][:3],
            "pc1_magnetization_correlation": pj.get("pc1_magnetization_correlation"),
            "cluster_magnetization": kj.get("cluster_magnetization"), "cluster_sizes": kj["cluster_sizes"],
            "test_accuracy": fj["test_accuracy"], "noncritical_accuracy": fj.get("noncritical_accuracy"),
            "critical_accuracy": fj["critical_accuracy"],
            "oob_score": fj["oob_score"]}
