# %% [markdown]
# # Neural quantum states: the ground state of a spin chain from a restricted Boltzmann machine
#
# A quantum state of $N$ spins is a vector of $2^N$ amplitudes $\psi(s)$, one per configuration $s \in \{\pm1\}^N$ of
# the $\sigma^z$ basis. Carleo & Troyer (2017) let a network compute them: an RBM with $M = \alpha N$ hidden units,
# summed out in closed form,
# $$\ln\psi_\theta(s) = \sum_i a_i s_i + \sum_{j=1}^{M} \ln\cosh\Big(b_j + \sum_i W_{ij} s_i\Big).$$
# The variational principle says that the energy of any state lies above the ground-state energy $E_0$,
# $$E(\theta) = \frac{\langle\psi_\theta|H|\psi_\theta\rangle}{\langle\psi_\theta|\psi_\theta\rangle}
#   = \mathbb E_{s\sim|\psi_\theta|^2}\big[E_L(s)\big] \ge E_0, \qquad
#   E_L(s) = \sum_{s'} H_{ss'}\,\frac{\psi_\theta(s')}{\psi_\theta(s)},$$
# and the **local energy** $E_L$ needs only the few $s'$ that $H$ connects to $s$, so $E(\theta)$ is a Monte Carlo
# average over Metropolis samples of $|\psi_\theta|^2$. If $\psi_\theta$ is an eigenstate, $E_L(s) = E$ for every $s$:
# the variance of $E_L$ vanishes (the zero-variance principle), which makes
# $$V = \frac{N\,\mathrm{Var}(E_L)}{E^2}$$
# (the V-score of Wu et al. 2024) a measure of accuracy that needs no exact answer.
#
# **Stochastic reconfiguration** (SR; Sorella 1998) is the optimiser: with $O_k = \partial_{\theta_k}\ln\psi$, the
# force $F_k = \langle \bar O_k^* \bar E_L\rangle$ and the quantum geometric tensor
# $S_{kl} = \langle \bar O_k^* \bar O_l\rangle$ (bars: centred), it steps
# $\theta \leftarrow \theta - \eta\,(S + \lambda)^{-1} F$. That is imaginary-time evolution $e^{-\eta H}$ projected onto
# the ansatz, a natural gradient in the geometry of the states rather than of the parameters.
#
# Two models on periodic chains, both solved exactly for comparison (docs/nqs.md): the **transverse-field Ising**
# chain $H = -J\sum_i \sigma^z_i\sigma^z_{i+1} - h\sum_i \sigma^x_i$, critical at $h = J$, which maps to free fermions
# (Pfeuty 1970), and the **Heisenberg** antiferromagnet $H = J\sum_i \mathbf S_i\cdot\mathbf S_{i+1}$ with
# $\mathbf S = \boldsymbol\sigma/2$, solved by Lanczos diagonalisation.

# %%
import os
from pathlib import Path

QUICK = os.environ.get("PHYSGEN_QUICK", "1") != "0"   # True: small sizes, ≤ 1 min on one core
SEED = 0
OUT = Path(os.environ.get("PHYSGEN_NOTEBOOK_OUT", "notebook-runs")) / "21_nqs"
OUT.mkdir(parents=True, exist_ok=True)

import matplotlib.pyplot as plt
import numpy as np

from physgen.metrics.summary import floor_table
from physgen.quantum import NQSConfig, run_nqs
from physgen.quantum.estimators import local_energy
from physgen.quantum.exact import exact_ground_state, tfim_chain_energy
from physgen.quantum.hamiltonians import make_hamiltonian
from physgen.quantum.lattice import Lattice
from physgen.quantum.report import write_outputs
from physgen.quantum.samplers import SpinMetropolis, sample_spins, start_spins
from physgen.stats.blocking import blocking

N = 12 if QUICK else 20
ITERATIONS = 150 if QUICK else 400
SAMPLES = 500 if QUICK else 1000

