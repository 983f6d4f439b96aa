# %% [markdown]
# # Jets as particle clouds: Pythia jets, `epic-fm`, and JetNet's metrics
#
# At the LHC a quark or gluon of high transverse momentum $p_T$ showers and hadronises into a collimated spray of
# particles, a **jet**; a boosted top quark decays ($t \to bW \to bq\bar q'$) into one wide jet with three hard
# prongs and an invariant mass near $m_t = 173$ GeV, a gluon into one prong with a broad, lower mass. Fast
# simulation wants a network that draws such jets at once instead of running the shower. A jet is a **set** of
# particles, with no natural order and a varying number of members, so JetNet (Kansal et al. 2021) stores each one
# as a point cloud: the $P = 30$ leading constituents with their coordinates relative to the jet axis,
# $$\eta_\text{rel} = \eta - \eta_\text{jet}, \qquad \phi_\text{rel} = \phi - \phi_\text{jet}, \qquad
#   p_{T,\text{rel}} = p_T / p_{T,\text{jet}},$$
# zero-padded, with a mask that marks the real particles. physgen's kind `pointcloud` is exactly that: samples
# $(N, P, 3)$ and a mask $(N, P)$ (docs/jets.md).
#
# The model must be **permutation equivariant**: relabelling the particles may only relabel its output. The EPiC
# layers (Buhmann, Kasieczka & Thaler 2023) achieve it by updating a global vector from the sum and the mean of
# the particles, then every particle from itself and the global vector. `epic-fm` trains them by flow matching
# (`16_flows_flow_matching`): a velocity field carries Gaussian noise on the occupied slots to the jets along
# straight paths, with the multiplicity drawn from the training jets' histogram.
#
# The judges are JetNet's metrics (Kansal et al. 2023), each beside its **truth-vs-truth floor**, the same metric
# between two independent halves of the real jets: $W_1$ of the jet mass (`w1m`), of the particle features (`w1p`)
# and of energy-flow polynomials (`w1efp`), and the Fréchet and kernel physics distances on 36 EFPs (`fpd`,
# `kpd`). Pythia 8 and fastjet make the jets here (`physgen data jets`, `pip install -e '.[hep]'`); at about
# 50–100 jets per CPU-second quick mode keeps a few hundred.

# %%
import os
from pathlib import Path

QUICK = os.environ.get("PHYSGEN_QUICK", "1") != "0"   # True: small sizes, ≤ 1 min on one core
SEED = 0
OUT = Path(os.environ.get("PHYSGEN_NOTEBOOK_OUT", "notebook-runs")) / "18_jets"
OUT.mkdir(parents=True, exist_ok=True)

import time

import matplotlib.pyplot as plt
import numpy as np

from physgen.data import describe, save
from physgen.data.hep import jets as J
from physgen.data.pointcloud import from_arrays
from physgen.errors import UserError
from physgen.metrics import evaluate
from physgen.metrics.jetnet import jet_mass
from physgen.metrics.summary import floor_table
from physgen.training import load_run, train

n_train, n_held, n_gluon = (250, 250, 60) if QUICK else (10000, 10000, 2000)

# %% [markdown]
# ## The jets
#
# `physgen data jets --type top --n N --seed S --out top.h5` runs, from Python, as `JetSpec`, `generate` and
# `to_dataset` of `physgen.data.hep.jets`: $pp \to t\bar t$ at $\sqrt s = 13$ TeV with the hard $\hat p_T$ within 1%
# of 1 TeV, anti-$k_T$ jets of radius 0.8, the leading jet kept when it lies in $[0.8, 1.6]$ TeV and near a hard
# parton. Training and held-out jets come from different seeds, so they are independent. Without Pythia's and
# fastjet's Python bindings the cell says so and makes a **synthetic** cloud file instead (Gaussian prongs, not a
# physics simulation), so that the rest of the notebook still runs.


# %%
def pythia_jets(jet_type, n, seed):
    spec = J.JetSpec(jet_type)
    shard = J.generate(spec, n, seed=seed)
    return J.to_dataset(spec, shard, J.describe_run(spec, shard, seed=seed, workers=1))


