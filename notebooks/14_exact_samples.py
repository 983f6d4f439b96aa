# %% [markdown]
# # Exact samples from a learned model
#
# A generative model trained on Monte Carlo configurations reproduces the means well long before it gets the
# fluctuations right: the specific heat $C = N(\langle e^2\rangle - \langle e\rangle^2)/T^2$ and the
# susceptibility $\chi = N(\langle m^2\rangle - \langle |m|\rangle^2)/T$ carry the phase transition, and they are
# the first to go wrong. But for the Ising model we know the target exactly, up to its normalisation:
# $$\pi(s) = \frac{e^{-H(s)/T}}{Z}, \qquad H(s) = -J\sum_{\langle ij\rangle} s_i s_j - h\sum_i s_i .$$
# If the model can also compute its own probability $q(s)$ (up to a constant), its samples can be **corrected**:
# propose $s'$ from the model and accept it with probability
# $$A(s \to s') = \min\left(1, \frac{\pi(s')\,q(s)}{\pi(s)\,q(s')}\right).$$
# For a proposal kernel that is reversible with respect to $q$ (independent draws from a flow, a block-Gibbs
# sweep of an RBM), this Markov chain has $\pi$ as its stationary law, however poor the model: the model's
# quality only shows as the acceptance rate and the autocorrelation time (self-learning Monte Carlo, Liu et al.
# 2017; neural MCMC, Albergo, Kanwar & Shanahan 2019; Nicoli et al. 2020). In physgen this is
# `physgen sample RUN --mcmc`, and `--importance` gives the weights $w \propto \pi/q$ instead (docs/exact.md).

# %%
import os
import warnings
from pathlib import Path

QUICK = os.environ.get("PHYSGEN_QUICK", "1") != "0"   # True: small sizes, ≤ 1 min on one core
SEED = 0
OUT = Path(os.environ.get("PHYSGEN_NOTEBOOK_OUT", "notebook-runs")) / "14_exact_samples"
OUT.mkdir(parents=True, exist_ok=True)

import matplotlib.pyplot as plt
import numpy as np

from physgen.data import save
from physgen.data.ising import ThinningWarning, simulate
from physgen.physics.exact import ExactIsing, exact_ensembles
from physgen.physics.observables import binder_cumulant, energy_per_spin, magnetization
from physgen.stats import mean_with_error
from physgen.training import load_run, train

warnings.simplefilter("ignore", ThinningWarning)

# %% [markdown]
# ## 4×4: a poor model, an exact chain
#
# On a $4\times4$ lattice all $2^{16}$ states can be enumerated, so the exact distribution of the energy is known.
# We train an RBM for only a few hundred steps: its own samples are visibly wrong. Its block-Gibbs sweeps,
# accepted or rejected with the Boltzmann weight, are not.

# %%
T4 = 2.5
states, t_of = exact_ensembles(4, [T4], 2000, SEED)
data4 = simulate(4, [T4], 2000, algorithm="wolff", seed=SEED)
save(data4, OUT / "ising4.h5", overwrite=True)
train("rbm", data=OUT / "ising4.h5", out=OUT / "rbm4", overwrite=True, seed=SEED, steps=100,
      sets=["train.progress=false"])
rbm4 = load_run(OUT / "rbm4")
plain4 = rbm4.sample(4000, seed=1).samples
exact4 = rbm4.sample(4000, seed=1, mcmc=True, chains=64, burn_in=2000 if QUICK else 5000)
print(f"acceptance {exact4.attrs['mcmc_acceptance']:.1%}, tau_int E {exact4.attrs['mcmc_tau_int_energy']:.1f} moves")

ex = ExactIsing(4, T4)
levels, inverse = np.unique(np.round(ex.energies, 6), return_inverse=True)
p_exact = np.bincount(inverse, weights=ex.probabilities)


def histogram(s):
    e = np.round(energy_per_spin(s), 6)
    return np.array([np.mean(e == lv) for lv in levels])


width = 0.04
plt.figure(figsize=(7, 3.5))
plt.bar(levels - width, p_exact, width, label="exact (enumeration)")
plt.bar(levels, histogram(plain4), width, label="rbm samples")
plt.bar(levels + width, histogram(exact4.samples), width, label="rbm --mcmc")
plt.xlabel("energy per spin"), plt.ylabel("probability"), plt.legend(), plt.title(f"4×4, T = {T4}")
plt.show()

# %% [markdown]
# The chains start from the RBM's own samples and need a burn-in long enough to forget them: with a poor
# proposal (low acceptance) that takes many moves, and the recorded $\tau_\text{int}$ says how many. Once there,
# they stay exact.
#
# ## 8×8 at $T_c$: the fluctuations
#
# Now a lattice too large to enumerate, at the critical temperature where $C$ and $\chi$ peak. The reference is
# a long Wolff run; the errors of every estimate account for its autocorrelation ($\sigma\sqrt{2\tau_\text{int}/N}$).

