"""Reproducible by construction: with a step budget (every family's default) the same command and seed give the
same checkpoints, bit for bit, whatever the machine's load, however the run is cut into pieces and resumed, and
whatever ``--checkpoint-every`` and the progress bar are; ``--max-time`` only caps a run, and ``--resume`` alone
finishes it.

What is bit-identical: the same platform, the same torch build and the same number of threads (a different
thread count may change the order of floating-point sums, so such runs are only statistically the same).  The
held-out probes run at fixed steps on a reference of fixed size, so the ``best`` checkpoint they choose is
identical too.  The runs here use a real family (the vae on continuous data, with the real quality probe) so
that every random draw of a real model, its probe and its sampler is covered.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import trainer_toy  # noqa: F401  (registers toy-gauss)
from safetensors.numpy import load_file

from physgen.data import Dataset, save
from physgen.training import train

STEPS = 120
FLAGS = dict(steps=STEPS, seed=3, device="cpu")
SETS = ["train.progress=false", "train.batch_size=32", "train.log_every=7"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(-2, 0.5, (300, 2)), rng.normal(2, 1.0, (300, 2))]).astype(np.float32)
    return save(Dataset(x, "continuous"), tmp_path_factory.mktemp("data") / "bimodal.h5")


def tensors(run: Path, which: str) -> dict[str, np.ndarray]:
    """The checkpoint ``which`` (``best`` or ``latest``) of ``run``: every tensor (model, optimizer, RNG)."""
    directory = run / "checkpoints"
    if which == "latest":
        which = sorted(p.stem for p in directory.glob("step-*.safetensors"))[-1]
    return load_file(directory / f"{which}.safetensors")


def assert_same_checkpoints(a: Path, b: Path) -> None:
    for which in ("latest", "best"):
        ta, tb = tensors(a, which), tensors(b, which)
        assert ta.keys() == tb.keys(), which
        for k in ta:
            assert np.array_equal(ta[k], tb[k]), f"{which}: {k} differs"
    sa, sb = (json.loads((r / "checkpoints" / "best.json").read_text())["state"] for r in (a, b))
    assert sa["step"] == sb["step"]


def busy_loops(n: int = 2) -> list[subprocess.Popen]:
    """``n`` processes spinning on the CPU (one per core of the CI machine)."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def test_same_seed_gives_identical_checkpoints_under_load(tmp_path, data):
    """Two runs of the same command, the second while two busy loops hold both cores: identical latest and
    best checkpoints (the load slows the second run; with a time-driven probe cadence or schedule its best
    checkpoint or its learning rates would differ)."""
    quiet = train("vae", data=data, out=tmp_path / "quiet", sets=SETS, **FLAGS)
    loops = busy_loops()
    try:
        loaded = train("vae", data=data, out=tmp_path / "loaded", sets=SETS, **FLAGS)
    finally:
        for p in loops:
            p.kill()
            p.wait()
    assert quiet["steps"] == loaded["steps"] == STEPS and quiet["stopped_by"] == loaded["stopped_by"] == "budget"
    assert quiet["validation"]["probes"] == loaded["validation"]["probes"] == 5
    assert_same_checkpoints(tmp_path / "quiet", tmp_path / "loaded")


def test_three_pieces_resumed_give_the_uninterrupted_run(tmp_path, data):
    """A run stopped at steps 37 and 81 (as Ctrl-C or a batch system's wall-time limit would stop it) and
    resumed twice, with other checkpoint cadences and the progress bar on, equals the run done in one go."""
    whole = tmp_path / "whole"
    train("vae", data=data, out=whole, sets=SETS, **FLAGS)

    def stop_at(step):
        def callback(trainer):
            if trainer.step == step:
                trainer.stop_requested = True
        return [("on_batch_end", callback)]

    pieces = tmp_path / "pieces"
    first = train("vae", data=data, out=pieces, sets=SETS + ["train.checkpoint_every=5"], callbacks=stop_at(37),
                  **FLAGS)
    assert (first["status"], first["steps"], first["stopped_by"]) == ("stopped", 37, "request")
    second = train("vae", data=data, out=pieces, resume=True, sets=["train.progress=true"], callbacks=stop_at(81))
    assert second["steps"] == 81
    third = train("vae", data=data, out=pieces, resume=True)
    assert (third["status"], third["steps"], third["stopped_by"]) == ("completed", STEPS, "budget")
    assert_same_checkpoints(whole, pieces)