def synthetic_jets(n, seed, prongs):
    """Clearly not jets: `prongs` Gaussian blobs in (η, φ), a Poisson multiplicity, Dirichlet p_T fractions."""
    rng = np.random.default_rng(seed)
    x, mask = np.zeros((n, 30, 3)), np.zeros((n, 30))
    for i in range(n):
        k = int(np.clip(rng.poisson(18), 3, 30))
        axes = rng.normal(0, 0.25, (prongs, 2)) * (prongs > 1)
        which = rng.integers(0, prongs, k)
        pt = np.sort(rng.dirichlet(np.full(k, 0.6)))[::-1]
        x[i, :k, :2] = axes[which] + rng.normal(0, 0.05, (k, 2))
        x[i, :k, 2], mask[i, :k] = pt, 1
    return from_arrays(x, mask, names=["eta_rel", "phi_rel", "pt_rel"], attrs={"source": "synthetic, not Pythia"})


try:
    J.JetSpec("top").check()                       # pythia8mc and fastjet importable
    PYTHIA = True
except UserError as exc:
    PYTHIA = False
    print(f"no Pythia jets ({exc}): SYNTHETIC clouds below, labelled so in every title")
start = time.process_time()
if PYTHIA:
    top_train, top_held = pythia_jets("top", n_train, seed=1), pythia_jets("top", n_held, seed=11)
    gluon = pythia_jets("gluon", n_gluon, seed=2)
    KIND = "Pythia top jets"
    n_jets, seconds = len(top_train) + len(top_held) + len(gluon), time.process_time() - start
    print(f"Pythia + fastjet: {n_jets} jets in {seconds:.1f} CPU s ({n_jets / seconds:.0f} per CPU-second)")
else:
    top_train, top_held, gluon = synthetic_jets(n_train, 1, 3), synthetic_jets(n_held, 11, 3), synthetic_jets(n_gluon, 2, 1)
    KIND = "SYNTHETIC 3-prong clouds"
info = describe(top_train)
print({k: info[k] for k in ("n", "kind", "shape")}, "mask:", top_train.mask.shape, top_train.feature_names)

# %% [markdown]
# Three jets of each type in the $(\eta_\text{rel}, \phi_\text{rel})$ plane, each particle's area proportional to
# its $p_{T,\text{rel}}$, and the mass over $p_T$ of the 30 leading particles (massless, summed as four-vectors:
# `physgen.metrics.jetnet.jet_mass`, the quantity of `w1m`). The top jets' three prongs and their mass peak near
# $m_t/p_T \approx 0.17$ separate them from the gluons. Jets at 1 TeV have more than 30 constituents, so every slot
# is filled here; the file's `jet_n` keeps the full count.

# %%
def relative(ds):
    return ds.samples.astype(np.float64), ds.mask.astype(bool)


fig, axes = plt.subplots(2, 4, figsize=(15, 7))
for row, (ds, name) in enumerate(((top_train, "top" if PYTHIA else "synthetic 3-prong"),
                                  (gluon, "gluon" if PYTHIA else "synthetic 1-prong"))):
    x, m = relative(ds)
    for j in range(3):
        ax = axes[row, j]
        ax.scatter(x[j, m[j], 0], x[j, m[j], 1], s=3000 * x[j, m[j], 2], alpha=0.6)
        ax.set(title=f"{name} jet {j}", xlim=(-0.8, 0.8), ylim=(-0.8, 0.8), aspect="equal")
    ax = axes[row, 3]
    ax.hist(jet_mass(x, m), bins=30, histtype="step", label="m / p_T")
    n_all = ds.conditions.get("jet_n", m.sum(1))        # every constituent, before the 30 leading are kept
    ax.set(title=f"{name}: {np.mean(n_all):.0f} constituents on average", xlabel="jet m / p_T")
axes[1, 0].set(xlabel="η_rel"), axes[1, 0].set(ylabel="φ_rel")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## `epic-fm`: flow matching with an EPiC network
#
# The defaults (4 EPiC layers of width 128, 20,000 steps) need hours of one core; quick mode trains a narrow
# network for a few hundred steps. Sampling integrates the learned ODE with midpoint steps (`model.steps`, 100 by
# default). `epic-gan` (EPiC-GAN, the same layers in a least-squares GAN) is trained and sampled with the same
# calls, `train("epic-gan", ...)`; it draws a jet in one generator pass instead of an ODE integration.

# %%
small = ["model.hidden=64", "model.layers=3", "model.global_dim=16", "train.batch_size=32"] if QUICK else []
summary = train("epic-fm", data=save(top_train, OUT / "top_train.h5", overwrite=True), out=OUT / "epic_fm",
                overwrite=True, seed=SEED, steps=400 if QUICK else 20000, sets=small + ["train.progress=false"])
