"""What a training run reports while it runs: the progress bar, ``metrics.csv`` rows, the validation pass, preview
images, one-line messages and the summary.  The trainer (:class:`physgen.training.trainer.Trainer`) owns one
:class:`Reporter` and decides when each is due."""
from __future__ import annotations

import math
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from physgen.errors import UserError
from physgen.training import checkpoint as ckpt
from physgen.training import distributed as dist
from physgen.training.logbook import Logbook
from physgen.training.probe import untouched
from physgen.training.progress import Progress
from physgen.training.window import Window


class Reporter:
    """The reports of one run configured by ``cfg`` (``progress``, ``tensorboard``, ``batch_size``) on the process
    ``ctx``, at ``progress`` (shared with the trainer) out of ``total_steps`` (None: a time budget of
    ``cfg.max_time`` seconds), ``batches_per_epoch`` batches an epoch.

    State: ``bar`` — the progress bar (a disabled one outside a fit and off rank 0); ``window`` — the running sums
    since the last row (:class:`~physgen.training.window.Window`, in every checkpoint); ``t_last`` — the monotonic
    time of the last row; ``last_logs`` — the last row; ``last_val`` — the last validation pass's ``val_*``;
    ``checks_s`` — seconds of probes and validation passes in this fit; ``logbook`` — ``metrics.csv`` during a
    fit (rank 0 with a run directory, else None)."""

    def __init__(self, cfg, ctx: dist.DistContext, device: torch.device, progress: Progress,
                 total_steps: int | None, batches_per_epoch: int):
        self.cfg, self.ctx, self.device, self.progress = cfg, ctx, device, progress
        self.total_steps, self.batches_per_epoch = total_steps, batches_per_epoch
        self.bar = tqdm(disable=True)
        self.window = Window()
        self.t_last = time.monotonic()
        self.last_logs: dict[str, Any] = {}
        self.last_val: dict[str, float] = {}
        self.checks_s = 0.0
        self.logbook: Logbook | None = None

    # --- the fit's outputs ------------------------------------------------------------------------
    def open(self, run_dir: Path | None) -> None:
        """Start a fit: ``metrics.csv`` in ``run_dir`` (None: no file)."""
        self.logbook = Logbook(run_dir, tensorboard=self.cfg.tensorboard) if run_dir is not None else None

    def open_bar(self) -> None:
        """Steps out of the step cap; with a time budget, seconds out of ``max_time`` (steps in the postfix)."""
        disable = True if not (self.cfg.progress and self.ctx.is_main) else None
        if self.total_steps is not None:
            self.bar = tqdm(total=self.total_steps, initial=self.progress.step, unit="step", file=sys.stderr,
                            dynamic_ncols=True, disable=disable)
        else:
            self.bar = tqdm(total=self.cfg.max_time, unit="s", file=sys.stderr, dynamic_ncols=True, disable=disable,
                            bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s [{elapsed}<{remaining}{postfix}]")

    def close(self) -> None:
        if self.logbook is not None:
            self.logbook.close()

    def tick(self, started: float) -> None:
        """One step done (a fit that started at monotonic time ``started``)."""
        if self.total_steps is not None:
            self.bar.update(1)
        elif not self.bar.disable:
            self.bar.update(min(time.monotonic() - started, self.cfg.max_time) - self.bar.n)

    def say(self, message: str) -> None:
        """One line on stderr (rank 0 only), without breaking the progress bar."""
        if self.ctx.is_main:
            tqdm.write(message, file=sys.stderr)

    def flush(self) -> None:
        if self.logbook is not None:
            self.logbook.flush()

    def truncate_after(self, step: int) -> None:
        if self.logbook is not None:
            self.logbook.truncate_after(step)

    # --- rows -------------------------------------------------------------------------------------
    def row(self) -> dict[str, Any]:
        """The window's averages as a ``metrics.csv`` row (the loss averaged over the ranks, a collective); the
        seconds since the last row count towards ``progress.elapsed``."""
        now = time.monotonic()
        self.progress.elapsed += now - self.t_last
        row = self.window.row(now - self.t_last)
        self.t_last = now
        if "loss" in row:
            row["loss"] = dist.all_reduce_mean(row["loss"], self.ctx, self.device)
        self.last_logs = {"step": self.progress.step, "epoch": self.progress.epochs_done(self.batches_per_epoch),
                          **row, "time_s": self.progress.elapsed}
        if self.logbook is not None:
            self.logbook.log(self.last_logs)
        if not self.bar.disable:
            steps = {"step": self.progress.step} if self.total_steps is None else {}
            self.bar.set_postfix(**steps, loss=f"{row.get('loss', math.nan):.4g}",
                                 samples_s=f"{row['samples_per_s']:.4g}", refresh=False)
        return self.last_logs

    def log_values(self, values: dict[str, float], *, timed: bool = False) -> None:
        """A ``metrics.csv`` row of ``values`` at the current step (``timed``: with the training time so far)."""
        if self.logbook is not None:
            when = {"time_s": self.progress.elapsed + time.monotonic() - self.t_last} if timed else {}
            self.logbook.log({"step": self.progress.step, "epoch": self.progress.epochs_done(self.batches_per_epoch),
                              **when, **values})

    def loss_metric(self) -> float | None:
        """The last finite validation loss, else the last finite training loss (None: neither)."""
        val = self.last_val.get("val_loss")
        if val is not None and math.isfinite(val):
            return val
        loss = self.last_logs.get("loss")
        return loss if loss is not None and math.isfinite(loss) else None

    # --- validation and previews --------------------------------------------------------------------
    def validate(self, model, val_data, generator: Callable[[int], torch.Generator], *,
                 timed: bool = True) -> dict[str, float]:
        """The average of ``model.validate`` over ``val_data`` in batches, batch ``start`` drawing from
        ``generator(start)``; logged as ``val_*``.  Its seconds count towards ``checks_s`` (``timed=False``: the
        caller, a probe, counts them)."""
        t = time.monotonic()
        sums: dict[str, float] = defaultdict(float)
        n = len(val_data)
        with untouched(model):  # a validation pass never changes the training (persistent chains, counters)
            for start in range(0, n, self.cfg.batch_size):
                idx = torch.arange(start, min(n, start + self.cfg.batch_size), device=self.device)
                out = model.validate(val_data.batch(idx), generator=generator(start))
                for k, v in out.items():
                    sums[k] += float(v) * len(idx)
        result = {f"val_{k}": v / n for k, v in sums.items()}
        if result:
            self.log_values(result)
        self.last_val = result
        if timed:
            self.checks_s += time.monotonic() - t
        return result

    def preview(self, model, generator: torch.Generator, run_dir: Path) -> Path | None:
        """Save ``model.preview()`` (an image array) as ``run_dir/previews/step-N.png``."""
        model.eval()
        try:
            image = model.preview(generator=generator)
        except (NotImplementedError, UserError) as exc:
            if str(exc):
                self.say(f"physgen: no preview ({exc})")
            image = None
        finally:
            model.train()
        if image is None:
            return None
        import matplotlib.image

        from physgen.atomic import atomic_path

        path = run_dir / "previews" / f"{ckpt.step_tag(self.progress.step)}.png"
        with atomic_path(path) as tmp:
            matplotlib.image.imsave(tmp, np.asarray(image), cmap="gray", format="png")
        return path

    # --- the summary ------------------------------------------------------------------------------
    def summary(self, status: str, stopped_by: str | None, started: float, validation: dict | None) -> dict[str, Any]:
        """What ``fit`` returns: status, what stopped the run (``stopped_by``: ``budget`` — the planned steps
        were done; ``time`` — ``max_time`` ran out, before the planned steps when there are any; ``floor`` —
        ``train.until = "floor"`` and the probe reached its floor; ``patience``, ``signal``, ``request``
        (a callback or Ctrl-C), ``divergence``), step, epoch, planned steps, times, lr scale, retries, last
        logs, validation."""
        p = self.progress
        by = stopped_by or {"completed": "budget", "stopped": "request", "converged": "patience",
                            "diverged": "divergence", "max-time": "time", "terminated": "signal"}.get(status)
        return {"status": status, "stopped_by": by, "step": p.step, "epoch": p.epoch, "position": p.position,
                "total_steps": self.total_steps, "planned_steps": self.total_steps,
                "wall_time_s": time.monotonic() - started, "checks_s": self.checks_s, "train_time_s": p.elapsed,
                "lr_scale": p.lr_scale, "retries": p.retries, "last": self.last_logs, "validation": validation}
