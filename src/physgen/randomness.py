"""Random draws through an explicit ``torch.Generator`` that may live on another device.

A CPU generator gives the same numbers whatever device the model is on, so draws are made on the
generator's device and moved to the target device (randomness is passed in, never global).
"""
from __future__ import annotations

import torch


def generator_device(generator: torch.Generator | None, device) -> torch.device:
    """The device to draw on: the generator's, else ``device``."""
    return generator.device if generator is not None else torch.device(device)


def randn(shape, generator: torch.Generator | None, device, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Standard normal ``shape`` tensor on ``device``, drawn with ``generator``."""
    gdev = generator_device(generator, device)
    return torch.randn(tuple(shape), generator=generator, device=gdev, dtype=dtype).to(device)


def rand(shape, generator: torch.Generator | None, device, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Uniform [0, 1) ``shape`` tensor on ``device``, drawn with ``generator``."""
    gdev = generator_device(generator, device)
    return torch.rand(tuple(shape), generator=generator, device=gdev, dtype=dtype).to(device)
