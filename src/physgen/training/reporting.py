"""What the trainer reports while it runs: the progress bar, ``metrics.csv`` rows (with the divergence guard's
parameter check), the validation pass, preview images and one-line messages.  A part of
:class:`physgen.training.trainer.Trainer` (a mixin over its attributes)."""
from __future__ import annotations

import math
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from physgen.errors import UserError
from physgen.training import checkpoint as ckpt
from physgen.training import distributed as dist
from physgen.training.probe import untouched


class Reporting:
    """Progress, logging, validation and previews of a :class:`~physgen.training.trainer.Trainer`."""

    def _progress_bar(self):
        """Steps out of the step cap; with a time budget, seconds out of ``max_time`` (steps in the postfix)."""
        disable = True if not (self.cfg.progress and self.ctx.is_main) else None
        if self.total_steps is not None:
            return tqdm(total=self.total_steps, initial=self.step, unit="step", file=sys.stderr, dynamic_ncols=True,
                        disable=disable)
        return tqdm(total=self.cfg.max_time, unit="s", file=sys.stderr, dynamic_ncols=True, disable=disable,
                    bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s [{elapsed}<{remaining}{postfix}]")

    def _bar_update(self) -> None:
        if self.total_steps is not None:
            self._bar.update(1)
        elif not self._bar.disable:
            self._bar.update(min(time.monotonic() - self._t0, self.cfg.max_time) - self._bar.n)

    def say(self, message: str) -> None:
        """One line on stderr (rank 0 only), without breaking the progress bar."""
        if self.ctx.is_main:
            tqdm.write(message, file=sys.stderr)

    def _log(self) -> bool:
        """Write a metrics row; False when a NaN/Inf parameter triggered a rollback."""
        now = time.monotonic()
        self.elapsed += now - self._t_last
        row = self._window.row(now - self._t_last)
        self._t_last = now
        if "loss" in row:
            row["loss"] = dist.all_reduce_mean(row["loss"], self.ctx, self.device)
        self.last_logs = {"step": self.step, "epoch": self.epoch + self.position / self.order.batches_per_epoch,
                          **row, "time_s": self.elapsed}
        if self.logbook is not None:
            self.logbook.log(self.last_logs)
        if not self._bar.disable:
            steps = {"step": self.step} if self.total_steps is None else {}
            self._bar.set_postfix(**steps, loss=f"{row.get('loss', math.nan):.4g}",
                                  samples_s=f"{row['samples_per_s']:.4g}", refresh=False)
        if self.step - self.checkpoints.checked >= self.cfg.guard_every and not self.checkpoints.finite(self.step):
            self._diverged(self.step, "a parameter is NaN/Inf")
            return False
        self.trigger("on_log")
        return True

    def validate(self, *, timed: bool = True) -> dict[str, float]:
        """Average of ``model.validate`` over the validation data (rank 0); logged as ``val_*``.  Its seconds
        count towards ``checks_s`` (``timed=False``: the caller, a probe, counts them)."""
        if self.val_data is None or not self.ctx.is_main:
            return {}
        t = time.monotonic()
        try:
            return self._validate()
        finally:
            if timed:
                self.checks_s += time.monotonic() - t

    def _validate(self) -> dict[str, float]:
        sums: dict[str, float] = defaultdict(float)
        n = len(self.val_data)
        with untouched(self.model):  # a validation pass never changes the training (persistent chains, counters)
            for start in range(0, n, self.cfg.batch_size):
                idx = torch.arange(start, min(n, start + self.cfg.batch_size), device=self.device)
                gen = self._generator(self.step * 1_000_003 + start, "validate")
                out = self.model.validate(self.val_data.batch(idx), generator=gen)
                for k, v in out.items():
                    sums[k] += float(v) * len(idx)
        result = {f"val_{k}": v / n for k, v in sums.items()}
        if result and self.logbook is not None:
            self.logbook.log({"step": self.step, "epoch": self.epoch + self.position / self.order.batches_per_epoch,
                              **result})
        self.last_val = result
        self.trigger("on_validation")
        return result

    def preview(self) -> Path | None:
        """Save ``model.preview()`` (an image array) as ``previews/step-N.png`` (rank 0)."""
        if not self._writes:
            return None
        self.model.eval()
        try:
            image = self.model.preview(generator=self._generator(self.step, "preview"))
        except (NotImplementedError, UserError) as exc:
            if str(exc):
                self.say(f"physgen: no preview ({exc})")
            image = None
        finally:
            self.model.train()
        if image is None:
            return None
        import matplotlib.image

        from physgen.atomic import atomic_path

        path = self.run_dir / "previews" / f"{ckpt.step_tag(self.step)}.png"
        with atomic_path(path) as tmp:
            matplotlib.image.imsave(tmp, np.asarray(image), cmap="gray", format="png")
        return path

    def loss_metric(self) -> float | None:
        """The last finite validation loss, else the last finite training loss (None: neither)."""
        val = self.last_val.get("val_loss")
        if val is not None and math.isfinite(val):
            return val
        loss = self.last_logs.get("loss")
        return loss if loss is not None and math.isfinite(loss) else None

    def result(self) -> dict[str, Any]:
        """What ``fit`` returns: status, what stopped the run (``stopped_by``: ``budget`` — the planned steps
        were done; ``time`` — ``max_time`` ran out, before the planned steps when there are any; ``floor`` —
        ``train.until = "floor"`` and the probe reached its floor; ``patience``, ``signal``, ``request``
        (a callback or Ctrl-C), ``divergence``), step, epoch, planned steps, times, lr scale, retries, last
        logs, validation."""
        return {"status": self.status, "stopped_by": self._stop_reason(), "step": self.step, "epoch": self.epoch,
                "position": self.position, "total_steps": self.total_steps, "planned_steps": self.total_steps,
                "wall_time_s": time.monotonic() - self._t0, "checks_s": self.checks_s,
                "train_time_s": self.elapsed, "lr_scale": self.lr_scale, "retries": self.retries,
                "last": self.last_logs, "validation": self.checks.summary() if self.ctx.is_main else None}

    def _stop_reason(self) -> str | None:
        if self.stopped_by is not None:
            return self.stopped_by
        return {"completed": "budget", "stopped": "request", "converged": "patience", "diverged": "divergence",
                "max-time": "time", "terminated": "signal"}.get(self.status)
