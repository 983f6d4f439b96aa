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
    "rbm": ["--set", "model.method=pcd", "--set", "model.n_hidden=8", "--set", "model.n_chains=8"],
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
