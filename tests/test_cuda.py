"""Every CUDA path on the device: the Ising engine against exact enumeration, RBM and DDPM training, resume and
sampling, streamed training, metrics, and DDP over NCCL (two GPUs).  Skipped without CUDA (``-m cuda`` selects
them; ``python benchmarks/gpu.py`` measures the speed of the same paths).

The Ising histogram tests use the decision rule of tests/test_ising_engine.py (Fisher-combined p > 1e-3 and every
p > 1e-4 for energy and |m| histograms, chi-square and largest-bin statistics); its measured power at this size
(``python benchmarks/power.py ising``): a 2% error in ⟨e⟩ is caught 200/200.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import trainer_toy  # noqa: F401  (registers toy-gauss)
from safetensors.torch import load_file
from test_ising_engine import _assert_consistent, _pvalues_of_samples

from physgen.data import Dataset, load, save
from physgen.data.ising import CheckerboardMetropolis, simulate
from physgen.data.ising.metropolis import RandomBits
from physgen.physics import observables as ob
from physgen.metrics.mmd import as_tensor, mmd, mmd2_unbiased
from physgen.physics.exact import ExactIsing
from physgen.training.checkpoint import latest
from physgen.training.distributed import resolve_device

DEVICE = "cuda"
KIND = torch.device(DEVICE).type
pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]
HERE = Path(__file__).resolve().parent
Q = ["--no-progress", "--device", DEVICE]


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(str(latest(run / "checkpoints").with_suffix(".safetensors")))


def _same_weights(a: Path, b: Path) -> None:
    wa, wb = _weights(a), _weights(b)
    assert set(wa) == set(wb)
    assert all(torch.equal(wa[k], wb[k]) for k in wa if not k.startswith("rng.")), \
        [k for k in wa if not torch.equal(wa[k], wb[k])]


# --------------------------------------------------------------------------------------------- Ising engine
@pytest.mark.parametrize("J,h,temperatures", [(1.0, 0.0, [1.5, 2.269, 3.5]),     # the 40-bit fast path
                                              (1.0, 0.3, [2.0, 3.0]),            # the threshold-table path
                                              (-1.0, 0.5, [1.5, 2.5])])          # antiferromagnet in a field
def test_metropolis_on_the_device_matches_exact_enumeration(J, h, temperatures):
    pvalues: dict[str, list[float]] = {}
    for rep in range(2):
        ds = simulate(4, temperatures, 2000, chains=1000, burn_in=100, thin=25, J=J, h=h, seed=100 + rep,
                      start="random", device=DEVICE)
        assert ds.attrs["device"].startswith(KIND)
        for T in temperatures:
            s = ds.samples[ds.conditions["temperature"] == T]
            for name, p in _pvalues_of_samples(s, ExactIsing(4, T, J, h)).items():
                pvalues.setdefault(name, []).append(p)
    _assert_consistent(pvalues)


def test_device_random_bits_are_uniform():
    """Chi-square of 2^22 device bytes over 256 values, and of the int32 words' top byte (p > 1e-4)."""
    import scipy.stats

    bits = RandomBits(7, torch.device(DEVICE))
    b = bits.uint8((1 << 22,)).cpu().numpy()
    assert scipy.stats.chisquare(np.bincount(b, minlength=256)).pvalue > 1e-4
    w = bits.int32((1 << 20,)).cpu().numpy().view(np.uint32) >> 24
    assert scipy.stats.chisquare(np.bincount(w, minlength=256)).pvalue > 1e-4


@pytest.mark.parametrize("h", [0.0, 0.05])
def test_device_deterministic_limits(h):
    cold = CheckerboardMetropolis(torch.ones(4, 8, 8, dtype=torch.int8, device=DEVICE), np.full(4, 10.0), h=h)
    cold.sweep(20)
    assert bool((cold.spins() == 1).all()) and cold.spins().device.type == KIND
    hot = CheckerboardMetropolis(torch.ones(2, 6, 6, dtype=torch.int8, device=DEVICE), np.zeros(2))
    hot.sweep(1)
    assert bool((hot.spins() == -1).all())


