"""The model contract shared by every family and the model-agnostic trainer: the maths a family supplies
(:class:`GenerativeModel`); what describes the family is its card (:class:`physgen.models.card.FamilyCard`).

A model knows its parameters and gives a loss (energy difference, negative ELBO, denoising error)
or, for two-player models, one adversarial step; it never owns the training loop.  Samplers own
Markov chains / reverse processes; the trainer owns devices, optimizers, checkpoints and logging.

Batches are ``dict[str, Tensor]``:

``"x"``       ``(B, *spec.shape)`` float32 in model space (spins as ±1, binary as 0/1, continuous as
              stored after the run's preprocessing)
``"cond"``    ``(B, len(spec.condition_names))`` float32, present when the run is conditioned
``"labels"``  ``(B,)`` int64, present when the run is conditioned on labels
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from physgen.errors import UserError
# (re-exported: the data spec and the card's helpers are part of this module's API)
from physgen.models.card import (FALLBACK_SIZE_KEYS, FamilyCard, budget, default_kinds,  # noqa: F401
                                 kind_of, overlay)
from physgen.models.spec import DataSpec, all_finite, grey_grid, on_grid  # noqa: F401


#: what a family author must know: six constants of the card and five methods of the maths (``log_prob`` and
#: ``proposal`` only where the family has them); each capability it declares adds the members
#: :data:`~physgen.models.card.CAPABILITIES` names.  Every other member has a default that works.
ESSENTIAL = ("name", "description", "config_class", "kinds", "capabilities", "defaults_by_kind",
             "__init__", "loss", "sample", "log_prob", "proposal")


class GenerativeModel(FamilyCard, nn.Module):
    """Base class of every physgen model: the maths a family supplies to the trainer and the CLI.

    A family describes itself on its card (:class:`~physgen.models.card.FamilyCard`'s class attributes, which
    it overrides where it differs), builds its networks in ``__init__`` from its ``config_class`` instance and
    the run's :class:`DataSpec`, and implements :meth:`loss` (or :meth:`gradients` in closed form, or, with
    the capability ``adversarial``, :meth:`adversarial_step`) and :meth:`sample`; :meth:`log_prob` and
    :meth:`proposal` where it has a likelihood or a probability of a configuration.  State that must survive
    a resume (persistent chains, replay buffers, fitted data ranges) lives in registered buffers so it is
    checkpointed.
    """

    def __init__(self, config, spec: DataSpec):
        super().__init__()
        self.check_kind(spec)
        self.config = type(self).resolve(config, spec)
        self.spec = spec

    # --- training -------------------------------------------------------------------------
    def loss(self, batch: dict[str, torch.Tensor], *, generator: torch.Generator
             ) -> tuple[torch.Tensor, dict[str, float]]:
        """Scalar loss to minimise and a dict of floats to log."""
        raise NotImplementedError

    def gradients(self, batch: dict[str, torch.Tensor], *, generator: torch.Generator, value: bool = True
                  ) -> tuple[torch.Tensor | None, dict[str, float]]:
        """The value and logs of :meth:`loss`, its gradient written (accumulated) into the parameters'
        ``.grad`` directly, without an autograd graph (models with the capability ``closed-form-gradients``).  With
        ``value=False`` (the trainer asks for the value only on the steps that end a ``metrics.csv`` row) the
        model may skip computing the loss value and return None in its place; the gradient is the same."""
        raise NotImplementedError

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """Parameters per optimizer; two-player models return e.g. generator/discriminator."""
        return {"model": [p for p in self.parameters() if p.requires_grad]}

    def adversarial_step(self, batch: dict[str, torch.Tensor], optimizers: dict[str, torch.optim.Optimizer],
                         *, generator: torch.Generator) -> dict[str, float]:
        """One update of every player (two-player models only); returns floats to log."""
        raise NotImplementedError

    def check_batch(self, batch: dict[str, torch.Tensor]) -> None:
        """Validate data before training (e.g. {0,1} vs ±1); raise UserError naming the parameter to change."""

    # --- trainer hooks ----------------------------------------------------------------------------
    def on_fit_start(self, data: dict[str, torch.Tensor], *, resumed: bool, generator: torch.Generator) -> None:
        """Called once before the first step of every fit, fresh (``resumed=False``, before the first
        checkpoint) or resumed (``resumed=True``, after the checkpoint is loaded), with the whole training set
        in model space on the training device (same keys as a batch).  Fresh runs initialise data-dependent
        parameters and buffers here (visible biases from data means, data ranges, persistent chains);
        state that is not checkpointed (e.g. fitted resampling weights) is rebuilt on both."""

    def validate(self, batch: dict[str, torch.Tensor], *, generator: torch.Generator) -> dict[str, float]:
        """Metrics on a held-out batch (averaged by the trainer, logged as ``val_<key>``).
        Default: the training loss without gradients (nothing for adversarial models)."""
        if "adversarial" in self.capabilities:
            return {}
        with torch.no_grad():
            loss, logs = self.loss(batch, generator=generator)
        return {"loss": float(loss), **{k: float(v) for k, v in logs.items()}}

    # --- generation and scoring -----------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator,
               condition: dict[str, float] | None = None) -> torch.Tensor:
        """``(n, *spec.shape)`` samples in model space."""
        raise NotImplementedError

    def log_prob(self, x: torch.Tensor, *, method: str, generator: torch.Generator,
                 **options: Any) -> tuple[torch.Tensor, dict[str, Any]]:
        """Per-sample log-likelihood ``(N,)`` (exact or a bound) and attributes (log Z ± error...)."""
        raise UserError(f"model {self.name!r} has no likelihood method {method!r}")

    def proposal(self, condition: dict[str, float] | None = None):
        """A :class:`~physgen.samplers.boltzmann.Proposal` for exact Boltzmann sampling of spin lattices at
        ``condition``: draws with their log-probability up to a constant, and a kernel reversible with respect
        to the model (default: none; families with an exact or unbiased probability of a configuration)."""
        raise UserError(f"model {self.name!r} has no probability of a configuration to propose with")

    @property
    def device(self) -> torch.device:
        for t in list(self.parameters()) + list(self.buffers()):
            return t.device
        return torch.device("cpu")
