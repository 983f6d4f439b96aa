"""Real batches at any temperature of the trained range, by Ferrenberg–Swendsen reweighting of the training lattices.

A temperature-conditioned GAN sees real lattices only at the ``K`` simulated temperatures, and between them
its generator interpolates however its network happens to.  The Ising Hamiltonian is known, so the Monte Carlo
lattices at the ``T_k`` also describe every temperature in between: pooled and weighted by
:func:`physgen.physics.reweighting.log_weights` they are a sample of the Boltzmann ensemble at ``T``
(Ferrenberg & Swendsen 1989).  With ``model.reweight = G`` the critic's real batch is drawn instead from
``G`` temperatures spread evenly over ``[T_min, T_max]``: each row picks a temperature uniformly, then a
training lattice with probability ``w_i(T)`` (importance resampling), and the generator is asked for the
same temperatures.  No lattice at an untrained temperature is ever needed; where the simulated ensembles
overlap poorly the effective sample size (reported when the run starts) says so.

Energies are those of the nearest-neighbour model with ``J = 1`` and ``h = 0`` on the periodic lattice
(the convention of ``physgen data ising`` and :mod:`physgen.physics.observables`).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from physgen.errors import UserError
from physgen.models.gan.observables import observables
from physgen.physics.reweighting import effective_sample_size, free_energies, log_weights


class ReweightedReals(nn.Module):
    """``G`` grid temperatures (buffer ``grid (G,)``) and, after :meth:`fit`, the cumulative resampling
    weights ``cdf (G, N)`` of the ``N`` training lattices; :meth:`draw` returns a real batch."""

    def __init__(self, spec, n_grid: int):
        super().__init__()
        names = tuple(spec.condition_names)
        if spec.kind != "spins" or len(spec.shape) not in (2, 3) or names != ("temperature",) or spec.n_labels:
            raise UserError("model.reweight: needs spin lattices conditioned on temperature alone (data.condition="
                            f"temperature); the run has {spec.kind!r} data of shape {tuple(spec.shape)} conditioned "
                            f"on {', '.join(names) or 'nothing'}")
        values = spec.condition_values["temperature"]
        if n_grid < 2 or len(values) < 2:
            raise UserError(f"model.reweight={n_grid}: needs >= 2 grid temperatures and >= 2 trained ones "
                            f"(trained: {len(values)})")
        self.register_buffer("grid", torch.linspace(min(values), max(values), n_grid), persistent=False)
        self.x: torch.Tensor | None = None
        self.cdf: torch.Tensor | None = None
        self.ess = np.zeros(n_grid)

    @torch.no_grad()
    def fit(self, x: torch.Tensor, cond: torch.Tensor) -> str:
        """Weights of the training lattices ``x (N, …)`` (±1) simulated at ``cond (N, 1)`` for every grid
        temperature; returns a one-line summary (grid, worst effective sample size)."""
        sites = x[0].numel()
        energy = observables(x.float())[:, 2].double().cpu().numpy() * sites
        betas = 1.0 / cond[:, 0].double().cpu().numpy()
        fitted = free_energies(energy, betas)
        lw = np.stack([log_weights(energy, betas, 1.0 / float(t), fitted) for t in self.grid.tolist()])
        self.ess = np.array([effective_sample_size(row) for row in lw])
        cdf = torch.from_numpy(np.cumsum(np.exp(lw), axis=1)).to(device=x.device, dtype=torch.float64)
        self.x, self.cdf = x, cdf / cdf[:, -1:]
        # row g shifted by g: one ascending array, so a draw is one search without gathering rows
        self._stacked = (self.cdf + torch.arange(len(cdf), device=x.device, dtype=torch.float64)[:, None]).flatten()
        worst = int(np.argmin(self.ess))
        return (f"model.reweight: real batches at {len(self.grid)} temperatures in [{self.grid[0]:g}, "
                f"{self.grid[-1]:g}] from {len(x)} lattices at {len(fitted[0])}; effective sample size "
                f"min {self.ess[worst]:.0f} (T = {float(self.grid[worst]):.4g}), median {np.median(self.ess):.0f}")

    def draw(self, n: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """A real batch ``{"x": (n, …), "cond": (n, 1)}``: per row a grid temperature, then a lattice ~ w(T)."""
        if self.cdf is None:
            raise RuntimeError("ReweightedReals.draw before fit")
        dev = self.cdf.device
        g = torch.randint(len(self.grid), (n,), generator=generator, device=dev)
        u = torch.rand(n, generator=generator, device=dev, dtype=torch.float64)
        N = self.cdf.shape[1]
        idx = (torch.searchsorted(self._stacked, g + u) - g * N).clamp_(0, N - 1)
        return {"x": self.x.index_select(0, idx), "cond": self.grid[g][:, None].to(self.x.dtype)}

    def weighted_means(self, values: torch.Tensor) -> torch.Tensor:
        """``(G, d)`` reweighted means of per-lattice ``values (N, d)`` at the grid temperatures."""
        w = torch.diff(self.cdf, dim=1, prepend=torch.zeros_like(self.cdf[:, :1]))
        return (w @ values.double()).to(values.dtype)
