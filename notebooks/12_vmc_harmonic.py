# %% [markdown]
# # Variational Monte Carlo with an RBM wave function
#
# The course's quantum project (after Carleo & Troyer 2017): the marginal of a Gaussian–binary RBM over the
# particle coordinates $x \in \mathbb R^{M}$, $M = N d$, is a trial wave function,
# $$\psi(x) = e^{-\sum_i (x_i - a_i)^2/2\sigma^2} \prod_{j=1}^{H}\left(1 + e^{u_j}\right),\qquad
#   u_j = b_j + \sum_i x_i W_{ij}/\sigma^2,$$
# for $N$ particles in a $d$-dimensional harmonic trap, optionally with Coulomb repulsion:
# $$H = \sum_p \left(-\tfrac12\nabla_p^2 + \tfrac12\omega^2 |r_p|^2\right) + \sum_{p<q} \frac{1}{|r_p - r_q|}.$$
# The variational principle $E[\psi] = \langle\psi|H|\psi\rangle/\langle\psi|\psi\rangle \ge E_0$ is estimated by
# Monte Carlo over $|\psi|^2$ as the mean **local energy** $E_L = H\psi/\psi$, and its gradient
# $2\,\mathrm{Cov}(E_L, \partial_\theta \ln\psi)$ drives Adam. Errors are blocking errors (Flyvbjerg & Petersen 1989).
#
# Exact references: $E_0 = \omega N d/2$ without interaction; two electrons in 2-D at $\omega = 1$ have $E_0 = 3$
# exactly (Taut, J. Phys. A 27, 1045 (1994)). A Padé–Jastrow factor $e^{\alpha r_{12}/(1 + \beta r_{12})}$ gives the
# electron cusp that the RBM alone cannot form. The same experiment as `examples/vmc_harmonic.py`.

# %%
import os
from pathlib import Path

QUICK = os.environ.get("PHYSGEN_QUICK", "1") != "0"   # True: small sizes, ≤ 1 min on one core
SEED = 0
OUT = Path(os.environ.get("PHYSGEN_NOTEBOOK_OUT", "notebook-runs")) / "12_vmc_harmonic"
OUT.mkdir(parents=True, exist_ok=True)

import matplotlib.pyplot as plt
import numpy as np

from physgen.metrics.summary import floor_table
from physgen.quantum import Hamiltonian, RBMWaveFunction, VMCConfig, run_vmc
from physgen.quantum.estimators import estimate, one_body_density
from physgen.quantum.exact import noninteracting_density
from physgen.quantum.samplers import Importance, start

iters, samples = (40, 2000) if QUICK else (200, 10_000)

# %% [markdown]
# ## The exact ground state has zero variance
#
# With $W = 0$, $a = 0$ and $\sigma^2 = 1/\omega$, $\psi$ is the exact non-interacting ground state: every sample has
# $E_L = \omega/2$, and the variance of $E_L$ vanishes (the zero-variance principle).

# %%
wf = RBMWaveFunction.gaussian(1, 1, 2, omega=1.0)
rng = np.random.default_rng(SEED)
est = estimate(wf, Hamiltonian(1.0), Importance(0.3), start(wf, 100, rng), 50, rng)
print(f"E = {est.energy:.12f}, variance {est.variance:.1e}")

# %% [markdown]
# ## Optimisation from a random start

# %%
common = dict(iterations=iters, samples=samples, final_samples=10 * samples)
runs = {
    "1 particle, 1-D": (run_vmc(VMCConfig(particles=1, dim=1, init_scale=0.3, lr=0.05, **common),
                                np.random.default_rng(SEED)), 0.5),
    "2 particles, 2-D": (run_vmc(VMCConfig(particles=2, dim=2, init_scale=0.3, lr=0.05, **common),
                                 np.random.default_rng(SEED)), 2.0),
}
coulomb = dict(particles=2, dim=2, interaction="coulomb", hidden=4, lr=0.02, init_scale=0.1, **common)
runs["2 electrons, 2-D, RBM"] = (run_vmc(VMCConfig(jastrow="none", **coulomb), np.random.default_rng(SEED)), 3.0)
runs["2 electrons, 2-D, RBM × Jastrow"] = (run_vmc(VMCConfig(jastrow="pade", **coulomb), np.random.default_rng(SEED)), 3.0)
fig, axes = plt.subplots(1, len(runs), figsize=(4 * len(runs), 3.4))
for ax, (title, (res, exact)) in zip(axes, runs.items()):
    h = res.history
    ax.errorbar([r["iteration"] for r in h], [r["energy"] for r in h], yerr=[r["error"] for r in h], fmt="o-", ms=1.5,
                lw=0.7)
    ax.axhline(exact, color="k", ls="--", lw=0.8)
    ax.set(title=title, xlabel="iteration", ylabel="energy")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## One-body density: repulsion pushes the electrons apart

# %%
r = np.linspace(0, 3.5, 200)
plt.figure(figsize=(6, 3.6))
for label, key in (("non-interacting (VMC)", "2 particles, 2-D"),
                   ("Coulomb, RBM × Jastrow", "2 electrons, 2-D, RBM × Jastrow")):
    rho = one_body_density(runs[key][0].final.positions, bins=40)
    plt.plot(rho["centres"], rho["density"], "o-", ms=2, lw=0.8, label=label)
plt.plot(r, noninteracting_density(r, 2, 2, 1.0), "k--", lw=0.8, label="non-interacting, exact")
plt.xlabel("r"), plt.ylabel("ρ(r)"), plt.legend()
plt.show()

# %% [markdown]
# ## Try this
#
# 1. Compare the two Coulomb runs: the RBM alone (`jastrow="none"`) stays above $E_0 = 3$ by more than its error
#    bar, the missing electron-electron cusp; the default `jastrow="auto"` adds the Padé–Jastrow factor that
#    supplies it whenever there is a Coulomb interaction. Give the RBM alone 8 hidden units and see whether
#    hidden units can stand in for the cusp.
# 2. Cut `samples` by four: the blocking errors double ($\propto 1/\sqrt{n}$), and the noisier gradient makes the
#    energy wander above $E_0$ near the end.
# 3. Set `omega=0.5` for the non-interacting runs: the exact energy becomes $\omega N d/2$ (0.25 and 1), and the
#    one-body density spreads by $\sqrt 2$.

# %% [markdown]
# ## Evaluation against the exact energies
#
# The final energies with their blocking errors against the exact ground-state energies (the floor a variational
# energy cannot go below).

# %%
table = {name: {"value": res.final.energy, "error": res.final.error, "floor": exact}
         for name, (res, exact) in runs.items()}
print(floor_table(table, title="VMC energies (ħ = m = ω = 1)", floor_label="exact E_0"))
