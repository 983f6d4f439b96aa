"""``data.augment = "lattice"``: batches moved by exact symmetries of the periodic lattice, uniformly over the
group, reproducibly under resume; refused for data it does not fit."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import torch

from physgen.data import Dataset, save
from physgen.errors import UserError
from physgen.physics.observables import energy_per_spin
from physgen.training.augment import LatticeSymmetries, resolve


def test_images_keep_energy_and_magnetization():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 2, (50, 6, 6), generator=g).float() * 2 - 1
    y = LatticeSymmetries((6, 6))(x, g)
    np.testing.assert_allclose(energy_per_spin(y.numpy()), energy_per_spin(x.numpy()))
    np.testing.assert_allclose(y.sum((1, 2)).abs(), x.sum((1, 2)).abs())
    assert not torch.equal(x, y)


def test_group_elements_are_uniform():
    """One up spin in a 5×5 lattice of down spins lands on each of the 25 sites equally often and the global
    flip happens half the time (p > 10⁻⁴ over 25,000 draws; a bias of 20% on one site gives p < 1e-6, a flip
    probability of 0.52 instead of 0.5 is 6.3 standard errors, p ≈ 3×10⁻¹⁰).  False-alarm rate 10⁻⁴ per check:
    at 10⁻³ the flip check failed seed 1 + 1000 k at k = 8 (p = 0.0009) of 20, the rule's own false alarm: over
    k = 0–199 (one thread) the flip fraction's z is −0.12 ± 1.08 and both p are uniform (Kolmogorov–Smirnov p
    0.63 flips, 0.55 sites; smallest 0.0009 and 0.0038); 0.93 and 0.41 at the test's seed."""
    x = -torch.ones(25_000, 5, 5)
    x[:, 0, 0] = 1
    y = LatticeSymmetries((5, 5))(x, torch.Generator().manual_seed(1))
    flipped = y.sum((1, 2)) > 0
    site = torch.where(flipped[:, None, None], -y, y).flatten(1).argmax(1)
    assert scipy.stats.chisquare(np.bincount(site.numpy(), minlength=25)).pvalue > 1e-4
    assert scipy.stats.binomtest(int(flipped.sum()), len(flipped)).pvalue > 1e-4


def test_no_flip_at_a_field_and_refusals():
    x = torch.ones(100, 4, 4)
    assert torch.equal(resolve("lattice", "spins", (4, 4), {"h": 0.5})(x, torch.Generator().manual_seed(0)), x)
    assert resolve("none", "spins", (4, 4), {}) is None
    with pytest.raises(UserError, match="spin or q-state data"):
        resolve("lattice", "continuous", (3,), {})
    with pytest.raises(UserError, match="2-D"):
        resolve("lattice", "spins", (16,), {})


def test_cli_augmented_run_resumes_exactly(cli, tmp_path):
    """20 steps + resume to 40 equals 40 uninterrupted steps: the images come from each step's generator."""
    from physgen.training import load_run
    rng = np.random.default_rng(0)
    data = save(Dataset(np.where(rng.random((200, 4, 4)) < 0.7, 1, -1).astype(np.int8), "spins"), tmp_path / "d.h5")
    sets = ["--set", "data.augment=lattice", "--set", "model.hidden=[16]", "--set", "model.latent=2",
            "--set", "model.decoder=factorized", "--set", "train.schedule=constant", "--no-progress"]
    assert cli("train", "vae", "--data", data, "--out", tmp_path / "a", "--steps", "40", *sets)[0] == 0
    assert cli("train", "vae", "--data", data, "--out", tmp_path / "b", "--steps", "20", *sets)[0] == 0
    code, _, err = cli("train", "vae", "--data", data, "--out", tmp_path / "b", "--steps", "40", "--resume")
    assert code == 0, err
    a, b = (load_run(tmp_path / r, which="latest").model.state_dict() for r in ("a", "b"))
    for key in a:
        assert torch.equal(a[key], b[key]), key
    code, _, err = cli("train", "vae", "--data", data, "--out", tmp_path / "c", "--steps", "5",
                       "--set", "data.augment=mirror")
    assert code == 2 and "data.augment" in err and len(err.strip().splitlines()) == 1


def relabelling_p(seed: int) -> float:
    """χ² p-value of the six permutations of 3 states over 12,000 relabelled rows (generator ``seed``); the
    lattice holds state 0 at six sites, 1 at two and 2 at one, so the counts name the permutation."""
    x = torch.zeros(12_000, 3, 3)
    x[:, 0, 1], x[:, 1, 1], x[:, 2, 2] = 1, 1, 2
    y = resolve("lattice", "categorical", (3, 3), {"n_states": 3, "hamiltonian": "potts"})(
        x, torch.Generator().manual_seed(seed))
    counts = torch.stack([(y.flatten(1) == a).sum(1) for a in range(3)], 1)        # (B, 3)
    assert torch.equal(counts.sort(1).values, torch.tensor([1, 2, 6]).expand(len(y), 3))
    perm = torch.stack([(counts == c).float().argmax(1) for c in (6, 2, 1)], 1)   # where 0, 1 and 2 went
    seen = np.bincount((perm[:, 0] * 3 + perm[:, 1]).numpy(), minlength=9)[[1, 2, 3, 5, 6, 7]]
    assert seen.sum() == len(y)
    return float(scipy.stats.chisquare(seen).pvalue)


def test_potts_lattices_are_relabelled_uniformly():
    """On q-state lattices the spin flip's place is taken by a random relabelling: each of the q! = 6 permutations
    of 3 states appears equally often (χ² over 12,000 rows refuses p < 10⁻⁴), and a row keeps how many sites hold
    each state (over seeds 2 + 1000 k, k = 0 … 19: benchmarks/records/test_margins.md, ``potts_relabel``)."""
    assert relabelling_p(2) > 1e-4
