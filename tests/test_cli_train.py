"""`physgen train / sample / score` end to end on tiny data, with the test-only toy model.

Subprocess tests run ``tests/trainer_toy_cli.py`` (= ``physgen`` with the toy model registered).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
import trainer_toy  # noqa: F401  (registers toy-gauss, toy-other, toy-steps)
from safetensors.torch import load_file

from physgen.data import Dataset, load, save
from physgen.training.checkpoint import latest

HERE = Path(__file__).resolve().parent
RUNNER = [sys.executable, str(HERE / "trainer_toy_cli.py")]
# CPU checks (also on machines with a GPU); no held-out split: the toy model's validation pass advances its
# chain, and these tests count calls and compare runs across process counts (tests/test_trainer_budget.py
# covers the split and the quality probe)
Q = ["--no-progress", "--device", "cpu", "--set", "data.val_fraction=0"]


@pytest.fixture
def cont(tmp_path):
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(240, 3)) * [1.0, 2.0, 0.5] + [1.0, -1.0, 3.0]).astype(np.float32)
    return save(Dataset(x, "continuous", attrs={"feature_names": ["s", "t", "y"]}), tmp_path / "cont.h5")


@pytest.fixture
def spins(tmp_path):
    x = (2 * np.random.default_rng(1).integers(0, 2, size=(60, 3, 3)) - 1).astype(np.int8)
    temps = np.repeat([1.5, 2.0, 3.0], 20)
    return save(Dataset(x, "spins", {"temperature": temps}, labels=np.repeat([0, 1, 1], 20)), tmp_path / "spins.h5")


def _one_error_line(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("physgen: error: "), err
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0], (n, lines[0])


def _final_weights(run_dir):
    return load_file(str(latest(Path(run_dir) / "checkpoints").with_suffix(".safetensors")))


def test_train_sample_score_continuous(cli, tmp_path, cont):
    run = tmp_path / "run"
    code, out, err = cli("train", "toy-gauss", "--data", cont, "--out", run, "--steps", "300", *Q,
                         "--set", "data.transform=standardize", "--set", "train.lr=0.05")
    assert code == 0, err
    assert out.startswith("completed: toy-gauss at step 300/300")
    for name in ("config.toml", "spec.json", "transform.json", "summary.json", "metrics.csv"):
        assert (run / name).is_file()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["data"] == str(cont.resolve())

    code, out, err = cli("sample", run, "--n", "500", "--out", tmp_path / "s.h5", "--seed", "3")
    assert code == 0, err
    ds = load(tmp_path / "s.h5")
    assert ds.kind == "continuous" and ds.samples.dtype == np.float32 and ds.samples.shape == (500, 3)
    assert ds.feature_names == ["s", "t", "y"] and ds.attrs["model"] == "toy-gauss"
    np.testing.assert_allclose(ds.samples.mean(0), [1.0, -1.0, 3.0], atol=0.25)  # inverse transform applied
    code, out, _ = cli("data", "info", tmp_path / "s.h5")
    assert code == 0 and "kind=continuous" in out

    code, out, err = cli("score", run, "--data", cont, "--out", tmp_path / "sc.h5")
    assert code == 0, err
    _check_scores_are_data_space_gaussian(run, cont, tmp_path / "sc.h5")


def _check_scores_are_data_space_gaussian(run, data, scores):
    """log p_x(x) = log N(x; m + s mu, s^2 sigma^2) for y = (x - m)/s: the transform's Jacobian is applied."""
    from scipy.stats import norm

    w = _final_weights(run)
    t = json.loads((run / "transform.json").read_text())
    m, s = np.array(t["mean"]), np.array(t["scale"])
    mu, sigma = w["model.mu"].double().numpy(), np.exp(w["model.log_std"].double().numpy())
    x = load(data).samples.astype(np.float64)
    expected = norm.logpdf(x, m + s * mu, s * sigma).sum(1)
    with h5py.File(scores) as f:
        np.testing.assert_allclose(f["log_prob"][()], expected, rtol=1e-5)
        assert f.attrs["log_z"] == 0.0 and f.attrs["log_z_error"] == 0.0 and f.attrs["method"] == "exact"