def test_a_time_cap_stops_the_run_and_resume_alone_finishes_it(tmp_path, cli, data):
    """``--max-time`` caps the planned steps (the summary says so); ``--resume`` with no budget flag finishes the
    plan, and the result equals the uncapped run; config.toml records the resolved step budget."""
    args = ["train", "toy-gauss", "--data", data, "--steps", "300", "--seed", "2", "--no-progress",
            "--set", "train.batch_size=16", "--set", "model.noise=0.3"]
    assert cli(*args, "--out", tmp_path / "whole")[0] == 0
    code, out, err = cli(*args, "--out", tmp_path / "capped", "--max-time", "0.000001")
    assert code == 0, err
    summary = json.loads((tmp_path / "capped" / "summary.json").read_text())
    assert (summary["status"], summary["stopped_by"], summary["planned_steps"]) == ("max-time", "time", 300)
    assert f"finish with physgen train toy-gauss --out {tmp_path / 'capped'} --resume" in out
    code, out, err = cli("train", "toy-gauss", "--out", tmp_path / "capped", "--resume", "--no-progress")
    assert code == 0, err
    assert out.startswith("completed: toy-gauss at step 300/300")
    config = (tmp_path / "capped" / "config.toml").read_text()
    assert "steps = 300" in config and 'max_time = "none"' in config
    a, b = tensors(tmp_path / "whole", "latest"), tensors(tmp_path / "capped", "latest")
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_until_floor_stops_at_the_first_probe_at_the_floor(tmp_path, cli):
    """``--until floor`` probes at twenty fixed steps and stops at the first whose score is at the probe's floor
    (the toy Gaussian model fits Gaussian data within a few hundred steps); the lines and summary.json say which
    stop it was."""
    x = np.random.default_rng(4).normal([1.0, -2.0], [0.5, 2.0], (2000, 2)).astype(np.float32)
    data = save(Dataset(x, "continuous"), tmp_path / "gauss.h5")
    code, out, err = cli("train", "toy-gauss", "--data", data, "--out", tmp_path / "r", "--steps", "2000",
                         "--until", "floor", "--no-progress", "--set", "train.lr=0.05")
    assert code == 0, err
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["stopped_by"] == "floor" and summary["steps"] < 2000 and summary["steps"] % 100 == 0
    assert "at floor" in summary["validation"]["verdict"]
    assert f"stopped at the floor at step {summary['steps']:,} of 2,000 planned (--until floor)" in out


def test_a_run_leaves_the_caller_s_global_generators_as_they_were(tmp_path, data):
    """``train`` seeds the global generators for the duration of the run (layers draw their initial weights from
    torch's) and gives them back unchanged: the caller's next draws of ``random``, NumPy and torch are the
    draws it would have made without the run; and a second run after other global draws is the same run."""
    import random

    import torch

    random.seed(11)
    np.random.seed(11)
    torch.manual_seed(11)
    train("vae", data=data, out=tmp_path / "a", sets=SETS, **{**FLAGS, "steps": 14})
    after = (random.random(), float(np.random.random()), float(torch.rand(())))
    random.seed(11)
    np.random.seed(11)
    torch.manual_seed(11)
    assert after == (random.random(), float(np.random.random()), float(torch.rand(())))
    train("vae", data=data, out=tmp_path / "b", sets=SETS, **{**FLAGS, "steps": 14})
    for which in ("latest",):
        ta, tb = tensors(tmp_path / "a", which), tensors(tmp_path / "b", which)
        assert all(np.array_equal(ta[k], tb[k]) for k in ta)
