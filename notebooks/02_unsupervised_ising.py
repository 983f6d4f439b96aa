# %% [markdown]
# # Unsupervised learning and tree ensembles on Ising phases
#
# The lecture on unsupervised learning, on toy data and on 2D Ising configurations across $T_c$
# (Mehta et al. 2019, §XII; Wang 2016):
#
# * **k-means** minimises the within-cluster sum of squares $\sum_k \sum_{x\in C_k} \|x - \mu_k\|^2$; on Ising
#   configurations three clusters are the two ordered states $m \approx \pm1$ and the disordered one.
# * **Hierarchical clustering** merges the closest clusters; *single* linkage (closest pair) follows chains,
#   *complete* linkage (farthest pair) makes compact clusters.
# * **Bagging and random forests** (Breiman 1996, 2001) average trees fitted to bootstrap resamples, which
#   lowers the variance of the prediction; a forest tells the ordered from the disordered phase, except near $T_c$.
# * **The bootstrap** (Efron 1979) gives confidence intervals of any statistic from resamples of the data.
# * **PCA** diagonalises the covariance of the flattened configurations; the first component is the
#   magnetization.
#
# The same experiment as `examples/rojo_unsupervised.py`, with physgen's `physgen.analysis` functions.

# %%
import os
from pathlib import Path

QUICK = os.environ.get("PHYSGEN_QUICK", "1") != "0"   # True: small sizes, ≤ 1 min on one core
SEED = 0
OUT = Path(os.environ.get("PHYSGEN_NOTEBOOK_OUT", "notebook-runs")) / "02_unsupervised_ising"
OUT.mkdir(parents=True, exist_ok=True)

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image, display
from sklearn.metrics import adjusted_rand_score

from physgen.analysis import analyze_forest, analyze_hierarchical, analyze_kmeans, analyze_pca, kmeans
from physgen.analysis.plots import cluster_section, forest_section, pca_section
from physgen.data.ising import simulate
from physgen.data.toys import make_toy
from physgen.metrics.summary import floor_table
from physgen.physics import onsager
from physgen.physics.observables import magnetization
from physgen.report import Report
from physgen.stats import bootstrap


def show(*stems):
    """Display the PNGs a physgen.analysis.plots section wrote under OUT."""
    for stem in stems:
        display(Image(filename=str(OUT / f"{stem}.png")))


# %% [markdown]
# ## Data: Ising configurations from $T = 1$ to $3.5$

# %%
temps = np.linspace(1.0, 3.5, 6) if QUICK else np.arange(1, 17) * 0.25
size, n = (16, 40) if QUICK else (32, 100)
ds = simulate(size, [float(t) for t in temps], n, algorithm="wolff", burn_in=30 if QUICK else 100,
              thin=3 if QUICK else 5, chains=20, seed=SEED)
print(f"{len(ds)} configurations, L = {size}, T = {', '.join(f'{t:g}' for t in temps)}")

# %% [markdown]
# ## k-means: the ring toy, then Ising
#
# On 8 Gaussians on a ring the inertia (within-cluster sum of squares) against $k$ bends at the true number of
# modes, the "elbow".

# %%
toy = make_toy("ring", 400 if QUICK else 2000, seed=SEED, noise=0.2)
x = toy.samples.astype(np.float64)
fits = {k: kmeans(x, k, seed=SEED, n_init=4 if QUICK else 10) for k in range(1, 13)}
ari_ring = adjusted_rand_score(toy.labels, fits[8].labels_)
fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
a1.scatter(x[:, 0], x[:, 1], c=fits[8].labels_, cmap="tab10", s=5)
a1.scatter(*fits[8].cluster_centers_.T, c="k", marker="x", s=60)
a1.set(title=f"k = 8 (adjusted Rand index {ari_ring:.2f})", aspect="equal")
a2.plot(list(fits), [f.inertia_ for f in fits.values()], "o-")
a2.axvline(8, color="grey", ls=":")
a2.set(xlabel="k", ylabel="inertia", title="elbow")
plt.show()

km = analyze_kmeans(ds, 3, seed=SEED)
cluster_section(Report("k-means"), km, ds, "k-means on Ising", save_dir=OUT, prefix="kmeans_ising")
show("kmeans_ising_centroids", "kmeans_ising_histograms")
print("mean m per cluster:", [round(v, 3) for v in km.to_json()["cluster_magnetization"]])

# %% [markdown]
# ## Single against complete linkage

# %%
moons = make_toy("moons", 300 if QUICK else 600, seed=SEED, noise=0.06)
ari_link = {}
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for ax, method in zip(axes, ("single", "complete")):
    res = analyze_hierarchical(moons, method, k=2, seed=SEED)
    ari_link[method] = adjusted_rand_score(moons.labels, res.labels)
    ax.scatter(moons.samples[:, 0], moons.samples[:, 1], c=res.labels, cmap="coolwarm", s=5)
    ax.set(title=f"{method} linkage (ARI {ari_link[method]:.2f})")