def test_spins_with_temperature_condition(cli, tmp_path, spins):
    run = tmp_path / "run"
    assert cli("train", "toy-gauss", "--data", spins, "--out", run, "--steps", "5", "--condition", "temperature", *Q)[0] == 0
    code, _, err = cli("sample", run, "--n", "7", "--out", tmp_path / "a.h5", "--condition", "temperature=2.5")
    assert code == 0, err
    ds = load(tmp_path / "a.h5")
    assert ds.kind == "spins" and ds.samples.dtype == np.int8 and ds.shape == (3, 3)
    assert np.all(ds.conditions["temperature"] == 2.5)
    code, _, err = cli("sample", run, "--n", "7", "--out", tmp_path / "b.h5", "--condition", "temperature=4")
    assert code == 2 and not (tmp_path / "b.h5").exists()
    _one_error_line(err, "temperature=4", "outside the trained range [1.5, 3]", "trained: 1.5, 2, 3", "--extrapolate")
    assert cli("sample", run, "--n", "7", "--out", tmp_path / "b.h5", "--condition", "temperature=4",
               "--extrapolate")[0] == 0
    assert cli("sample", run, "--n", "9", "--out", tmp_path / "c.h5")[0] == 0  # spread over trained values
    np.testing.assert_array_equal(load(tmp_path / "c.h5").conditions["temperature"], np.repeat([1.5, 2.0, 3.0], 3))
    code, _, err = cli("sample", run, "--n", "2", "--out", tmp_path / "d.h5", "--condition", "field=1")
    assert code == 2
    _one_error_line(err, "conditioned on temperature")


def test_labels_condition_and_unconditioned_run(cli, tmp_path, spins):
    run = tmp_path / "lab"
    assert cli("train", "toy-gauss", "--data", spins, "--out", run, "--steps", "2", "--condition", "labels", *Q)[0] == 0
    assert cli("sample", run, "--n", "4", "--out", tmp_path / "l.h5", "--condition", "labels=1")[0] == 0
    np.testing.assert_array_equal(load(tmp_path / "l.h5").labels, [1, 1, 1, 1])
    code, _, err = cli("sample", run, "--n", "4", "--out", tmp_path / "m.h5", "--condition", "labels=5")
    assert code == 2
    _one_error_line(err, "labels=5", "0..1")
    plain = tmp_path / "plain"
    assert cli("train", "toy-gauss", "--data", spins, "--out", plain, "--steps", "2", *Q)[0] == 0
    code, _, err = cli("sample", plain, "--n", "4", "--out", tmp_path / "n.h5", "--condition", "temperature=2")
    assert code == 2
    _one_error_line(err, "not trained with conditions")
    code, _, err = cli("train", "toy-gauss", "--data", spins, "--out", tmp_path / "x", "--condition", "pressure", *Q)
    assert code == 2 and not (tmp_path / "x").exists()
    _one_error_line(err, "condition=pressure", "has: temperature")


def test_sampler_options_are_passed_or_refused(cli, tmp_path, spins):
    run = tmp_path / "r"
    assert cli("train", "toy-steps", "--data", spins, "--out", run, "--steps", "1", *Q)[0] == 0
    assert cli("sample", run, "--n", "3", "--out", tmp_path / "a.h5", "--steps", "0")[0] == 0
    assert np.all(load(tmp_path / "a.h5").samples == -1)  # steps=0 reached the sampler (0 -> spin -1)
    code, _, err = cli("sample", run, "--n", "3", "--out", tmp_path / "b.h5", "--sampler", "gibbs")
    assert code == 2
    _one_error_line(err, "takes no sampler option(s) --sampler")
    code, _, err = cli("sample", run, "--n", "3", "--out", tmp_path / "c.h5", "--guidance", "0.5")
    assert code == 2 and not (tmp_path / "c.h5").exists()
    _one_error_line(err, "takes no sampler option(s) --guidance")


