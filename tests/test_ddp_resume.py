"""Exact resume of ``torchrun`` runs whose ranks keep state of their own (an RBM's persistent PCD chains, an
EBM's replay buffer): two CPU processes (gloo), stopped or killed and resumed with two processes, end bit for
bit where the uninterrupted two-process run ends; resuming with another number of processes is refused."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from physgen.data import Dataset, save
from physgen.training import checkpoint as ckpt

HERE = Path(__file__).resolve().parent
COMMON = ["--no-progress", "--device", "cpu", "--set", "data.val_fraction=0", "--set", "train.batch_size=16",
          "--set", "train.schedule=constant", "--set", "train.checkpoint_every=5"]
MODELS = {  # tiny models: the test is about the state, not the fit
    "rbm": ["--set", "model.method=pcd", "--set", "model.filters=0", "--set", "model.n_hidden=8",
            "--set", "model.n_chains=8"],
    "ebm": ["--set", "model.net=mlp", "--set", "model.hidden=[8]", "--set", "model.k_steps=3",
            "--set", "model.buffer_size=32"],
}


def _env(**extra):
    return dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join([str(HERE.parent / "src"), str(HERE)]),
                **extra)


def _data(tmp_path, model):
    rng = np.random.default_rng(0)
    if model == "rbm":
        return save(Dataset((2 * rng.integers(0, 2, size=(64, 4, 4)) - 1).astype(np.int8), "spins"),
                    tmp_path / "d.h5")
    return save(Dataset(rng.normal(size=(64, 2)).astype(np.float32), "continuous"), tmp_path / "d.h5")


def _torchrun(script, *args, env=None, check=True):
    res = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                          str(script), *map(str, args)], env=env or _env(), capture_output=True, text=True,
                         timeout=300)
    if check:
        assert res.returncode == 0, res.stderr[-3000:]
    return res


def _final(run):
    return load_file(str(ckpt.latest(Path(run) / "checkpoints").with_suffix(".safetensors")))


def _assert_identical(a, b):
    assert set(a) == set(b), set(a) ^ set(b)
    assert [k for k in a if not torch.equal(a[k], b[k])] == []


@pytest.mark.slow
@pytest.mark.parametrize("model,killed_rank", [("rbm", 1), ("ebm", 0)])
def test_two_process_resume_is_bit_identical(tmp_path, model, killed_rank):
    data, physgen = _data(tmp_path, model), HERE.parent / "src" / "physgen" / "__main__.py"
    train = ["train", model, *COMMON, *MODELS[model]]
    _torchrun(physgen, *train, "--data", data, "--out", tmp_path / "ref", "--steps", 40)
    ref = _final(tmp_path / "ref")
    assert any(k.startswith("rank.1.model.") for k in ref)  # the ranks' own state is in the checkpoint

    _torchrun(physgen, *train, "--data", data, "--out", tmp_path / "stop", "--steps", 20)
    _torchrun(physgen, *train, "--out", tmp_path / "stop", "--steps", 40, "--resume")
    _assert_identical(ref, _final(tmp_path / "stop"))

    killed = _torchrun(HERE / "ddp_kill_cli.py", *train, "--data", data, "--out", tmp_path / "kill", "--steps", 40,
                       env=_env(KILL_RANK=str(killed_rank), KILL_STEP="27"), check=False)
    assert killed.returncode != 0
    step = int(ckpt.latest(tmp_path / "kill" / "checkpoints").stem.split("-")[1])
    assert 20 <= step <= 25, step
    _torchrun(physgen, *train, "--out", tmp_path / "kill", "--steps", 40, "--resume")
    _assert_identical(ref, _final(tmp_path / "kill"))


def _as_two_process_checkpoint(run, *, per_rank: bool):
    """The run's latest checkpoint re-written as if two processes had made it (one step later)."""
    path = ckpt.latest(Path(run) / "checkpoints")
    tensors, state = ckpt.load(path, model="rbm", model_version=2)
    if per_rank:
        tensors["rank.1.model.chains"] = -tensors["model.chains"]
    state = {**state, "world_size": 2, "rank_rng": [state["rng"], state["rng"]]}
    ckpt.save(path.parent, ckpt.step_tag(state["step"] + 1), tensors, state, model="rbm", model_version=2)


@pytest.mark.parametrize("per_rank", [True, False])
def test_resume_with_another_process_count(cli, tmp_path, per_rank):
    """Per-rank state cannot be split over another number of processes: one line naming both counts, exit 2
    (nothing is written); a checkpoint without per-rank state resumes with any number."""
    run = tmp_path / "run"
    args = ["train", "rbm", "--out", run, *COMMON, *MODELS["rbm"]]
    assert cli(*args, "--data", _data(tmp_path, "rbm"), "--steps", 5)[0] == 0
    _as_two_process_checkpoint(run, per_rank=per_rank)
    before = sorted(p.name for p in (run / "checkpoints").iterdir())
    code, _, err = cli(*args, "--steps", 10, "--resume")
    if not per_rank:
        assert code == 0, err
        return
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert "written by 2 processes" in lines[0] and "this run has 1" in lines[0], lines[0]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == before
