# %% [markdown]
# # LHC events: Pythia 8, the thesis DCGAN, LHE and ROOT files, and the network against the generator
#
# Proton–proton collisions $pp \to t\bar t$ at $\sqrt{s_{pp}} = 13$ TeV from Pythia 8 at the hard (leading-order) level,
# described by three features per event, as in the thesis: two Lorentz invariants of the partons $p_1, p_2$ and the
# top $p_3$, and the rapidity of the $t\bar t$ pair,
# $$s = 2\,p_1\!\cdot p_2 = \hat s = x_1 x_2 s_{pp},\qquad t = -2\,p_1\!\cdot p_3 = \hat t - m_t^2,\qquad
# y = \tfrac12\ln\frac{x_1}{x_2},$$
# with the Mandelstam $\hat t = (p_1 - p_3)^2$ and massless partons ($s_{pp}$: the beams' centre-of-mass energy
# squared). The stored `t` is thus $\hat t$ shifted by the top mass squared ([docs/hep.md](../docs/hep.md)).
# A generative network trained on them is worth having in place of the generator when it is much faster at the
# same quality. Quality is measured against held-out Pythia events, each metric beside its floor.
# Events move between tools as Les Houches Event (LHE) files and ROOT trees; physgen writes and reads both.
#
# Needs Pythia 8's Python bindings: `pip install -e '.[hep]'` (part of the `notebooks` and `test` extras).
# The thesis DCGAN of `examples/thesis_dcgan_ttbar.py` is costly on a CPU: quick mode trains it for a few steps
# only, to show the pipeline; the full figures come from `PHYSGEN_QUICK=0` on a GPU or a quiet machine.

# %%
import os
import time
from pathlib import Path

QUICK = os.environ.get("PHYSGEN_QUICK", "1") != "0"   # True: small sizes, ≤ 1 min on one core
SEED = 0
OUT = Path(os.environ.get("PHYSGEN_NOTEBOOK_OUT", "notebook-runs")) / "13_lhc_events"
OUT.mkdir(parents=True, exist_ok=True)

import matplotlib.pyplot as plt
import numpy as np

from physgen.data import save
from physgen.data.hep.events import ttbar_from_sty
from physgen.data.hep.generate import pythia_dataset
from physgen.data.hep.lhe import lhe_dataset, write_lhe
from physgen.data.hep.root import root_dataset, write_root
from physgen.metrics import evaluate
from physgen.metrics.summary import floor_table
from physgen.report.evaluate_plots import feature_histograms, pair_plots
from physgen.training import load_run, train

# %% [markdown]
# ## Pythia events, and the generator's rate

# %%
n_train, n_held = (3000, 2000) if QUICK else (20000, 10000)
start = time.perf_counter()
events = pythia_dataset("ttbar", 13000, n_train + n_held, features=["s", "t", "y"], seed=1)
rates = {"Pythia 8, hard level": len(events) / (time.perf_counter() - start)}
n_hadron = 20 if QUICK else 200
start = time.perf_counter()
pythia_dataset("ttbar", 13000, n_hadron, seed=2, level="hadron")
rates["Pythia 8, hadron level + anti-kT jets"] = n_hadron / (time.perf_counter() - start)
train_set, held = events.subset(slice(0, n_train)), events.subset(slice(n_train, None))
data_file = save(train_set, OUT / "ttbar.h5", overwrite=True)
print(f"σ(pp → tt̄) = {events.attrs['sigma_pb']:.0f} ± {events.attrs['sigma_err_pb']:.0f} pb;",
      ", ".join(f"{k}: {v:.0f} events/s" for k, v in rates.items()))
names = events.feature_names
fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
for ax, j, name in zip(axes, range(3), names):
    ax.hist(events.samples[:, j], bins=60, histtype="step")
    ax.set(xlabel=name, yscale="log")
plt.show()

# %% [markdown]
# ## Networks: the thesis DCGAN and a VAE
#
# The thesis DCGAN (dense layer → 10×10×2 → transposed convolutions → 3 features, BCE, Adam $2\cdot10^{-4}$) needs
# its features in $[-1, 1]$ (min–max scaling); the VAE uses physgen's defaults for tabular data.