# %% [markdown]
# ## The exact references
#
# Free fermions give the periodic TFIM chain's $E_0$ at any $N$ in closed form; Lanczos diagonalisation of the
# sparse $2^N \times 2^N$ Hamiltonian built from the same matrix elements the local energy uses must agree with it.
# At $h = J$ the energy per site approaches $-4/\pi$ as $N \to \infty$, with a $1/N^2$ finite-size correction, the
# signature of a gapless, conformally invariant critical point.

# %%
sizes = [4, 6, 8, 10, 12]
ff = [tfim_chain_energy(n, h=1.0) for n in sizes]
ed = [exact_ground_state(make_hamiltonian("tfim", Lattice("chain", n), h=1.0))[0] for n in sizes]
print("largest |free fermions − Lanczos|:", f"{max(abs(a - b) for a, b in zip(ff, ed)):.1e}")
big = [8, 16, 32, 64, 128, 256]
plt.figure(figsize=(5, 3.5))
plt.plot([1 / n ** 2 for n in big], [tfim_chain_energy(n, 1.0) / n for n in big], "o-", label="free fermions")
plt.plot([1 / n ** 2 for n in sizes], [e / n for e, n in zip(ed, sizes)], "x", ms=8, label="Lanczos")
plt.axhline(-4 / np.pi, color="k", ls=":", label="−4/π (N → ∞)")
plt.xlabel("1/N²"), plt.ylabel("E₀ / N"), plt.title("TFIM chain at h = J"), plt.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## SR against plain gradient descent on the critical TFIM chain
#
# The same RBM ($\alpha = 1$), the same samples per iteration, the same start: SR ($\eta = 0.05$) and Adam
# ($\eta = 0.01$, following the plain gradient $2\,\mathrm{Re}\,F$). `run_nqs` is what `physgen nqs` runs; the
# energy of each iteration carries its blocking error.

# %%
runs = {}
for opt in ("sr", "adam"):
    cfg = NQSConfig(hamiltonian="tfim", size=N, h=1.0, alpha=1, iterations=ITERATIONS, samples=SAMPLES, optimizer=opt)
    runs[f"TFIM, {opt.upper() if opt == 'sr' else 'Adam'}"] = run_nqs(cfg, np.random.default_rng(SEED))
e0_tfim = runs["TFIM, SR"].exact["energy"]
fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
for name, res in runs.items():
    it = [r["iteration"] for r in res.history]
    a1.errorbar(it, [r["energy"] for r in res.history], yerr=[r["error"] for r in res.history], fmt="-", lw=0.8,
                label=name)
    a2.semilogy(it, [r["relative_error"] for r in res.history], lw=0.8, label=name)
a1.axhline(e0_tfim, color="k", ls="--", lw=0.8, label=f"exact {e0_tfim:.4f}")
a1.set(xlabel="iteration", ylabel="E", ylim=(e0_tfim - 0.3, e0_tfim + 3), title=f"TFIM, N = {N}, h = J")
a2.set(xlabel="iteration", ylabel="|E − E₀| / |E₀|")
a1.legend(fontsize=8), a2.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## The Heisenberg chain and the Marshall sign rule
#
# The antiferromagnet's ground state has signs: in the $\sigma^z$ basis its amplitudes alternate as
# $(-1)^{\#\text{up spins on one sublattice}}$ (Marshall 1955). A real, positive RBM cannot carry them, so physgen
# rotates one sublattice by $\pi$ about $z$ (`marshall=True`, the default for bipartite lattices), which makes the
# ground state positive without changing the spectrum. Without the rotation the real RBM is stuck far above
# $E_0$. The chains move by exchanging two spins, so they stay at $S^z = 0$, where the ground state lives.

# %%
for marshall in (True, False):
    cfg = NQSConfig(hamiltonian="heisenberg", size=N, alpha=1, iterations=ITERATIONS, samples=SAMPLES,
                    marshall=marshall)
    runs[f"Heisenberg, {'Marshall' if marshall else 'no sign rule'}"] = run_nqs(cfg, np.random.default_rng(SEED))
heis = runs["Heisenberg, Marshall"]
e0_heis = heis.exact["energy"]
fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
for name in ("Heisenberg, Marshall", "Heisenberg, no sign rule"):
    h = runs[name].history
    a1.plot([r["iteration"] for r in h], [r["energy"] for r in h], lw=0.8, label=name)
