# %% [markdown]
# # Generative adversarial networks on digits: the vanilla GAN and a DCGAN
#
# A generator $G$ maps noise $z$ to samples, a discriminator $D$ outputs the probability that its input is real,
# and the two play (Goodfellow et al. 2014)
# $$\min_G \max_D \; \mathbb E_{x\sim p_\text{data}}[\log D(x)] + \mathbb E_{z}[\log(1 - D(G(z)))].$$
# In practice $G$ maximises $\log D(G(z))$ instead (the non-saturating loss). At the equilibrium
# $p_G = p_\text{data}$ and $D = \tfrac12$ everywhere, so the course watches $D(x)$ and $D(G(z))$: both near
# $0.5$ is healthy, $D(x) \to 1$ with $D(G(z)) \to 0$ means the discriminator has won.
#
# * `gan`: the course's fully connected GAN (Raschka, ch. 17), $z \in U[-1,1]^{20}$ → 100 → 64 pixels.
# * `dcgan`: transposed convolutions with batch normalisation (Radford et al. 2016).
#
# A GAN gives no likelihood; it is judged by its samples, here with a classifier two-sample test: a classifier
# trained to tell generated from real images reaches an AUC of 0.5 only if it cannot. The same vanilla GAN as
# `examples/vanilla_gan.py`.

# %%
import os
from pathlib import Path

QUICK = os.environ.get("PHYSGEN_QUICK", "1") != "0"   # True: small sizes, ≤ 1 min on one core
SEED = 0
OUT = Path(os.environ.get("PHYSGEN_NOTEBOOK_OUT", "notebook-runs")) / "07_gans_digits"
OUT.mkdir(parents=True, exist_ok=True)

import json

import matplotlib.pyplot as plt
from IPython.display import Image, display

from physgen.data import save
from physgen.data.digits import load_digits, split
from physgen.metrics import evaluate
from physgen.metrics.summary import floor_table
from physgen.report.evaluate_plots import sample_grid
from physgen.training import load_run, train
from physgen.training.logbook import tail_means

train_set, test_set = split(load_digits(), 1300, seed=SEED)          # grey levels in [0, 1]
data_file = save(train_set, OUT / "digits.h5", overwrite=True)

# %% [markdown]
# ## The vanilla GAN
#
# The GAN family's diagnostics record the losses, $D(x)$ and $D(G(z))$ at every iteration and the samples of a
# fixed batch of $z$ at chosen epochs (the course's figures).

# %%
steps = 200 if QUICK else 2000                    # about 10 / 100 epochs of batches of 64
shown = [1, 2, 4, 10] if QUICK else [1, 2, 4, 10, 50, 100]
train("gan", data=data_file, out=OUT / "gan", overwrite=True, seed=SEED, steps=steps,
      sets=[f"model.sample_epochs={shown}".replace(" ", ""), "train.log_every=1", "train.progress=false"])
for png in ("losses.png", "samples.png"):
    display(Image(filename=str(OUT / "gan" / "diagnostics" / png)))
diag = json.loads((OUT / "gan" / "diagnostics" / "diagnostics.json").read_text())
health = tail_means(OUT / "gan", ("g_loss", "d_loss", "d_real", "d_fake"), 50)
print("last 50 iterations:", {k: round(v, 3) for k, v in health.items()})
print("fixed-z sample diversity / data's, by epoch:", {e: round(v, 2) for e, v in diag["diversity_ratio"].items()})

# %% [markdown]
# ## A DCGAN on the same digits

# %%
train("dcgan", data=data_file, out=OUT / "dcgan", overwrite=True, seed=SEED, steps=100 if QUICK else 3000,
      sets=["train.progress=false", "model.diagnostics=false"])
fakes = {name: load_run(OUT / name, which="latest").sample(len(test_set), seed=SEED) for name in ("gan", "dcgan")}
for name, fake in fakes.items():
    sample_grid(test_set, fake, n=10)
    plt.gcf().suptitle(name)
plt.show()

# %% [markdown]
# ## Try this
#
# 1. Train the vanilla GAN ten times longer (`steps = 2000`) and watch $D(x)$ and $D(G(z))$: near 0.5 the game is
#    balanced; if $D(x) \to 1$ and $D(G(z)) \to 0$ the discriminator has won and the generator stops learning.
# 2. Use `model.g_loss=minimax` (the original $\log(1 - D(G(z)))$): early in training, when $D(G(z)) \approx 0$, its
#    gradient vanishes and the samples improve more slowly.
# 3. Compare the fixed-z diversity ratio by epoch: a drop well below 1 is mode collapse, many $z$ giving the same
#    digit.

# %% [markdown]
# ## Evaluation against the floors
#
# Each GAN's images against held-out digits. The floor of the classifier AUC is two halves of the real digits
# (≈ 0.5); quick-mode GANs are far from it.

# %%
for name, fake in fakes.items():
    print(floor_table(evaluate(test_set, fake, metrics="kl,mmd,c2st", seed=SEED, n_boot=50),
                      title=f"{name} vs held-out digits"), "\n")
print("vanilla GAN, last 50 iterations: D(x) = {d_real:.2f}, D(G(z)) = {d_fake:.2f} (equilibrium 0.5)".format(**health))