@pytest.mark.parametrize("args,needles", [
    (["--set", "model.noise=-1"], ["model.noise"]),
    (["--set", "train.lr=fast"], ["train.lr: 'fast' is not a number"]),
    (["--set", "model.bogus=1"], ["model.bogus: not a key of [model]"]),
    (["--set", "data.transform=standardize"], ["transforms apply to continuous data only"]),
    (["--device", "cuda:0"] if not torch.cuda.is_available() else ["--device", "tpu"], ["device", "cuda"]),
    (["--config", "missing.toml"], ["no such config file"]),
])
def test_bad_train_input_is_one_line_and_writes_nothing(cli, tmp_path, spins, args, needles):
    code, out, err = cli("train", "toy-gauss", "--data", spins, "--out", tmp_path / "r", "--steps", "2", *args)
    assert code == 2
    _one_error_line(err, *needles)
    assert not (tmp_path / "r").exists()


def test_unknown_model_and_missing_data(cli, tmp_path, spins):
    code, _, err = cli("train", "no-such-model", "--data", spins, "--out", tmp_path / "r")
    assert code == 2
    _one_error_line(err, "unknown model 'no-such-model'")
    code, _, err = cli("train", "toy-gauss", "--data", tmp_path / "nope.h5", "--out", tmp_path / "r")
    assert code == 2 and not (tmp_path / "r").exists()
    _one_error_line(err, "nope.h5: no such file")


def test_existing_out_needs_resume_or_overwrite(cli, tmp_path, spins):
    run = tmp_path / "r"
    assert cli("train", "toy-gauss", "--data", spins, "--out", run, "--steps", "2", *Q)[0] == 0
    before = (run / "config.toml").read_text()
    code, _, err = cli("train", "toy-gauss", "--data", spins, "--out", run, "--steps", "3", *Q)
    assert code == 2 and (run / "config.toml").read_text() == before
    _one_error_line(err, "already exists", "--resume", "--overwrite")
    assert cli("train", "toy-gauss", "--data", spins, "--out", run, "--steps", "3", "--overwrite", *Q)[0] == 0
    assert json.loads((run / "summary.json").read_text())["steps"] == 3
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    code, _, err = cli("train", "toy-gauss", "--data", spins, "--out", foreign, "--overwrite", *Q)
    assert code == 2 and (foreign / "thesis.tex").read_text() == "precious"
    _one_error_line(err, "not a physgen run directory")


def test_resume_refusals(cli, tmp_path, spins, cont):
    empty = tmp_path / "empty"
    empty.mkdir()
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("x")
    for d, needle in ((empty, "not a physgen run directory"), (foreign, "not a physgen run directory"),
                      (tmp_path / "missing", "no such run directory")):
        code, _, err = cli("train", "toy-gauss", "--data", spins, "--out", d, "--resume")
        assert code == 2
        _one_error_line(err, needle)
    run = tmp_path / "r"
    assert cli("train", "toy-gauss", "--data", spins, "--out", run, "--steps", "4", *Q)[0] == 0
    cases = [(["toy-other", "--data", spins], "is a run of model 'toy-gauss', not 'toy-other'"),
             (["toy-gauss", "--data", cont], "--data"),
             (["toy-gauss", "--set", "model.init_mean=1"], "cannot change model.init_mean"),
             (["toy-gauss", "--set", "train.lr=0.5"], "cannot change train.lr")]
    for args, needle in cases:
        code, _, err = cli("train", *args, "--out", run, "--resume", *Q)
        assert code == 2, args
        _one_error_line(err, needle)
    for p in (run / "checkpoints").iterdir():
        p.unlink()
    code, _, err = cli("train", "toy-gauss", "--out", run, "--resume")
    assert code == 2
    _one_error_line(err, "has no checkpoint to resume from")


