"""A tiny model for the trainer's tests (registered as ``toy-gauss``; not part of physgen).

Diagonal Gaussian p(x) = N(x; mu + a c, diag(exp(2 s))) with learnable mu, s (and a, when conditioned
on c); loss = mean negative log-likelihood, exact sampling and exact log-likelihood.  ``noise > 0``
adds a generator-driven term and a persistent buffer (a "chain") so that exact resume is tested on
randomness and on checkpointed buffers too.  ``nan_at_call = k`` makes the k-th call of ``loss`` in
this process return NaN (the counter is not checkpointed), for the divergence guard.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
from torch import nn

from physgen.errors import UserError
from physgen.models.base import GenerativeModel
from physgen.models.registry import register


@dataclass
class ToyGaussConfig:
    init_mean: float = 0.0
    noise: float = 0.0
    nan_at_call: int = -1
    sleep: float = 0.0  # seconds per loss call (to make a subprocess slow enough to kill mid-run)

    def __post_init__(self):
        if self.noise < 0:
            raise UserError(f"model.noise: {self.noise!r} is invalid, must be >= 0")


@register
class ToyGauss(GenerativeModel):
    name = "toy-gauss"
    config_class = ToyGaussConfig

    def __init__(self, config: ToyGaussConfig, spec):
        super().__init__(config, spec)
        d = spec.n_features
        self.mu = nn.Parameter(torch.full((d,), float(config.init_mean)))
        self.log_std = nn.Parameter(torch.zeros(d))
        self.a = nn.Parameter(torch.zeros(d)) if spec.condition_names else None
        self.register_buffer("chain", torch.zeros(d))
        self.calls = 0

    def _mean(self, cond):
        return self.mu if cond is None or self.a is None else self.mu + cond[:, :1] * self.a

    def nll(self, x, cond=None):
        x = x.reshape(len(x), -1)
        z = (x - self._mean(cond)) * torch.exp(-self.log_std)
        return 0.5 * (z ** 2).sum(1) + self.log_std.sum() + 0.5 * x.shape[1] * math.log(2 * math.pi)

    def loss(self, batch, *, generator):
        self.calls += 1
        if self.config.sleep:
            time.sleep(self.config.sleep)
        loss = self.nll(batch["x"], batch.get("cond")).mean()
        if self.config.noise:
            eps = torch.randn(self.chain.shape, generator=generator, device=self.chain.device, dtype=self.chain.dtype)
            self.chain.mul_(0.9).add_(eps)
            loss = loss + self.config.noise * (self.chain * self.mu).sum()
        if self.calls == self.config.nan_at_call:
            loss = loss * float("nan")
        return loss, {"mu0": float(self.mu[0].detach())}

    @torch.no_grad()
    def sample(self, n, *, generator, condition=None):
        cond = None
        if condition and self.a is not None:
            name = self.spec.condition_names[0]
            cond = torch.full((n, 1), float(condition[name]), device=self.mu.device, dtype=self.mu.dtype)
        eps = torch.randn((n, self.mu.numel()), generator=generator, device=self.mu.device, dtype=self.mu.dtype)
        return (self._mean(cond) + eps * torch.exp(self.log_std)).reshape(n, *self.spec.shape)

    def log_prob(self, x, *, method, generator, **options):
        if method != "exact":
            raise UserError(f"--method {method}: toy-gauss supports only exact")
        return -self.nll(x), {"log_z": 0.0, "log_z_error": 0.0}


@register
class OtherToy(ToyGauss):
    """Same tensors under another name: its checkpoints must be refused by toy-gauss runs."""

    name = "toy-other"


@register
class StepsToy(ToyGauss):
    """A model whose sampler takes extra options (``steps``), for the sampler-option plumbing."""

    name = "toy-steps"

    @torch.no_grad()
    def sample(self, n, *, generator, condition=None, steps=1):
        return super().sample(n, generator=generator, condition=condition) * 0 + float(steps)


@register
class AdversarialToy(ToyGauss):
    """Two-player bookkeeping test: "generator" (mu) and "critic" (log_std) groups, each updated by its
    own optimizer inside ``adversarial_step`` (the trainer never calls backward for such models)."""

    name = "toy-adv"
    capabilities = frozenset({"adversarial"})

    def parameter_groups(self):
        return {"generator": [self.mu], "critic": [self.log_std]}

    def adversarial_step(self, batch, optimizers, *, generator):
        logs = {}
        for name in ("critic", "generator"):
            opt = optimizers[name]
            opt.zero_grad()
            loss, _ = self.loss(batch, generator=generator)
            if torch.isfinite(loss):
                loss.backward()
                opt.step()
            logs[f"{name}_loss"] = float(loss.detach())
        return logs


@register
class CondScoreToy(ToyGauss):
    """log_prob takes the conditions as keywords, like the conditioned RBM/VAE."""

    name = "toy-cond"

    def log_prob(self, x, *, method, generator, cond=None, labels=None):
        return -self.nll(x, cond), {"log_z": 0.0, "log_z_error": 0.0}