run = load_run(OUT / "epic_fm", which="latest")
start = time.process_time()
fake = run.sample(len(top_held), seed=SEED, steps=20 if QUICK else 100)
print(f"{summary['steps']} steps; {len(fake)} jets sampled in {time.process_time() - start:.1f} CPU s")

fig, axes = plt.subplots(1, 5, figsize=(18, 3.4))
xr, mr = relative(top_held)
xf, mf = relative(fake)
for j, (ax, name) in enumerate(zip(axes, top_held.feature_names)):
    bins = np.linspace(*np.percentile(xr[..., j][mr], [0.5, 99.5]), 40)
    ax.hist(xr[..., j][mr], bins=bins, histtype="stepfilled", color="0.8", density=True, label=KIND)
    ax.hist(xf[..., j][mf], bins=bins, histtype="step", density=True, label="epic-fm")
    ax.set(xlabel=name, yscale="log" if name == "pt_rel" else "linear")
bins = np.linspace(0, 0.35, 30)
axes[3].hist(jet_mass(xr, mr), bins=bins, histtype="stepfilled", color="0.8", density=True)
axes[3].hist(jet_mass(xf, mf), bins=bins, histtype="step", density=True)
axes[3].set(xlabel="jet m / p_T")
bins = np.linspace(0, 1.2, 49)
axes[4].hist((xr[..., 2] * mr).sum(1), bins=bins, histtype="stepfilled", color="0.8", density=True)
axes[4].hist((xf[..., 2] * mf).sum(1), bins=bins, histtype="step", density=True)
axes[4].set(xlabel="Σ p_T,rel of the 30 leading")
axes[0].legend(fontsize=8)
plt.show()

# %% [markdown]
# The last panel is a constraint: the 30 leading constituents carry most of a real jet's momentum, so their
# $p_{T,\text{rel}}$ add up to nearly 1. The particle features can each look nearly right while their sum does
# not: a correlation between the particles of a jet, which no single-particle histogram sees. That is why JetNet's
# metrics judge jet-level quantities as well (the mass, the EFPs), and why a short run can pass some and fail
# others.
#
# ## JetNet's metrics and the truth-vs-truth floor
#
# `evaluate(real, fake)` on point clouds computes the five metrics, each with its floor from two halves of the
# real jets. A second check of the floor: the training jets, an independent Pythia sample, judged like a model.
# A perfect generator would score like them.

# %%
res_model = evaluate(top_held, fake, seed=SEED, n_boot=50)
res_truth = evaluate(top_held, top_train, seed=SEED, n_boot=50)
names = [k for k in res_model if not k.startswith("_")]
fig, axes = plt.subplots(1, len(names), figsize=(3 * len(names), 3.2))
for ax, k in zip(axes, names):
    rows = (("floor", res_model[k]["floor"], res_model[k]["floor_error"]),
            ("truth", res_truth[k]["value"], res_truth[k]["error"]),
            ("epic-fm", res_model[k]["value"], res_model[k]["error"]))
    for i, (label, v, e) in enumerate(rows):
        ax.errorbar([i], [v], yerr=[e], fmt="o", color=f"C{i}")
    ax.axhline(0, color="0.7", lw=0.6)
    ax.set(xticks=range(3), xticklabels=[r[0] for r in rows], title=k)
fig.suptitle(KIND)
plt.tight_layout()
plt.show()

# %% [markdown]
# FPD and KPD can come out negative at the floor: both estimate a distance that is zero there without bias (FPD
# extrapolated to infinitely many jets, KPD an unbiased MMD²), so a ratio to the floor means nothing for them.
# With a few hundred jets their errors are as large as their values; the full sizes resolve them.
#
# ## Try this
#
# 1. Double `n_train` (and the steps): the floors shrink like $1/\sqrt N$ for the $W_1$ metrics, so a model must
#    improve just to keep its ratio to the floor.
# 2. Train `epic-gan` on the same file with the same number of steps and compare the jet-mass peak, Σ p_T,rel
#    and `w1m` with `epic-fm`'s: the GAN draws a jet in one generator pass, `epic-fm` in an ODE integration.
# 3. Sample with `steps=5` instead of 20: the ODE's discretisation error enters the generated jets, and the
#    metrics show which features it reaches first.

# %% [markdown]
# ## Evaluation against the truth-vs-truth floors

# %%
print(floor_table(res_model, title=f"epic-fm ({summary['steps']} steps) vs held-out {KIND}"), "\n")
print(floor_table(res_truth, title=f"independent {KIND} (the training jets) vs held-out"))
