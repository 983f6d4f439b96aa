"""Conditional flow matching: ``flow-matching`` (Lipman et al. 2023) with independent or minibatch
optimal-transport couplings (Tong et al. 2023), on the diffusion models' networks.

A velocity field v_θ(x, t, c) carries noise x_0 ~ N(0, I) at t = 0 to data x_1 at t = 1 along the straight
(optimal-transport, "rectified") conditional paths of Lipman et al. (2023, *Flow matching for generative
modeling*, ICLR; Liu, Gong & Liu 2023, *Flow straight and fast*, ICLR)::

    x_t = (1 − (1 − σ_min) t) x_0 + t x_1,      u_t = x_1 − (1 − σ_min) x_0,
    L = E_{t ~ U(0, 1), (x_0, x_1) ~ π} mean ‖v_θ(x_t, t, c) − u_t‖²,

whose minimiser's flow maps N(0, I) onto the data distribution.  The coupling π is independent
(``coupling="independent"``) or, with ``coupling="ot"``, the exact optimal-transport plan between the noise and
the data of each minibatch (squared Euclidean cost, solved as an assignment problem; Tong et al. 2024,
*Improving and generalizing flow-based generative models with minibatch optimal transport*, TMLR; Pooladian
et al. 2023), computed within each group of equal conditions so that the noise given c stays N(0, I).  The
paths are then straighter and few ODE steps suffice.

Sampling integrates dx/dt = v_θ(x, t, c) from t = 0 to 1 with :func:`physgen.samplers.ode.integrate`
(``sampler`` heun, midpoint, euler with ``steps`` steps, or SciPy's adaptive rk45), or runs the SDE with the
same marginals built from v_θ (``sampler="sde"``, noise strength ``noise``;
:mod:`physgen.samplers.interpolant_sde`).  The network is the
diffusion models' (:mod:`physgen.models.diffusion_nets`: the residual MLP for tabular data, the U-Net with
circular padding for lattices and images), fed the noise level τ = 1 − t through the sinusoidal embedding of
1000 τ, so classifier-free guidance and its interval (``p_uncond``, ``guidance``, ``guidance_interval``)
work as in ``ddpm``.  Spins are modelled as continuous ±1 values and decoded by sign, binary data as ±1 and
decoded by the threshold 0; continuous samples are clipped to the training range (``clip_to_data``).

The options and their checks: :mod:`physgen.models.flow_matching_config`; the family's card (name, defaults
per data kind): :mod:`physgen.models.flow_matching_card`.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from physgen.models.diffusion import _Diffusion
from physgen.models.diffusion_nets import sinusoidal_embedding
from physgen.models.flow_matching_card import FlowMatchingCard
from physgen.models.flow_matching_config import FlowMatchingConfig  # noqa: F401  (re-exported: the family's options)
from physgen.models.registry import register
from physgen.randomness import rand, randn
from physgen.samplers import registry as samplers

TIME_SCALE = 1000.0   # the noise level τ ∈ [0, 1] enters the sinusoidal embedding as 1000 τ (ddpm's timestep range)


class NoiseLevelEmbedding(nn.Module):
    """``τ: (B,)`` in [0, 1] -> ``(B, dim)``, the sinusoidal embedding of 1000 τ."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, tau: torch.Tensor) -> torch.Tensor:
        return sinusoidal_embedding(tau * TIME_SCALE, self.dim)


def ot_permutation(x0: torch.Tensor, x1: torch.Tensor, groups: torch.Tensor | None = None) -> torch.Tensor:
    """The permutation σ ``(B,)`` (int64) minimising Σ_i ‖x0[σ_i] − x1_i‖² with σ_i in the group of i
    (``groups (B,)`` integer group ids; None: one group): the exact optimal-transport plan between two
    equal-weight empirical measures is a permutation (Birkhoff–von Neumann), found by
    :func:`scipy.optimize.linear_sum_assignment`."""
    from scipy.optimize import linear_sum_assignment

    b = len(x0)
    a, c = x0.detach().flatten(1).double().cpu(), x1.detach().flatten(1).double().cpu()
    perm = np.arange(b)
    ids = np.zeros(b, dtype=np.int64) if groups is None else groups.cpu().numpy()
    for g in np.unique(ids):
        idx = np.flatnonzero(ids == g)
        if len(idx) < 2:
            continue
        cost = torch.cdist(c[idx], a[idx]).pow(2).numpy()        # rows: data, columns: noise
        rows, cols = linear_sum_assignment(cost)
        perm[idx[rows]] = idx[cols]
    return torch.from_numpy(perm).to(x0.device)