def test_device_runs_are_reproducible_and_observables_agree_with_the_cpu():
    """Same seed, same device samples; the mean energies of the device and the CPU engine at L = 16, T = 2.269
    (512 samples from 256 chains each) agree within 4 standard errors.  Power of this comparison (measured with
    the CPU engine on both sides, 20 repetitions): a 1.4% temperature error (2.30) 5/20, 2.7% (2.33) 20/20; no
    error 0/20."""
    a = simulate(16, [2.269], 512, chains=256, burn_in=300, thin=20, seed=3, device=DEVICE)
    b = simulate(16, [2.269], 512, chains=256, burn_in=300, thin=20, seed=3, device=DEVICE)
    assert np.array_equal(a.samples, b.samples)
    c = simulate(16, [2.269], 512, chains=256, burn_in=300, thin=20, seed=4, device="cpu")
    ea, ec = ob.energy_per_spin(a.samples), ob.energy_per_spin(c.samples)
    chain_means = [e.reshape(-1, 256).mean(0) for e in (ea, ec)]     # rows are time-major over the 256 chains
    err = np.hypot(*(m.std(ddof=1) / np.sqrt(len(m)) for m in chain_means))
    assert abs(ea.mean() - ec.mean()) < 4 * err


# --------------------------------------------------------------------------------------------- training, sampling
@pytest.fixture
def lattices(tmp_path):
    ds = simulate(4, [2.269], 4000, chains=200, burn_in=100, thin=5, seed=1, device=DEVICE)
    return save(ds, tmp_path / "ising.h5")


@pytest.fixture
def gauss2d(tmp_path):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(-2, 0.5, (1500, 2)), rng.normal(2, 0.5, (1500, 2))]).astype(np.float32)
    return save(Dataset(x, "continuous"), tmp_path / "g.h5")


def test_auto_device_is_the_gpu():
    assert resolve_device("auto").type == KIND


def test_rbm_pcd_trains_resumes_exactly_and_samples_on_the_device(cli, tmp_path, lattices):
    """PCD on the device: an interrupted run resumed to the same step equals the uninterrupted one bit for bit
    (same device); Gibbs samples of the trained model drawn on the device and on the CPU have the same energy
    distribution (two-sample chi-square on the L = 4 energy levels, 4,000 each, p > 1e-4).  Power (measured on
    the CPU, 20 repetitions, the trained model against itself with every parameter scaled by 0.95, i.e. a 5%
    error in the sampler's inverse temperature): 20/20; unscaled: 0/20."""
    import scipy.stats

    sets = ["--set", "model.filters=0", "--set", "model.n_hidden=16", "--set", "model.method=pcd",
            "--set", "data.val_fraction=0",
            "--set", "train.schedule=constant", *Q]          # (a schedule's horizon is the first run's step cap)
    full, part = tmp_path / "full", tmp_path / "part"
    assert cli("train", "rbm", "--data", lattices, "--out", full, "--steps", "1500", *sets)[0] == 0
    assert cli("train", "rbm", "--data", lattices, "--out", part, "--steps", "600", *sets)[0] == 0
    assert cli("train", "rbm", "--out", part, "--steps", "1500", "--resume", *Q)[0] == 0
    _same_weights(full, part)
    assert json.loads((full / "summary.json").read_text())["device"].startswith(KIND)
    energies = []
    for i, device in enumerate((DEVICE, "cpu")):
        out = tmp_path / f"s{i}.h5"
        code, _, err = cli("sample", full, "--n", "4000", "--out", out, "--seed", "1", "--device", device)
        assert code == 0, err
        s = load(out).samples
        assert s.dtype == np.int8 and s.shape == (4000, 4, 4)
        energies.append(np.round(ob.energy_per_spin(s), 6))
    levels = np.unique(np.concatenate(energies))
    counts = np.array([[np.sum(e == v) for v in levels] for e in energies])
    counts = counts[:, counts.sum(0) >= 10]                   # pool away near-empty levels
    assert scipy.stats.chi2_contingency(counts).pvalue > 1e-4


