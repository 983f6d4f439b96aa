"""One optimizer step, chosen once per run from what the model gives (:func:`choose`):

- :class:`LossStep` — ``model.loss(batch) -> (scalar, logs)``, back-propagated (through DDP under torchrun);
- :class:`ClosedFormStep` — ``model.gradients(batch)`` writes the loss's gradient into ``.grad`` itself (the
  RBM's contrastive divergence), no autograd graph;
- :class:`AdversarialStep` — ``model.adversarial_step(batch, optimizers)`` updates both players itself.

Each has ``run(batch, generator, value=True) -> (loss tensor or None, loss value or None, logs)`` and
``update(loss)`` (back-propagate where there is a loss, clip the global gradient norm, step every optimizer).
``value=False`` tells the step that the trainer does not need this step's loss value: only the closed-form
step acts on it (the model may then skip computing the value, which is not part of its gradient).
"""
from __future__ import annotations

import inspect
import math
from typing import Any

import torch

from physgen.training import distributed as dist
from physgen.training.optim import grad_norm_clip


def _floats(logs: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in logs.items()}


class LossStep:
    """Minimise ``model.loss``: zero the gradients, evaluate the loss (through DDP when the run is distributed),
    back-propagate, clip, step."""

    def __init__(self, model, ctx: dist.DistContext, optimizers: dict[str, torch.optim.Optimizer], grad_clip):
        self.model, self.ctx, self.optimizers, self.grad_clip = model, ctx, optimizers, grad_clip
        self.loss_fn = dist.loss_function(model, ctx)

    def run(self, batch, generator, value: bool = True):
        for opt in self.optimizers.values():
            opt.zero_grad(set_to_none=True)
        loss, logs = self.loss_fn(batch, generator)
        return loss, float(loss.detach()), _floats(logs)

    def update(self, loss: torch.Tensor | None) -> None:
        if loss is not None:
            loss.backward()
        if self.grad_clip is not None:
            grad_norm_clip(self.optimizers, self.grad_clip)
        for opt in self.optimizers.values():
            opt.step()

    def rebuild(self) -> None:
        """After a rollback: a new DDP wrapper, so that its buckets start from the restored parameters."""
        if self.ctx.enabled:
            self.loss_fn = dist.loss_function(self.model, self.ctx)


class ClosedFormStep(LossStep):
    """``model.gradients`` writes the gradient (capability ``closed-form-gradients``); single process
    only (under DDP the loss path lets DDP all-reduce the gradients).  The model is asked for the loss value
    only when the trainer needs it, where its ``gradients`` takes ``value``."""

    def __init__(self, model, ctx, optimizers, grad_clip):
        self.model, self.ctx, self.optimizers, self.grad_clip = model, ctx, optimizers, grad_clip
        self.lazy = "value" in inspect.signature(model.gradients).parameters

    def run(self, batch, generator, value: bool = True):
        for opt in self.optimizers.values():
            opt.zero_grad(set_to_none=True)
        if value or not self.lazy:
            out, logs = self.model.gradients(batch, generator=generator)
        else:
            out, logs = self.model.gradients(batch, generator=generator, value=False)
        return None, None if out is None else float(out), _floats(logs)

    def rebuild(self) -> None:
        pass


class AdversarialStep:
    """Two-player models update their own parameter groups in ``adversarial_step`` (with optimizers that
    all-reduce their gradients under DDP); the step's loss value is the first non-finite log, else ``loss``."""

    def __init__(self, model, ctx: dist.DistContext, optimizers: dict[str, torch.optim.Optimizer]):
        self.model = model
        self.optimizers = ({k: dist.SyncedOptimizer(o, ctx) for k, o in optimizers.items()} if ctx.enabled
                           else optimizers)

    def run(self, batch, generator, value: bool = True):
        logs = _floats(self.model.adversarial_step(batch, self.optimizers, generator=generator))
        bad = [v for v in logs.values() if not math.isfinite(v)]
        value = bad[0] if bad else float(logs.get("loss", next(iter(logs.values()), 0.0)))
        return None, value, logs

    def update(self, loss) -> None:
        pass

    def rebuild(self) -> None:
        pass


def choose(model, ctx: dist.DistContext, optimizers: dict[str, torch.optim.Optimizer], grad_clip):
    """The step strategy for ``model``: adversarial, closed-form (single process) or loss."""
    capabilities = model.capabilities
    if "adversarial" in capabilities:
        return AdversarialStep(model, ctx, optimizers)
    if "closed-form-gradients" in capabilities and not ctx.enabled:
        return ClosedFormStep(model, ctx, optimizers, grad_clip)
    return LossStep(model, ctx, optimizers, grad_clip)
