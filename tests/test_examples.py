"""The gallery (examples/*.py) runs in --quick mode and reaches the quality its quick mode can reach.

Each example runs as a subprocess (as a user would run it) with a temporary ``--out``; the test checks the
PNG figures it lists and the numbers in its ``results.json``.  Every bound is a physics or quality figure
measured on a quick run (seed 0, ``OMP_NUM_THREADS=1``; the measured value is in the comment), with margin
for other CPUs and library versions.  The two classical examples, the quick GAN (≈ 10 s), the DBN and the SGAN
(≈ 10-20 s each) are in the default suite; the other ones that train models are ``slow``.
"""
from __future__ import annotations

import math

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
    assert r["pc1_fraction"] > 0.45                                 # PC1 dominates (0.513; course ~0.52)
    assert r["pc1_magnetization_correlation"] > 0.999               # ... and is the magnetization (0.999997)
    m = r["kmeans_ising_cluster_magnetization"]
    assert m[0] > 0.85 and abs(m[1]) < 0.1 and m[2] < -0.85         # k = 3: m = +1, 0, -1 (0.93, 0.02, -0.92)
    assert r["kmeans_ring_ari_k8"] > 0.95                           # (1.0)
    assert r["single_linkage_moons_ari"] > 0.95 and r["complete_linkage_moons_ari"] < 0.7   # (1.0, 0.42)
    assert max(r["single_linkage_ising_sizes"]) > 0.9 * sum(r["single_linkage_ising_sizes"])  # one giant cluster
    assert r["forest_noncritical_accuracy"] > 0.95 and r["forest_oob_score"] > 0.9   # (1.0, 0.99)
    assert r["bagging_prediction_variance"] < 0.25 * r["tree_prediction_variance"]  # (0.027 vs 0.25)
    for row in r["abs_m_bootstrap"].values():                       # nested intervals around the estimate
        lo95, hi95 = row["ci95"]
        lo68, hi68 = row["ci68"]
        assert lo95 <= lo68 <= row["value"] + 1e-12 and row["value"] - 1e-12 <= hi68 <= hi95


def test_ising_thermodynamics(tmp_path):
    r = quick("ising_thermodynamics", tmp_path)
    assert r["energy_max_abs_deviation_low_T"] < 0.025              # Onsager away from Tc, L = 16 (0.016)
    assert r["exact_L4_max_pull"] < 4.0                              # Metropolis vs exact enumeration (1.98)
    assert r["exact_L4_abs_m_chi2_pvalue"] > 1e-3                    # (0.64)
    assert 2.1 <= r["specific_heat_peak_T"] <= 2.5                  # (2.27)
    for T, (mc, exact) in r["abs_m_vs_onsager"].items():            # spontaneous |m| below Tc (L = 16)
        if float(T) <= 2.0:
            assert abs(mc - exact) < 0.02, (T, mc, exact)            # (0.0002 at 1.5, 0.007 at 2.0)
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
    base = r["independent_pixels_test_log_likelihood_nats"]                 # -24.51
    assert -21.0 < r["test_log_likelihood_nats"] < 0 and r["test_log_likelihood_nats"] > base + 3.5  # (-19.12)
    assert abs(r["train_log_likelihood_nats"] - r["test_log_likelihood_nats"]) < 1.0   # no overfit (0.11)
    assert r["ais"]["log_z_error"] < 0.3                                    # (0.072)
    real, fake = r["mean_pixel_real_vs_generated"]
    assert abs(real - fake) < 0.03                                          # (0.293 vs 0.286)


@pytest.mark.slow
def test_rbm_ising(tmp_path):
    r = quick("rbm_ising", tmp_path)
    kl = r["exact_kl_by_temperature"]                                # nats, 1 / 4 / 16 hidden units
    for row in kl.values():
        assert row[-1] < row[0] and min(row) >= 0                    # more hidden units, smaller KL
    assert kl["1.5"][-1] < 0.08 and kl["3.5"][-1] < 0.2 and kl["2.2692"][-1] < 0.45   # (0.049, 0.131, 0.347)
    assert kl["3.5"][0] > 3 * kl["3.5"][-1]                          # disordered phase needs units (0.68 vs 0.13)
    assert r["abs_m_abs_deviation_max"] < 0.12                       # L = 8 RBM samples vs MC (0.081)
    assert r["energy_abs_deviation_max"] < 0.45                      # (0.33: quick RBMs miss short-range order)


