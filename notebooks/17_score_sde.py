# %% [markdown]
# # Score-based generative modelling with a variance-exploding SDE
#
# Song et al. (2021) write diffusion as a stochastic differential equation. The **variance-exploding** (VE) SDE
# of physgen's `score-sde` only adds noise,
# $$\mathrm dx = \sigma^t\,\mathrm dW, \qquad t \in [0, 1],$$
# so a data point $x_0$ is at time $t$ a Gaussian around itself,
# $$p_t(x \mid x_0) = \mathcal N\!\left(x_0,\, s(t)^2 I\right), \qquad s(t)^2 = \int_0^t \sigma^{2u}\,\mathrm du
#   = \frac{\sigma^{2t} - 1}{2\ln\sigma},$$
# and the marginal $p_t = p_\text{data} * \mathcal N(0, s(t)^2 I)$ is the data smoothed at the scale $s(t)$; with
# $\sigma = 25$, $s(1) \approx 9.8$ washes out any structure of size one. Anderson (1982) showed that the process
# runs backwards in time as another SDE, which needs only the **score** $\nabla_x \log p_t$:
# $$\mathrm dx = -g(t)^2\,\nabla_x \log p_t(x)\,\mathrm dt + g(t)\,\mathrm d\bar W, \qquad g(t) = \sigma^t,$$
# and that the deterministic **probability-flow ODE**
# $$\frac{\mathrm dx}{\mathrm dt} = -\tfrac12\, g(t)^2\,\nabla_x \log p_t(x)$$
# has the same marginals $p_t$. A network $s_\theta(x, t) \approx \nabla_x \log p_t(x)$ is trained by **denoising score
# matching**: for $x = x_0 + s(t) z$ the score of the kernel is $-z/s(t)$, and
# $$\mathcal L = \mathbb E_{t, x_0, z}\,\big\|s(t)\,s_\theta(x_0 + s(t) z, t) + z\big\|^2$$
# is minimised by the true score (Vincent 2011). Since the ODE is a continuous normalizing flow, it also gives
# each point's $\log p$ by the instantaneous change of variables (`16_flows_flow_matching`).
#
# The data are the ring of 8 Gaussians (standard deviation 0.1 around 8 points on a circle of radius 2): its
# smoothed density $p_t$ is again a mixture of Gaussians, of standard deviation $\sqrt{0.1^2 + s(t)^2}$, so the
# true score and the true $\log p$ are known at every $t$, and the network is checked against them.

# %%
import os
from pathlib import Path

QUICK = os.environ.get("PHYSGEN_QUICK", "1") != "0"   # True: small sizes, ≤ 1 min on one core
SEED = 0
OUT = Path(os.environ.get("PHYSGEN_NOTEBOOK_OUT", "notebook-runs")) / "17_score_sde"
OUT.mkdir(parents=True, exist_ok=True)

import math

import matplotlib.pyplot as plt
import numpy as np
import torch

from physgen.data import save
from physgen.data.toys import make_toy, toy_log_density
from physgen.metrics import evaluate
from physgen.metrics.summary import floor_table
from physgen.training import load_run, train

NOISE = 0.1                                # the ring's own standard deviation
SIGMA = 25.0                               # model.sigma, the default


def s_of_t(t):
    """The VE kernel's standard deviation s(t)."""
    return np.sqrt((SIGMA ** (2 * np.asarray(t, dtype=float)) - 1) / (2 * math.log(SIGMA)))


def true_score(x, t):
    """∇ log p_t(x) of the smoothed ring, by automatic differentiation of its exact log-density."""
    x = torch.as_tensor(x, dtype=torch.float64).requires_grad_(True)
    lp = toy_log_density("ring", x, noise=float(np.hypot(NOISE, s_of_t(t))))
    return torch.autograd.grad(lp.sum(), x)[0].numpy()


# %% [markdown]
# ## Forward: the data dissolve into noise
#
# $x_t = x_0 + s(t)\,z$ at a few times, with the scale $s(t)$ in each title; at $t = 1$ the points are a wide
# Gaussian, the sampler's starting distribution $\mathcal N(0, s(1)^2 I)$.

# %%
ring = make_toy("ring", 8000 if QUICK else 20000, seed=SEED)
held = make_toy("ring", 2000, seed=SEED + 1)
rng = np.random.default_rng(SEED)
times = [0.0, 0.1, 0.2, 0.4, 0.7, 1.0]
fig, axes = plt.subplots(1, len(times), figsize=(3 * len(times), 3))
for ax, t in zip(axes, times):
    x = held.samples[:1000] + s_of_t(t) * rng.standard_normal((1000, 2))
    lim = 2.5 + 3 * s_of_t(t)
    ax.scatter(x[:, 0], x[:, 1], s=1)
    ax.set(title=f"t = {t}: s = {s_of_t(t):.2f}", xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal",
           xticks=[], yticks=[])