# %%
nets = {"thesis-dcgan": dict(steps=5 if QUICK else 4000,
                             sets=["data.transform=minmax", "model.diagnostics=false"]
                             + (["train.batch_size=64"] if QUICK else [])),
        "vae": dict(steps=400 if QUICK else 20000, sets=[])}
fakes = {}
for family, cfg in nets.items():
    train(family, data=data_file, out=OUT / family, overwrite=True, seed=SEED, steps=cfg["steps"],
          sets=cfg["sets"] + ["train.progress=false"])
    run = load_run(OUT / family, which="latest")
    run.sample(100, seed=SEED)                                   # warm-up, not timed
    start = time.perf_counter()
    fakes[family] = run.sample(len(held), seed=SEED)
    rates[family] = len(held) / (time.perf_counter() - start)
results = {f: evaluate(held, fake, metrics="kl,w1,c2st", seed=SEED, n_boot=50) for f, fake in fakes.items()}
for family, fake in fakes.items():
    feature_histograms(held.samples.astype(np.float64), fake.samples.astype(np.float64), names, results[family])
    plt.gcf().suptitle(f"{family} ({nets[family]['steps']} steps) vs Pythia")
pair_plots(held.samples.astype(np.float64), fakes["vae"].samples.astype(np.float64), names)
plt.show()

# %% [markdown]
# ## LHE and ROOT files
#
# Generated $(s, t, y)$ become full $t\bar t$ events (on-shell tops of mass 173 GeV, the azimuth drawn
# uniformly; samples outside the physical region are dropped), written as LHE and read back; the features survive
# the round trip. A ROOT tree holds the features as branches.

# %%
s, t, y = fakes["vae"].samples.astype(np.float64).T
kin, ok = ttbar_from_sty(s, t, y, ecm=13000, mass=173.0, rng=np.random.default_rng(SEED))
write_lhe(OUT / "vae.lhe", kin, ecm=13000, overwrite=True)
back = lhe_dataset(OUT / "vae.lhe", features=["s", "t", "y"])
print(f"LHE: {ok.sum()} of {len(ok)} generated events physical; largest relative change of (s, t, y) through the file:",
      f"{np.max(np.abs(back.samples - fakes['vae'].samples[ok]) / (np.abs(fakes['vae'].samples[ok]) + 1e-9)):.1e}")
write_root(OUT / "vae.root", fakes["vae"], overwrite=True)
tree = root_dataset(OUT / "vae.root")
print("ROOT: branches", tree.feature_names, "identical:", np.array_equal(tree.samples, fakes["vae"].samples))

# %% [markdown]
# ## Try this
#
# 1. Train the VAE ten times longer: its KL and AUC approach their floors, and the speed-up over Pythia stays the
#    same, set by one decoder pass per event.
# 2. Add the top's transverse momentum, `features=["s", "t", "y", "p3_pt"]`: a fourth, correlated feature that
#    the network must get right jointly, which the classifier AUC checks and the per-feature KL does not.
# 3. Raise `n_hadron` to 200: Pythia's start-up is shared by more events and its hadron-level rate rises, which
#    shrinks the networks' speed-up to its honest value.

# %% [markdown]
# ## Evaluation against the floors, and the speed-up
#
# Each network's events against held-out Pythia events (floor: two halves of the held-out events), and its
# sampling rate against Pythia's hadron level (the speed-up that makes a network worth training). Pythia's rates
# include its initialisation, which dominates the few hadron-level events of quick mode; `docs/hep.md` has the
# benchmark with larger samples.

# %%
for family, res in results.items():
    print(floor_table(res, title=f"{family} ({nets[family]['steps']} steps) vs Pythia tt̄ (s, t, y)"), "\n")
hadron = rates["Pythia 8, hadron level + anti-kT jets"]
for name, rate in rates.items():
    print(f"{name:<40s} {rate:>12.0f} events/s   × hadron level {rate / hadron:8.1f}")
