"""The semi-supervised GAN's check on 8×8 digits with 10 labels per class (slow: 188 s on one CPU core).

Protocol of ``benchmarks/sgan.py digits`` (docs/sgan.md): per seed a stratified 75/25 split, ``physgen
train sgan`` on the training rows for STEPS steps, then the test accuracy of the SGAN's classifier and of
the same network trained on the same 100 labels alone.  Claim: the mean gap over the seeds is at least
5 points.  Power: over the five recorded seeds the gap was 6.1 ± 0.9 points (per seed 4.9 to 9.6; the
seeds used here gave 5.6, 5.6 and 9.6, mean 6.9); the seeds are fixed, so the test is deterministic on a
given platform, and a change that costs the SGAN's classifier about 2 points of accuracy fails it.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

SEEDS = (0, 1, 2)
STEPS = 8000


@pytest.mark.slow
def test_sgan_beats_the_same_network_trained_on_the_labels_alone(tmp_path):
    from sklearn.model_selection import train_test_split

    from physgen.data import save
    from physgen.data.digits import load_digits
    from physgen.models.gan.sgan_classifiers import compare_classifiers
    from physgen.training import load_run, train

    ds = load_digits()
    gaps = []
    for seed in SEEDS:
        tr, te = train_test_split(np.arange(len(ds)), test_size=0.25, random_state=seed, stratify=ds.labels)
        data = save(ds.subset(np.sort(tr)), tmp_path / f"train{seed}.h5")
        out = tmp_path / f"run{seed}"
        train("sgan", data=data, out=out, seed=seed, steps=STEPS,
              sets=["model.labels_per_class=10", f"model.label_seed={seed}", "train.progress=false"])
        model = load_run(out, device="cpu", which="latest").model
        te = np.sort(te)
        res = compare_classifiers(model, torch.from_numpy(ds.samples[te]), ds.labels[te], seed=seed)
        assert res["n_labelled"] == 100 and res["baseline_steps"] == STEPS
        gaps.append(res["sgan"]["value"] - res["supervised"]["value"])
    assert np.mean(gaps) >= 0.05, gaps