plt.show()

# %% [markdown]
# ## Training, and the learned score against the true one
#
# The default network for tabular data (a residual MLP, Gaussian Fourier features of $t$), trained with the data
# left in their own coordinates (`data.transform=none`) so that $s_\theta$ and $\nabla\log p_t$ are directly
# comparable. The relative error $\mathbb E\|s_\theta - \nabla\log p_t\|^2 / \mathbb E\|\nabla \log p_t\|^2$ over
# points drawn from $p_t$, at each $t$:

# %%
ema = f"train.ema={0.99 if QUICK else 0.999}"   # the sampled weights average over ~1/(1 − decay) steps
summary = train("score-sde", data=save(ring, OUT / "ring.h5", overwrite=True), out=OUT / "run", overwrite=True,
                seed=SEED, steps=2500 if QUICK else 20000, sets=["data.transform=none", ema, "train.progress=false"])
run = load_run(OUT / "run", which="latest")
model = run.model
print(summary["status"], summary["steps"], "steps", f"{summary['wall_time_s']:.1f} s")


@torch.no_grad()
def learned_score(x, t):
    x = torch.as_tensor(x, dtype=torch.float32)
    return model.score(model.denoiser, x, torch.full((len(x),), float(t))).double().numpy()


t_grid = [0.01, 0.03, 0.1, 0.2, 0.4, 0.7, 1.0]
rel_err = []
for t in t_grid:
    x = held.samples[:1000] + s_of_t(t) * rng.standard_normal((1000, 2))
    exact, net = true_score(x, t), learned_score(x, t)
    rel_err.append(float(np.sum((net - exact) ** 2) / np.sum(exact ** 2)))
fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
a1.loglog(t_grid, rel_err, "o-")
a1.set(xlabel="t", ylabel="relative squared error of the score", title="learned vs true score")
axis = np.linspace(-2.8, 2.8, 15)
pts = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
t_show = 0.1
a2.quiver(pts[:, 0], pts[:, 1], *true_score(pts, t_show).T, color="0.6", angles="xy", label="true")
a2.quiver(pts[:, 0], pts[:, 1], *learned_score(pts, t_show).T, color="tab:red", angles="xy", label="learned")
a2.set(title=f"scores at t = {t_show} (s = {s_of_t(t_show):.2f})", aspect="equal")
a2.legend(fontsize=8, loc="upper right")
plt.show()

# %% [markdown]
# Far from the ring, where the data put no points, the network has never been trained at small $t$: there its
# arrows are free to differ. That costs little, since neither sampler goes there late in the reverse process.
#
# ## Reverse: the SDE and the probability-flow ODE
#
# The two reverse processes written out with the learned score, a few paths each, Euler steps on the same time
# grid: the SDE adds fresh noise at every step and its paths wander; the ODE moves each point deterministically.

# %%
@torch.no_grad()
def reverse_paths(n, steps, stochastic, seed):
    g = torch.Generator().manual_seed(seed)
    ts = torch.linspace(1.0, 1e-3, steps + 1, dtype=torch.float64)
    x = float(s_of_t(1.0)) * torch.randn(n, 2, generator=g, dtype=torch.float64)
    path = [x.clone()]
    for t, t_next in zip(ts[:-1], ts[1:]):
        dt = float(t - t_next)
        g2 = SIGMA ** (2 * float(t))
        score = torch.as_tensor(learned_score(x.numpy(), float(t)))
        if stochastic:
            x = x + g2 * score * dt + math.sqrt(g2 * dt) * torch.randn(n, 2, generator=g, dtype=torch.float64)
        else:
            x = x + 0.5 * g2 * score * dt
        path.append(x.clone())
    return torch.stack(path).numpy()


fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
for ax, stochastic, title in zip(axes, (True, False), ("reverse SDE", "probability-flow ODE")):
    p = reverse_paths(12, 300, stochastic, SEED)
    ax.scatter(held.samples[:, 0], held.samples[:, 1], s=1, color="0.8")
    for k in range(p.shape[1]):
        ax.plot(p[150:, k, 0], p[150:, k, 1], lw=0.7)
        ax.plot(*p[-1, k], "k.", ms=4)
    ax.set(title=f"{title} (last half of the paths)", xlim=(-3, 3), ylim=(-3, 3), aspect="equal")
plt.show()

# %% [markdown]
# physgen's samplers integrate the same equations with better schemes: `euler-maruyama` (the SDE above with
# `steps` steps), `sde-dpm-solver++` (the default; a second-order solver of the SDE with 50 network calls) and
# `dpm-solver++` (the same solver on the ODE). The final samples, coloured by their true $\log p$:

# %%
samplers = {"Euler–Maruyama, 500 steps": dict(sampler="euler-maruyama", steps=500),
            "SDE DPM-Solver++, 50 calls": dict(sampler="sde-dpm-solver++", steps=50),
            "ODE DPM-Solver++, 50 calls": dict(sampler="dpm-solver++", steps=50)}
fakes = {name: run.sample(len(held), seed=SEED, **opts) for name, opts in samplers.items()}
fig, axes = plt.subplots(1, len(fakes), figsize=(4.4 * len(fakes), 4))
for ax, (name, fake) in zip(axes, fakes.items()):
    lp = toy_log_density("ring", fake.samples)
    ax.scatter(fake.samples[:, 0], fake.samples[:, 1], s=1, c=np.maximum(lp, -8), cmap="viridis", vmin=-8)
    ax.set(title=f"{name}\nmedian true log p {np.median(lp):.2f}", xlim=(-3, 3), ylim=(-3, 3), aspect="equal")
plt.show()
print(f"median true log p of held-out points: {np.median(toy_log_density('ring', held.samples)):.2f}")

# %% [markdown]
# The ODE leaves more points stranded between the modes: it carries the network's errors to the end, while the
# noise of the SDE lets the later steps correct them (Karras et al. 2022); the classifier AUC of the final table
# shows the difference. The ODE is still worth having: it is deterministic, and it gives the likelihood.

# %% [markdown]
# ## The ODE's log-likelihood against the true density
#
# `Run.log_prob(ds, method="ode")` (the command `physgen score RUN --method ode`) integrates the probability-flow
# ODE from each held-out point to $t = 1$, accumulating the divergence of the drift, and adds the log-density of
# the prior $\mathcal N(0, s(1)^2 I)$ at the end point. Its mean over data drawn from $p$ is below the true
# density's, $-H(p)$, by $\mathrm{KL}(p\,\|\,q_\text{ODE})$.

# %%
n_score = 300 if QUICK else 2000
pts = held.subset(slice(0, n_score))
lp_ode, attrs = run.log_prob(pts, method="ode", steps=50 if QUICK else 200, seed=SEED)
truth = toy_log_density("ring", pts.samples)
plt.figure(figsize=(4.6, 4.3))
plt.scatter(truth, lp_ode, s=4)
lim = (min(truth.min(), lp_ode.min()) - 0.3, max(truth.max(), lp_ode.max()) + 0.3)
plt.plot(lim, lim, "k--", lw=0.8)
plt.xlim(lim), plt.ylim(lim)
plt.xlabel("true log p"), plt.ylabel("score-sde, ODE log p"), plt.title("held-out ring points")
plt.show()
sem = lambda v: float(np.std(v, ddof=1) / np.sqrt(len(v)))  # noqa: E731
gap = truth - lp_ode
print(f"mean log p: true {truth.mean():.3f} ± {sem(truth):.3f}, ODE {lp_ode.mean():.3f} ± {sem(lp_ode):.3f}; "
      f"KL estimate {gap.mean():.3f} ± {sem(gap):.3f} nats ({attrs['divergence']} divergence, {attrs['steps']} steps)")

# %% [markdown]
# ## Try this
#
# 1. Sample with `sampler="euler-maruyama"` and `steps=50`, then 5000: the SDE's discretisation error shrinks
#    with the step, and the median true $\log p$ of the samples climbs towards the data's.
# 2. Train with `train.steps` ten times larger: the score's relative error at small $t$ falls, and the ODE
#    samples catch up with the SDE's (the SDE's noise corrects part of the network's error, the ODE carries it).
# 3. Set `model.sigma=5` before training (and `SIGMA = 5`): $s(1) \approx 2.7$ is barely larger than the ring's
#    radius of 2, so $p_1$ still remembers the ring, the prior $\mathcal N(0, s(1)^2 I)$ is a poor stand-in for it,
#    and both the samples and the ODE's $\log p$ suffer.

# %% [markdown]
# ## Evaluation against the floors and the exact density
#
# Each sampler's points against held-out points (floor: two halves of the held-out points), and the mean ODE
# $\log p$ against the true density's mean (the ceiling $-H(p)$).

# %%
for name, fake in fakes.items():
    print(floor_table(evaluate(held, fake, metrics="w1,mmd,c2st", seed=SEED, n_boot=50),
                      title=f"score-sde ({summary['steps']} steps), {name}, vs held-out ring points"), "\n")
print(floor_table({"mean held-out log p, ODE (nats)": {"value": float(lp_ode.mean()), "error": sem(lp_ode),
                                                       "floor": float(truth.mean()), "floor_error": sem(truth)},
                   "score relative error at t = 0.1": {"value": rel_err[t_grid.index(0.1)], "floor": 0.0}},
                  title="score-sde against the true density", floor_label="exact"))
