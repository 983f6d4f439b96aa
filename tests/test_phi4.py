"""The φ⁴ lattice field: its action, HMC against the free theory's exact solution, the field observables, the
data file and the refusals."""
from __future__ import annotations

import math

import h5py
import numpy as np
import pytest

from physgen.lattice import registry
from physgen.lattice.field_observables import field_observables
from physgen.lattice.phi4 import free_two_point
from physgen.lattice.simulate import simulate


def direct_action(f: np.ndarray, m2: float, lam: float) -> float:
    """S(φ) = Σ_x [Σ_μ ½(φ_{x+μ} − φ_x)² + ½ m² φ_x² + λ φ_x⁴], written out for one field ``(L, L)``."""
    kinetic = sum(0.5 * (np.roll(f, -1, axis) - f) ** 2 for axis in (0, 1))
    return float((kinetic + 0.5 * m2 * f ** 2 + lam * f ** 4).sum())


def test_action_and_gradient():
    """The lattice model's energy is the action as written; its gradient matches central differences."""
    model = registry.build("phi4", 5, params={"m2": -1.5, "lam": 0.7})
    x = np.random.default_rng(0).standard_normal((3, 5, 5))
    assert model.energy(x) == pytest.approx([direct_action(f, -1.5, 0.7) for f in x], rel=1e-12)
    step = np.zeros_like(x)
    step[1, 2, 4] = 1e-6
    numeric = (model.energy(x + step) - model.energy(x - step))[1] / 2e-6
    assert model.gradient(x)[1, 2, 4] == pytest.approx(numeric, rel=1e-6)
    assert model.energy(-x) == pytest.approx(model.energy(x))   # φ -> −φ


def test_free_two_point_is_the_inverse_lattice_laplacian():
    """(−Δ + m²) G = δ on the torus, so Σ_x G(x) = 1/m²."""
    L, m2 = 6, 0.8
    G = free_two_point(L, m2)
    lap = 4 * G - sum(np.roll(G, s, a) for s in (1, -1) for a in (0, 1)) + m2 * G
    delta = np.zeros((L, L))
    delta[0, 0] = 1
    np.testing.assert_allclose(lap, delta, atol=1e-12)
    assert G.sum() == pytest.approx(1 / m2)


@pytest.fixture(scope="module")
def free_field():
    model = registry.build("phi4", 6, params={"m2": 1.0, "lam": 0.0})
    return simulate(model, [1.0], 3200, chains=32, burn_in=200, thin=10, algorithm="hmc", seed=3)


def test_hmc_matches_the_free_theory(free_field):
    """HMC of the free field (L = 6, m² = 1) against the exact G(x), χ₂ = 1/m² and the pole mass
    arccosh(1 + m²/2) of the lattice dispersion, with blocked jackknife errors (20 blocks).  Over the 36 correlated
    entries of G the mean z² was 1.8, 1.5 and 0.45 at seeds 3–5 (bound 3), the largest |z| 3.0.  Power: judged
    against the m² = 1.1 values instead, the same runs give a mean z² of 8.0–9.8 for G and put χ₂ 3.3–5.1 errors
    away; the pole mass is the least sensitive (0.7–1.6 errors)."""
    o = field_observables(free_field.samples)
    z = (o["two_point"]["value"] - free_two_point(6, 1.0)) / o["two_point"]["error"]
    assert (z ** 2).mean() < 3.0 and np.abs(z).max() < 4.0, z
    for key, exact in (("chi2", 1.0), ("pole_mass", math.acosh(1.5))):
        assert abs(o[key]["value"] - exact) < 3 * o[key]["error"], (key, o[key], exact)
    assert abs(o["binder"]["value"]) < 3 * o["binder"]["error"]   # a Gaussian M
    assert 0.6 < free_field.attrs["acceptance"] < 0.95


