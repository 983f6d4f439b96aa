"""The gallery (examples/*.py) runs in --quick mode and its numbers are physically sane.

Each example runs as a subprocess (as a user would run it) with a temporary ``--out``; the test checks the
PNG figures it lists and the numbers in its ``results.json``.  The two classical examples are in the default
suite; the ones that train models are ``slow``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def run_example(name: str, out: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), "--out", str(out), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def quick(name: str, tmp_path: Path, *args: str) -> dict:
    """Run ``name --quick``; assert success and that every listed figure is a non-empty PNG."""
    out = tmp_path / name
    proc = run_example(name, out, "--quick", *args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert results["example"] == name and results["quick"] is True
    assert results["figures"], "no figures"
    for fig in results["figures"]:
        data = (out / fig).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000, fig
    return results


def test_every_example_has_the_shared_options():
    names = sorted(p.stem for p in EXAMPLES.glob("*.py") if not p.stem.startswith("_"))
    assert len(names) >= 9, names
    for name in names:
        proc = run_example(name, Path("unused"), "--help", timeout=120)
        assert proc.returncode == 0, (name, proc.stderr)
        assert all(opt in proc.stdout for opt in ("--out", "--quick", "--seed")), name


def test_rojo_unsupervised(tmp_path):
    r = quick("rojo_unsupervised", tmp_path)
    assert r["pc1_fraction"] > 0.4                                  # PC1 dominates (course: ~0.52)
    assert r["pc1_magnetization_correlation"] > 0.95                # ... and is the magnetization
    m = r["kmeans_ising_cluster_magnetization"]
    assert m[0] > 0.8 and abs(m[1]) < 0.2 and m[2] < -0.8           # k = 3 separates m = +1, 0, -1
    assert r["kmeans_ring_ari_k8"] > 0.9
    assert r["single_linkage_moons_ari"] > 0.9 > r["complete_linkage_moons_ari"]   # chaining follows the moons
    assert max(r["single_linkage_ising_sizes"]) > 0.9 * sum(r["single_linkage_ising_sizes"])  # one giant cluster
    assert r["forest_noncritical_accuracy"] > 0.95
    assert r["bagging_prediction_variance"] < 0.5 * r["tree_prediction_variance"]
    for row in r["abs_m_bootstrap"].values():                       # nested intervals around the estimate
        lo95, hi95 = row["ci95"]
        lo68, hi68 = row["ci68"]
        assert lo95 <= lo68 <= row["value"] + 1e-12 and row["value"] - 1e-12 <= hi68 <= hi95


def test_ising_thermodynamics(tmp_path):
    r = quick("ising_thermodynamics", tmp_path)
    assert r["energy_max_abs_deviation_low_T"] < 0.02               # Onsager away from Tc (L = 16)
    assert r["exact_L4_max_pull"] < 4.0                              # Metropolis vs exact enumeration
    assert r["exact_L4_abs_m_chi2_pvalue"] > 1e-3
    assert 2.1 <= r["specific_heat_peak_T"] <= 2.5
    taus = r["tau_int_at_Tc"]
    assert all(m > w for m, w in zip(taus["metropolis"]["abs_m"], taus["wolff"]["abs_m"]))
    assert taus["metropolis"]["abs_m"][-1] > taus["metropolis"]["abs_m"][0]   # critical slowing down with L


def test_thesis_example_skips_without_data_and_refuses_bad_data(tmp_path):
    proc = run_example("thesis_dcgan_ttbar", tmp_path / "o", "--quick", "--data", str(tmp_path / "none.txt"))
    assert proc.returncode == 0 and "skipped" in proc.stdout and not (tmp_path / "o").exists()
    bad = tmp_path / "bad.txt"
    bad.write_text("a b c\n1 2 x\n")
    proc = run_example("thesis_dcgan_ttbar", tmp_path / "o", "--quick", "--data", str(bad))
    assert proc.returncode == 2 and "--data" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "o").exists()


@pytest.mark.slow
def test_rbm_digits(tmp_path):
    r = quick("rbm_digits", tmp_path)
    assert r["test_log_likelihood_nats"] > r["independent_pixels_test_log_likelihood_nats"]
    assert r["test_log_likelihood_nats"] < 0 and r["ais"]["log_z_error"] < 1.0
    real, fake = r["mean_pixel_real_vs_generated"]
    assert abs(real - fake) < 0.1


@pytest.mark.slow
def test_rbm_ising(tmp_path):
    r = quick("rbm_ising", tmp_path)
    for kl in r["exact_kl_by_temperature"].values():
        assert kl[-1] < kl[0] and min(kl) >= 0                       # more hidden units, smaller KL
    assert r["abs_m_abs_deviation_max"] < 0.1


@pytest.mark.slow
def test_vae_latent(tmp_path):
    r = quick("vae_latent", tmp_path)
    assert r["digits_iwae_minus_elbo"] >= 0                            # IWAE_k >= ELBO with shared draws
    assert r["digits_test_elbo_nats"] > -35
    assert r["ising_latent_magnetization_abs_corr"] > 0.8
    radius = list(r["ising_latent_radius_by_T"].values())
    assert radius[0] > radius[-1]                                     # ordered states far from the origin


@pytest.mark.slow
def test_vanilla_gan(tmp_path):
    r = quick("vanilla_gan", tmp_path)
    assert r["sample_epochs"] == [1, 2, 4, 10]
    h = r["last_50_iterations"]
    assert 0 < h["d_fake"] < h["d_real"] < 1 and np.isfinite(h["g_loss"])
    assert r["c2st_auc_real_vs_real_floor"]["value"] < 0.7


@pytest.mark.slow
def test_thesis_dcgan_ttbar(tmp_path, ttbar_path):
    r = quick("thesis_dcgan_ttbar", tmp_path, "--data", str(ttbar_path))
    assert set(r["kl_per_feature"]) == {"s", "t", "y"}
    assert all(0 <= v["floor"] < 0.05 for v in r["kl_per_feature"].values())
    assert r["c2st_auc"]["floor"] < 0.6


@pytest.mark.slow
def test_ebm_langevin(tmp_path):
    r = quick("ebm_langevin", tmp_path)
    e = r["mean_energy"]
    assert e["data"] < e["perturbed"] < e["noise"]
    assert r["ood_auroc_energy"]["noise"] > 0.7
    assert r["landscape_spearman_vs_exact_log_density"] > 0.5
    start, end = r["chains_mean_exact_log_density_start_end"]
    assert end > start                                                 # chains flow towards the modes


@pytest.mark.slow
def test_diffusion(tmp_path):
    r = quick("diffusion", tmp_path)
    assert r["w1_1d_generated_vs_real"] < 0.5
    gen, real = r["mode_weight_right_generated_vs_real"]
    assert abs(gen - real) < 0.15
    assert r["ring_mmd_generated"] < 5 * r["ring_mmd_real_floor"] + 0.05
    for row in r["ising_generated_vs_mc"].values():
        assert all(np.isfinite(v) for pair in row.values() for v in pair)
