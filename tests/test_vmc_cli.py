"""``physgen vmc``: outputs of a short run, progress lines, and one-line refusals of bad input."""
from __future__ import annotations

import json

import numpy as np
import pytest

QUICK = ["--iterations", "3", "--samples", "400", "--walkers", "50", "--final-samples", "1000"]


def test_vmc_writes_json_report_and_params(cli, tmp_path):
    from physgen.quantum.params import load_params

    out = tmp_path / "run"
    code, stdout, err = cli("vmc", "--particles", "2", "--dim", "2", "--interaction", "coulomb", "--jastrow", "pade",
                            "--hidden", "2", *QUICK, "--out", out)
    assert code == 0, err
    assert stdout.count("iteration ") == 3 and "final: E =" in stdout
    data = json.loads((out / "vmc.json").read_text())
    assert len(data["iterations"]) == 3 and data["exact_energy"]["value"] == 3.0
    fin = data["final"]
    assert 2.9 < fin["energy"] < 3.3 and fin["error"] > 0 and 0 < fin["acceptance"] <= 1
    assert data["settings"]["seed"] == 0 and data["one_body_density"]["coordinate"] == "r"
    html = (out / "report.html").read_text()
    assert "Energy versus iteration" in html and "One-body density" in html and "data:image/png" in html
    wf = load_params(out / "params.safetensors")
    assert wf.W.shape == (4, 2) and wf.jastrow is not None and wf.jastrow.alpha == 1.0
    code, _, err = cli("vmc", "--particles", "2", "--dim", "2", *QUICK, "--out", out)
    assert code == 2 and "--overwrite" in err
    code, _, err = cli("vmc", "--particles", "1", "--dim", "1", *QUICK, "--quiet", "--out", out, "--overwrite")
    assert code == 0, err
    assert json.loads((out / "vmc.json").read_text())["settings"]["particles"] == 1


def test_vmc_is_reproducible(cli, tmp_path):
    energies = []
    for name in ("a", "b"):
        code, _, err = cli("vmc", "--particles", "1", "--dim", "2", "--sampler", "metropolis", *QUICK, "--quiet",
                           "--seed", "3", "--out", tmp_path / name)
        assert code == 0, err
        energies.append(json.loads((tmp_path / name / "vmc.json").read_text())["final"]["energy"])
    assert energies[0] == energies[1] and np.isfinite(energies[0])


@pytest.mark.parametrize("args, flag", [
    (["--particles", "0", "--dim", "2"], "--particles"), (["--particles", "1", "--dim", "0"], "--dim"),
    (["--particles", "1", "--dim", "1", "--omega", "0"], "--omega"),
    (["--particles", "1", "--dim", "1", "--omega", "-2"], "--omega"),
    (["--particles", "1", "--dim", "1", "--step", "0"], "--step"),
    (["--particles", "1", "--dim", "1", "--step", "-0.1"], "--step"),
    (["--particles", "1", "--dim", "1", "--hidden", "0"], "--hidden"),
    (["--particles", "1", "--dim", "1", "--iterations", "0"], "--iterations"),
    (["--particles", "1", "--dim", "1", "--lr", "0"], "--lr"),
    (["--particles", "2", "--dim", "1", "--interaction", "coulomb"], "--interaction"),
    (["--particles", "2", "--dim", "1", "--jastrow", "pade"], "--jastrow"),
    (["--particles", "1", "--dim", "1", "--samples", "10"], "--samples"),
    (["--particles", "x", "--dim", "1"], "--particles"),
    (["--particles", "1", "--dim", "1", "--omega", "nan"], "--omega")])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(cli, tmp_path, args, flag):
    out = tmp_path / "never"
    code, stdout, err = cli("vmc", *args, "--out", out)
    assert code == 2 and flag in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()


def test_coulomb_turns_the_cusp_factor_on_by_default(cli, tmp_path):
    """With --interaction coulomb the default ansatz carries the Padé–Jastrow cusp; --jastrow none removes it;
    without interaction the default stays the plain RBM (which is exact there)."""
    from physgen.quantum.vmc import VMCConfig

    assert VMCConfig(particles=2, dim=2, interaction="coulomb").jastrow == "pade"
    assert VMCConfig(particles=2, dim=2).jastrow == "none"
    assert VMCConfig(particles=2, dim=2, interaction="coulomb", jastrow="none").jastrow == "none"
    for extra, beta in (([], True), (["--jastrow", "none"], False)):
        out = tmp_path / str(beta)
        code, _, err = cli("vmc", "--particles", "2", "--dim", "2", "--interaction", "coulomb", *extra, *QUICK,
                           "--quiet", "--out", out)
        assert code == 0, err
        data = json.loads((out / "vmc.json").read_text())
        assert (data["wavefunction"]["jastrow_beta"] is not None) == beta
        assert data["settings"]["jastrow"] == ("pade" if beta else "none")
