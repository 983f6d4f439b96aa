"""The lattice-model registry: exact references (transfer matrix against enumeration, Kaufman and the q = 2 Potts
identity), the classical samplers against exact Boltzmann distributions, the data file and the command line.

The sampler tests compare the energy histogram of independent chains (each chain's last state after a burn-in
many times τ_int) with the exact distribution of a 3×3 lattice by a χ² test, refused below p = 10⁻³.  Over 20
seeds (s + 1000 k, one thread) no p fell below 10⁻³: the smallest was 0.0026 (Swendsen–Wang, q = 3) and the
medians 0.13 (tempering, the smallest p of four rungs) to 0.60 (benchmarks/records/lattice.md)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

import physgen.lattice as lat
from physgen.data import Dataset, load, save
from physgen.errors import UserError
from physgen.lattice import enumeration, registry, transfer
from physgen.lattice.cluster import SwendsenWang
from physgen.lattice.metropolis import Metropolis
from physgen.lattice.tempering import Tempering
from physgen.physics import kaufman

CASES = [("ising", {"h": 0.3}, {}), ("potts", {"q": 3}, {}), ("potts", {"q": 2, "J": 1.3}, {}),
         ("ea", {}, {"disorder_seed": 3}), ("ea", {}, {"disorder": "gauss", "disorder_seed": 1}),
         ("triangular", {}, {}), ("triangular", {"J": 0.7, "h": 0.2}, {})]


@pytest.mark.parametrize("boundary", ["periodic", "open"])
@pytest.mark.parametrize("name,params,kw", CASES)
def test_transfer_matrix_equals_enumeration(name, params, kw, boundary):
    model = lat.build(name, 3, boundary=boundary, params=params, **kw)
    for a, b in zip(transfer.solve(model, [0.6, 2.3]), enumeration.solve(model, [0.6, 2.3])):
        for key in ("log_z", "free_energy", "energy", "entropy", "specific_heat"):
            assert getattr(a, key) == pytest.approx(getattr(b, key), rel=1e-11, abs=1e-11), key


def test_transfer_matrix_on_a_4x4_torus_with_a_field_and_the_triangular_wrap():
    for model in (lat.build("ising", 4, params={"h": -0.4}), lat.build("triangular", 4, params={"h": 0.3})):
        a, b = transfer.solve(model, [1.1])[0], enumeration.solve(model, [1.1])[0]
        assert (a.log_z, a.specific_heat) == pytest.approx((b.log_z, b.specific_heat), rel=1e-11)


def test_uniform_ising_agrees_with_kaufman():
    model = lat.build("ising", 6)
    for row in transfer.solve(model, [1.5, 2.269, 3.5]):
        assert row.log_z == pytest.approx(kaufman.log_partition(6, row.temperature), rel=1e-12)
        assert row.energy == pytest.approx(kaufman.energy_per_spin(6, row.temperature), rel=1e-12)


@pytest.mark.parametrize("boundary", ["periodic", "open"])
def test_two_state_potts_is_ising_at_half_the_coupling(boundary):
    """δ(s, t) = (1 + σσ')/2: Z_Potts(J) = Z_Ising(J/2) exp(β J n_bonds / 2)."""
    potts = lat.build("potts", 5, boundary=boundary, params={"q": 2, "J": 1.3})
    ising = lat.build("ising", 5, boundary=boundary, params={"J": 0.65})
    bonds = len(potts.bond_list()[2])
    for a, b in zip(transfer.solve(potts, [0.8, 2.0]), transfer.solve(ising, [0.8, 2.0])):
        assert a.log_z == pytest.approx(b.log_z + 0.65 * bonds / a.temperature, rel=1e-12)
        assert a.specific_heat == pytest.approx(b.specific_heat, rel=1e-10)


def test_critical_temperatures():
    assert lat.build("potts", 4, params={"q": 3}).critical_temperature() == pytest.approx(1 / np.log(1 + np.sqrt(3)))
    assert lat.build("ising", 4).critical_temperature() == pytest.approx(2.269185314)
    assert lat.build("ea", 4).critical_temperature() is None


def _chi2_p(model, x: np.ndarray, T: float) -> float:
    """p-value of the energy histogram of ``x`` against the exact energy distribution at ``T``."""
    _, e, log_z = enumeration.boltzmann(model, T)
    levels, inverse = np.unique(np.round(e, 9), return_inverse=True)
    expected = np.bincount(inverse, weights=np.exp(-e / T - log_z)) * len(x)
    where = np.searchsorted(levels, np.round(model.energy(x), 9))
    observed = np.bincount(where, minlength=len(levels)).astype(float)
    keep = expected >= 5
    obs = np.append(observed[keep], observed[~keep].sum())
    exp = np.append(expected[keep], expected[~keep].sum())
    if exp[-1] < 5:   # fold the rare levels into the last kept one
        obs, exp = np.append(obs[:-2], obs[-2:].sum()), np.append(exp[:-2], exp[-2:].sum())
    return float(stats.chisquare(obs, exp * obs.sum() / exp.sum()).pvalue)


def _last_states(engine, model, T, chains, sweeps, seed):
    rng = np.random.default_rng(seed)
    x = model.space.random(rng, (chains, *model.shape))
    beta = np.full(chains, 1.0 / T)
    for _ in range(sweeps):
        x = engine.sweep(x, beta, rng)
    return x


@pytest.mark.parametrize("name,params,kw,T", [("potts", {"q": 3}, {}, 0.9), ("triangular", {}, {}, 1.2),
                                              ("ea", {}, {"disorder_seed": 5}, 0.8), ("ising", {"h": 0.2}, {}, 2.0)])
def test_metropolis_samples_the_boltzmann_distribution(name, params, kw, T):
    model = lat.build(name, 3, params=params, **kw)
    x = _last_states(Metropolis(model), model, T, 3000, 200, seed=1)
    assert _chi2_p(model, x, T) > 1e-3


@pytest.mark.parametrize("name,params,T", [("potts", {"q": 3}, 0.9), ("ising", {"J": -1.0}, 1.5), ("potts", {"q": 4}, 1.4)])
def test_swendsen_wang_samples_the_boltzmann_distribution(name, params, T):
    model = lat.build(name, 3, params=params)
    x = _last_states(SwendsenWang(model), model, T, 3000, 30, seed=2)
    assert _chi2_p(model, x, T) > 1e-3


def test_parallel_tempering_samples_every_rung():
    model = lat.build("ea", 3, disorder_seed=7)
    temps = np.array([0.5, 0.8, 1.3, 2.0])
    engine, rng = Tempering(model, temps), np.random.default_rng(3)
    x = model.space.random(rng, (2000, len(temps), *model.shape))
    for _ in range(60):
        x = engine.sweep(x, rng)
    for k, T in enumerate(temps):
        assert _chi2_p(model, x[:, k], T) > 1e-3
    assert engine.acceptance.shape == (3,) and np.all((engine.acceptance > 0.2) & (engine.acceptance <= 1))


def test_a_dataset_file_carries_the_instance(tmp_path):
    from physgen.lattice.simulate import simulate

    model = lat.build("ea", 4, disorder="gauss", disorder_seed=11)
    ds = simulate(model, [1.0], 20, chains=4, burn_in=20, thin=20, algorithm="tempering", replicas=3, seed=0)
    path = save(ds, tmp_path / "ea.h5")
    back = load(path)
    assert set(back.hamiltonian) == {"Jx", "Jy"} and back.attrs["hamiltonian"] == "ea"
    again = registry.from_dataset(back)
    for key in ("jx", "jy"):
        np.testing.assert_array_equal(again.couplings[key], model.couplings[key])
    assert back.attrs["tempering_acceptance"] and back.attrs["ladder"][0] == 1.0


def test_bad_files_are_one_line(tmp_path):
    x = np.zeros((3, 4, 4), np.int8)
    with pytest.raises(UserError, match="n_states"):
        Dataset(x, "categorical").validate()
    with pytest.raises(UserError, match="states 0..2"):
        Dataset(x + 3, "categorical", attrs={"n_states": 3}).validate()
    with pytest.raises(UserError, match=r"/hamiltonian/Jx has shape \(3, 4\)"):
        Dataset(np.ones((3, 4, 4), np.int8), "spins", hamiltonian={"Jx": np.ones((3, 4))}).validate()
    with pytest.raises(UserError, match="non-finite"):
        Dataset(np.ones((3, 4, 4), np.int8), "spins", hamiltonian={"Jx": np.full((4, 4), np.nan)}).validate()


def test_data_lattice_ising_writes_the_configurations_of_data_ising(cli, tmp_path):
    common = ["--size", "8", "--temperatures", "2.0,3.0", "--samples", "40", "--burn-in", "50", "--thin", "20",
              "--seed", "4"]
    assert cli("data", "ising", *common, "--out", tmp_path / "a.h5")[0] == 0
    assert cli("data", "lattice", "--model", "ising", *common, "--out", tmp_path / "b.h5")[0] == 0
    a, b = load(tmp_path / "a.h5"), load(tmp_path / "b.h5")
    np.testing.assert_array_equal(a.samples, b.samples)
    assert b.attrs["hamiltonian"] == "ising" and b.attrs["hamiltonian_J"] == 1.0


def test_exact_writes_exact_json(cli, tmp_path):
    code, out, err = cli("exact", "--model", "potts", "--param", "q=3", "--size", "4", "--temperatures", "0.8,1.2",
                         "--out", tmp_path / "potts")
    assert code == 0, err
    record = json.loads((tmp_path / "potts" / "exact.json").read_text())
    assert record["critical_temperature"] == pytest.approx(1 / np.log(1 + np.sqrt(3)))
    row = record["temperatures"][1]
    assert set(row) == {"temperature", "log_z", "free_energy", "energy", "entropy", "specific_heat"}
    ref = enumeration.solve(lat.build("potts", 4, params={"q": 3}), [1.2])[0] if 3 ** 16 <= 2 ** 16 else None
    assert ref is None or row["free_energy"] == pytest.approx(ref.free_energy)


def test_exact_from_a_data_file_uses_its_couplings(cli, tmp_path):
    data = tmp_path / "ea.h5"
    assert cli("data", "lattice", "--model", "ea", "--size", "4", "--disorder-seed", "9", "--temperatures", "1.0",
               "--samples", "8", "--burn-in", "10", "--thin", "50", "--algorithm", "tempering", "--replicas", "2",
               "--out", data)[0] == 0
    assert cli("exact", "--from", data, "--temperatures", "1.0", "--out", tmp_path / "ex")[0] == 0
    record = json.loads((tmp_path / "ex" / "exact.json").read_text())
    model = lat.build("ea", 4, disorder_seed=9)
    assert record["temperatures"][0]["free_energy"] == pytest.approx(enumeration.solve(model, [1.0])[0].free_energy)


@pytest.mark.parametrize("args,message", [
    (["data", "lattice", "--model", "heisenberg"], "unknown lattice model 'heisenberg'"),
    (["data", "lattice", "--model", "potts", "--param", "z=3"], "has no parameter 'z'"),
    (["data", "lattice", "--model", "potts", "--param", "q=1"], "q=1 must be >= 2"),
    (["data", "lattice", "--model", "potts", "--disorder", "pm"], "--disorder: potts has no quenched couplings"),
    (["data", "lattice", "--model", "ea", "--algorithm", "wolff"], "wolff does not apply to ea .*cluster updates apply to"),
    (["data", "lattice", "--model", "potts", "--param", "J=-1", "--algorithm", "swendsen-wang"], "needs J > 0"),
    (["exact", "--model", "ising", "--size", "14", "--temperatures", "1"], "over the limit .* largest periodic size"),
])
def test_bad_input_is_one_line_and_exit_2(cli, tmp_path, args, message):
    import re

    out = tmp_path / "out.h5"
    rest = ["--out", out] if args[0] == "exact" else ["--size", "4", "--temperatures", "1", "--samples", "4", "--out", out]
    if "--size" in args:
        rest = ["--out", tmp_path / "dir"]
    code, _, err = cli(*args, *rest)
    assert code == 2 and re.search(message, err), err
    assert len(err.strip().splitlines()) == 1 and not out.exists()


def test_exact_from_a_file_without_a_model(cli, tmp_path):
    path = save(Dataset(np.ones((2, 4, 4), np.int8), "spins"), tmp_path / "plain.h5")
    code, _, err = cli("exact", "--from", path, "--temperatures", "1", "--out", tmp_path / "ex")
    assert code == 2 and "records no lattice model" in err


def test_a_plug_in_model_is_one_module_and_one_entry_point(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "entry_points", lambda: {**registry.plugins.source_tree(registry.GROUP),
                                                           **registry.plugins.installed(registry.GROUP),
                                                           "aniso": "lattice_plugin_toy:Anisotropic"})
    monkeypatch.delitem(registry._REGISTRY, "aniso", raising=False)
    assert "aniso" in lat.names()
    code, _, err = cli("exact", "--model", "aniso", "--size", "3", "--param", "Jy=0.25", "--temperatures", "1.5",
                       "--out", tmp_path / "ex")
    assert code == 0, err
    model = lat.build("aniso", 3, params={"Jy": 0.25})
    row = json.loads((tmp_path / "ex" / "exact.json").read_text())["temperatures"][0]
    assert row["log_z"] == pytest.approx(enumeration.solve(model, [1.5])[0].log_z)
    assert cli("data", "lattice", "--model", "aniso", "--size", "4", "--temperatures", "1.5", "--samples", "4",
               "--burn-in", "10", "--thin", "10", "--out", tmp_path / "a.h5")[0] == 0


def test_evaluate_judges_a_spin_glass_with_its_own_energy(cli, tmp_path):
    common = ["data", "lattice", "--model", "ea", "--size", "4", "--disorder-seed", "3", "--temperatures", "0.8,1.5",
              "--samples", "200", "--burn-in", "100", "--thin", "5", "--algorithm", "tempering", "--replicas", "4"]
    for name, seed in (("real", "0"), ("fake", "1")):
        assert cli(*common, "--seed", seed, "--out", tmp_path / f"{name}.h5")[0] == 0
    code, _, err = cli("evaluate", "--real", tmp_path / "real.h5", "--fake", tmp_path / "fake.h5", "--metrics",
                       "observables", "--n-boot", "20", "--out", tmp_path / "ev")
    assert code == 0, err
    result = json.loads((tmp_path / "ev" / "metrics.json").read_text())["observables"]["by_temperature"]
    real, model = load(tmp_path / "real.h5"), lat.build("ea", 4, disorder_seed=3)
    rows = real.conditions["temperature"] == 0.8
    entry = result["0.8"]["observables"]["energy"]
    assert entry["real"]["value"] == pytest.approx(float((model.energy(real.samples[rows]) / 16).mean()))
    assert entry["onsager"] is None
    overlap = result["0.8"]["overlap"]
    assert set(overlap) == {"q2", "binder", "histogram", "kl", "js"} and abs(overlap["q2"]["difference"]["z"]) < 5


def test_the_overlap_of_independent_replicas_follows_the_exact_p_of_q():
    """P(q) of parallel-tempering samples of a 3×3 glass against its exact distribution (χ², p > 10⁻³)."""
    from physgen.lattice.observables import exact_overlap_distribution, overlap_summary, overlaps

    model, temps = lat.build("ea", 3, disorder_seed=7), np.array([0.8, 1.5])
    engine, rng = Tempering(model, temps), np.random.default_rng(5)
    x = model.space.random(rng, (4000, len(temps), *model.shape))
    for _ in range(60):
        x = engine.sweep(x, rng)
    q = overlaps(x[:, 0])
    levels, p = exact_overlap_distribution(model, 0.8)
    observed = np.bincount(np.searchsorted(levels, np.round(q, 9)), minlength=len(levels))
    assert stats.chisquare(observed, p * len(q)).pvalue > 1e-3
    summary = overlap_summary(q, n_boot=100)
    assert abs(summary["q2"].value - float(p @ levels ** 2)) < 4 * summary["q2"].error


@pytest.mark.parametrize("name,kw", [("ea", {"disorder_seed": 4}), ("triangular", {}), ("ising", {})])
def test_training_batches_keep_only_the_models_symmetries(name, kw):
    """The images ``data.augment = lattice`` makes of a model's data have the same energy: the square's group
    for the Ising model, translations and inversion on the triangular lattice, the spin flip alone for a glass."""
    import torch

    from physgen.training.augment import resolve

    model = lat.build(name, 6, **kw)
    attrs = {"hamiltonian": name, **model.attrs()}
    augment = resolve("lattice", "spins", model.shape, attrs)
    x = torch.from_numpy(model.space.random(np.random.default_rng(0), (200, 6, 6)))
    y = augment(x, torch.Generator().manual_seed(1))
    np.testing.assert_allclose(model.energy(y.numpy()), model.energy(x.numpy()))
    assert not torch.equal(x, y)
    if name != "ising":   # the square's full group would not keep these energies
        from physgen.training.augment import LatticeSymmetries

        wrong = LatticeSymmetries(model.shape, group="square")(x, torch.Generator().manual_seed(1))
        assert not np.allclose(model.energy(wrong.numpy()), model.energy(x.numpy()))


def test_the_help_examples_run_without_warnings(cli, tmp_path, monkeypatch):
    import shlex

    from physgen.cli import data_lattice, exact

    monkeypatch.chdir(tmp_path)
    for example in (data_lattice.EXAMPLE.replace("--samples 500", "--samples 100"), exact.EXAMPLE):
        code, _, err = cli(*shlex.split(example)[1:])
        assert code == 0 and "warning" not in err.lower(), err


def test_an_rbm_on_spin_glass_data_has_dense_weights(cli, tmp_path):
    """A glass's quenched couplings break every translation: the rbm's spin default of shared filters gives way to
    dense weights (and a user's filters still win)."""
    import tomllib

    data = tmp_path / "ea.h5"
    assert cli("data", "lattice", "--model", "ea", "--size", "4", "--temperatures", "1.0", "--samples", "64",
               "--burn-in", "10", "--thin", "50", "--algorithm", "tempering", "--replicas", "2", "--out", data)[0] == 0
    for sets, filters in (([], 0), (["--set", "model.filters=2"], 2)):
        out = tmp_path / f"rbm{filters}"
        code, _, err = cli("train", "rbm", "--data", data, "--steps", "2", "--out", out, "--no-progress", *sets)
        assert code == 0, err
        assert tomllib.loads((out / "config.toml").read_text())["model"]["filters"] == filters