@pytest.mark.slow
def test_vae_latent(tmp_path):
    r = quick("vae_latent", tmp_path)
    assert 0 <= r["digits_iwae_minus_elbo"] < 2                        # IWAE_k >= ELBO with shared draws (0.28)
    assert r["digits_test_elbo_nats"] > -22.5                          # held-out ELBO, 2-D latent (-20.64)
    assert r["ising_latent_magnetization_abs_corr"] > 0.95             # a latent coordinate is m (0.991)
    radius = list(r["ising_latent_radius_by_T"].values())             # 1.96 ... 0.65 over 6 T, monotone
    assert np.all(np.diff(radius) < 0) and radius[0] > 2 * radius[-1]  # ordered states far from the origin


def test_vanilla_gan(tmp_path):
    r = quick("vanilla_gan", tmp_path)
    assert r["sample_epochs"] == [1, 2, 4, 10]
    h = r["last_50_iterations"]                                       # D(x) 0.68, D(G(z)) 0.42: no winner yet
    assert 0.3 < h["d_fake"] < h["d_real"] < 0.85 and 0.5 < h["g_loss"] < 1.6   # (G loss 1.05)
    assert r["diversity_ratio_by_epoch"]["10"] > 0.1                  # samples differ (0.18 of the data's)
    floor = r["c2st_auc_real_vs_real_floor"]                          # real vs real is indistinguishable
    assert abs(floor["value"] - 0.5) < 3 * floor["error"] + 0.02      # (0.544 ± 0.037)


@pytest.mark.slow
def test_thesis_dcgan_ttbar(tmp_path):
    """The example end to end at 20 steps: the events it generates and keeps, small real-vs-real floors of the
    per-feature KL and the classifier AUC, and finite judged values."""
    pytest.importorskip("pythia8mc")
    r = quick("thesis_dcgan_ttbar", tmp_path)                        # 10⁴ Pythia events, made into OUT/data
    assert r["training"]["n_events"] == 10000 and r["training"]["steps_done"] == 20
    assert r["training"]["events"] == "physgen data pythia, seed 1"
    assert (tmp_path / "thesis_dcgan_ttbar" / "data" / "ttbar-pythia-n10000-seed1.h5").is_file()   # kept for reruns
    assert set(r["kl_per_feature"]) == {"s", "t", "y"}
    assert all(0 <= v["floor"] < 0.05 for v in r["kl_per_feature"].values())   # (0.008-0.021)
    assert r["c2st_auc"]["floor"] < 0.56                                        # (0.489)
    # 20 steps run the example end to end (data, training, sampling, judging), not a fit: the judged values are
    # numbers with their floors (the metrics themselves: tests/test_metrics_*); the quality of a full run is
    # docs/gan.md's benchmark
    assert all(math.isfinite(r[k]["value"]) for k in ("kl", "w1", "c2st_auc")) and r["w1"]["floor"] > 0


@pytest.mark.slow
def test_ebm_langevin(tmp_path):
    r = quick("ebm_langevin", tmp_path)
    e = r["mean_energy"]
    assert e["data"] + 1.5 < e["perturbed"] < e["noise"] - 5           # (0.17 < 2.8 < 14.3)
    auroc = r["ood_auroc_energy"]
    assert auroc["noise"] > 0.8 and auroc["two moons"] > 0.8 and auroc["perturbed"] > 0.6   # (0.88, 0.91, 0.66)
    assert r["landscape_spearman_vs_exact_log_density"] > 0.85        # learned -E ranks like log p (0.92)
    start, end = r["chains_mean_exact_log_density_start_end"]
    assert end > -6 and end > start + 5                                # chains reach the ring (-12.9 -> -3.9)