def test_data_lattice_phi4_writes_a_field_file(cli, tmp_path):
    out = tmp_path / "phi4.h5"
    code, stdout, err = cli("data", "lattice", "--model", "phi4", "--size", "4", "--param", "lam=0.5",
                            "--samples", "40", "--burn-in", "40", "--thin", "2", "--out", out)
    assert code == 0 and "hmc acceptance" in stdout, err
    with h5py.File(out) as f:
        assert f.attrs["kind"] == "field" and f["samples"].dtype == np.float32 and f["samples"].shape == (40, 4, 4)
        assert f.attrs["hamiltonian"] == "phi4" and f.attrs["hamiltonian_lam"] == 0.5
        assert f.attrs["hamiltonian_m2"] == -4.0 and f.attrs["hmc_leapfrog_steps"] >= 1
        assert list(f.attrs["temperatures"]) == [1.0] and len(f.attrs["tau_int_abs_magnetization"]) == 1


@pytest.mark.parametrize("args, message", [
    (["--param", "lam=-1"], "must be >= 0"),
    (["--param", "m2=nan"], "must be finite"),
    (["--algorithm", "wolff"], "wolff does not apply to phi4 (it has hmc)"),
    (["--step-size", "0"], "step size must be finite and > 0"),
    (["--trajectory-length", "-1"], "trajectory length must be finite and > 0"),
    (["--param", "lam=0", "--param", "m2=-1"], "needs m2 > 0"),
    (["--boundary", "open"], "defined on the torus"),
])
def test_phi4_bad_input_is_one_line(cli, tmp_path, args, message):
    out = tmp_path / "x.h5"
    code, _, err = cli("data", "lattice", "--model", "phi4", "--size", "4", "--samples", "5", *args, "--out", out)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_field_files_are_refused_where_they_do_not_fit(cli, tmp_path):
    data = tmp_path / "f.h5"
    assert cli("data", "lattice", "--model", "phi4", "--size", "4", "--samples", "40", "--burn-in", "4",
               "--out", data)[0] == 0
    for args, message in ((["train", "rbm", "--data", data, "--out", tmp_path / "r"], "cannot model data of kind 'field'"),
                          (["train", "van", "--hamiltonian", "phi4", "--size", "4", "--temperatures", "1", "--out",
                            tmp_path / "v"], "cannot learn phi4"),
                          (["exact", "--model", "phi4", "--size", "4", "--temperatures", "1", "--out", tmp_path / "e"],
                           "continuous field")):
        code, _, err = cli(*args)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_albergo_normalisation_maps_by_a_field_rescaling():
    """Σ_x [Σ_μ (ϕ_{x+μ} − ϕ_x)² + m² ϕ² + λ_A ϕ⁴] at ϕ = φ/√2 equals physgen's action at λ = λ_A/4."""
    phi = np.random.default_rng(1).standard_normal((8, 8))
    f = phi / np.sqrt(2)
    albergo = float((sum((np.roll(f, -1, a) - f) ** 2 for a in (0, 1)) - 4.0 * f ** 2 + 6.008 * f ** 4).sum())
    assert registry.build("phi4", 8).energy(phi[None])[0] == pytest.approx(albergo, rel=1e-12)


def test_evaluate_judges_fields_by_their_observables(cli, tmp_path):
    """Two HMC files of one ensemble (L = 6) agree; a file at λ = 1.6 instead of 1.502 does not.  χ²/dof of
    (⟨|M|⟩, χ₂, U₄, m_p): 0.20, 0.40, 0.26 for the same ensemble at seed pairs (1, 2), (3, 4), (5, 6), against
    14.1, 17.5, 12.4 for the other λ; the real-half floors 0.3–1.6."""
    files = {}
    for name, lam, seed in (("a", 1.502, 1), ("b", 1.502, 2), ("c", 1.6, 2)):
        files[name] = tmp_path / f"{name}.h5"
        assert cli("data", "lattice", "--model", "phi4", "--size", "6", "--param", f"lam={lam}", "--samples", "1000",
                   "--seed", str(seed), "--out", files[name])[0] == 0
    values = {}
    for fake in ("b", "c"):
        out = tmp_path / f"ev_{fake}"
        code, _, err = cli("evaluate", "--real", files["a"], "--fake", files[fake], "--metrics", "observables",
                           "--out", out)
        assert code == 0, err
        import json

        result = json.loads((out / "metrics.json").read_text())["observables"]
        assert set(result["by_temperature"]["1"]["observables"]) == {"abs_m", "chi2", "binder", "pole_mass"}
        values[fake] = result["value"]
        assert "Field observables" in (out / "report.html").read_text()
    assert values["b"] < 3 < 8 < values["c"], values