def test_bad_checkpoints_are_refused_by_resume_sample_and_score(cli, tmp_path, spins):
    run, other = tmp_path / "r", tmp_path / "o"
    assert cli("train", "toy-gauss", "--data", spins, "--out", run, "--steps", "4", *Q)[0] == 0
    assert cli("train", "toy-other", "--data", spins, "--out", other, "--steps", "4", *Q)[0] == 0
    ck = latest(run / "checkpoints")
    for best in (run / "checkpoints").glob("best.*"):   # sample and score then read the latest checkpoint
        best.unlink()
    for older in (run / "checkpoints").glob("step-*"):  # the only checkpoint: a resume has none to fall back on
        if older.stem != ck.stem:
            older.unlink()
    good_json, good_tensors = ck.read_bytes(), ck.with_suffix(".safetensors").read_bytes()
    marker = tmp_path / "payload_ran"

    def attempts():
        yield cli("train", "toy-gauss", "--out", run, "--resume", "--steps", "8", *Q)
        yield cli("sample", run, "--n", "2", "--out", tmp_path / "s.h5")
        yield cli("score", run, "--data", spins, "--out", tmp_path / "sc.h5")

    # 1. a pickle with a __reduce__ payload in place of the tensor file (metadata re-signed to match)
    torch.save({"w": _Payload(marker)}, ck.with_suffix(".safetensors"))
    meta = json.loads(good_json)
    from physgen.training.checkpoint import _sha256
    meta["sha256"] = _sha256(ck.with_suffix(".safetensors"))
    ck.write_text(json.dumps(meta))
    for code, _, err in attempts():
        assert code == 2
        _one_error_line(err, "not a valid safetensors file")
    assert not marker.exists()
    # 2. truncated tensor file
    ck.write_bytes(good_json)
    ck.with_suffix(".safetensors").write_bytes(good_tensors[:-10])
    for code, _, err in attempts():
        assert code == 2
        _one_error_line(err, "corrupted or truncated")
    # 3. a checkpoint of another model
    other_ck = latest(other / "checkpoints")
    ck.write_bytes(other_ck.read_bytes())
    ck.with_suffix(".safetensors").write_bytes(other_ck.with_suffix(".safetensors").read_bytes())
    for code, _, err in attempts():
        assert code == 2
        _one_error_line(err, "checkpoint of model 'toy-other', expected 'toy-gauss'")
    assert not (tmp_path / "s.h5").exists() and not (tmp_path / "sc.h5").exists()


class _Payload:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (str(self.target), "w"))


def test_score_refusals(cli, tmp_path, spins, cont):
    run = tmp_path / "r"
    assert cli("train", "toy-gauss", "--data", spins, "--out", run, "--steps", "2", *Q)[0] == 0
    code, _, err = cli("score", run, "--data", cont, "--out", tmp_path / "a.h5")
    assert code == 2
    _one_error_line(err, "does not match the run")
    code, _, err = cli("score", run, "--data", spins, "--out", tmp_path / "a.h5", "--method", "ais")
    assert code == 2 and not (tmp_path / "a.h5").exists()
    _one_error_line(err, "--method ais")


def test_divergence_via_cli_is_one_line_naming_the_step(cli, tmp_path, cont):
    code, _, err = cli("train", "toy-gauss", "--data", cont, "--out", tmp_path / "r", "--steps", "20", *Q,
                       "--set", "model.nan_at_call=9", "--set", "train.checkpoint_every=4")
    assert code == 2
    _one_error_line(err, "diverged at step 9", "restored the checkpoint of step 8")
    code, out, err = cli("train", "toy-gauss", "--data", cont, "--out", tmp_path / "q", "--steps", "20", *Q,
                         "--set", "model.nan_at_call=9", "--on-divergence", "retry")
    assert code == 0 and "diverged at step 9" in err and out.startswith("completed")


