# %% [markdown]
# # Variational autoencoders: latent spaces of digits and of Ising configurations
#
# A VAE (Kingma & Welling 2014) has an encoder
# $q_\phi(z\mid x) = \mathcal N(\mu_\phi(x), \operatorname{diag}\sigma^2_\phi(x))$ and a decoder $p_\theta(x\mid z)$
# (Bernoulli pixels or spins here) with the prior $p(z) = \mathcal N(0, I)$.
# It maximises the evidence lower bound
# $$\log p_\theta(x) \ge \mathrm{ELBO}(x) = \mathbb E_{q_\phi(z\mid x)}[\log p_\theta(x\mid z)]
#   - \mathrm{KL}(q_\phi(z\mid x)\,\|\,p(z)),$$
# with the reparameterisation $z = \mu + \sigma\odot\varepsilon$. The importance-weighted bound with $k$ samples
# (IWAE; Burda et al. 2016) is tighter and tends to $\log p(x)$ as $k\to\infty$:
# $$\log p(x) \ge \mathbb E\left[\log \frac1k\sum_{i=1}^k \frac{p_\theta(x, z_i)}{q_\phi(z_i\mid x)}\right].$$
#
# With a 2-D latent space, the posterior means $\mu(x)$ can be drawn directly: digits group by class; Ising
# configurations sort by temperature, the ordered states in two lobes ($m = \pm1$) and the disordered ones at the
# centre. The same experiment as `examples/vae_latent.py`.

# %%
import os
import warnings
from pathlib import Path

QUICK = os.environ.get("PHYSGEN_QUICK", "1") != "0"   # True: small sizes, ≤ 1 min on one core
SEED = 0
OUT = Path(os.environ.get("PHYSGEN_NOTEBOOK_OUT", "notebook-runs")) / "06_vae_latent"
OUT.mkdir(parents=True, exist_ok=True)

import matplotlib.pyplot as plt
import numpy as np
import torch

from physgen.analysis.pca import pearson
from physgen.data import save
from physgen.data.digits import load_digits, split
from physgen.data.ising import ThinningWarning, simulate
from physgen.metrics import evaluate
from physgen.metrics.summary import floor_table
from physgen.models.diagnostics import encode_means, latent_grid, latent_scatter
from physgen.physics.observables import magnetization
from physgen.training import load_run, train

warnings.simplefilter("ignore", ThinningWarning)

# %% [markdown]
# ## Digits

# %%
digits = load_digits(binarize=0.5)
train_set, test_set = split(digits, 1500, seed=SEED)
summary = train("vae", data=save(train_set, OUT / "digits.h5", overwrite=True), out=OUT / "digits", overwrite=True,
                seed=SEED, steps=800 if QUICK else 6000,
                sets=["model.latent=2", "model.hidden=[128,128]", "train.progress=false"])
run = load_run(OUT / "digits", which="latest")
k = 20 if QUICK else 1000
elbo, _ = run.log_prob(test_set, method="elbo", seed=SEED)
iwae, _ = run.log_prob(test_set, method="iwae", seed=SEED, k=k)
print(f"held-out ELBO {elbo.mean():.2f} nats, IWAE (k = {k}) {iwae.mean():.2f} nats")

fig = latent_scatter(run.model, torch.as_tensor(digits.samples, dtype=torch.float32), digits.labels, label="digit")
for c in fig.axes[0].collections:
    c.set_cmap("tab10")
plt.figure(figsize=(5, 5))
plt.imshow(latent_grid(run.model, n=15, span=2.0), cmap="gray_r", vmin=0, vmax=1)
plt.title("decoder means over (z₁, z₂) ∈ [−2, 2]²"), plt.xticks([]), plt.yticks([])
plt.show()

# %% [markdown]
# ## Ising configurations across $T_c$

# %%
temps = [1.5, 2.0, 2.27, 2.6, 3.0, 3.5] if QUICK else [1.5, 1.8, 2.0, 2.2, 2.27, 2.4, 2.6, 3.0, 3.5]
ising = simulate(16, temps, 150 if QUICK else 1000, algorithm="wolff", burn_in=50, thin=3, chains=25, seed=SEED)
train("vae", data=save(ising, OUT / "ising.h5", overwrite=True), out=OUT / "ising", overwrite=True, seed=SEED,
      steps=400 if QUICK else 20000, sets=["model.latent=2", "train.progress=false"])
ising_run = load_run(OUT / "ising", which="latest")
x = torch.as_tensor(ising.samples, dtype=torch.float32)
mu = encode_means(ising_run.model, x)
m = magnetization(ising.samples)
r = max(abs(pearson(mu[:, d], m)) for d in range(mu.shape[1]))
t_all = ising.conditions["temperature"]
radius = {t: float(np.linalg.norm(mu, axis=1)[t_all == t].mean()) for t in temps}
fig = latent_scatter(ising_run.model, x, t_all, label="temperature")
for c in fig.axes[0].collections:
    c.set_cmap("coolwarm")
plt.show()
print(f"max |r(μ_d, m)| = {r:.3f}; mean latent radius by T:", {t: round(v, 2) for t, v in radius.items()})

# %% [markdown]
# ## Try this
#
# 1. Train the digits VAE with `model.beta=4` (a β-VAE): the KL term weighs more, the ELBO falls, and the
#    latent scatter shrinks towards the prior, with the classes overlapping more.
# 2. Raise `k` of the IWAE to 1000: the bound rises above the ELBO by more, the gap being the cost of the
#    approximate posterior.
# 3. Train the Ising VAE with `model.latent=1`: its single coordinate follows the magnetisation, and the two
#    ordered states end up at opposite ends of one axis.

# %% [markdown]
# ## Evaluation against the floors
#
# Digits decoded from prior samples against held-out digits, and the ELBO/IWAE bounds (no floor: the RBM of
# `03_rbm_digits` reaches about −16 nats on the same digits with a full run).

# %%
fake = run.sample(len(test_set), seed=SEED)
result = evaluate(test_set, fake, metrics="kl,mmd,c2st", seed=SEED, n_boot=50)
result["held-out ELBO (nats)"] = {"value": float(elbo.mean())}
result[f"held-out IWAE k={k} (nats)"] = {"value": float(iwae.mean())}
result["Ising: max |r(latent, m)|"] = {"value": r, "floor": 1.0}
print(floor_table(result, title=f"VAE, 2-D latent, {summary['steps']} steps, vs held-out digits"))
