"""The trainer's checkpoint management: the state a run continues from (:meth:`Checkpoints.state`), writing it
(step checkpoints, ``best``, pruning; a background writer), the in-memory rollback point, restoring, and the
divergence guard's rollback.  A part of :class:`physgen.training.trainer.Trainer` (a mixin over its attributes)."""
from __future__ import annotations

import functools
import math
import time
from typing import Any

import torch

from physgen.config import to_dict
from physgen.errors import UserError, as_written
from physgen.training import checkpoint as ckpt
from physgen.training import distributed as dist
from physgen.training.window import Window


class TrainingDiverged(UserError):
    """NaN/Inf loss or parameters; the last good checkpoint has been restored."""


class Checkpoints:
    """State, checkpoints, restore and rollback of a :class:`~physgen.training.trainer.Trainer`."""

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Everything needed to continue: (tensors on the CPU, JSON state)."""
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        opt_json = {}
        for name, opt in self.optimizers.items():
            t, j = ckpt.optimizer_state(name, opt)
            tensors.update(t)
            opt_json[name] = j
        if self.ema is not None:
            tensors.update(self.ema.state_tensors())
        rng_t, rng_j = ckpt.rng_state()
        tensors.update(rng_t)
        state = {"step": self.step, "epoch": self.epoch, "position": self.position, "lr_scale": self.lr_scale,
                 "retries": self.retries, "best": self.best if math.isfinite(self.best) else None,
                 "elapsed": self.elapsed, "world_size": self.ctx.world_size, "total_steps": self.total_steps,
                 "optimizers": opt_json, "rng": rng_j,
                 "schedule": {"name": self.cfg.schedule, "step": self.step, **self._span.to_json()},
                 "quality": self.checks.to_json(),
                 "window": self._window.to_json(),
                 "config": {"model": to_dict(self.model.config), "train": to_dict(self.cfg)}}
        return {k: v.detach().to("cpu", copy=True) for k, v in tensors.items()}, state

    def save_checkpoint(self, event: bool = True, *, to_disk: bool = True) -> None:
        """Snapshot the state (kept in memory as the last good state, the rollback point); rank 0 writes
        it to disk unless ``to_disk`` is False (epoch ends closer than ``checkpoint_interval`` seconds to
        the last written checkpoint: with short epochs the writes would cost more than the training)."""
        if self._good is not None and not self._params_finite():
            return self._diverged(self.step, "a parameter is NaN/Inf")
        tensors, state = self.state()
        self._good = (tensors, state)
        if not to_disk:
            return
        if self.ctx.enabled and self.run_dir is not None:
            tensors, state = self._with_rank_states(tensors, state)
        metric = self._metric() if self.probe is None else None   # with a probe, quality() picks best
        is_best = metric is not None and metric < self.best
        if is_best:
            self.best = state["best"] = metric
        self._written = (self.step, time.monotonic())
        if self.logbook is not None:
            self.logbook.flush()  # every row up to a checkpoint on disk is in metrics.csv
        if self._writes and self._writer is not None:
            self._writer.submit(self._write_checkpoint, ckpt.step_tag(self.step), tensors, state, is_best)
        elif self._writes:  # outside fit(): write now
            self._write_checkpoint(ckpt.step_tag(self.step), tensors, state, is_best)
        dist.barrier(self.ctx)
        if event:
            if self._writer is not None and self.callbacks["on_checkpoint"]:
                self._writer.wait()  # callbacks may read the files
            self.trigger("on_checkpoint")

    def _with_rank_states(self, tensors: dict[str, torch.Tensor], state: dict[str, Any]
                          ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Add every rank's per-process state to rank 0's checkpoint (:func:`ckpt.add_rank_states`): the model
        tensors (buffers such as persistent chains; parameters too, where a model set them from its rank's data)
        and ``rng.torch`` that differ from rank 0's, and all ranks' RNG states (a collective).  The ranks first
        exchange a digest of each tensor, so only the tensors that differ travel."""
        own = {k: v for k, v in tensors.items() if k.startswith("model.") or k == "rng.torch"}
        digests = dist.gather_json({k: ckpt.digest(v) for k, v in own.items()}, self.ctx, self.device)
        differ = sorted(k for k in own if any(d.get(k) != digests[0][k] for d in digests[1:]))
        ranked = dist.gather_tensors({k: own[k] for k in differ}, self.ctx, self.device)
        rank_rng = dist.gather_json(state["rng"], self.ctx, self.device)
        if self.ctx.is_main:
            tensors, state = dict(tensors), dict(state)
            ckpt.add_rank_states(tensors, state, ranked, rank_rng)
        return tensors, state

    def _save_best(self) -> None:
        """Write the current state as a step checkpoint and as ``best`` (rank 0; the rollback point and the
        checkpoint cadence are left alone, so that the training does not depend on when probes ran).  Under
        ``torchrun`` only ``best`` is written: rank 0 alone probes, so it cannot collect the other ranks'
        state, and a step checkpoint without it would not resume exactly."""
        if not self._writes or not self._params_finite_here():
            return
        tensors, state = self.state()
        if self.logbook is not None:
            self.logbook.flush()
        if self.ctx.enabled:
            best = functools.partial(ckpt.save, self.run_dir / "checkpoints", "best", model=self.model.name,
                                     model_version=self._model_version)
            if self._writer is not None:
                self._writer.submit(best, tensors, state)
            else:
                best(tensors, state)
            return
        if self._writer is not None:
            self._writer.submit(self._write_checkpoint, ckpt.step_tag(self.step), tensors, state, True)
        else:
            self._write_checkpoint(ckpt.step_tag(self.step), tensors, state, True)

    def _params_finite_here(self) -> bool:
        sums = [p.detach().sum() for p in self.model.parameters()]
        return bool(torch.isfinite(torch.stack(sums)).all()) if sums else True

    def _write_checkpoint(self, tag: str, tensors: dict[str, torch.Tensor], state: dict[str, Any],
                          is_best: bool) -> None:
        """Runs on the background writer: the step checkpoint, ``best`` when it improved, pruning."""
        directory = self.run_dir / "checkpoints"
        ckpt.save(directory, tag, tensors, state, model=self.model.name, model_version=self._model_version)
        if is_best:
            ckpt.copy(directory, tag, "best")
        ckpt.prune(directory, self.cfg.keep_last)

    def _epoch_end_due(self) -> tuple[bool, bool]:
        """(snapshot, disk) at an epoch end: the state is snapshotted in memory when ``guard_every`` steps have
        passed since the last snapshot (a step count, so that a rollback, and a retry after it, is reproducible),
        and written to disk when ``checkpoint_interval`` seconds have passed since the last written checkpoint.
        (Snapshotting every epoch end costs a share of a short epoch: benchmarks/records/training.md.)  Ranks
        agree on the disk write (any rank due -> all): it ends in a barrier that every rank must join."""
        snapshot = self.step - self._good[1]["step"] >= self.cfg.guard_every
        due = self._written is None or time.monotonic() - self._written[1] >= self.cfg.checkpoint_interval
        disk = bool(dist.all_reduce_max([float(due)], self.ctx, self.device)[0])
        return snapshot, disk

    def _metric(self) -> float | None:
        val = self.last_val.get("val_loss")
        if val is not None and math.isfinite(val):
            return val
        loss = self.last_logs.get("loss")
        return loss if loss is not None and math.isfinite(loss) else None

    def _restore(self, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
        model = self.model
        ckpt.check_model_config(state, model.config, resolve=lambda config: model.resolve(config, model.spec))
        model_sd = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
        try:
            self.model.load_state_dict(model_sd, strict=True)
        except RuntimeError as exc:
            raise UserError(f"checkpoint does not match this model's configuration "
                            f"({str(exc).splitlines()[0][:160]})") from None
        for name, opt in self.optimizers.items():
            if name not in state["optimizers"]:
                raise UserError(f"checkpoint has no state for optimizer {name!r}")
            ckpt.load_optimizer_state(name, opt, tensors, state["optimizers"][name])
        if self.ema is not None:
            self.ema.load_tensors(tensors)
        ckpt.set_rng_state(tensors, state.get("rng", {}))
        for key in ("step", "epoch", "position", "lr_scale", "retries", "elapsed"):
            setattr(self, key, state[key])
        self.best = state["best"] if state.get("best") is not None else math.inf
        self.checks.restore(state.get("quality"))
        self._window = Window.from_json(state.get("window"))
        self._good, self._checked = (tensors, state), self.step

    def _diverged(self, step: int, reason: str) -> None:
        tensors, state = self._good
        lr_scale, retries = self.lr_scale, self.retries
        self._restore(tensors, state)
        if self.total_steps is not None:
            self._bar.n = self.step
        if self.logbook is not None:
            self.logbook.truncate_after(self.step)
        message = f"training diverged at step {step} ({reason}); restored the checkpoint of step {self.step}"
        self.trigger("on_divergence")
        if self.cfg.on_divergence == "stop" or retries >= self.cfg.max_retries:
            self.status = "diverged"
            if self._written is None or self._written[0] != self.step:  # the restored state was in memory only
                self.save_checkpoint(event=False)
                if self._writer is not None:
                    self._writer.wait()
            hint = (f"rerun with {as_written('on_divergence')} retry or a lower train.lr" if self.cfg.on_divergence == "stop"
                    else f"gave up after {retries} retries; lower train.lr")
            raise TrainingDiverged(f"{message}; {hint}")
        self.retries, self.lr_scale = retries + 1, lr_scale * self.cfg.retry_lr_factor
        self.say(f"physgen: {message}; retrying with the learning rate x{self.lr_scale:g} "
                 f"(retry {self.retries}/{self.cfg.max_retries})")
        self._step.rebuild()

    def _params_finite(self) -> bool:
        # a sum is NaN/Inf when any element is (one pass per tensor; overflow needs |sum| > 3e38)
        self._checked = self.step
        sums = [p.detach().sum() for p in self.model.parameters()]
        ok = bool(torch.isfinite(torch.stack(sums)).all()) if sums else True
        return not dist.all_reduce_max([float(not ok)], self.ctx, self.device)[0]

    @property
    def _writes(self) -> bool:
        return self.run_dir is not None and self.ctx.is_main

    @property
    def _model_version(self) -> int:
        return int(getattr(type(self.model), "checkpoint_version", 1))