def test_help_has_examples(cli):
    for verb in ("train", "sample", "score"):
        code, out, _ = cli(verb, "--help")
        assert code == 0 and "Example:" in out and f"physgen {verb}" in out


def _env():
    # the checkout's physgen (not an installed copy) and the test-only toy model
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join([str(HERE.parent / "src"), str(HERE)]))
    return env


def test_resume_after_kill_9_mid_epoch_is_bit_identical(cli, tmp_path, cont):
    sets = ["--set", "model.noise=0.1", "--set", "train.batch_size=16", "--set", "train.checkpoint_every=7",
            "--set", "train.ema=0.95"]  # checkpoints at 7, 14, 21, 28, ...: mid-epoch (15 batches per epoch)
    run = tmp_path / "killed"
    proc = subprocess.Popen(RUNNER + ["train", "toy-gauss", "--data", str(cont), "--out", str(run), "--steps", "150",
                                      *Q, *sets, "--set", "model.sleep=0.02"],
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ck = latest(run / "checkpoints")
        if ck is not None and int(ck.stem.split("-")[1]) >= 22:
            break
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = int(latest(run / "checkpoints").stem.split("-")[1])
    assert 22 <= killed_at < 150 and killed_at % 15 != 0  # 15 batches per epoch: mid-epoch
    assert json.loads((run / "summary.json").read_text())["status"] == "running"
    res = subprocess.run(RUNNER + ["train", "toy-gauss", "--out", str(run), "--resume", *Q], env=_env(),
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    # the uninterrupted reference, in-process (model.sleep only slows the killed run down)
    code, _, err = cli("train", "toy-gauss", "--data", cont, "--out", tmp_path / "ref", "--steps", "150", *Q, *sets)
    assert code == 0, err
    a, b = _final_weights(tmp_path / "ref"), _final_weights(run)
    assert set(a) == set(b)
    assert all(torch.equal(a[k], b[k]) for k in a if k != "rng.torch"), [k for k in a if not torch.equal(a[k], b[k])]


def test_torchrun_two_cpu_processes_match_a_single_process_run(cli, tmp_path, cont):
    sets = ["--set", "train.batch_size=16", "--set", "train.lr=0.01", "--steps", "40", *Q]
    res = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                          str(HERE / "trainer_toy_cli.py"), "train", "toy-gauss", "--data", str(cont),
                          "--out", str(tmp_path / "ddp"), *sets], env=_env(), capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.count("completed: toy-gauss at step 40/40") == 1  # rank 0 alone reports
    assert json.loads((tmp_path / "ddp" / "summary.json").read_text())["world_size"] == 2
    assert cli("train", "toy-gauss", "--data", cont, "--out", tmp_path / "one", *sets)[0] == 0
    a, b = _final_weights(tmp_path / "one"), _final_weights(tmp_path / "ddp")
    for k in ("model.mu", "model.log_std"):
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6)
    assert not torch.equal(a["model.mu"], torch.zeros(3))  # it did train


def test_conditioned_scoring_passes_the_file_conditions(cli, tmp_path, spins):
    run = tmp_path / "r"
    assert cli("train", "toy-cond", "--data", spins, "--out", run, "--steps", "30", "--condition", "temperature",
               *Q, "--set", "train.lr=0.05")[0] == 0
    assert cli("score", run, "--data", spins, "--out", tmp_path / "s.h5")[0] == 0
    from physgen.training import load_run
    m = load_run(run, device="cpu").model
    x = torch.from_numpy(load(spins).samples.astype(np.float32))
    c = torch.from_numpy(load(spins).conditions["temperature"].astype(np.float32))[:, None]
    with h5py.File(tmp_path / "s.h5") as f:
        np.testing.assert_allclose(f["log_prob"][()], (-m.nll(x, c)).detach().numpy(), rtol=1e-5)
    assert float(m.a.detach().abs().sum()) > 0  # the condition weights trained
    no_cond = save(Dataset(load(spins).samples, "spins"), tmp_path / "nc.h5")
    code, _, err = cli("score", run, "--data", no_cond, "--out", tmp_path / "t.h5")
    assert code == 2
    _one_error_line(err, "conditioned on temperature")
    code, _, err = cli("score", run, "--data", spins, "--out", tmp_path / "u.h5", "--k", "5")
    assert code == 2
    _one_error_line(err, "takes no scoring option(s) --k")