@register
class FlowMatching(FlowMatchingCard, _Diffusion):
    """Conditional flow matching with straight paths (Lipman et al. 2023), optional minibatch OT coupling
    (Tong et al. 2024), ODE sampling; the ddpm's MLP / U-Net networks.  Its card (name, defaults):
    :class:`physgen.models.flow_matching_card.FlowMatchingCard`."""

    def _time_embed(self, config) -> nn.Module:
        return NoiseLevelEmbedding(config.emb_dim)

    def _groups(self, batch: dict[str, torch.Tensor]) -> torch.Tensor | None:
        """Integer ids of the distinct conditions (continuous values and labels) of a batch, or None."""
        parts = [batch[k].reshape(len(batch["x"]), -1).double() for k in ("cond", "labels") if k in batch]
        if not parts:
            return None
        return torch.unique(torch.cat(parts, 1), dim=0, return_inverse=True)[1]

    def loss(self, batch: dict[str, torch.Tensor], *, generator: torch.Generator
             ) -> tuple[torch.Tensor, dict[str, float]]:
        """E_t mean‖v_θ(x_t, t, c) − (x_1 − (1 − σ_min) x_0)‖², t ~ U(0, 1), (x_0, x_1) coupled by π."""
        x1 = self.to_model_space(batch["x"])
        x0 = randn(x1.shape, generator, x1.device, x1.dtype)
        if self.config.coupling == "ot":
            x0 = x0[ot_permutation(x0, x1, self._groups(batch))]
        t = rand((len(x1),), generator, x1.device, x1.dtype)
        tb = t.view(-1, *([1] * (x1.ndim - 1)))
        s = 1 - self.config.sigma_min
        xt = (1 - s * tb) * x0 + tb * x1
        c, drop = self._train_condition(batch, generator)
        loss = (self.denoiser(xt, 1 - t, c, drop) - (x1 - s * x0)).pow(2).mean()
        return loss, {"loss": float(loss.detach())}

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator, condition: dict[str, float] | None = None,
               steps: int | None = None, sampler: str | None = None, guidance: float | None = None,
               **options: Any) -> torch.Tensor:
        """``(n, *shape)`` samples: x(1) of dx/dt = v_θ(x, t, c), x(0) ~ N(0, I), by ``sampler`` (default
        ``model.sampler``) with ``steps`` steps (default ``model.steps``; rk45 chooses its own) and the sampler's
        ``options`` (:func:`physgen.samplers.registry.configure`; rk45: ``rtol``, ``atol``; sde: ``noise``)."""
        run = samplers.get(self.sampler_field, sampler or self.config.sampler, family=self.name)
        cfg = samplers.configure(run, self.config, options)
        net, c, w = self._sampling_setup(n, generator, condition, guidance)
        field = self._guided(net, c, w, 1.0)
        x0 = randn((n, *self.spec.shape), generator, self.device, self.data_lo.dtype)
        x = run.run(samplers.Problem(lambda x, t: field(x, 1 - t), x0.shape, generator, self.device, cfg, x0=x0),
                    steps)
        clip = self.data_clip()
        if isinstance(clip, tuple):
            x = torch.maximum(torch.minimum(x, clip[1]), clip[0])
        return self.from_model_space(x)

    def probability_flow(self, net, steps: int):
        """dx/dτ = −v_θ(x, 1 − τ) = −net(x, τ) from the data (τ = 0) to N(0, I) at τ = 1
        (:func:`physgen.samplers.probability_flow.linear_path_flow`)."""
        from physgen.samplers.probability_flow import linear_path_flow

        return linear_path_flow(lambda x, t, c: -net(x, t, c), steps)

