# %% [markdown]
# # A deep belief network beside a single RBM on digits
#
# A deep belief network (Hinton, Osindero & Teh 2006) stacks RBMs: the top two layers form an undirected RBM,
# the layers below are directed, $p(v, h_1, h_2) = p(v\mid h_1)\, p_\text{RBM}(h_1, h_2)$. It is trained
# **greedily**: an RBM on the data, then a second RBM on the hidden activities of the first (here started as the
# first one transposed, `model.tie_init`, so the bound below cannot get worse), then **up-down fine-tuning**
# (wake-sleep with the top RBM; Hinton et al. 2006 §5).
#
# The DBN's likelihood is not tractable even with $Z$, but with an approximate posterior $q(h_1\mid v)$ it has
# the variational lower bound (Salakhutdinov & Murray 2008, eq. 14)
# $$\log p(v) \ge \mathbb{E}_{q(h_1\mid v)}\left[\log p(v\mid h_1) + \log p_\text{RBM}(h_1)\right] + H[q(h_1\mid v)],$$
# with $\log Z$ of the top RBM from annealed importance sampling. A single RBM's log-likelihood is exact up to
# AIS. A bound above the RBM's value means the DBN is better by at least the gap.
#
# The same experiment as `examples/dbn_digits.py`.

# %%
import os
from pathlib import Path

QUICK = os.environ.get("PHYSGEN_QUICK", "1") != "0"   # True: small sizes, ≤ 1 min on one core
SEED = 0
OUT = Path(os.environ.get("PHYSGEN_NOTEBOOK_OUT", "notebook-runs")) / "05_dbn_digits"
OUT.mkdir(parents=True, exist_ok=True)

import matplotlib.pyplot as plt

from physgen.data import save
from physgen.data.digits import load_digits, split
from physgen.metrics import evaluate
from physgen.metrics.baselines import independent_pixels_log_likelihood
from physgen.metrics.summary import floor_table
from physgen.training import load_run, train

# %% [markdown]
# ## Train an RBM [128] and a DBN [128, 64] with the same seed
#
# Both start from the same bottom RBM (same seed, same first updates). `S` updates per layer, then `S` of
# fine-tuning for the DBN.

# %%
train_set, test_set = split(load_digits(binarize=0.5), 1500, seed=SEED)
data_file = save(train_set, OUT / "train.h5", overwrite=True)
S = 1000 if QUICK else 5000
runs = {}
for name, layers, extra in (("rbm", [128], []), ("dbn", [128, 64], ["model.tie_init=true", f"model.finetune_steps={S}"])):
    steps = S * len(layers) + (S if name == "dbn" else 0)
    train("dbn", data=data_file, out=OUT / name, overwrite=True, seed=SEED, steps=steps,
          sets=[f"model.layers={layers}".replace(" ", ""), f"model.steps_per_layer={S}", "train.progress=false", *extra])
    runs[name] = load_run(OUT / name, which="latest")

# %% [markdown]
# ## Held-out log-likelihood (RBM) and lower bound (DBN)

# %%
chains, betas, k = (32, 500, 10) if QUICK else (100, 5000, 100)
lp = {"rbm": runs["rbm"].log_prob(test_set, method="ais", seed=SEED, n_chains=chains, n_betas=betas)[0],
      "dbn": runs["dbn"].log_prob(test_set, method="ais", seed=SEED, n_chains=chains, n_betas=betas, k=k)[0]}
baseline = independent_pixels_log_likelihood(train_set, test_set)
for name, v in lp.items():
    print(f"{name}: {'log p' if name == 'rbm' else 'lower bound'} {v.mean():.2f} nats per digit")
print(f"bound − RBM: {lp['dbn'].mean() - lp['rbm'].mean():+.2f} nats; independent pixels {baseline:.2f}")

# %% [markdown]
# ## Samples: Gibbs in the top RBM, then down through the directed layers

# %%
fakes = {name: r.sample(100, seed=SEED, init="random", burn_in=200 if QUICK else 1000) for name, r in runs.items()}
fig, axes = plt.subplots(3, 10, figsize=(10, 3.3))
for row, (label, imgs) in enumerate((("held out", test_set.samples), ("RBM", fakes["rbm"].samples),
                                     ("DBN", fakes["dbn"].samples))):
    for j in range(10):
        axes[row, j].imshow(imgs[j], cmap="gray_r", vmin=0, vmax=1)
        axes[row, j].set(xticks=[], yticks=[])
    axes[row, 0].set_ylabel(label)
plt.show()

# %% [markdown]
# ## Try this
#
# 1. Set `model.tie_init=false`: the second RBM starts from random weights, and the DBN's bound can end below
#    the single RBM's log-likelihood (the greedy guarantee needs the tied start).
# 2. Skip fine-tuning (`model.finetune_steps=0` and `steps = 2 * S` for the DBN): the bound after greedy training
#    alone shows what the up-down pass adds.
# 3. Raise `k` in the DBN's `log_prob` from 10 to 100: the bound tightens by a fraction of a nat, telling how much
#    of the gap to the RBM is the bound's looseness.

# %% [markdown]
# ## Evaluation against the floors
#
# Samples of both models against held-out digits (floor: two halves of the real digits), and the
# likelihoods against the independent-pixel baseline.

# %%
for name in ("rbm", "dbn"):
    res = evaluate(test_set, fakes[name], metrics="kl,mmd,c2st", seed=SEED, n_boot=50)
    res["held-out log p or bound (nats)"] = {"value": float(lp[name].mean()), "floor": baseline}
    print(floor_table(res, title=f"{name.upper()} vs held-out digits (log p: floor = independent pixels)"), "\n")
