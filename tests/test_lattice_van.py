"""The data-free van on the lattice models of physgen.lattice: the spin glass and the triangular antiferromagnet
train from their Hamiltonian, and ``sample --mcmc/--importance`` and ``thermo`` correct against the very same
instance (its couplings drawn from the recorded disorder seed).

The thermodynamic check: a 4×4 ±J Edwards–Anderson instance, 300 steps (β annealed over 50), 20,000
importance-sampled draws at T = 1; |z| of F, U, S and C against the transfer matrix must stay below 4 (the
run's own errors; the same check on the Ising model is audited over 20 seeds in
benchmarks/records/test_margins.md, ``thermo_van``)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import physgen.lattice as lat
from physgen.data import load
from physgen.lattice import enumeration
from physgen.training import load_run

Q = ["--no-progress"]


@pytest.fixture(scope="module")
def ea_run(tmp_path_factory):
    from physgen.cli import main

    out = tmp_path_factory.mktemp("ea") / "van"
    assert main(["train", "van", "--hamiltonian", "ea", "--size", "4", "--disorder-seed", "2", "--temperatures",
                 "1.0", "--steps", "300", "--set", "train.lr=0.01", "--set", "model.anneal=50", "--out", str(out),
                 *Q]) == 0
    return out


def test_the_run_records_the_instance_and_its_energy_is_the_models(ea_run):
    data = json.loads((ea_run / "data.json").read_text())["attrs"]
    assert data["hamiltonian"] == "ea" and data["disorder_seed"] == 2 and data["disorder"] == "pm"
    run = load_run(ea_run)
    model = lat.build("ea", 4, disorder_seed=2)
    x = torch.from_numpy(enumeration.states(model)[::97].copy())
    np.testing.assert_allclose(run.model.energy(x.reshape(len(x), -1).float()).numpy(), model.energy(x.numpy()))
    summary = json.loads((ea_run / "summary.json").read_text())
    (row,) = summary["free_energy"]
    assert row["method"] == "transfer matrix" and row["exact"] == pytest.approx(
        enumeration.solve(model, [1.0])[0].free_energy) and row["excess"] > -1e-3


def test_thermo_of_the_spin_glass_agrees_with_the_transfer_matrix(ea_run):
    from physgen.training.thermo import thermodynamics

    result = thermodynamics(load_run(ea_run), n=20_000, seed=1, n_boot=100)
    assert result["hamiltonian"]["model"] == "ea" and result["reference"] == "transfer matrix"
    (rec,) = result["temperatures"]
    assert rec["onsager"] is None
    for key in ("free_energy", "energy", "entropy", "specific_heat"):
        est = rec["estimates"][key]
        assert abs(est["value"] - rec["exact"][key]) < 4 * est["error"], key


def test_mcmc_samples_carry_the_target(cli, ea_run, tmp_path):
    code, out, err = cli("sample", ea_run, "--n", "400", "--mcmc", "--out", tmp_path / "s.h5")
    assert code == 0, err
    ds = load(tmp_path / "s.h5")
    assert ds.attrs["target_hamiltonian"] == "ea" and ds.attrs["mcmc_acceptance"] > 0.3
    assert ds.attrs["hamiltonian"] == "ea" and ds.attrs["disorder_seed"] == 2


def test_the_triangular_antiferromagnet_takes_its_own_default_coupling(cli, tmp_path):
    out = tmp_path / "tri"
    code, _, err = cli("train", "van", "--hamiltonian", "triangular", "--size", "3", "--temperatures", "1.5",
                       "--steps", "20", "--out", out, *Q)
    assert code == 0, err
    attrs = json.loads((out / "data.json").read_text())["attrs"]
    assert attrs["hamiltonian"] == "triangular" and attrs["hamiltonian_J"] == -1.0
    import tomllib

    config = tomllib.loads((out / "config.toml").read_text())["model"]
    assert config["anneal"] == 1000.0 and config["hamiltonian"] == "triangular"   # the lattice models' default


def test_hamiltonian_from_a_data_file(cli, tmp_path):
    data = tmp_path / "ea.h5"
    assert cli("data", "lattice", "--model", "ea", "--size", "4", "--disorder-seed", "5", "--temperatures", "1.0",
               "--samples", "8", "--burn-in", "10", "--thin", "50", "--algorithm", "tempering", "--replicas", "2",
               "--out", data)[0] == 0
    out = tmp_path / "van"
    code, _, err = cli("train", "van", "--hamiltonian-from", data, "--temperatures", "1.0", "--steps", "5",
                       "--out", out, *Q)
    assert code == 0, err
    attrs = json.loads((out / "data.json").read_text())["attrs"]
    assert attrs["disorder_seed"] == 5 and attrs["size"] == 4


def test_hamiltonian_from_a_file_without_a_model(cli, tmp_path):
    from physgen.data import Dataset, save

    path = save(Dataset(np.ones((2, 4, 4), np.int8), "spins"), tmp_path / "plain.h5")
    code, _, err = cli("train", "van", "--hamiltonian-from", path, "--temperatures", "1.0", "--out", tmp_path / "r", *Q)
    assert code == 2 and "records no lattice model" in err and not (tmp_path / "r").exists()


@pytest.mark.parametrize("args,message", [
    (["--hamiltonian", "potts", "--size", "4"], "needs q-state outputs"),
    (["--hamiltonian", "ising", "--size", "4", "--disorder-seed", "1"], "ising has no quenched couplings"),
    (["--hamiltonian", "ea", "--size", "4", "--h", "0.5"], "ea has no field h"),
    (["--hamiltonian", "spinice", "--size", "4"], "unknown lattice model 'spinice'"),
])
def test_bad_hamiltonians_are_one_line(cli, tmp_path, args, message):
    out = tmp_path / "run"
    code, _, err = cli("train", "van", *args, "--temperatures", "1.0", "--out", out, *Q)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()
