"""Shared building blocks for the neural generative models (VAE, GAN, and later diffusion/EBM).

* :func:`mlp` — a stack of ``Linear`` layers with a chosen activation;
* :class:`Conditioner` (defined in :mod:`physgen.models.conditioning`) — turns a batch's ``"cond"``
  (continuous physical parameters, e.g. the temperature, normalised to [−1, 1] over the trained range) and
  ``"labels"`` (one-hot or a learned embedding) into one vector ``(B, dim)`` that the networks concatenate
  to their inputs (conditional GAN/VAE: Mirza & Osindero 2014; Sohn, Lee & Yan 2015);
* :class:`ConvEncoder` / :class:`ConvDecoder` — stride-2 convolution stacks for images and spin
  lattices (Radford, Metz & Chintala 2016, "DCGAN"), circular padding for periodic lattices;
* :func:`conv2d` / :class:`PeriodicConv2d` — a convolution padded with zeros or, on a periodic lattice,
  by wrapping the borders round the torus;
* :func:`image_shape` — ``(C, H, W)`` of a data spec (``(L, L)`` lattices and ``(H, W)`` images
  get one channel);
* :func:`cpu_has_bf16_kernels` / :func:`cpu_has_native_bf16` — whether oneDNN runs bfloat16 products and
  convolutions on this CPU, and whether the CPU has bfloat16 instructions for them.

Every size problem is a :class:`~physgen.errors.UserError` naming the ``model.*`` option.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Callable, Literal, Sequence

import numpy as np
import torch
from torch import nn

from physgen.errors import UserError
from physgen.models.conditioning import CondMap as CondMap, Conditioner as Conditioner


Activation = Literal["relu", "leaky_relu", "tanh", "silu", "elu", "gelu"]


@functools.cache
def cpu_has_bf16_kernels() -> bool:
    """oneDNN runs bfloat16 products and convolutions on AVX-512 CPUs (natively with AVX512-BF16 or AMX,
    emulated otherwise)."""
    return bool(torch.backends.mkldnn.is_available() and torch.backends.cpu.get_cpu_capability() == "AVX512")


@functools.cache
def cpu_has_native_bf16() -> bool:
    """:func:`cpu_has_bf16_kernels` on a CPU with bfloat16 instructions (the ``avx512_bf16`` or ``amx_bf16``
    flag of Linux's ``/proc/cpuinfo``; False where that file is absent)."""
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return False
    return cpu_has_bf16_kernels() and bool(flags & {"avx512_bf16", "amx_bf16"})


def activation(name: str) -> nn.Module:
    """``"relu" | "leaky_relu" | "tanh" | "silu" | "elu" | "gelu"`` -> module (LeakyReLU slope 0.2)."""
    table: dict[str, Callable[[], nn.Module]] = {
        "relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.2), "tanh": nn.Tanh,
        "silu": nn.SiLU, "elu": nn.ELU, "gelu": nn.GELU}
    if name not in table:
        raise UserError(f"model.act: {name!r} is not one of {' | '.join(table)}")
    return table[name]()


def _wrap2d(x: torch.Tensor, p: int) -> torch.Tensor:
    """``x (..., H, W)`` -> ``(..., H + 2p, W + 2p)`` wrapped round the torus (p <= H, W): one buffer, filled by
    slice copies (rows, then whole columns, which fills the corners), in ``x``'s memory layout (channels-last
    stays channels-last): one full copy, where a ``cat`` per dimension makes two."""
    h, w = x.shape[-2:]
    channels_last = x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)
    out = torch.empty((*x.shape[:-2], h + 2 * p, w + 2 * p), dtype=x.dtype, device=x.device,
                      memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    out[..., p:h + p, p:w + p] = x
    out[..., :p, p:w + p] = x[..., h - p:, :]
    out[..., h + p:, p:w + p] = x[..., :p, :]
    out[..., :, :p] = out[..., :, w:w + p]
    out[..., :, w + p:] = out[..., :, p:2 * p]
    return out


def _fold(g: torch.Tensor, p: int, dim: int) -> torch.Tensor:
    """The adjoint of the wrap of one dimension (:func:`_wrap2d` wraps two): size n + 2p -> n, each wrapped
    entry added back onto its source."""
    n = g.shape[dim] - 2 * p
    out = g.narrow(dim, p, n).clone()
    out.narrow(dim, 0, p).add_(g.narrow(dim, n + p, p))
    out.narrow(dim, n - p, p).add_(g.narrow(dim, 0, p))
    return out


class _TorusPad(torch.autograd.Function):
    """The wrap of the last two dimensions by ``p`` (``fold=False``) or its adjoint, the fold (``fold=True``).
    Each is linear and the other's backward, so derivatives of any order (the WGAN gradient penalty's
    second) are these two maps again.  Autograd's own backward of the slices would allocate and zero a
    full-size gradient per slice."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, p: int, fold: bool) -> torch.Tensor:
        ctx.p, ctx.fold = p, fold
        return _fold(_fold(x, p, -1), p, -2) if fold else _wrap2d(x, p)

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        return _TorusPad.apply(g, ctx.p, not ctx.fold), None, None


def periodic_pad(x: torch.Tensor, p: int) -> torch.Tensor:
    """``x (..., H, W)`` -> ``(..., H + 2p, W + 2p)`` wrapped round the torus: entry (i, j) is entry
    ((i − p) mod H, (j − p) mod W) of ``x``.  Slice copies forward and a slice-add backward
    (:class:`_TorusPad`) while p <= H, W; ``index_select`` beyond."""
    h, w = x.shape[-2:]
    if p > h or p > w:
        x = x.index_select(-2, torch.arange(-p, h + p, device=x.device) % h)
        return x.index_select(-1, torch.arange(-p, w + p, device=x.device) % w)
    return _TorusPad.apply(x, p, False)


class PeriodicConv2d(nn.Conv2d):
    """Convolution on a torus: wraps ``padding`` rows and columns round (:func:`periodic_pad`) and convolves without
    padding.  The same function as ``nn.Conv2d(..., padding_mode="circular")`` with the same parameters
    (``weight``, ``bias``), and faster on the CPU than the built-in circular pad or an ``index_select`` wrap
    (``benchmarks/periodic_conv.py``; benchmarks/records/wgan-gp.md).
    ``(B, C_in, H, W)`` -> ``(B, C_out, H', W')`` with H' = ⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, *, stride: int = 1, padding: int = 1,
                 dilation: int = 1, bias: bool = True):
        super().__init__(c_in, c_out, kernel_size, stride=stride, padding=0, dilation=dilation, bias=bias)
        self.padding_mode = "circular"
        self.wrap = int(padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.wrap
        if p:
            x = periodic_pad(x, p)
        return nn.functional.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def conv2d(c_in: int, c_out: int, kernel_size: int, *, stride: int = 1, padding: int = 0, dilation: int = 1,
           circular: bool = False, bias: bool = True) -> nn.Conv2d:
    """``nn.Conv2d`` padded with zeros, or a :class:`PeriodicConv2d` when ``circular`` (spin lattices)."""
    if circular and padding:
        return PeriodicConv2d(c_in, c_out, kernel_size, stride=stride, padding=padding, dilation=dilation,
                              bias=bias)
    return nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=padding, dilation=dilation, bias=bias)


