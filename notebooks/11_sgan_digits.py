# %% [markdown]
# # A semi-supervised GAN: classifying digits from 10 labels per class
#
# Salimans et al. (2016, §5) turn the discriminator into a classifier with $K + 1$ outputs: the $K$ real classes and
# "generated". With logits $l_1 \dots l_K$ and the generated class's logit fixed at 0,
# $$p(\text{real}\mid x) = \frac{Z(x)}{Z(x) + 1},\qquad Z(x) = \sum_{k=1}^K e^{l_k(x)},$$
# so the **unlabelled** data train the classifier through the real-versus-generated game, while the few labelled
# digits train it with the usual cross-entropy on $p(y\mid x, \text{real}) = \mathrm{softmax}(l)$. The generator is
# trained by **feature matching**: it matches the mean of an intermediate layer of the discriminator on real data.
#
# 10 labelled digits per class (100 in all), every other training digit unlabelled; the same network trained on the
# 100 labelled digits alone, and a random forest on them, are the baselines. The same experiment as
# `examples/sgan_digits.py`.

# %%
import os
from pathlib import Path

QUICK = os.environ.get("PHYSGEN_QUICK", "1") != "0"   # True: small sizes, ≤ 1 min on one core
SEED = 0
OUT = Path(os.environ.get("PHYSGEN_NOTEBOOK_OUT", "notebook-runs")) / "11_sgan_digits"
OUT.mkdir(parents=True, exist_ok=True)

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.model_selection import train_test_split

from physgen.data import save
from physgen.data.digits import load_digits
from physgen.metrics import evaluate
from physgen.metrics.summary import floor_table
from physgen.models.gan.sgan_classifiers import compare_classifiers, predict
from physgen.training import load_run, train
from physgen.training.data import to_model_space

# %% [markdown]
# ## Training: 75/25 split stratified by class

# %%
digits = load_digits()
tr, te = (np.sort(i) for i in train_test_split(np.arange(len(digits)), test_size=0.25, random_state=SEED,
                                                stratify=digits.labels))
steps = 400 if QUICK else 8000
summary = train("sgan", data=save(digits.subset(tr), OUT / "train.h5", overwrite=True), out=OUT / "run",
                overwrite=True, seed=SEED, steps=steps,
                sets=["model.labels_per_class=10", f"model.label_seed={SEED}", "model.diagnostics=false",
                      "train.progress=false"])
run = load_run(OUT / "run", device="cpu", which="latest")
print(summary["status"], summary["steps"], "steps", f"{summary['wall_time_s']:.1f} s")

# %% [markdown]
# ## Test accuracy: SGAN, the same network without the GAN, a random forest

# %%
x_test = torch.from_numpy(to_model_space(digits.samples[te], digits.kind, run.transform))
acc = compare_classifiers(run.model, x_test, digits.labels[te], seed=SEED)
names = ("sgan", "supervised", "random_forest")
fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.5))
a1.bar(range(3), [100 * acc[n]["value"] for n in names], yerr=[100 * acc[n]["error"] for n in names], capsize=4,
       color=["C0", "C1", "C2"])
a1.set(xticks=range(3), xticklabels=["SGAN", "same net,\nlabels only", "random forest"], ylim=(0, 105),
       ylabel="test accuracy (%)", title=f"{acc['n_labelled']} labelled digits")
ConfusionMatrixDisplay.from_predictions(digits.labels[te], predict(run.model, x_test), ax=a2, colorbar=False)
a2.set(title="SGAN confusion matrix")
plt.show()

# %% [markdown]
# ## Try this
#
# 1. Use `model.labels_per_class=2`, then 50: the SGAN's gain over the labels-only network is largest with the
#    fewest labels and shrinks as labels become plentiful.
# 2. Train ten times longer: the classifier's accuracy keeps improving while the generator's images stay poor;
#    feature matching serves the classifier, not the samples.

# %% [markdown]
# ## Evaluation against the floors
#
# The classifiers (the supervised network is the SGAN's floor: the unlabelled digits must add to it), and the
# generator's images against the held-out digits with the real-vs-real floors. Feature matching makes the generator
# serve the classifier, not produce realistic digits.

# %%
result = {f"accuracy: {n}": {"value": acc[n]["value"], "error": acc[n]["error"],
                             "floor": acc["supervised"]["value"], "floor_error": acc["supervised"]["error"]}
          for n in names}
print(floor_table(result, title=f"SGAN ({summary['steps']} steps), test accuracy", floor_label="labels only"), "\n")
fake = run.sample(len(te), seed=SEED)
print(floor_table(evaluate(digits.subset(te), fake, metrics="kl,c2st", seed=SEED, n_boot=50),
                  title="SGAN generator vs held-out digits"))
