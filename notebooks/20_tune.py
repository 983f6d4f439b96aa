# %% [markdown]
# # Hyper-parameter search, and why it must be judged on held-out data
#
# Training fits a model's **parameters** (the weights); the **hyper-parameters** (learning rate, widths, depth,
# budget) are fixed before it starts, and no gradient tells how to choose them. A search trains the model
# many times with different values and keeps the best by some score. `physgen tune` (docs/tune.md) runs such a
# search with Optuna:
#
# 1. the data file is split once, 80 % to train every trial on and 20 % **held out**;
# 2. each trial draws values from a search space with the TPE sampler (Tree-structured Parzen Estimator; the first
#    third of the trials are random), trains, samples as many points as the held-out set has, and is scored by the
#    **objective**: here `kl`, the Kullback–Leibler divergence KL(held-out ‖ samples) of binned one-dimensional
#    marginals, averaged over the features (lower is better; `auc`, a classifier's ability to tell samples from
#    data, and `observables`, the χ²/dof of Ising observables, are the others);
# 3. a trial whose validation score during training is worse than the median of the finished ones at the same
#    point is stopped early (**pruned**);
# 4. the best values are written to `best.toml`, which `train(..., config_file=...)` reads.
#
# Every score comes with a **floor**: the same metric between two halves of the held-out set. A perfect model
# cannot beat it, because a finite sample of the truth does not either.
#
# Two reasons the score must come from data the trials never trained on. A model that memorised its training
# points would score perfectly against them and learn nothing about the distribution; against held-out points it
# can do no better than the floor. And selection itself is a fit: the best of many noisy scores is lower than
# that trial's true quality (the *winner's curse*), so the value a search reports is optimistic. The chosen
# setting has to be judged once more, on data the search never saw.

# %%
import os
from pathlib import Path

QUICK = os.environ.get("PHYSGEN_QUICK", "1") != "0"   # True: small sizes, ≤ 1 min on one core
SEED = 0
OUT = Path(os.environ.get("PHYSGEN_NOTEBOOK_OUT", "notebook-runs")) / "20_tune"
OUT.mkdir(parents=True, exist_ok=True)

import shutil

import matplotlib.pyplot as plt
import numpy as np
import optuna

from physgen.data import load, save
from physgen.data.toys import make_toy
from physgen.metrics.summary import floor_table
from physgen.training import load_run, train
from physgen.tune import tune
from physgen.tune.scoring import sample_like, score

optuna.logging.set_verbosity(optuna.logging.WARNING)
TRIALS, STEPS = (6, 250) if QUICK else (30, 3000)

# %% [markdown]
# ## The data, the space, the study
#
# A normalizing flow (`flow`, `16_flows_flow_matching`) on the two-moons toy. The space searches the learning
# rate (log-uniform) and the width of the flow's networks, and fixes the number of transforms and of steps: a
# fixed step budget makes every trial reproducible on any machine (`--trial-time` is then only a cap).

# %%
data_file = save(make_toy("moons", 3000 if QUICK else 10000, seed=SEED), OUT / "moons.h5", overwrite=True)
space = OUT / "space.toml"
space.write_text(f"""["train.lr"]
low = 1e-4
high = 3e-2
log = true

["model.hidden"]
choices = [[16, 16], [32, 32], [64, 64]]

["model.transforms"]
choices = [3]

["train.steps"]
choices = [{STEPS}]
""")
study_dir = OUT / "study"
shutil.rmtree(study_dir, ignore_errors=True)            # a new study each time the notebook runs
result = tune("flow", data=data_file, out=study_dir, trials=TRIALS, trial_time=600, space_file=space, seed=SEED,
              objective="kl")

# %% [markdown]
# Each line above is one trial: its objective (or `pruned`), its values and its time. The study is a SQLite
# database in the folder; running the same call again continues it. `report.html` beside it has the optimisation
# history and the parameter importances.

# %%
study = optuna.load_study(study_name="physgen-tune", storage=f"sqlite:///{study_dir / 'study.db'}")
done = [t for t in study.trials if t.state.name == "COMPLETE"]
floor = done[0].user_attrs["floor"]
values = np.array([t.value for t in done])
fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
a1.plot([t.number for t in done], values, "o", label="complete trials")
a1.plot([t.number for t in done], np.minimum.accumulate(values), "k-", lw=0.8, label="best so far")
a1.axhline(floor, color="tab:red", ls="--", label=f"floor {floor:.3f}")
for t in study.trials:
    if t.state.name == "PRUNED":
        a1.axvline(t.number, color="0.8", lw=3, zorder=0)
