"""A stochastic sampler for flow matching: the SDE with the flow's marginals, built from the learned velocity.

On the straight path x_t = a_t x_0 + t x_1 with a_t = 1 − (1 − σ_min) t and x_0 ~ N(0, I), the velocity
field v(x, t) = E[x_1 − (1 − σ_min) x_0 | x_t = x] fixes the denoiser and the score of p_t (Albergo, Boffi &
Vanden-Eijnden 2023, *Stochastic interpolants: a unifying framework for flows and diffusions*, arXiv:2303.08797;
Ma et al. 2024, *SiT*, ECCV, use the same construction)::

    E[x_1 | x] = a_t v + (1 − σ_min) x,    E[x_0 | x] = x − t v,    ∇ log p_t(x) = −E[x_0 | x] / a_t,

and for any ε(t) ≥ 0 the SDE  dX = [v + ε ∇ log p_t] dt + √(2ε) dW  run from t = 0 to 1 has the same marginals
p_t as the ODE dX = v dt.  Its noise lets the chain correct part of the network's error, which the ODE carries
to the end (Karras et al. 2022, *Elucidating the design space of diffusion-based generative models*, NeurIPS,
§4, on "churn").  With ε(t) = γ a_t the drift stays bounded as t → 1:

    (1 + γ t) v − γ x,        noise √(2 γ a_t) per unit time,

integrated here by Euler–Maruyama with ``steps`` equal steps (one velocity call each).
"""
from __future__ import annotations

import torch

from physgen.errors import UserError
from physgen.randomness import randn
from physgen.samplers.ode import Velocity


@torch.no_grad()
def euler_maruyama(velocity: Velocity, x: torch.Tensor, *, steps: int, gamma: float, generator: torch.Generator,
                   sigma_min: float = 0.0) -> torch.Tensor:
    """``x (B, *shape)`` ~ N(0, I) at t = 0 carried to t = 1 by the SDE of the module docstring with ε(t) = γ a_t;
    ``velocity(x, t (B,))`` is v(x, t).  γ = 0 is Euler's method on the ODE."""
    if int(steps) < 1:
        raise UserError(f"steps: must be >= 1, got {steps}")
    if not gamma >= 0:
        raise UserError(f"model.noise: must be >= 0, got {gamma}")
    h = 1.0 / int(steps)
    for i in range(int(steps)):
        t = i * h
        v = velocity(x, torch.full((len(x),), t, device=x.device, dtype=x.dtype))
        x = x + h * ((1 + gamma * t) * v - gamma * x)
        if gamma > 0 and i < int(steps) - 1:
            a = 1.0 - (1.0 - sigma_min) * t
            x = x + (2.0 * gamma * a * h) ** 0.5 * randn(x.shape, generator, x.device, x.dtype)
    return x