# %%
L, TC = 8, 2.269185
n = 2000 if QUICK else 20000
data = simulate(L, [TC], 1000, algorithm="wolff", seed=SEED)
save(data, OUT / "ising8.h5", overwrite=True)
reference = simulate(L, [TC], 4 * n, algorithm="wolff", thin=1, chains=8, seed=SEED + 1).samples
train("rbm", data=OUT / "ising8.h5", out=OUT / "rbm8", overwrite=True, seed=SEED, steps=1000 if QUICK else 20000,
      sets=["train.progress=false"])
rbm8 = load_run(OUT / "rbm8")
plain = rbm8.sample(n, seed=2).samples
mcmc = rbm8.sample(n, seed=2, mcmc=True, chains=16, burn_in=500)


def observables(s, chains=1):
    """⟨e⟩, ⟨|m|⟩, C, χ and U₄ with errors from the chains' own autocorrelation (chain-major order)."""
    e, m = energy_per_spin(s), magnetization(s)
    series = {"e": e, "|m|": np.abs(m), "e²": e ** 2, "m²": m ** 2, "m⁴": m ** 4}
    est = {k: mean_with_error(v.reshape(chains, -1)) for k, v in series.items()}
    N = L * L
    C = N * (est["e²"].value - est["e"].value ** 2) / TC ** 2
    chi = N * (est["m²"].value - est["|m|"].value ** 2) / TC
    # C, χ and U₄: the spread of the estimate over 8 blocks of consecutive samples, each longer than τ_int
    blocks = np.array_split(np.arange(len(e)), 8)
    Cb = [N * np.var(e[b]) / TC ** 2 for b in blocks]
    chib = [N * (np.mean(m[b] ** 2) - np.mean(np.abs(m[b])) ** 2) / TC for b in blocks]
    U = binder_cumulant(m)
    Ub = [binder_cumulant(m[b]) for b in blocks]
    sem = lambda v: float(np.std(v, ddof=1) / np.sqrt(len(v)))  # noqa: E731
    return {"⟨e⟩": (est["e"].value, est["e"].error), "⟨|m|⟩": (est["|m|"].value, est["|m|"].error),
            "C": (C, sem(Cb)), "χ": (chi, sem(chib)), "U₄": (U, sem(Ub))}


rows = {"Wolff (reference)": observables(reference, chains=8), "rbm samples": observables(plain),
        "rbm --mcmc": observables(mcmc.samples, chains=16)}
names = list(rows["Wolff (reference)"])
fig, axes = plt.subplots(1, len(names), figsize=(14, 3))
for ax, name in zip(axes, names):
    for i, (label, obs) in enumerate(rows.items()):
        ax.errorbar([i], [obs[name][0]], yerr=[obs[name][1]], fmt="o")
    ax.set_xticks(range(len(rows)), [k.split(" ")[0] + ("\n--mcmc" if "mcmc" in k else "") for k in rows])
    ax.set_title(name)
fig.tight_layout()
plt.show()
print(f"acceptance {mcmc.attrs['mcmc_acceptance']:.1%}, tau_int E/|m| {mcmc.attrs['mcmc_tau_int_energy']:.1f}/"
      f"{mcmc.attrs['mcmc_tau_int_abs_magnetization']:.1f} moves, {mcmc.attrs['mcmc_n_effective']:.0f} independent")

# %% [markdown]
# ## Importance weights
#
# The same model's draws, weighted by $w_k \propto \pi(s_k)/q(s_k)$, estimate any Boltzmann average as
# $\sum_k w_k O(s_k)$; the effective sample size $(\sum w)^2/\sum w^2$ says how many independent samples they are
# worth. Weights are exact where the draws come from $q$ itself; an RBM's draws come from Gibbs chains, so
# its weights are as good as its chains' equilibration.

# %%
weighted = rbm8.sample(n, seed=3, importance=True)
w = np.exp(weighted.log_weights)
e_w = float(np.sum(w * energy_per_spin(weighted.samples)))
print(f"ESS {weighted.attrs['importance_ess']:.0f} of {n}; weighted ⟨e⟩ = {e_w:.4f}")

# %% [markdown]
# ## Try this
#
# 1. Train the 8×8 RBM for ten times more steps and watch the acceptance rate and $\tau_\text{int}$ improve,
#    while `--mcmc`'s answer stays the same within its errors.
# 2. Sample at a temperature the model never saw (`condition={"temperature": 2.6}` with a conditioned run):
#    the chain stays exact; what happens to the acceptance?
# 3. Replace the RBM by a `flow` (`train("flow", ...)`), whose draws are independent: compare $\tau_\text{int}$
#    with the RBM's at equal acceptance.

# %%
ref = rows["Wolff (reference)"]
for label, obs in rows.items():
    if label.startswith("Wolff"):
        continue
    z = {k: (obs[k][0] - ref[k][0]) / np.hypot(obs[k][1], ref[k][1]) for k in names}
    print(f"{label:12s} " + "  ".join(f"{k}: {obs[k][0]:.4g} ± {obs[k][1]:.2g} (z = {z[k]:+.1f})" for k in names))
