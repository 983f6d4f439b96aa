# %% [markdown]
# # Flows for lattice field theory: φ⁴ from its action, made exact
#
# A real scalar field $\varphi_x$ on an $L\times L$ torus with the Euclidean action
# $$S(\varphi) = \sum_x \Big[\sum_\mu \tfrac12(\varphi_{x+\mu}-\varphi_x)^2 + \tfrac12 m^2 \varphi_x^2
#   + \lambda \varphi_x^4\Big], \qquad p(\varphi) = e^{-S(\varphi)}/Z,$$
# is the simplest interacting lattice field theory. For $m^2 < 0$ its potential has two wells, and the field
# orders at small $\lambda$. Albergo, Kanwar & Shanahan (2019) trained a normalizing flow on $S$ alone and made
# its samples exact with an independence Metropolis step. This notebook does the same with physgen:
#
# 1. the free theory ($\lambda = 0$), where $G(x)$ is known exactly, checks HMC, the classical sampler;
# 2. an interacting ensemble is sampled by HMC;
# 3. a flow learns it from the action, and `--mcmc` makes its samples exact;
# 4. `evaluate` compares the two samplers by the field's observables.
#
# The maths is in [docs/fields.md](../docs/fields.md).

# %%
import os
from pathlib import Path

QUICK = os.environ.get("PHYSGEN_QUICK", "1") != "0"   # True: small sizes, ≤ 1 min on one core
SEED = 0
OUT = Path(os.environ.get("PHYSGEN_NOTEBOOK_OUT", "notebook-runs")) / "23_phi4_flow"
OUT.mkdir(parents=True, exist_ok=True)

import matplotlib.pyplot as plt
import numpy as np

import physgen.lattice as lattice
from physgen.lattice.field_observables import field_observables
from physgen.lattice.phi4 import free_two_point
from physgen.lattice.simulate import simulate
from physgen.metrics.evaluate import evaluate
from physgen.training import load_run, train
from physgen.training.hamiltonian import HamiltonianTraining

L = 4 if QUICK else 8

# %% [markdown]
# ## The free theory: HMC against the exact propagator
#
# At $\lambda = 0$ the field is Gaussian with covariance $(-\Delta + m^2)^{-1}$, so
# $G(x) = \frac1V\sum_k e^{ik\cdot x}/(m^2 + \sum_\mu 4\sin^2(k_\mu/2))$. HMC samples it, and the blocked
# jackknife errors say whether it agrees.

# %%
free = lattice.build("phi4", L, params={"m2": 1.0, "lam": 0.0})
hmc_free = simulate(free, [1.0], 2000 if QUICK else 20000, chains=32, burn_in=200, thin=12, algorithm="hmc",
                    seed=SEED)
o = field_observables(hmc_free.samples)
G, exact = o["two_point"], free_two_point(L, 1.0)
fig, ax = plt.subplots(figsize=(4.5, 3))
ax.errorbar(np.arange(L), G["value"][0], G["error"][0], fmt="o", label="HMC")
ax.plot(np.arange(L), exact[0], "k-", label="exact")
ax.set_xlabel("x along a row"), ax.set_ylabel("G(x)"), ax.legend()
plt.show()
print("HMC acceptance", round(hmc_free.attrs["acceptance"], 3),
      "| chi2 =", f"{o['chi2']['value']:.3f} ± {o['chi2']['error']:.3f}", "(exact 1/m² = 1)")

# %% [markdown]
# ## The interacting theory: HMC, and a flow trained on the action
#
# The ensemble is Albergo et al.'s $L = 8$ one, $m^2 = -4$, $\lambda_A = 6.008$ in their normalisation, which is
# `lam = 1.502` in physgen's. The flow has checkerboard spline couplings with convolutional conditioners and a
# last spline of the lattice mean. It is symmetric under $\varphi\to-\varphi$ and minimises
# $F_q = \mathbb E_q[S + \log q] \ge F$.

# %%
model = lattice.build("phi4", L)                    # the defaults: m2 = -4, lam = 1.502
hmc = simulate(model, [1.0], 4000 if QUICK else 20000, chains=32, burn_in=500, thin=8, algorithm="hmc", seed=SEED)
summary = train("flow", hamiltonian=HamiltonianTraining(model, (1.0,)), out=OUT / "flow", overwrite=True,
                seed=SEED, steps=100 if QUICK else 3000, sets=["train.progress=false"])
run = load_run(OUT / "flow")
own = run.sample(4000, seed=1)                               # the flow's own draws: approximate
exact_draws = run.sample(4000, seed=1, mcmc=True, chains=64)   # made exact by independence Metropolis
print(summary["steps"], "steps,", f"{summary['wall_time_s']:.0f} s; F_q/V = {summary['last_metrics']['f_q']:.4f}")
print("--mcmc acceptance", round(exact_draws.attrs["mcmc_acceptance"], 3))

# %%
fig, ax = plt.subplots(figsize=(4.5, 3))
bins = np.linspace(-1.2, 1.2, 41)
for x, label in ((hmc.samples, "HMC"), (own.samples, "flow, own draws"), (exact_draws.samples, "flow --mcmc")):
    ax.hist(x.reshape(len(x), -1).mean(1), bins, density=True, histtype="step", label=label)
ax.set_xlabel("M / V"), ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## Try this
#
# 1. Train the flow at `L = 8` with its default 3,000 steps, then compare `--mcmc` acceptance and the importance
#    ESS (`run.sample(n, importance=True).attrs["importance_ess_fraction"]`) with the quick run. Which of
#    ⟨|M|⟩, χ₂, U₄ and the pole mass moves most between the flow's own draws and the corrected ones, and why
#    does a reverse-KL flow tend to under-weight large |M|? Look at `exact_draws.attrs["mcmc_tau_int_abs_magnetization"]`:
#    with a poor proposal the chains stall, and a few dozen states per chain are too few to show it.
# 2. Set `lam=0` and `m2=1` (the free theory) and train the flow there. Its exact answer is a Gaussian: how
#    close do the flow's own G(x) get, and how many steps does it take?
# 4. Train with `sets=["model.flow=maf", "model.zero_mode=false"]` (Albergo et al.'s affine couplings) and
#    compare the acceptance and the ESS at equal steps and at equal CPU time.
# 3. `physgen.training.thermo.thermodynamics(run)` gives the absolute free energy F/V by importance sampling.
#    HMC cannot give it from one run. Compare it with the flow's variational F_q/V, an upper bound.

# %% [markdown]
# ## Evaluation
#
# `evaluate` judges the corrected flow against HMC by ⟨|M|⟩/V, χ₂, U₄ and the pole mass (z in units of the
# combined blocked error; χ²/dof of order 1 means agreement), with two halves of the HMC file as the floor.

# %%
result = evaluate(hmc, exact_draws, metrics="observables", n_boot=0)["observables"]
print(f"chi2/dof {result['value']:.2f} (floor {result['floor']:.2f})")
for name, e in result["by_temperature"]["1"]["observables"].items():
    print(f"{name:>10}: HMC {e['real']['value']:.4f} ± {e['real']['error']:.4f}, flow --mcmc "
          f"{e['fake']['value']:.4f} ± {e['fake']['error']:.4f}, z {e['difference']['z']:+.2f}")