def mlp(sizes: Sequence[int], *, act: str = "leaky_relu", bias: bool = True, dropout: float = 0.0,
        layer_norm: bool = False) -> nn.Sequential:
    """``sizes[0] -> sizes[1] -> ... -> sizes[-1]``; activation (and dropout) between layers, none after
    the last one.  ``(B, sizes[0]) -> (B, sizes[-1])``."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b, bias=bias))
        if i < len(sizes) - 2:
            if layer_norm:
                layers.append(nn.LayerNorm(b))
            layers.append(activation(act))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def image_shape(spec, error: str | None = None) -> tuple[int, int, int]:
    """``(C, H, W)`` of a lattice/image spec; tabular data cannot go through a conv net (UserError with
    ``error``, formatted with ``{shape}``, or a default message)."""
    shape = tuple(spec.shape)
    if len(shape) == 2:
        return (1, *shape)
    if len(shape) == 3:
        return shape  # type: ignore[return-value]
    raise UserError((error or "data of shape {shape} is not an image or lattice (expected (H, W) or (C, H, W)); "
                     "use an MLP model such as 'vae', 'gan' or 'wgan-gp'").format(shape=shape))


def check_divisible(hw: tuple[int, int], n_down: int, option: str) -> tuple[int, int]:
    """Spatial size after ``n_down`` stride-2 stages; UserError unless H and W divide by ``2**n_down``."""
    f = 2 ** n_down
    h, w = hw
    if h % f or w % f:
        raise UserError(f"{option}: image size {h}x{w} is incompatible with {n_down} stride-2 stages "
                        f"(H and W must be divisible by {f}); use fewer channels entries or resize the data")
    return h // f, w // f


class ConvEncoder(nn.Module):
    """``(B, C, H, W)`` (+ condition channels) -> ``(B, out_dim)``.

    ``len(channels)`` stages of Conv(4×4, stride 2, pad 1) [+ BatchNorm] + LeakyReLU(0.2), each halving
    H and W, then a Linear layer.  ``extra_channels`` constant planes (the condition vector broadcast
    over the image) are appended to the input.  ``circular`` pads periodically (spin lattices).
    """

    def __init__(self, shape: tuple[int, int, int], channels: Sequence[int], out_dim: int, *,
                 extra_channels: int = 0, batch_norm: bool = False, circular: bool = False,
                 option: str = "model.channels"):
        super().__init__()
        c, h, w = shape
        h2, w2 = check_divisible((h, w), len(channels), option)
        layers: list[nn.Module] = []
        prev = c + extra_channels
        for i, ch in enumerate(channels):
            layers.append(conv2d(prev, ch, 4, stride=2, padding=1, circular=circular,
                                 bias=not batch_norm or i == 0))
            if batch_norm and i > 0:
                layers.append(nn.BatchNorm2d(ch))
            layers.append(nn.LeakyReLU(0.2))
            prev = ch
        layers += [nn.Flatten(), nn.Linear(prev * h2 * w2, out_dim)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        if c is not None:
            planes = c[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
            x = torch.cat([x, planes], dim=1)
        return self.net(x)


class ConvDecoder(nn.Module):
    """``(B, in_dim)`` -> ``(B, out_channels, H, W)`` (no output activation).

    Linear -> ``(channels[0], H/2^n, W/2^n)`` [+ BatchNorm] + ReLU, then ``n = len(channels)`` stages of
    ConvTranspose(4×4, stride 2, pad 1) [+ BatchNorm] + ReLU doubling H and W, then a 3×3 conv to
    ``out_channels``.
    """

    def __init__(self, in_dim: int, shape: tuple[int, int, int], channels: Sequence[int], *,
                 out_channels: int | None = None, batch_norm: bool = False, option: str = "model.channels"):
        super().__init__()
        c, h, w = shape
        chans = list(channels)[::-1]  # widest first
        h0, w0 = check_divisible((h, w), len(chans), option)
        self.start = (chans[0], h0, w0)
        layers: list[nn.Module] = [nn.Linear(in_dim, chans[0] * h0 * w0), nn.Unflatten(1, self.start)]
        layers += [nn.BatchNorm2d(chans[0])] if batch_norm else []
        layers.append(nn.ReLU())
        prev = chans[0]
        for ch in chans[1:] + [chans[-1]]:
            layers.append(nn.ConvTranspose2d(prev, ch, 4, stride=2, padding=1, bias=not batch_norm))
            layers += [nn.BatchNorm2d(ch)] if batch_norm else []
            layers.append(nn.ReLU())
            prev = ch
        layers.append(nn.Conv2d(prev, out_channels or c, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


def count_parameters(module: nn.Module) -> dict[str, int]:
    """Keras-style counts: ``trainable`` parameters, and ``total`` = trainable + frozen parameters +
    BatchNorm running mean and variance (Keras's non-trainable weights; ``num_batches_tracked`` is not
    a weight)."""
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in module.parameters() if not p.requires_grad)
    stats = 0
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats:
            stats += m.running_mean.numel() + m.running_var.numel()
    return {"total": int(trainable + frozen + stats), "trainable": int(trainable),
            "non_trainable": int(frozen + stats)}


def flat_dim(spec) -> int:
    return int(np.prod(spec.shape))


class FlatConditional(nn.Module):
    """``body`` applied to ``[x.flatten(1), c]``, output reshaped to ``out_shape`` (``()`` gives ``(B,)``).

    The conditioning of Mirza & Osindero (2014): the condition vector is concatenated to the input.
    """

    def __init__(self, body: nn.Module, out_shape: Sequence[int]):
        super().__init__()
        self.body = body
        self.out_shape = tuple(out_shape)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        h = x.flatten(1)
        if c is not None:
            h = torch.cat([h, c], 1)
        return self.body(h).reshape(len(x), *self.out_shape)


class ConvCritic(nn.Module):
    """:class:`ConvEncoder` with one output: ``x (B, *shape)`` reshaped to ``(B, C, H, W)`` -> ``(B,)``."""

    def __init__(self, shape: tuple[int, int, int], channels: Sequence[int], **kwargs):
        super().__init__()
        self.shape = tuple(shape)
        self.body = ConvEncoder(shape, channels, 1, **kwargs)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.body(x.reshape(len(x), *self.shape), c).squeeze(1)


class BondFeatures(nn.Module):
    """``x (B, H, W)`` -> ``[x, x·x→, x·x↓]`` flattened ``(B, 3HW)``: each site with its right and lower
    neighbour products on the periodic lattice.  A linear function of these gives the Ising energy
    E = −J Σ_<ij> s_i s_j − h Σ s_i, the sufficient statistic of exp(−E/T), which an MLP critic on raw
    spins can only approximate with second-order features of its own."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        right, down = x * torch.roll(x, 1, dims=-1), x * torch.roll(x, 1, dims=-2)
        return torch.cat([x.flatten(1), right.flatten(1), down.flatten(1)], 1)


class Prepend(nn.Module):
    """``first`` then ``body`` for :class:`FlatConditional` inputs: ``body(cat(first(x), c))``."""

    def __init__(self, first: nn.Module, body: nn.Module):
        super().__init__()
        self.first, self.body = first, body

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        h = self.first(x)
        if c is not None:
            h = torch.cat([h, c], 1)
        return self.body(h).reshape(len(x))
