# %% [markdown]
# # A convolutional VAE on grey-level images: latent space, reconstructions, ELBO and IWAE
#
# `06_vae_latent` built a VAE from fully connected layers on binarised digits. Images have a geometry that a
# convolution uses: the same small filter slides over every position, so a stroke is recognised wherever it is,
# with far fewer weights than a dense layer. physgen's `conv-vae` (the course's Keras convolutional VAE) encodes
# with stride-2 convolutions, $8\times8 \to 4\times4 \to 2\times2$ with 32 and 64 channels, then a dense layer to the
# posterior $q_\phi(z\mid x) = \mathcal N(\mu_\phi(x), \operatorname{diag}\sigma_\phi^2(x))$; the decoder mirrors it with
# transposed convolutions.
#
# **The likelihood matters.** scikit-learn's digits are grey levels $k/16$, $k = 0 \dots 16$, with half of all
# pixels at 0 and many at 16/16. A Gaussian decoder smears these point masses; physgen's decoder for images on
# a grid is **categorical**: for each pixel a softmax over the 17 levels,
# $\log p_\theta(x\mid z) = \sum_i \log \mathrm{softmax}(\ell_i(z))[k_i]$. Then $\log p(x)$ is the log-probability of
# a discrete image, in nats per 64 pixels, and the bounds of `06_vae_latent` keep their meaning:
# $$\log p(x) \;\ge\; \mathrm{IWAE}_k(x)
#   = \mathbb E\left[\log\frac1k\sum_{i=1}^k \frac{p_\theta(x, z_i)}{q_\phi(z_i\mid x)}\right]
#   \;\ge\; \mathrm{ELBO}(x) = \mathrm{IWAE}_1(x),$$
# tightening as $k$ grows (Burda, Grosse & Salakhutdinov 2016). The floor for a likelihood is the model that
# treats every pixel as independent, with each pixel's level histogram from the training digits: the VAE must
# beat it by capturing the correlations between pixels.

# %%
import os
from pathlib import Path

QUICK = os.environ.get("PHYSGEN_QUICK", "1") != "0"   # True: small sizes, ≤ 1 min on one core
SEED = 0
OUT = Path(os.environ.get("PHYSGEN_NOTEBOOK_OUT", "notebook-runs")) / "19_conv_vae_images"
OUT.mkdir(parents=True, exist_ok=True)

import matplotlib.pyplot as plt
import numpy as np
import torch

from physgen.data import save
from physgen.data.digits import load_digits, split
from physgen.metrics import evaluate
from physgen.metrics.summary import floor_table
from physgen.models.diagnostics import encode_means, latent_traversal
from physgen.report.evaluate_plots import sample_grid
from physgen.training import load_run, train

# %% [markdown]
# ## Training
#
# 1,500 training digits and 297 held out, the family's defaults for grey images (latent dimension 8, categorical
# likelihood, Adam $10^{-3}$, batches of 64); quick mode stops after 1,000 steps.

# %%
digits = load_digits()                                  # kind "image", pixels k/16 in [0, 1]
train_set, test_set = split(digits, 1500, seed=SEED)
summary = train("conv-vae", data=save(train_set, OUT / "digits.h5", overwrite=True), out=OUT / "run", overwrite=True,
                seed=SEED, steps=1000 if QUICK else 8000, sets=["train.progress=false"])
run = load_run(OUT / "run", which="latest")
model = run.model
cfg = run.config.model
print(f"{summary['steps']} steps in {summary['wall_time_s']:.1f} s; latent {cfg.latent}, channels {list(cfg.channels)}, "
      f"likelihood {cfg.likelihood}, {summary['n_parameters']:,} parameters")

# %% [markdown]
# ## Reconstructions
#
# Each held-out digit encoded to its posterior mean $\mu(x)$ and decoded to the mean image
# $\mathbb E[x\mid z = \mu(x)] = \sum_k \tfrac{k}{16}\,p_\theta(k\mid z)$ per pixel.

# %%
x_test = torch.as_tensor(test_set.samples, dtype=torch.float32)
mu_test = encode_means(model, x_test)
recon = model.reconstruct_mean(torch.as_tensor(mu_test[:10])).numpy()
fig, axes = plt.subplots(2, 10, figsize=(10, 2.3))
for j in range(10):
    for row, img in enumerate((test_set.samples[j], recon[j])):
        axes[row, j].imshow(img, cmap="gray_r", vmin=0, vmax=1)
        axes[row, j].set(xticks=[], yticks=[])
axes[0, 0].set_ylabel("held out"), axes[1, 0].set_ylabel("decoded μ")
plt.show()
recon_all = model.reconstruct_mean(torch.as_tensor(mu_test)).numpy()
print(f"mean absolute pixel error of the reconstructions: {np.abs(recon_all - test_set.samples).mean():.3f} "
      f"(pixel range 0–1)")

# %% [markdown]
# ## The latent space
#
# Which latent coordinates carry information? A coordinate the decoder ignores keeps $q(z_u\mid x) \approx p(z_u)$
# for every $x$, which the KL term rewards, so its posterior mean hardly moves from digit to digit. Burda et al.
# (2016) call $u$ **active** when $A_u = \operatorname{Var}_x\,\mathbb E_{q}[z_u] > 10^{-2}$. The active coordinates,
# projected on their two leading principal components and coloured by the digit's class, group by class although
# the labels were never used; a walk along the most active coordinate morphs one digit into another.