plt.show()
for method in ("single", "complete"):
    print(f"Ising, {method} linkage, k = 3: cluster sizes",
          analyze_hierarchical(ds, method, k=3, max_points=400, seed=SEED).sizes())

# %% [markdown]
# ## Forests: phase classification and the variance of bagging
#
# Labels: ordered ($T < T_c$) or disordered. Configurations within 0.3 of $T_c$ form the critical region; the
# forest is trained away from it and scored on both. Bagging: a single tree and 25 bagged trees refitted on
# resamples of the training set; the variance of their predictions over refits.

# %%
forest = analyze_forest(ds, "phase", n_estimators=20 if QUICK else 50, variance_repeats=5,
                        variance_estimators=10 if QUICK else 25, n_boot=100, seed=SEED)
forest_section(Report("forest"), forest, ds, save_dir=OUT)
show("forest_accuracy_importances", "forest_bagging_variance")
fj = forest.to_json()
var = fj["bagging_variance"]

# %% [markdown]
# ## Bootstrap intervals of $\langle|m|\rangle(T)$

# %%
rng = np.random.default_rng(SEED)
t_all = ds.conditions["temperature"]
rows = []
for t in np.unique(t_all):
    m = np.abs(magnetization(ds.samples[t_all == t]))
    rows.append((t, bootstrap(np.mean, m, n_boot=1000, level=0.68, rng=rng),
                 bootstrap(np.mean, m, n_boot=1000, level=0.95, rng=rng)))
ts = np.array([r[0] for r in rows])
plt.figure(figsize=(6, 4))
plt.fill_between(ts, [r[2].ci_low for r in rows], [r[2].ci_high for r in rows], color="0.8", label="95%")
plt.fill_between(ts, [r[1].ci_low for r in rows], [r[1].ci_high for r in rows], color="tab:blue", alpha=0.6, label="68%")
plt.plot(ts, [r[1].value for r in rows], "ko", ms=3, label=f"Monte Carlo, L = {size}")
g = np.linspace(ts.min(), ts.max(), 300)
plt.plot(g, onsager.spontaneous_magnetization(g), "r-", lw=1, label="Onsager")
plt.xlabel("T"), plt.ylabel("<|m|>"), plt.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## PCA

# %%
pca = analyze_pca(ds, n_components=10, seed=SEED, n_boot=100)
pca_section(Report("pca"), pca, ds, save_dir=OUT)
show("pca_variance_projections", "pca_pc1")

# %% [markdown]
# ## Try this
#
# 1. Run k-means on Ising with $k = 2$: the disordered configurations are split between the two ordered
#    clusters by the sign of their small magnetisation, so two clusters cannot separate the phases.
# 2. Widen the critical region, `analyze_forest(..., critical_half_width=0.5)`: the forest trains on the deep phases
#    only, and its accuracy at $T = 2.0$ and $2.5$ shows how far it extrapolates towards $T_c$; the configurations
#    just above $T_c$, still full of large ordered domains on a $16\times16$ lattice, are the ones it gets wrong.
# 3. Widen the ring's modes, `make_toy("ring", ..., noise=0.35)`: neighbouring modes overlap and the elbow at
#    $k = 8$ fades.

# %% [markdown]
# ## Evaluation
#
# Each method against what is known: the true modes of the ring and the moons (adjusted Rand index, 1 = perfect),
# the magnetization (PCA), the phase (forest). The "floor" here is the reference a method is compared with:
# a perfect score, chance, or the single tree for bagging.

# %%
checks = {
    "k-means ring ARI (k = 8)": {"value": ari_ring, "floor": 1.0},
    "single linkage moons ARI": {"value": ari_link["single"], "floor": 1.0},
    "complete linkage moons ARI": {"value": ari_link["complete"], "floor": 1.0},
    "forest accuracy (T far from Tc)": {"value": fj["noncritical_accuracy"], "floor": 1.0},
    "forest accuracy (critical region)": {"value": fj["critical_accuracy"], "floor": 1.0},
    "bagging prediction variance": {"value": var["bagging"]["prediction_variance"],
                                    "floor": var["tree"]["prediction_variance"]},
    "PC1 explained variance": {"value": float(pca.explained_variance_ratio[0]), "floor": 0.52},
    "|r(PC1, m)|": {"value": abs(pca.pc1_magnetization["value"]), "floor": 1.0},
}
print(floor_table(checks, title="unsupervised methods against their references (bagging: the single tree; "
                                "PC1: the course's 0.52)", floor_label="reference"))
