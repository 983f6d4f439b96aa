"""A training run's checkpoints: the tensors a run continues from, writing them (step checkpoints, ``best``,
pruning; a background writer), the in-memory rollback point, restoring, and the parameter check of the divergence
guard.  The trainer (:class:`physgen.training.trainer.Trainer`) owns one :class:`Checkpointer` and decides when."""
from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any, Callable

import torch

from physgen.errors import UserError
from physgen.training import checkpoint as ckpt
from physgen.training import distributed as dist
from physgen.training.progress import Progress


class TrainingDiverged(UserError):
    """NaN/Inf loss or parameters; the last good checkpoint has been restored."""


class Checkpointer:
    """The checkpoints of one run of ``model`` (with its ``optimizers`` and ``ema``) in ``run_dir/checkpoints``
    (None: in memory only), on the process ``ctx`` of a run configured by ``cfg`` (``keep_last``,
    ``guard_every``, ``checkpoint_interval``), at ``progress`` (:class:`~physgen.training.progress.Progress`,
    shared with the trainer: a snapshot records it, a restore sets it, a better checkpoint lowers its ``best``).

    State: ``good`` — the last snapshot ``(tensors, JSON state)``, the divergence guard's rollback point;
    ``checked`` — the step of the last parameter check (or restore); ``written`` — ``(step, monotonic time)`` of the
    last checkpoint sent to disk; ``writer`` — the background writer while a fit runs (None: write at once)."""

    def __init__(self, model, optimizers: dict, ema, ctx: dist.DistContext, device: torch.device,
                 run_dir: Path | None, cfg, progress: Progress):
        self.model, self.optimizers, self.ema, self.ctx, self.device = model, optimizers, ema, ctx, device
        self.run_dir, self.cfg, self.progress = run_dir, cfg, progress
        self.good: tuple[dict, dict] | None = None
        self.checked = 0
        self.written: tuple[int, float] | None = None
        self.writer: ckpt.BackgroundWriter | None = None

    @property
    def writes(self) -> bool:
        """Whether this process writes files (rank 0 of a run with a directory)."""
        return self.run_dir is not None and self.ctx.is_main

    @property
    def model_version(self) -> int:
        return int(getattr(type(self.model), "checkpoint_version", 1))

    def snapshot(self, *, total_steps: int | None, **extra: Any) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Everything needed to continue, copied to the CPU: the model's, optimizers', EMA's and RNGs' tensors, and
        the JSON state: the progress, the planned ``total_steps``, ``extra`` (the other parts' states) and the
        optimizers' and RNGs' JSON parts."""
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
        state = {**self.progress.to_json(), "world_size": self.ctx.world_size, "total_steps": total_steps,
                 "optimizers": opt_json, "rng": rng_j, **extra}
        return {k: v.detach().to("cpu", copy=True) for k, v in tensors.items()}, state

    def save(self, snapshot: tuple[dict[str, torch.Tensor], dict[str, Any]], *, to_disk: bool, metric: float | None,
             flush: Callable[[], None] = lambda: None) -> bool:
        """Keep ``snapshot`` as the rollback point and, with ``to_disk``, send it to disk (a collective: every rank
        calls it); it is also ``best`` when ``metric`` is below the progress's ``best``.  ``flush()`` runs first
        (the trainer's: every ``metrics.csv`` row up to a checkpoint on disk is in the file).  True when sent."""
        tensors, state = self.good = snapshot
        if not to_disk:
            return False
        is_best = metric is not None and metric < self.progress.best
        if is_best:
            self.progress.best = state["best"] = metric
        flush()
        self.send(tensors, state, is_best=is_best)
        dist.barrier(self.ctx)
        return True

    def send(self, tensors: dict[str, torch.Tensor], state: dict[str, Any], *, is_best: bool) -> None:
        """Write a step checkpoint (and ``best`` when ``is_best``) on rank 0, in the background during a fit;
        under ``torchrun`` with every rank's own state added first (a collective: every rank calls it)."""
        if self.ctx.enabled and self.run_dir is not None:
            tensors, state = self._with_rank_states(tensors, state)
        self.written = (state["step"], time.monotonic())
        if self.writes:
            self._submit(self._write, ckpt.step_tag(state["step"]), tensors, state, is_best)

    def _submit(self, fn, *args) -> None:
        if self.writer is not None:
            self.writer.submit(fn, *args)
        else:   # outside fit(): write now
            fn(*args)

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

    def save_best(self, snapshot: Callable[[], tuple[dict, dict]], flush: Callable[[], None] = lambda: None) -> None:
        """Write ``snapshot()`` as a step checkpoint and as ``best`` (rank 0, with finite parameters; the rollback
        point and the checkpoint cadence are left alone, so that the training does not depend on when probes
        ran).  Under ``torchrun`` only ``best`` is written: rank 0 alone probes, so it cannot collect the other
        ranks' state, and a step checkpoint without it would not resume exactly."""
        if not self.writes or not self.finite_here():
            return
        tensors, state = snapshot()
        flush()
        if self.ctx.enabled:
            self._submit(functools.partial(ckpt.save, self.run_dir / "checkpoints", "best", model=self.model.name,
                                           model_version=self.model_version), tensors, state)
        else:
            self._submit(self._write, ckpt.step_tag(state["step"]), tensors, state, True)

    def _write(self, tag: str, tensors: dict[str, torch.Tensor], state: dict[str, Any], is_best: bool) -> None:
        """Runs on the background writer: the step checkpoint, ``best`` when it improved, pruning."""
        directory = self.run_dir / "checkpoints"
        ckpt.save(directory, tag, tensors, state, model=self.model.name, model_version=self.model_version)
        if is_best:
            ckpt.copy(directory, tag, "best")
        ckpt.prune(directory, self.cfg.keep_last)

    def epoch_end_due(self, step: int) -> tuple[bool, bool]:
        """(snapshot, disk) at an epoch end: the state is snapshotted in memory when ``guard_every`` steps have
        passed since the last snapshot (a step count, so that a rollback, and a retry after it, is reproducible),
        and written to disk when ``checkpoint_interval`` seconds have passed since the last written checkpoint.
        (Snapshotting every epoch end costs a share of a short epoch: benchmarks/records/training.md.)  Ranks
        agree on the disk write (any rank due -> all): it ends in a barrier that every rank must join."""
        snapshot = step - self.good[1]["step"] >= self.cfg.guard_every
        due = self.written is None or time.monotonic() - self.written[1] >= self.cfg.checkpoint_interval
        disk = bool(dist.all_reduce_max([float(due)], self.ctx, self.device)[0])
        return snapshot, disk

    def load(self, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
        """Load the model, optimizers, EMA, RNGs and progress from a checkpoint (a UserError when it is of another
        configuration); it becomes the rollback point."""
        model = self.model
        ckpt.check_model_config(state, model.config, resolve=lambda config: model.resolve(config, model.spec))
        model_sd = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
        try:
            model.load_state_dict(model_sd, strict=True)
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
        self.progress.load(state)
        self.good, self.checked = (tensors, state), state["step"]

    def finite_here(self) -> bool:
        """Whether every parameter of this process is finite (a sum is NaN/Inf when any element is: one pass per
        tensor; overflow needs |sum| > 3e38)."""
        sums = [p.detach().sum() for p in self.model.parameters()]
        return bool(torch.isfinite(torch.stack(sums)).all()) if sums else True

    def finite(self, step: int) -> bool:
        """Whether the parameters are finite on every rank (a collective); ``step`` is recorded as checked."""
        self.checked = step
        return not dist.all_reduce_max([float(not self.finite_here())], self.ctx, self.device)[0]
