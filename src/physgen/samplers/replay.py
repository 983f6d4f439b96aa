"""Replay buffer of persistent Langevin chains for energy-based-model training.

Du & Mordatch (2019, "Implicit generation and generalization in energy-based models", §3.1): negative
samples start from past chains kept in a buffer, and a small fraction (≈5%) of every batch restarts from
uniform noise so that modes not yet visited keep being found (here uniform noise by default; the model may
instead restart chains from data rows, :meth:`ReplayBuffer.set_restarts`, or from a Gaussian,
:meth:`ReplayBuffer.set_gaussian`).  The buffer is a registered
``nn.Module`` buffer, so it is saved in the model's checkpoint and survives ``physgen train --resume``.

Conditional models keep one condition per slot (``cond_dim > 0``; the class-conditional buffers of
Grathwohl et al. 2020, JEM): a chain always evolves under the same condition, so it can equilibrate there,
instead of taking the condition of whichever real batch it is paired with.  The slots' conditions are drawn
once from the training set's (:meth:`ReplayBuffer.set_conditions`), so their mix matches the data's.
"""
from __future__ import annotations

import torch
from torch import nn

from physgen.errors import UserError
from physgen.randomness import generator_device, rand, randn


def uniform(shape, low: float, high: float, generator: torch.Generator | None, device, dtype=torch.float32
            ) -> torch.Tensor:
    """Uniform noise on [low, high) drawn with ``generator`` (on its own device) and moved to ``device``."""
    return low + (high - low) * rand(shape, generator, device, dtype)


def gaussian(shape, mean: torch.Tensor, std: torch.Tensor, low: float, high: float,
             generator: torch.Generator | None, device) -> torch.Tensor:
    """N(mean, std²) draws ``shape`` (``mean``, ``std`` broadcast against it) clipped to [low, high]."""
    return (mean + std * randn(shape, generator, device)).clamp(low, high)


