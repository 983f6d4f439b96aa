# %% [markdown]
# # A tour of physgen: Ising data → a generative model → evaluation against the floors
#
# This notebook is the first one to run (about ten minutes to read and run). It goes once through what every
# other notebook does in depth:
#
# 1. **Data**: configurations of the 2D Ising model from physgen's Monte Carlo engine,
#    checked against Onsager's exact solution.
# 2. **Model**: a restricted Boltzmann machine (RBM) trained on them, one per temperature.
# 3. **Evaluation**: the generated configurations compared with the Monte Carlo ones. Each metric is printed
#    beside its **floor**: the same metric between two halves of the real data.
# 4. **Analysis**: principal components of the configurations, where the first one turns out to be the
#    magnetization.
#
# `QUICK = True` (the default, and what the tests run) keeps every size small so that the notebook runs in
# under a minute on one CPU core. Set the environment variable `PHYSGEN_QUICK=0` (or edit the cell) for the
# full sizes.

# %%
import os
from pathlib import Path

QUICK = os.environ.get("PHYSGEN_QUICK", "1") != "0"   # True: small sizes, ≤ 1 min on one core
SEED = 0
OUT = Path(os.environ.get("PHYSGEN_NOTEBOOK_OUT", "notebook-runs")) / "00_tour"   # data files and runs
OUT.mkdir(parents=True, exist_ok=True)

import matplotlib.pyplot as plt

from physgen.data import save
from physgen.data.ising import simulate
from physgen.metrics import evaluate
from physgen.metrics.summary import floor_table
from physgen.physics import onsager
from physgen.physics.observables import thermodynamics_by_temperature
from physgen.training import load_run, train

print(f"quick mode: {QUICK}; files under {OUT}")

# %% [markdown]
# ## 1. The 2D Ising model and its Monte Carlo engine
#
# Spins $s_i = \pm 1$ on an $L \times L$ periodic lattice have the energy
# $$E(s) = -J \sum_{\langle ij \rangle} s_i s_j,$$
# summed over nearest-neighbour pairs, and at temperature $T$ (with $k_B = 1$) the Boltzmann probability
# $p(s) = e^{-E(s)/T} / Z$. Below $T_c = 2/\ln(1+\sqrt 2) \approx 2.269$ the spins order
# (magnetization $m = \frac{1}{L^2}\sum_i s_i \approx \pm 1$); above it they are disordered.
#
# `simulate` draws configurations with Wolff cluster updates (Wolff 1989), which stay efficient near $T_c$.
# The result is a `Dataset`: samples `(N, L, L)` of kind `spins`, the temperature of each one, and the protocol.

# %%
temperatures = [1.8, 2.27, 3.0]
L, n_per_t = (16, 300) if QUICK else (16, 2000)
real = simulate(L, temperatures, n_per_t, algorithm="wolff", burn_in=100, thin=3, chains=20, seed=SEED)
data_file = save(real, OUT / "ising.h5", overwrite=True)
print(real.kind, real.samples.shape, "temperatures:", sorted(set(real.conditions["temperature"].tolist())))

fig, axes = plt.subplots(1, 3, figsize=(9, 3))
for ax, t in zip(axes, temperatures):
    ax.imshow(real.samples[real.conditions["temperature"] == t][0], cmap="gray", vmin=-1, vmax=1)
    ax.set(title=f"T = {t}", xticks=[], yticks=[])
plt.show()

# %% [markdown]
# The energy per spin and $\langle |m| \rangle$ come with bootstrap errors. Onsager (1944) and Yang (1952)
# give the infinite lattice exactly:
# $$\langle |m| \rangle = \left[1 - \sinh^{-4}(2J/T)\right]^{1/8} \quad (T < T_c).$$
# On a finite lattice the agreement is close away from $T_c$; at $T_c$ the finite size shows.

# %%
mc = thermodynamics_by_temperature(real, rng=SEED, n_boot=100)
for t in temperatures:
    e, m = mc[t]["energy"], mc[t]["abs_magnetization"]
    print(f"T = {t:4}:  <e> = {e}  (Onsager {float(onsager.energy_per_spin(t)):.4f})   "
          f"<|m|> = {m}  (Onsager {float(onsager.spontaneous_magnetization(t)):.4f})")

# %% [markdown]
# ## 2. A restricted Boltzmann machine
#
# An RBM (Smolensky 1986; Hinton 2002) couples the visible spins $v$ to hidden binary units $h$:
# $$E(v, h) = -a^\top v - b^\top h - v^\top W h, \qquad p(v) = \frac{1}{Z}\sum_h e^{-E(v,h)} = \frac{e^{-F(v)}}{Z}.$$
# Its gradient is a difference of two averages, over the data and over the model; physgen estimates the
# second with persistent Gibbs chains (PCD, Tieleman 2008). With `condition="temperature"` one RBM is trained
# per temperature, side by side. Training has a **step budget**, so the same seed gives the same model.
#
# On spin lattices the hidden layer is translation invariant: `model.filters` copies of the lattice, each unit
# seeing a 3×3 window of spins through its filter's weights (`model.filter_size`), so the default 2 filters give
# $2L^2 = 512$ hidden units at $L = 16$. `--set model.filters=4` doubles them; `model.n_hidden` asks for dense
# weights of that many hidden units instead (as on non-lattice data), and is refused together with `model.filters`.