def test_ddpm_trains_resumes_exactly_and_samples_on_the_device(cli, tmp_path, gauss2d):
    sets = ["--set", "model.timesteps=100", "--set", "model.width=64", "--set", "train.batch_size=256",
            "--set", "data.val_fraction=0", "--set", "train.schedule=constant", *Q]
    full, part = tmp_path / "full", tmp_path / "part"
    assert cli("train", "ddpm", "--data", gauss2d, "--out", full, "--steps", "400", *sets)[0] == 0
    assert cli("train", "ddpm", "--data", gauss2d, "--out", part, "--steps", "150", *sets)[0] == 0
    assert cli("train", "ddpm", "--out", part, "--steps", "400", "--resume", *Q)[0] == 0
    _same_weights(full, part)
    for sampler in ("ddpm", "ddim"):
        out = tmp_path / f"{sampler}.h5"
        code, _, err = cli("sample", full, "--n", "2000", "--out", out, "--seed", "2", "--device", DEVICE,
                           "--sampler", sampler)
        assert code == 0, err
        x = load(out).samples
        assert np.isfinite(x).all() and x.shape == (2000, 2)
        assert 0.25 < (x[:, 0] > 0).mean() < 0.75           # both modes are there


def test_streamed_training_on_the_device_resumes_exactly(cli, tmp_path, gauss2d):
    sets = ["--set", "data.max_memory=8KB", "--set", "train.batch_size=64", "--set", "model.noise=0.1", *Q]
    full, part = tmp_path / "full", tmp_path / "part"
    assert cli("train", "toy-gauss", "--data", gauss2d, "--out", full, "--steps", "80", *sets)[0] == 0
    assert cli("train", "toy-gauss", "--data", gauss2d, "--out", part, "--steps", "33", *sets)[0] == 0
    assert cli("train", "toy-gauss", "--out", part, "--steps", "80", "--resume", *Q)[0] == 0
    assert "streamed" in json.loads((full / "summary.json").read_text())
    _same_weights(full, part)


# --------------------------------------------------------------------------------------------- metrics
def test_metrics_on_the_device_equal_the_cpu_values():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(3000, 8)), rng.normal(0.1, 1.0, size=(3000, 8))
    assert as_tensor(x).device.type == KIND                  # numpy input goes to the GPU
    on_gpu = mmd(torch.as_tensor(x, device=DEVICE), torch.as_tensor(y, device=DEVICE))
    on_cpu = mmd(torch.as_tensor(x), torch.as_tensor(y))
    assert on_gpu == pytest.approx(on_cpu, rel=1e-4)
    u_gpu = mmd2_unbiased(torch.as_tensor(x, device=DEVICE), torch.as_tensor(y, device=DEVICE), dtype=torch.float64)
    u_cpu = mmd2_unbiased(torch.as_tensor(x), torch.as_tensor(y), dtype=torch.float64)
    assert u_gpu == pytest.approx(u_cpu, rel=1e-6, abs=1e-9)


def test_evaluate_runs_with_the_gpu_present(cli, tmp_path, gauss2d):
    rng = np.random.default_rng(1)
    fake = save(Dataset(load(gauss2d).samples + rng.normal(0, 0.05, (3000, 2)).astype(np.float32), "continuous"),
                tmp_path / "fake.h5")
    code, out, err = cli("evaluate", "--real", gauss2d, "--fake", fake, "--out", tmp_path / "ev")
    assert code == 0, err


# --------------------------------------------------------------------------------------------- DDP over NCCL
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two GPUs")
def test_torchrun_two_gpus_over_nccl_match_a_single_gpu_run(cli, tmp_path, gauss2d):
    sets = ["--set", "train.batch_size=16", "--set", "train.lr=0.01", "--set", "data.val_fraction=0",
            "--steps", "40", *Q]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                          str(HERE / "trainer_toy_cli.py"), "train", "toy-gauss", "--data", str(gauss2d),
                          "--out", str(tmp_path / "ddp"), *sets], env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    summary = json.loads((tmp_path / "ddp" / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["device"].startswith(KIND)
    assert cli("train", "toy-gauss", "--data", gauss2d, "--out", tmp_path / "one", *sets)[0] == 0
    a, b = _weights(tmp_path / "one"), _weights(tmp_path / "ddp")
    for k in ("model.mu", "model.log_std"):
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6)