# %%
activity = mu_test.var(axis=0)
active = np.flatnonzero(activity > 1e-2)
centred = mu_test[:, active] - mu_test[:, active].mean(axis=0)
_, _, vt = np.linalg.svd(centred, full_matrices=False)
proj = centred @ vt[:2].T
fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
a1.bar(range(len(activity)), activity)
a1.axhline(1e-2, color="k", ls=":")
a1.set(yscale="log", xlabel="latent coordinate u", ylabel="activity A_u", title=f"{len(active)} of {cfg.latent} active")
sc = a2.scatter(proj[:, 0], proj[:, 1], c=test_set.labels, cmap="tab10", s=8)
fig.colorbar(sc, ax=a2, label="digit")
a2.set(xlabel="PC1 of μ", ylabel="PC2 of μ", title="held-out digits in latent space")
plt.show()
walk = latent_traversal(model, dim=int(np.argmax(activity)), n=9, span=2.5)
fig, axes = plt.subplots(1, 9, figsize=(9, 1.2))
for ax, img in zip(axes, walk):
    ax.imshow(img, cmap="gray_r", vmin=0, vmax=1)
    ax.set(xticks=[], yticks=[])
fig.suptitle(f"decoder mean along z_{int(np.argmax(activity))} from −2.5 to 2.5, the others 0", y=1.1)
plt.show()

# %% [markdown]
# ## Likelihood bounds against the independent-pixel floor
#
# ELBO and IWAE per held-out and per training digit, in nats per image. The gap between IWAE and ELBO is what the
# approximate posterior costs; the gap between training and held-out digits is overfitting.

# %%
k = 50 if QUICK else 1000
bounds = {}
for name, ds in (("held out", test_set), ("training", train_set.subset(slice(0, len(test_set))))):
    bounds[name] = {"ELBO": run.log_prob(ds, method="elbo", seed=SEED)[0],
                    f"IWAE k={k}": run.log_prob(ds, method="iwae", seed=SEED, k=k)[0]}
levels = np.rint(train_set.samples.reshape(len(train_set), -1) * 16).astype(int)
counts = np.stack([np.bincount(levels[:, i], minlength=17) for i in range(levels.shape[1])])
log_pk = np.log((counts + 1) / (len(levels) + 17))          # each pixel's level histogram, add-one smoothed
test_levels = np.rint(test_set.samples.reshape(len(test_set), -1) * 16).astype(int)
baseline = log_pk[np.arange(64), test_levels].sum(axis=1)
plt.figure(figsize=(7, 4))
held_bounds = np.concatenate([baseline, *bounds["held out"].values()])
bins = np.linspace(held_bounds.min(), held_bounds.max() + 1, 50)
plt.hist(baseline, bins=bins, histtype="step", color="k", label=f"independent pixels, mean {baseline.mean():.1f}")
for name, b in bounds["held out"].items():
    plt.hist(b, bins=bins, histtype="step", label=f"{name}, mean {b.mean():.1f}")
plt.xlabel("log p(x) or its bound (nats per digit)"), plt.ylabel("held-out digits"), plt.legend(fontsize=8)
plt.show()
for name, b in bounds.items():
    print(name + ": " + ", ".join(f"{m} {v.mean():.2f}" for m, v in b.items()))

# %% [markdown]
# ## Samples from the prior
#
# $z \sim \mathcal N(0, I)$, then every pixel drawn from its categorical distribution: whole grey levels, as in the
# data.

# %%
fake = run.sample(len(test_set), seed=SEED)
sample_grid(test_set, fake, n=10)
plt.show()
print("pixel levels in the samples:", np.unique(np.rint(fake.samples * 16)).astype(int).tolist())

# %% [markdown]
# ## Try this
#
# 1. Train with `model.likelihood=gaussian`: the samples lose their whole levels (check the 0 and 16/16 fractions)
#    and the classifier AUC against held-out digits rises.
# 2. Set `model.latent=2`: both coordinates are active, the classes crowd together, and the bounds drop by
#    several nats; with `latent=32` many coordinates stay inactive, since the KL term switches off what the
#    decoder does not use.
# 3. Raise `k` in the IWAE from 50 to 1000: the bound climbs and its step from $k$ to $10k$ shrinks, the sign
#    that it approaches $\log p(x)$.

# %% [markdown]
# ## Evaluation against the floors
#
# Prior samples against the held-out digits (floor: two halves of the real digits), and the held-out bounds against
# the independent-pixel log-likelihood.

# %%
result = evaluate(test_set, fake, metrics="kl,mmd,c2st", seed=SEED, n_boot=50)
sem = lambda v: float(np.std(v, ddof=1) / np.sqrt(len(v)))  # noqa: E731
for name, b in bounds["held out"].items():
    result[f"held-out {name} (nats)"] = {"value": float(b.mean()), "error": sem(b), "floor": float(baseline.mean()),
                                         "floor_error": sem(baseline)}
print(floor_table(result, title=f"conv-vae ({summary['steps']} steps) vs held-out digits "
                                "(bounds: floor = independent pixels)"))
