"""The model's run hooks: a read-only RunContext (never the trainer), files written by the report layer."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from trainer_toy import ToyGauss, ToyGaussConfig

from physgen.config import TrainConfig
from physgen.models.base import DataSpec
from physgen.models.contract import RunContext
from physgen.training import Trainer, hooks
from physgen.training.data import TensorData


class Hooked(ToyGauss):
    """The toy Gaussian with hooks that record what they see, report a file and stop at step 6."""

    def run_hooks(self, x):
        self.seen, self.n_train = [], len(x)

        def log(ctx: RunContext):
            self.seen.append(ctx)
            ctx.say(f"step {ctx.step}")

        def batch(ctx: RunContext):
            if ctx.step == 6:
                ctx.request_stop()

        def end(ctx: RunContext):
            ctx.report("notes/end.json", {"step": ctx.step, "rows": len(ctx.history)})
            ctx.report("notes/lazy.bin", lambda: b"drawn")
        return [("on_log", log), ("on_batch_end", batch), ("on_train_end", end)]


def _trainer(tmp_path):
    x = torch.from_numpy(np.random.default_rng(1).normal(size=(64, 2)).astype(np.float32))
    model = Hooked(ToyGaussConfig(), DataSpec("continuous", (2,)))
    cfg = TrainConfig(epochs=3, batch_size=16, log_every=2, progress=False, device="cpu")
    return Trainer(model, cfg, TensorData(x), run_dir=tmp_path / "t"), model


def test_hooks_read_a_frozen_context_and_report_through_it(tmp_path, capsys):
    trainer, model = _trainer(tmp_path)
    hooks.attach(trainer, model)
    summary = trainer.fit()
    assert summary["step"] == 6 and summary["status"] == "stopped" and model.n_train == 64
    assert [c.step for c in model.seen] == [2, 4, 6]
    ctx = model.seen[-1]
    assert ctx.is_main and ctx.rank == 0 and ctx.run_dir == tmp_path / "t" and ctx.logs["step"] == 6
    assert [int(r["step"]) for r in ctx.history] == [2, 4, 6] and ctx.epochs_begun == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.step = 0
    with pytest.raises(TypeError):
        ctx.logs["step"] = 0   # type: ignore[index]
    assert json.loads((tmp_path / "t" / "notes" / "end.json").read_text())["step"] == 6
    assert (tmp_path / "t" / "notes" / "lazy.bin").read_bytes() == b"drawn"
    assert "step 6" in capsys.readouterr().err


def test_a_report_outside_the_run_directory_is_refused(tmp_path):
    for name in ("../x.json", "/x.json", ""):
        with pytest.raises(ValueError, match="not a path inside the run directory"):
            hooks.write_report(tmp_path, name, {})


def test_a_hook_stops_the_run_with_its_reason(tmp_path):
    """``ctx.request_stop(reason)`` ends the run after that step with status ``stopped`` and the reason as the
    summary's ``stopped_by`` (one line, at most 80 characters); without a reason it reads ``request``."""

    class Reasoned(Hooked):
        def run_hooks(self, x):
            def batch(ctx: RunContext):
                if ctx.step == 4:
                    ctx.request_stop("target\nreached")
            return [("on_batch_end", batch)]

    x = torch.from_numpy(np.random.default_rng(1).normal(size=(64, 2)).astype(np.float32))
    model = Reasoned(ToyGaussConfig(), DataSpec("continuous", (2,)))
    cfg = TrainConfig(epochs=3, batch_size=16, log_every=2, progress=False, device="cpu")
    trainer = Trainer(model, cfg, TensorData(x), run_dir=tmp_path / "r")
    hooks.attach(trainer, model)
    summary = trainer.fit()
    assert (summary["step"], summary["status"], summary["stopped_by"]) == (4, "stopped", "target reached")
    trainer, model = _trainer(tmp_path / "plain")
    hooks.attach(trainer, model)
    assert trainer.fit()["stopped_by"] == "request"
