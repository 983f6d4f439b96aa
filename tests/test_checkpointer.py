"""The trainer's checkpoints as a part of their own (physgen.training.trainer_checkpoints.Checkpointer), driven
without a trainer: a snapshot records the shared progress and restores it with the tensors exactly; ``best``
follows a lower metric only; the parameter check sees a NaN; the rollback point is the last snapshot kept; a
run without a directory writes nothing.  Exact checks: they cannot pass by chance."""
from __future__ import annotations

import math

import pytest
import torch

from physgen.config import TrainConfig, to_dict
from physgen.models.base import DataSpec
from physgen.training import checkpoint as ckpt
from physgen.training.distributed import DistContext
from physgen.training.optim import build_optimizers
from physgen.training.progress import Progress
from physgen.training.trainer_checkpoints import Checkpointer


def _keeper(run_dir, seed=0):
    import trainer_toy   # (registers the test-only model "toy-gauss")

    torch.manual_seed(seed)
    model = trainer_toy.ToyGauss(trainer_toy.ToyGaussConfig(), DataSpec("continuous", (3,)))
    with torch.no_grad():
        model.mu += seed
    cfg = TrainConfig(steps=10)
    optimizers = build_optimizers(model.parameter_groups(), cfg)
    return Checkpointer(model, optimizers, None, DistContext(), torch.device("cpu"), run_dir, cfg, Progress())


def test_a_snapshot_restores_tensors_and_progress_exactly(tmp_path):
    keeper = _keeper(tmp_path)
    keeper.progress.step, keeper.progress.epoch, keeper.progress.lr_scale = 7, 2, 0.25
    snap = keeper.snapshot(total_steps=10, config={"model": to_dict(keeper.model.config)})
    assert keeper.save(snap, to_disk=True, metric=1.5)
    assert keeper.progress.best == 1.5 and keeper.written[0] == 7
    files = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert "step-00000007.safetensors" in files and "best.safetensors" in files

    other = _keeper(tmp_path, seed=3)          # another model state and a fresh progress
    tensors, state = ckpt.load(tmp_path / "checkpoints" / "step-00000007.json", model="toy-gauss")
    other.load(tensors, state)
    assert other.progress == Progress(step=7, epoch=2, lr_scale=0.25, best=1.5)
    for name, value in keeper.model.state_dict().items():
        assert torch.equal(other.model.state_dict()[name], value)
    assert other.good[1]["step"] == 7 and other.checked == 7


def test_best_follows_a_lower_metric_only_and_memory_snapshots_write_nothing(tmp_path):
    keeper = _keeper(tmp_path)
    keeper.save(keeper.snapshot(total_steps=10), to_disk=True, metric=2.0)
    keeper.progress.step = 1
    keeper.save(keeper.snapshot(total_steps=10), to_disk=True, metric=3.0)   # worse: not best
    assert keeper.progress.best == 2.0
    keeper.progress.step = 2
    assert not keeper.save(keeper.snapshot(total_steps=10), to_disk=False, metric=0.1)   # the rollback point only
    assert keeper.good[1]["step"] == 2 and keeper.written[0] == 1 and keeper.progress.best == 2.0
    assert not (tmp_path / "checkpoints" / "step-00000002.json").exists()


def test_the_parameter_check_sees_a_nan_and_no_directory_writes_nothing():
    keeper = _keeper(None)
    keeper.progress.step = 4
    assert keeper.finite(4) and keeper.checked == 4
    with torch.no_grad():
        keeper.model.mu[1] = math.nan
    assert not keeper.finite_here() and not keeper.finite(5)
    assert not keeper.writes
    keeper.save(keeper.snapshot(total_steps=10), to_disk=True, metric=None)   # nothing to write to
    keeper.save_best(lambda: pytest.fail("no snapshot without a directory"))