a1.set(xlabel="trial (grey: pruned)", ylabel="KL(held-out ‖ samples)", title="optimisation history")
a1.legend(fontsize=8)
widths = sorted({t.params["model.hidden"] for t in done})
for w in widths:
    sel = [t for t in done if t.params["model.hidden"] == w]
    a2.scatter([t.params["train.lr"] for t in sel], [t.value for t in sel], label=f"hidden {w}")
a2.axhline(floor, color="tab:red", ls="--")
a2.set(xscale="log", xlabel="learning rate", ylabel="objective")
a2.legend(fontsize=8)
plt.show()
print((study_dir / "best.toml").read_text())

# %% [markdown]
# ## Judging the winner on data the search never saw
#
# Each completed trial's run is scored again by the same objective against fresh sets of points of the same
# distribution, each as large as the study's held-out set (binned KL depends on the sample size, so only equal
# sizes compare), with new sampling seeds; the mean over the sets and its standard error. Trials within the floor
# of each other cannot be ranked by one held-out set of this size: the search's winner is then picked by the
# noise of its held-out set as much as by its quality.

# %%
n_held = len(load(study_dir / "data" / "heldout.h5"))
fresh_sets = [make_toy("moons", n_held, seed=100 + i) for i in range(4 if QUICK else 10)]


def fresh_score(run):
    """Mean and standard error of the objective, and the mean floor, over the fresh sets."""
    s = [score("kl", f, sample_like(run, f, None, SEED + 1 + i), condition=None, seed=SEED)
         for i, f in enumerate(fresh_sets)]
    v = np.array([r["value"] for r in s])
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v))), float(np.mean([r["floor"] for r in s]))


rescored = {t.number: fresh_score(load_run(study_dir / "trials" / f"{t.number:04d}")) for t in done}
fresh_floor = rescored[done[0].number][2]
best = result["best_trial"]
plt.figure(figsize=(5, 4.5))
plt.errorbar(values, [rescored[t.number][0] for t in done], yerr=[rescored[t.number][1] for t in done], fmt="o")
plt.scatter([study.trials[best].value], [rescored[best][0]], s=150, facecolors="none", edgecolors="k",
            label=f"the search's best (trial {best})", zorder=3)
lim = (0.9 * min(values.min(), floor, fresh_floor), 1.05 * max(values.max(), max(r[0] for r in rescored.values())))
plt.plot(lim, lim, "k:", lw=0.8)
plt.axvline(floor, color="tab:red", ls="--", lw=0.8), plt.axhline(fresh_floor, color="tab:red", ls="--", lw=0.8)
plt.xlabel("objective on the study's held-out set"), plt.ylabel("objective on fresh sets (mean)")
plt.legend(fontsize=8)
plt.show()
order = sorted(rescored, key=lambda k: rescored[k][0])
print(f"the search's best, trial {best}, is rank {order.index(best) + 1} of {len(done)} on fresh data")

# %% [markdown]
# The last check repeats the winning configuration from `best.toml` with another training seed: a setting worth
# keeping has to be good for the model, not for one draw of its initial weights and batches.

# %%
train("flow", data=study_dir / "data" / "train.h5", out=OUT / "retrained", overwrite=True,
      config_file=study_dir / "best.toml", seed=SEED + 1, sets=["train.progress=false"])
retrained = fresh_score(load_run(OUT / "retrained"))

# %% [markdown]
# ## Try this
#
# 1. Run the study with `objective="auc"` instead: the classifier two-sample test sees the joint distribution,
#    not the marginals, and may prefer another learning rate; both rankings are equally noisy near their floors.
# 2. Give every trial four times the steps (`choices = [1000]` for `train.steps`): the trials crowd closer to the
#    floor, and the held-out set can tell them apart even less; the winner's fresh rank becomes a lottery.
# 3. Make the held-out set larger (a `moons` file of 15,000 rows): the floor falls roughly as 1/N for binned
#    KL, so more trials become distinguishable, and the winner's fresh score moves closer to its study score.

# %% [markdown]
# ## Evaluation against the floors
#
# The search's best trial on the study's own held-out set (the number the search reports), on fresh data, and
# retrained with another seed on fresh data; each beside the floor of its reference set.

# %%
table = {f"trial {best}, study's held-out set": {"value": study.trials[best].value, "floor": floor},
         f"trial {best}, fresh sets": {"value": rescored[best][0], "error": rescored[best][1], "floor": fresh_floor},
         f"best.toml retrained (seed {SEED + 1}), fresh sets": {"value": retrained[0], "error": retrained[1],
                                                                  "floor": retrained[2]}}
print(floor_table(table, title=f"flow on two moons, {len(done)} complete of {TRIALS} trials, objective "
                               "KL(data ‖ samples)"))
print(f"optimism of the search's reported value: {rescored[best][0] - study.trials[best].value:+.4f} "
      f"± {rescored[best][1]:.4f} (fresh − study, both with {n_held} points)")