# %%
steps = 300 if QUICK else 5000
summary = train("rbm", data=data_file, out=OUT / "rbm", overwrite=True, seed=SEED, condition="temperature",
                steps=steps, sets=["model.filters=2", "train.progress=false"])   # the spin default, written out
print(summary["status"], "after", summary["steps"], "steps,", f"{summary['wall_time_s']:.1f} s")
run = load_run(OUT / "rbm", which="latest")

# %% [markdown]
# Samples come from block Gibbs sampling of each temperature's RBM. Without a `condition`, `sample` spreads
# them evenly over the trained temperatures (`condition={"temperature": 2.27}` picks one):

# %%
fake = run.sample(len(real), seed=SEED, burn_in=200 if QUICK else 1000)
fig, axes = plt.subplots(2, 3, figsize=(9, 6))
for j, t in enumerate(temperatures):
    for i, (ds, name) in enumerate(((real, "Monte Carlo"), (fake, "RBM"))):
        axes[i, j].imshow(ds.samples[ds.conditions["temperature"] == t][0], cmap="gray", vmin=-1, vmax=1)
        axes[i, j].set(title=f"{name}, T = {t}", xticks=[], yticks=[])
plt.show()

# %% [markdown]
# ## 3. Evaluation against the floors
#
# The judge is an independent Monte Carlo run (another seed), never the training file: a model that had
# memorised its training lattices would look perfect against them.
#
# `evaluate(real, generated)` computes distances between the two sample sets. For spins the per-feature
# metrics see the energy per spin and $|m|$: the histogram KL divergence, the kernel MMD, the classifier
# two-sample AUC (0.5: indistinguishable) and the $\chi^2$/dof of the thermodynamic observables per
# temperature. Each value has a bootstrap error and a **floor**: the same metric between two halves of the
# real data, at the same sample size. A value near its floor is as close to the data as more data would be.

# %%
test = simulate(L, temperatures, n_per_t, algorithm="wolff", burn_in=100, thin=3, chains=20, seed=SEED + 1)
result = evaluate(test, fake, metrics="kl,mmd,c2st,observables", seed=SEED, n_boot=50)
from physgen.report.evaluate_plots import observables_vs_temperature

observables_vs_temperature(result)
plt.show()

# %% [markdown]
# ## 4. Unsupervised analysis: PCA finds the magnetization
#
# Principal component analysis of the flattened configurations: the first component carries most of the
# variance and its projection is the magnetization (Wang 2016), the order parameter found without labels.

# %%
from physgen.analysis import analyze_pca

pca = analyze_pca(real, n_components=5, seed=SEED)
plt.figure(figsize=(5, 3.5))
plt.scatter(pca.projections[:, 0], pca.projections[:, 1], c=real.conditions["temperature"], cmap="coolwarm", s=4)
plt.colorbar(label="T")
plt.xlabel("PC1"), plt.ylabel("PC2")
plt.title(f"PC1: {pca.explained_variance_ratio[0]:.0%} of the variance")
plt.show()
print(f"Pearson r(PC1, m) = {pca.pc1_magnetization['value']:.4f}")

# %% [markdown]
# ## Try this
#
# 1. Train the RBM ten times longer (`steps = 3000`): the observables' χ²/dof and the KL fall towards their
#    floors, last at $T = 2.27$, where the fluctuations that set $C$ and $\chi$ are largest.
# 2. Add $T = 2.0$ and $2.5$ to `temperatures`: in the PCA plot the points fill the path between the two ordered
#    lobes and the disordered centre, and $|r(\text{PC1}, m)|$ stays close to 1.
# 3. Set `L = 32`: at $T = 2.27$ the Monte Carlo $\langle|m|\rangle$ falls (at $T_c$ it scales as $L^{-1/8}$), at 3.0 it
#    falls towards Onsager's 0 as $1/L$, and at 1.8 it stays at Onsager's value.

# %% [markdown]
# ## Evaluation
#
# The RBM's samples against the Monte Carlo data. In quick mode the RBM is undertrained and its values lie
# well above the floors; the full run (`PHYSGEN_QUICK=0`) brings them closer. Where next: `01_ising_monte_carlo`
# for the engine, `03_rbm_digits` and `04_rbm_ising` for RBMs, the other notebooks for the other models.

# %%
print(floor_table(result, title=f"RBM ({summary['steps']} steps) vs Monte Carlo, L = {L}"))