a1.axhline(e0_heis, color="k", ls="--", lw=0.8, label=f"exact {e0_heis:.4f} (Lanczos)")
a1.set(xlabel="iteration", ylabel="E", title=f"Heisenberg chain, N = {N}")
a1.legend(fontsize=8)
sf = heis.observables["structure_factor"]
q = np.array(sf["q"])[:, 0]
order = np.argsort(q)
a2.errorbar(q[order], np.array(sf["value"])[order], yerr=np.array(sf["error"])[order], fmt="o-")
a2.set(xlabel="q", ylabel="S(q)", title="structure factor: the peak at q = π is antiferromagnetic")
plt.show()
write_outputs(OUT / "heisenberg", heis)            # result.json, report.html, params.safetensors, as `physgen nqs`

# %% [markdown]
# ## Error bars of a Markov chain: blocking
#
# Successive Metropolis sweeps are correlated, so the naive error $\sigma/\sqrt n$ of a mean is too small. Blocking
# (Flyvbjerg & Petersen 1989) averages neighbouring pairs of the series again and again; the naive error of the
# blocked series grows until the blocks are longer than the correlation time, then stays on a plateau, the true
# error, and $\tau_\text{int} \approx \tfrac12(\text{plateau}/\text{naive})^2$ sweeps. Here: the trained TFIM state,
# 4 walkers, two series per sweep. The local energy hardly remembers the previous sweep; the magnetisation
# $|m|$, a slow collective variable that single flips change one spin at a time, does.

# %%
res = runs["TFIM, SR"]
rng = np.random.default_rng(SEED + 1)
chains = start_spins(res.ansatz, N, 4, "flip", rng)
s, acc = sample_spins(res.ansatz, SpinMetropolis("flip"), chains, 2048 if QUICK else 16384, rng, burn_in=50)
e_local = np.real(local_energy(res.ansatz, res.hamiltonian, s.reshape(-1, N))).reshape(s.shape[:2])
series = {"E_L": e_local.mean(axis=1), "|m|": np.abs(s.mean(axis=-1)).mean(axis=1)}
plt.figure(figsize=(5.5, 3.5))
for name, x in series.items():
    b = blocking(x)
    plt.plot(range(len(b.errors)), np.array(b.errors) / b.naive_error, "o-",
             label=f"{name}: chosen level {b.level}, τ_int ≈ {0.5 * (b.error / b.naive_error) ** 2:.1f} sweeps")
    print(f"<{name}> = {b.mean:.5f}: naive error {b.naive_error:.2g}, blocking error {b.error:.2g}")
plt.xlabel("blocking level (blocks of 2^level sweeps)"), plt.ylabel("error / naive error")
plt.title(f"TFIM, N = {N}: flip acceptance {acc:.0%}"), plt.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## Try this
#
# 1. Move the TFIM away from the critical point (`h=0.5` or `h=2`): the gap opens, the correlations shorten, and
#    the same budget reaches a smaller relative error, with the V-score falling alongside it.
# 2. Give the Heisenberg run without the sign rule complex parameters (`complex_params=True`): the RBM can now
#    learn the phases itself, and its energy moves towards $E_0$, more slowly than with the rule.
# 3. Double `alpha` (hidden units per spin) and, separately, `iterations`: whichever lowers the V-score more says
#    whether the remaining error is the ansatz's or the optimisation's; the blocking error hardly changes with
#    either, because it is set by the samples.

# %% [markdown]
# ## Evaluation against the exact energies
#
# Each run's final energy (10 × the samples of one iteration) with its blocking error, beside the exact
# ground-state energy, the floor that no variational energy can go below, and the V-scores (0 for an eigenstate).

# %%
table = {name: {"value": r.final["energy"], "error": r.final["error"], "floor": r.exact["energy"]}
         for name, r in runs.items()}
print(floor_table(table, title=f"RBM (α = 1) energies, periodic chains of N = {N}", floor_label="exact E_0"))
for name, r in runs.items():
    print(f"{name:28s} relative error {r.final['relative_error']:.1e}  V-score {r.final['vscore']:.1e}  "
          f"({r.exact['method']})")
