"""The small library functions that the gallery scripts and the notebooks share (instead of copies of each other):
``physgen.data.digits.split``, ``physgen.data.toys.mixture_1d``, ``physgen.samplers.ddpm.ancestral_paths``,
``physgen.training.logbook.tail_means``, ``physgen.metrics.baselines``, ``physgen.metrics.summary`` and
``physgen.data.hep.generate.pythia_dataset``."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from physgen.data import Dataset
from physgen.errors import UserError


def test_digits_split_is_a_seeded_partition():
    from physgen.data.digits import load_digits, split

    ds = load_digits(binarize=0.5)
    tr, te = split(ds, 1500, seed=3)
    assert (len(tr), len(te)) == (1500, 297) and tr.kind == te.kind == "binary"
    rows = {r.tobytes() + bytes([l]) for r, l in zip(ds.samples, ds.labels)}
    assert {r.tobytes() + bytes([l]) for r, l in zip(np.concatenate([tr.samples, te.samples]),
                                                       np.concatenate([tr.labels, te.labels]))} == rows
    again, _ = split(ds, 1500, seed=3)
    assert np.array_equal(again.samples, tr.samples) and not np.array_equal(split(ds, 1500, seed=4)[0].samples,
                                                                            tr.samples)
    with pytest.raises(UserError, match="n_train"):
        split(ds, len(ds))


def test_mixture_1d_matches_its_modes_and_density():
    from physgen.data.toys import MIXTURE_1D, mixture_1d, mixture_1d_log_density

    ds = mixture_1d(20000, seed=0)
    assert ds.samples.shape == (20000, 1) and ds.samples.dtype == np.float32 and ds.feature_names == ["x"]
    for k, (mean, std, weight) in enumerate(MIXTURE_1D):           # 20,000 draws: weight ± 0.004, mean ± 0.005
        x = ds.samples[ds.labels == k, 0]
        assert abs(len(x) / len(ds) - weight) < 0.02 and abs(x.mean() - mean) < 0.02 and abs(x.std() - std) < 0.02
    grid = np.linspace(-6, 7, 20001)
    assert abs(np.exp(mixture_1d_log_density(grid)).sum() * (grid[1] - grid[0]) - 1) < 1e-6
    with pytest.raises(UserError, match="modes"):
        mixture_1d(10, modes=((0.0, 1.0, 0.5),))


def test_ancestral_paths_records_the_reverse_process():
    """Data N(0, 1): every x_t is N(0, 1) and the exact noise predictor is ε(x_t, t) = √(1 − ᾱ_t) x_t, so each
    reverse step is linear, x ← c_t x + σ_t z, and the final variance follows exactly from the recursion
    v ← c_t² v + σ_t²: σ_t² = β̃_t under-disperses, std 0.9596 at T = 100.  The recorded paths end there
    (4000 chains: std within 4 standard errors, mean within 0.05) and the last row is the sample of
    :func:`ddpm_ancestral` with the same generator.  Over generator seeds 1000 k (k = 0–19, one thread) the
    std is 0.87 ± 0.66 standard errors from the exact value (largest 2.3; 4.7 sd inside the 4-SE band; against
    the former bound |std − 1| < 0.05 it sat 1.7 sd inside over 8 seeds) and |mean| 0.010 ± 0.009 (largest
    0.032; 4.6 sd inside 0.05)."""
    import math

    from physgen.samplers.ddpm import alpha_bar, ancestral_paths, beta_schedule, ddpm_ancestral

    abar = alpha_bar(beta_schedule("linear", 100))
    eps = lambda x, t: torch.sqrt(1 - abar[t]).view(-1, 1) * x
    paths = ancestral_paths(eps, (4000, 1), abar, generator=torch.Generator().manual_seed(0))
    final = ddpm_ancestral(eps, (4000, 1), abar, generator=torch.Generator().manual_seed(0))
    assert paths.shape == (101, 4000, 1)
    assert torch.equal(paths[-1], final)
    v, a = 1.0, abar.double().tolist()
    for t in reversed(range(len(a))):
        a_prev = a[t - 1] if t > 0 else 1.0
        s2 = (1 - a_prev) / (1 - a[t]) * (1 - a[t] / a_prev)
        c = math.sqrt(a_prev * a[t]) + math.sqrt(max(1 - a_prev - s2, 0.0) * (1 - a[t]))
        v = c * c * v + (s2 if t > 0 else 0.0)
    std = math.sqrt(v)
    assert abs(float(paths[-1].std()) - std) < 4 * std / math.sqrt(2 * 4000), (float(paths[-1].std()), std)
    assert abs(float(paths[-1].mean())) < 0.05


def test_tail_means_of_metrics_csv(tmp_path):
    from physgen.training.logbook import Logbook, tail_means

    book = Logbook(tmp_path)
    for step in range(1, 101):
        book.log({"step": step, "epoch": 0, "loss": float(step), **({"d_real": 0.5} if step % 2 else {})})
    book.close()
    out = tail_means(tmp_path, ("loss", "d_real", "absent"), n=10)
    assert out["loss"] == pytest.approx(95.5) and out["d_real"] == pytest.approx(0.5) and np.isnan(out["absent"])


def test_independent_pixels_log_likelihood_is_the_bernoulli_product():
    from physgen.metrics.baselines import independent_pixels_log_likelihood

    train = Dataset(np.array([[1, 0], [1, 1], [0, 1], [1, 1]], dtype=np.uint8), "binary")     # p = (0.75, 0.75)
    test = Dataset(np.array([[1, 0]], dtype=np.uint8), "binary")
    assert independent_pixels_log_likelihood(train, test) == pytest.approx(np.log(0.75) + np.log(0.25))
    with pytest.raises(UserError, match="binary"):
        independent_pixels_log_likelihood(train, Dataset(np.ones((1, 2), np.float32), "continuous"))


def test_floor_table_lists_values_beside_floors():
    from physgen.metrics.summary import floor_table

    text = floor_table({"kl": {"value": 0.2, "error": 0.01, "floor": 0.1, "floor_error": 0.02},
                        "c2st_auc": {"value": 0.5, "floor": None}, "_meta": {"n": 3}, "skipped": {"value": None}},
                       title="t", floor_label="exact")
    lines = text.splitlines()
    assert lines[0] == "t" and "exact" in lines[1] and len(lines) == 4
    assert lines[2].split()[0] == "kl" and lines[2].split()[-1] == "2" and "0.2 ± 0.01" in lines[2]
    assert lines[3].split()[0] == "c2st_auc" and lines[3].split()[-1] == "—"


@pytest.mark.skipif(importlib.util.find_spec("pythia8mc") is None, reason="needs pythia8mc (physgen[hep])")
def test_pythia_dataset_gives_the_commands_events(tmp_path, cli):
    from physgen.data import load
    from physgen.data.hep.generate import pythia_dataset

    ds = pythia_dataset("ttbar", 13000, 40, features=["s", "t", "y"], seed=5)
    code, _, err = cli("data", "pythia", "--process", "ttbar", "--ecm", "13000", "--n", "40", "--features", "s,t,y",
                       "--seed", "5", "--out", str(tmp_path / "tt.h5"))
    assert code == 0, err
    assert ds.feature_names == ["s", "t", "y"] and np.array_equal(ds.samples, load(tmp_path / "tt.h5").samples)
    with pytest.raises(UserError, match="features"):
        pythia_dataset("ttbar", 13000, 5, features=["nope"])