class ReplayBuffer(nn.Module):
    """``size`` stored states of shape ``shape`` in [low, high] (``low``/``high`` are buffers too, so a
    range fitted on the first batch via :meth:`set_range` is checkpointed with the states).

    ``data``: ``(size, *shape)`` (registered buffer), filled with uniform noise (or restart rows) on first use
    (``filled`` flag, also a buffer).  :meth:`draw` returns a batch and the slots it came from;
    :meth:`push` writes the evolved states back into those slots.  ``cond``: ``(size, cond_dim)`` the
    slots' conditions (``conditioned`` flag once set).
    """

    def __init__(self, size: int, shape: tuple[int, ...], *, low: float = -1.0, high: float = 1.0,
                 reinit_fraction: float = 0.05, cond_dim: int = 0):
        super().__init__()
        if int(size) < 1:
            raise UserError(f"model.buffer_size: must be >= 1, got {size}")
        if not 0.0 <= reinit_fraction <= 1.0:
            raise UserError(f"model.reinit_fraction: must be in [0, 1], got {reinit_fraction}")
        self.size, self.shape, self.reinit_fraction = int(size), tuple(shape), float(reinit_fraction)
        self.register_buffer("data", torch.zeros((self.size, *self.shape)))
        self.register_buffer("low", torch.tensor(float(low)))
        self.register_buffer("high", torch.tensor(float(high)))
        self.register_buffer("filled", torch.zeros((), dtype=torch.bool))
        self.register_buffer("cond", torch.zeros((self.size, int(cond_dim))))
        self.register_buffer("conditioned", torch.zeros((), dtype=torch.bool))
        self.restart_x: torch.Tensor | None = None      # see set_restarts
        self.restart_cond: torch.Tensor | None = None
        self.gaussian: tuple[torch.Tensor, torch.Tensor] | None = None   # see set_gaussian

    @torch.no_grad()
    def set_conditions(self, pool: torch.Tensor, generator: torch.Generator | None) -> None:
        """Give every slot a condition drawn uniformly (with replacement) from the rows of ``pool``
        ``(M, cond_dim)``, e.g. the training set's condition vectors."""
        if pool.ndim != 2 or pool.shape[1] != self.cond.shape[1] or len(pool) == 0:
            raise UserError(f"replay buffer conditions: expected (M >= 1, {self.cond.shape[1]}), got {tuple(pool.shape)}")
        dev = self.cond.device
        rows = torch.randint(len(pool), (self.size,), generator=generator,
                             device=generator_device(generator, dev)).to(pool.device)
        self.cond.copy_(pool[rows].to(dev, self.cond.dtype))
        self.conditioned.fill_(True)

    def slots_like(self, c: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """One random slot ``(B,)`` per row of ``c`` ``(B, cond_dim)`` among the slots with that condition
        (any slot where none has it, e.g. a condition value the model was not trained on)."""
        return matching_rows(self.cond, c, generator)

    @torch.no_grad()
    def set_restarts(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> None:
        """Fill and restart chains from rows of ``x`` ``(M, *shape)`` (e.g. the training data) instead of
        uniform noise; with ``cond`` ``(M, cond_dim)`` a slot restarts from a row of its own condition.
        Not checkpointed: the caller sets it again when a run resumes."""
        self.restart_x = x.detach().to(self.data.device, self.data.dtype)
        self.restart_cond = None if cond is None else cond.detach().to(self.cond.device, self.cond.dtype)

    @torch.no_grad()
    def set_gaussian(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Fill and restart chains from N(mean, std²) clipped to [low, high] (``mean``, ``std``: ``shape``)
        instead of uniform noise.  Not checkpointed: the caller sets it again when a run resumes."""
        self.gaussian = (mean.detach().to(self.data.device), std.detach().to(self.data.device))

    def _fresh(self, slots: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """Starting states ``(len(slots), *shape)``: uniform noise, restart rows (:meth:`set_restarts`) or
        Gaussian draws (:meth:`set_gaussian`)."""
        dev = self.data.device
        pool = self.restart_x
        if pool is None and self.gaussian is not None:
            return gaussian((len(slots), *self.shape), *self.gaussian, float(self.low), float(self.high), generator, dev)
        if pool is None:
            return uniform((len(slots), *self.shape), float(self.low), float(self.high), generator, dev)
        if self.restart_cond is not None and bool(self.conditioned):
            return pool[matching_rows(self.restart_cond, self.cond[slots], generator)]
        return pool[torch.randint(len(pool), (len(slots),), generator=generator,
                                  device=generator_device(generator, dev)).to(dev)]

    @torch.no_grad()
    def set_range(self, low: float, high: float) -> None:
        """Uniform-noise range [low, high] for (re-)initialisation."""
        self.low.fill_(float(low))
        self.high.fill_(float(high))

    def draw(self, batch_size: int, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x: (B, *shape), slots: (B,))``: B distinct random slots; each row is replaced by fresh uniform
        noise with probability ``reinit_fraction``."""
        if batch_size > self.size:
            raise UserError(f"model.buffer_size: {self.size} is smaller than the batch size {batch_size} (train.batch_size)")
        dev = self.data.device
        if not bool(self.filled):
            self.data.copy_(self._fresh(torch.arange(self.size, device=dev), generator))
            self.filled.fill_(True)
        slots = torch.randperm(self.size, generator=generator, device=generator_device(generator, dev))[:batch_size].to(dev)
        x = self.data[slots].clone()
        fresh = uniform((batch_size,), 0.0, 1.0, generator, dev) < self.reinit_fraction
        if self.restart_x is None:   # (noise for the whole batch: the stream of earlier runs)
            x[fresh] = self._fresh(slots, generator)[fresh]
        elif bool(fresh.any()):
            x[fresh] = self._fresh(slots[fresh], generator)
        return x, slots

    @torch.no_grad()
    def push(self, x: torch.Tensor, slots: torch.Tensor) -> None:
        """Store evolved chains ``x: (B, *shape)`` in ``slots: (B,)``."""
        self.data[slots] = x.detach().to(self.data.dtype)

    def extra_repr(self) -> str:
        return f"size={self.size}, shape={self.shape}, reinit={self.reinit_fraction}"


def matching_rows(pool: torch.Tensor, wanted: torch.Tensor, generator: torch.Generator | None,
                  atol: float = 1e-5) -> torch.Tensor:
    """For each row of ``wanted`` ``(B, k)``, a random index ``(B,)`` of a row of ``pool`` ``(M, k)`` equal
    to it within ``atol`` (any row where none is)."""
    dev, gdev = pool.device, generator_device(generator, pool.device)
    out = torch.empty(len(wanted), dtype=torch.long, device=dev)
    values, inverse = torch.unique(wanted.to(dev), dim=0, return_inverse=True)
    for k, value in enumerate(values):
        rows = torch.nonzero(inverse == k).squeeze(1)
        match = torch.nonzero((pool - value).abs().amax(1) <= atol).squeeze(1)
        choices = match if len(match) else torch.arange(len(pool), device=dev)
        out[rows] = choices[torch.randint(len(choices), (len(rows),), generator=generator, device=gdev).to(dev)]
    return out