@pytest.mark.slow
def test_torchrun_adversarial_model_and_resume(cli, tmp_path, cont):
    """Two-player models under DDP (gradient-averaging optimizer proxies), stopped and resumed."""
    base = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
            str(HERE / "trainer_toy_cli.py"), "train", "toy-adv", "--out", str(tmp_path / "ddp"), *Q]
    first = subprocess.run(base + ["--data", str(cont), "--steps", "12", "--set", "train.batch_size=16"],
                           env=_env(), capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    second = subprocess.run(base + ["--steps", "30", "--resume"], env=_env(), capture_output=True, text=True,
                            timeout=300)
    assert second.returncode == 0, second.stderr[-2000:]
    assert cli("train", "toy-adv", "--data", cont, "--out", tmp_path / "one", "--steps", "30", *Q,
               "--set", "train.batch_size=16")[0] == 0
    a, b = _final_weights(tmp_path / "one"), _final_weights(tmp_path / "ddp")
    for k in ("model.mu", "model.log_std", "optim.generator.0.exp_avg", "optim.critic.0.exp_avg_sq"):
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6)


def test_sigterm_stops_cleanly_and_resume_is_exact(cli, tmp_path, cont):
    """Batch systems send SIGTERM before killing: training stops at a step boundary with a checkpoint."""
    sets = ["--set", "model.noise=0.1", "--set", "train.batch_size=16", "--set", "train.checkpoint_every=50"]
    run = tmp_path / "term"
    proc = subprocess.Popen(RUNNER + ["train", "toy-gauss", "--data", str(cont), "--out", str(run), "--steps", "150",
                                      *Q, *sets, "--set", "model.sleep=0.02", "--set", "train.log_every=1"],
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not _rows(run / "metrics.csv") >= 10:
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "terminated" and 10 <= summary["steps"] < 150
    assert latest(run / "checkpoints").name == f"step-{summary['steps']:08d}.json"
    assert "--resume" in out
    res = subprocess.run(RUNNER + ["train", "toy-gauss", "--out", str(run), "--resume", *Q], env=_env(),
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert cli("train", "toy-gauss", "--data", cont, "--out", tmp_path / "ref", "--steps", "150", *Q, *sets)[0] == 0
    a, b = _final_weights(tmp_path / "ref"), _final_weights(run)
    assert all(torch.equal(a[k], b[k]) for k in a if k != "rng.torch")


def _rows(path):
    try:
        return len(path.read_text().splitlines()) - 1
    except FileNotFoundError:
        return 0


def test_max_time_via_cli_prints_how_to_continue(cli, tmp_path, cont):
    code, out, err = cli("train", "toy-gauss", "--data", cont, "--out", tmp_path / "r", "--steps", "100000",
                         "--max-time", "0.000001", *Q)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].startswith("max-time: toy-gauss at step 1/100000")
    assert lines[1] == (f"stopped by --max-time at step 1 of 100,000 (0% done): finish with "
                        f"physgen train toy-gauss --out {tmp_path / 'r'} --resume")
    assert latest(tmp_path / "r" / "checkpoints").name == "step-00000001.json"
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert (summary["stopped_by"], summary["planned_steps"], summary["steps"]) == ("time", 100000, 1)


def test_checkpoint_of_a_differently_configured_run_is_refused(cli, tmp_path, spins):
    a, b = tmp_path / "a", tmp_path / "b"
    assert cli("train", "toy-gauss", "--data", spins, "--out", a, "--steps", "2", *Q)[0] == 0
    assert cli("train", "toy-gauss", "--data", spins, "--out", b, "--steps", "2", *Q, "--set", "model.noise=0.5")[0] == 0
    ck_a, ck_b = latest(a / "checkpoints"), latest(b / "checkpoints")
    for best in (a / "checkpoints").glob("best.*"):   # sample then reads the latest checkpoint
        best.unlink()
    ck_a.write_bytes(ck_b.read_bytes())
    ck_a.with_suffix(".safetensors").write_bytes(ck_b.with_suffix(".safetensors").read_bytes())
    for args in (("sample", a, "--n", "2", "--out", tmp_path / "s.h5"), ("train", "toy-gauss", "--out", a, "--resume")):
        code, _, err = cli(*args)
        assert code == 2
        _one_error_line(err, "different model config (model.noise = 0.5, this run has 0.0)")


def test_samples_inherit_physical_constants_of_the_training_file(cli, tmp_path):
    x = (2 * np.random.default_rng(2).integers(0, 2, size=(20, 3, 3)) - 1).astype(np.int8)
    data = save(Dataset(x, "spins", {"temperature": np.full(20, 2.5)}, attrs={"J": 1.0, "h": 0.1, "size": 3,
                                                                             "algorithm": "wolff"}),
                tmp_path / "one_t.h5")
    assert cli("train", "toy-gauss", "--data", data, "--out", tmp_path / "r", "--steps", "1", *Q)[0] == 0
    assert cli("sample", tmp_path / "r", "--n", "5", "--out", tmp_path / "s.h5")[0] == 0
    ds = load(tmp_path / "s.h5")
    assert (ds.attrs["J"], ds.attrs["h"], ds.attrs["size"]) == (1.0, 0.1, 3) and "algorithm" not in ds.attrs
    np.testing.assert_array_equal(ds.conditions["temperature"], np.full(5, 2.5))


@pytest.mark.parametrize("sets,needle", [
    (["train.group_lr.critic=0.1"], "unknown parameter group(s) critic"),
    (["train.batch_size=64", "train.drop_last=true"], "drop_last=true leaves no batch of 60 rows"),
])
def test_trainer_setup_errors_write_nothing(cli, tmp_path, spins, sets, needle):
    args = [a for s in sets for a in ("--set", s)]
    code, _, err = cli("train", "toy-gauss", "--data", spins, "--out", tmp_path / "r", "--steps", "2", *Q, *args)
    assert code == 2 and not (tmp_path / "r").exists()
    _one_error_line(err, needle)


def test_score_attributes_of_any_shape_are_written(tmp_path):
    from physgen.cli.score import write_scores

    attrs = {"log_z": torch.tensor([1.5, 2.5]), "log_z_error": np.float32(0.25), "n": np.int64(3), "skip": None,
             "per_t": {"2.0": np.array([1.0])}}
    write_scores(tmp_path / "s.h5", np.arange(3.0), attrs, overwrite=False)
    with h5py.File(tmp_path / "s.h5") as f:
        assert f.attrs["log_z"] == "json:[1.5, 2.5]" and f.attrs["log_z_error"] == 0.25 and f.attrs["n"] == 3
        assert "skip" not in f.attrs and json.loads(f.attrs["per_t"][5:]) == {"2.0": [1.0]}
        np.testing.assert_array_equal(f["log_prob"][()], [0.0, 1.0, 2.0])


def test_grey_image_run_saved_without_levels_resumes_with_its_own_units(cli, tmp_path, monkeypatch):
    """A run whose spec.json has no ``levels`` (made before the grid of grey levels was recorded) resumes on
    the same file with the units it was trained with (the RBM's Bernoulli reading of intensities, which
    ``visible = auto`` chose then), not the softmax units a fresh run on that grid gets."""
    import physgen.models.spec as spec
    levels = np.random.default_rng(2).integers(0, 5, size=(40, 2, 2))
    data = save(Dataset((levels / 4).astype(np.float32), "image"), tmp_path / "grey.h5")
    fresh, old = tmp_path / "fresh", tmp_path / "old"
    assert cli("train", "rbm", "--data", data, "--out", fresh, "--steps", "2", *Q)[0] == 0
    assert json.loads((fresh / "spec.json").read_text())["levels"] == 4
    assert _final_weights(fresh)["model.W"].shape[1] == 4 * 5                      # one-hot groups of 5 levels
    with monkeypatch.context() as m:                                              # the code before the grid
        m.setattr(spec, "grey_grid", lambda x: None)
        assert cli("train", "rbm", "--data", data, "--out", old, "--steps", "2", *Q)[0] == 0
    assert json.loads((old / "spec.json").read_text()).get("levels") is None
    assert cli("train", "rbm", "--data", data, "--out", old, "--resume", "--steps", "4", *Q)[0] == 0
    assert _final_weights(old)["model.W"].shape[1] == 4
    assert json.loads((old / "summary.json").read_text())["steps"] == 4


def _spins_default_config(cli, data, tmp_path) -> str:
    code, _, err = cli("train", "rbm", "--data", data, "--out", tmp_path / "d", "--steps", "3", "--no-progress")
    assert code == 0, err
    return (tmp_path / "d" / "config.toml").read_text()


def test_an_explicit_option_wins_over_a_default_that_contradicts_it(cli, tmp_path):
    """On spins the rbm defaults to translation-invariant filters; --set model.n_hidden=8 asks for a dense RBM,
    and gets one (config.toml records filters = 0), instead of an error about the default it did not set."""
    x = np.where(np.random.default_rng(0).random((200, 4, 4)) < 0.5, -1, 1).astype(np.int8)
    data = save(Dataset(x, "spins"), tmp_path / "s.h5")
    code, out, err = cli("train", "rbm", "--data", data, "--out", tmp_path / "r", "--steps", "3", "--no-progress",
                         "--set", "model.n_hidden=8")
    assert code == 0, err
    config = (tmp_path / "r" / "config.toml").read_text()
    assert "n_hidden = 8" in config and "filters = 0" in config
    assert "batch_size = 64" in config          # the filters' batch of 256 gives way too (default_config's 64)
    code, _, err = cli("train", "rbm", "--data", data, "--out", tmp_path / "b512", "--steps", "3", "--no-progress",
                       "--set", "model.n_hidden=8", "--set", "train.batch_size=128")
    assert code == 0, err
    assert "batch_size = 128" in (tmp_path / "b512" / "config.toml").read_text()
    assert "batch_size = 256" in _spins_default_config(cli, data, tmp_path)
    code, _, err = cli("train", "rbm", "--data", data, "--out", tmp_path / "both", "--steps", "3", "--no-progress",
                       "--set", "model.n_hidden=8", "--set", "model.filters=2")
    assert code == 2 and "model.n_hidden=8 with model.filters=2" in err


@pytest.mark.parametrize("where", ["set", "toml"])
def test_an_option_set_to_its_default_value_still_counts_as_set(cli, tmp_path, where):
    """n_hidden = 64 is the dense default: asked for beside filters = 2 it is refused all the same, from --set
    and from a config file, because "did the user set it?" is read from the record of the user's keys."""
    x = np.where(np.random.default_rng(0).random((200, 4, 4)) < 0.5, -1, 1).astype(np.int8)
    data = save(Dataset(x, "spins"), tmp_path / "s.h5")
    if where == "set":
        given = ["--set", "model.filters=2", "--set", "model.n_hidden=64"]
    else:
        (tmp_path / "c.toml").write_text("[model]\nfilters = 2\nn_hidden = 64\n")
        given = ["--config", tmp_path / "c.toml"]
    code, _, err = cli("train", "rbm", "--data", data, "--out", tmp_path / "r", "--steps", "3", "--no-progress", *given)
    assert code == 2 and "model.n_hidden=64 with model.filters=2" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()
