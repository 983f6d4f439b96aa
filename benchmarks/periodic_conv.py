"""Periodic 3×3 convolutions on spin lattices: physgen's ``PeriodicConv2d`` against the two plain ways of
wrapping the torus in PyTorch, on one WGAN-GP-like critic update.

The three convolutions share their weights and compute the same function (checked here to float32
round-off before timing):

* ``physgen`` — :class:`physgen.models.nets.PeriodicConv2d` (slice copies into one buffer, a slice-add backward);
* ``builtin`` — ``nn.Conv2d(..., padding_mode="circular")``;
* ``index_select`` — the wrap as two ``index_select`` with indices (i − p) mod L, then an unpadded conv.

One update is what the conv ``wgan-gp`` critic does per step: a stack of residual blocks with dilations
``--dilations`` (``width`` channels, LeakyReLU) on a batch of lattices, its site mean as output, the input
gradient with ``create_graph`` (the gradient penalty), and the backward of output + penalty.  The
implementations run in turn ``--repeats`` times; the median seconds per update of each are printed with
the ratio to ``physgen``, the thread count and the torch version.

    OMP_NUM_THREADS=1 python benchmarks/periodic_conv.py            # batch 64, width 16, L = 16, 200 updates
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from physgen.models.nets import PeriodicConv2d

IMPLEMENTATIONS = ("physgen", "builtin", "index_select")


class IndexSelectConv2d(nn.Conv2d):
    """The wrap by two ``index_select`` (backward: ``index_add``), then an unpadded convolution."""

    def __init__(self, c: int, dilation: int):
        super().__init__(c, c, 3, padding=0, dilation=dilation)
        self.wrap = dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p, (h, w) = self.wrap, x.shape[-2:]
        x = x.index_select(-2, torch.arange(-p, h + p) % h).index_select(-1, torch.arange(-p, w + p) % w)
        return nn.functional.conv2d(x, self.weight, self.bias, 1, 0, self.dilation)


def make_conv(kind: str, c: int, dilation: int) -> nn.Conv2d:
    if kind == "physgen":
        return PeriodicConv2d(c, c, 3, padding=dilation, dilation=dilation)
    if kind == "builtin":
        return nn.Conv2d(c, c, 3, padding=dilation, dilation=dilation, padding_mode="circular")
    return IndexSelectConv2d(c, dilation)


class Critic(nn.Module):
    """``(B, width, L, L) -> (B,)``: residual periodic 3×3 blocks, then the site and channel mean."""

    def __init__(self, kind: str, width: int, dilations: list[int]):
        super().__init__()
        self.blocks = nn.ModuleList(make_conv(kind, width, d) for d in dilations)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.blocks:
            x = x + self.act(conv(x))
        return x.mean(dim=(1, 2, 3))


def update(critic: Critic, x: torch.Tensor) -> None:
    """Output, input gradient with ``create_graph`` (the penalty) and the backward of both."""
    x = x.detach().requires_grad_(True)
    out = critic(x)
    grad, = torch.autograd.grad(out.sum(), x, create_graph=True)
    (out.mean() + ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()).backward()


def build(args) -> dict[str, Critic]:
    """The three critics with the weights of the first; raises when their outputs or penalties differ."""
    torch.manual_seed(0)
    critics = {k: Critic(k, args.width, args.dilations) for k in IMPLEMENTATIONS}
    for k in IMPLEMENTATIONS[1:]:
        critics[k].load_state_dict(critics["physgen"].state_dict())
    x = torch.randn(4, args.width, args.size, args.size, requires_grad=True)
    ref = [critics["physgen"](x), torch.autograd.grad(critics["physgen"](x).sum(), x)[0]]
    for k in IMPLEMENTATIONS[1:]:
        got = [critics[k](x), torch.autograd.grad(critics[k](x).sum(), x)[0]]
        for a, b in zip(ref, got):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    return critics


def run(args) -> dict[str, float]:
    """Median seconds per update of each implementation, run in turn."""
    critics = build(args)
    x = torch.randn(args.batch, args.width, args.size, args.size)
    times: dict[str, list[float]] = {k: [] for k in IMPLEMENTATIONS}
    for k in IMPLEMENTATIONS:  # warm-up
        update(critics[k], x)
    for _ in range(args.repeats):
        for k in IMPLEMENTATIONS:
            t = time.perf_counter()
            update(critics[k], x)
            times[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv: list[str] | None = None) -> dict[str, float]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--size", type=int, default=16, help="lattice side L")
    p.add_argument("--dilations", type=lambda s: [int(v) for v in s.split(",")], default=[1, 2, 4, 1])
    p.add_argument("--repeats", type=int, default=200)
    args = p.parse_args(argv)
    if min(args.batch, args.width, args.size, args.repeats, *args.dilations) < 1 or max(args.dilations) > args.size:
        p.error("--batch, --width, --size, --repeats and dilations must be >= 1, dilations <= --size")
    med = run(args)
    print(f"{args.repeats} updates each, batch {args.batch}, width {args.width}, L = {args.size}, dilations "
          f"{args.dilations}; {torch.get_num_threads()} thread(s), torch {torch.__version__}")
    for k in IMPLEMENTATIONS:
        print(f"{k:>13}: {med[k] * 1e3:8.2f} ms per update  ({med[k] / med['physgen']:.2f}x physgen)")
    return med


if __name__ == "__main__":
    main()