@pytest.mark.slow
def test_diffusion(tmp_path):
    r = quick("diffusion", tmp_path)
    assert r["w1_1d_generated_vs_real"] < 2 * r["w1_1d_real_vs_real_floor"]   # 1-D: at the floor (0.018 vs 0.033)
    gen, real = r["mode_weight_right_generated_vs_real"]
    assert abs(gen - real) < 0.04                                      # (0.591 vs 0.599)
    assert r["ring_mmd_generated"] < 2 * r["ring_mmd_real_floor"]      # (0.030 vs 0.023)
    near, near_real = r["ring_fraction_within_3_sigma_of_a_mode_generated_vs_real"]
    assert near > 0.25                                                 # (0.36 vs 0.99: quick ring is blurred)
    ising = r["ising_generated_vs_mc"]                                 # conditioned on T: ordered at 1.8 only
    assert ising["1.8"]["abs_m"][0] > ising["3"]["abs_m"][0] + 0.1     # (0.68 vs 0.46)
    assert ising["1.8"]["energy"][0] < ising["3"]["energy"][0] - 0.15  # (-1.12 vs -0.78)


def test_dbn_digits(tmp_path):
    r = quick("dbn_digits", tmp_path)                                 # 1,500 updates per layer
    base = r["independent_pixels_test_log_likelihood_nats"]             # -24.51
    rbm, dbn = r["rbm_test_log_likelihood_nats"], r["dbn_test_lower_bound_nats"]
    assert -21.5 < rbm < 0 and rbm > base + 3.0                         # RBM log p, AIS log Z (-19.70)
    assert dbn > rbm - 1.0 and dbn > base + 3.0                         # DBN bound beside it (-19.45, +0.25)
    assert max(r["rbm_test_log_likelihood_error"], r["dbn_test_lower_bound_error"]) < 0.4   # (0.056, 0.15)
    real, *fakes = r["mean_pixel_real_rbm_dbn"]
    assert all(abs(f - real) < 0.03 for f in fakes)                     # (0.293 vs 0.286, 0.291)


def test_sgan_digits(tmp_path):
    r = quick("sgan_digits", tmp_path)                                # 500 steps, 100 labelled digits
    assert r["n_labelled"] == 100 and r["training"]["steps"] == 500
    sgan, sup = r["sgan_accuracy"]["value"], r["supervised_accuracy"]["value"]
    assert sgan > 0.86 and sup > 0.78 and r["random_forest_accuracy"]["value"] > 0.75   # (0.920, 0.898, 0.871)
    # unlabelled digits help: the SGAN must not fall behind the supervised baseline on the same labels
    assert sgan > sup - 0.01
    cm = np.asarray(r["sgan_confusion_matrix"])
    assert cm.sum() == r["sgan_accuracy"]["n"] and np.trace(cm) / cm.sum() == pytest.approx(sgan)


@pytest.mark.slow
def test_vmc_quantum_dot(tmp_path):
    r = quick("vmc_quantum_dot", tmp_path)                            # 50 iterations of 2,000 samples (≈ 15 s CPU)
    for n, shells in ((6, 10.0), (12, 28.0)):                          # ω Σ 2(n+1)², exact with zero variance
        free = r[f"noninteracting_n{n}"]
        assert free["energy"] == pytest.approx(shells, abs=1e-10) and free["variance"] < 1e-20
    c = r["coulomb_n6"]
    assert c["settings"]["iterations"] == 50 and c["settings"]["samples"] == 2000
    assert c["reference"] == 20.15932                                  # DMC, Pedersen Lohne et al. 2011
    assert c["energy"] > c["reference"] - 3 * c["error"]               # variational (20.20692 ± 0.003)
    assert 0 < c["relative_deviation"] < 0.01 and c["variance"] < 0.5  # (+0.24 %, variance 0.16)
    assert r["noninteracting_n6_density_l1"] < 0.1                    # the exact density, up to noise (0.036)
    assert r["coulomb_n6_density_l1"] > 0.2                           # the repulsion spreads it (0.43)
    assert (tmp_path / "vmc_quantum_dot" / "coulomb" / "report.html").exists()


@pytest.mark.slow
def test_exact_samples(tmp_path):
    """The chain's 15 z (5 observables × 3 temperatures) against an independent Wolff run stay within 4 (the
    largest |z| of 15 honest standard normals exceeds 4 with probability 10⁻³; measured 1.5 at seed 0), while
    the plain RBM samples miss by more (9.0: a bias, not noise)."""
    r = quick("exact_samples", tmp_path)
    assert r["max_abs_z_mcmc"] < 4 and r["max_abs_z_plain"] > r["max_abs_z_mcmc"]
    assert all(r[f"mcmc_acceptance_T{t}"] > 0.3 for t in ("1.8", "2.269", "3"))   # (0.67-0.80)
