"""ODE integrators for flow-matching samplers: fixed-step Euler, midpoint and Heun, and adaptive RK45.

The model gives a velocity field, these functions integrate it (the same split as :mod:`physgen.samplers.ddpm`):

``velocity(x: (B, *shape), t: (B,) float) -> dx/dt (B, *shape)``

and :func:`integrate` solves dx/dt = v(x, t) from ``t0`` to ``t1`` (flow matching: noise at t = 0, data at
t = 1; Lipman et al. 2023).  Fixed-step methods use ``steps`` equal steps h = (t1 − t0)/steps:

* ``euler``    x ← x + h v(x, t)                                           (order 1, 1 call per step)
* ``midpoint`` x ← x + h v(x + h/2 v(x, t), t + h/2)                         (order 2, 2 calls)
* ``heun``     x̃ = x + h v(x, t);  x ← x + h/2 [v(x, t) + v(x̃, t + h)]      (order 2, 2 calls; Karras et
  al. 2022 use it for diffusion ODEs)

``rk45`` is SciPy's adaptive Dormand–Prince pair (:func:`scipy.integrate.solve_ivp`) on the whole batch as one
state vector (its error norm is the RMS over every coordinate of every sample) with tolerances ``rtol`` and
``atol``; it runs on the CPU in float64 round the model's calls.
"""
from __future__ import annotations

import typing
from typing import Callable, Literal

import numpy as np
import torch

from physgen.errors import UserError

Method = Literal["euler", "midpoint", "heun", "rk45"]
METHODS = typing.get_args(Method)
Velocity = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def check_method(method: str, steps: int) -> None:
    """UserError unless ``method`` is one of :data:`METHODS` and ``steps`` >= 1."""
    if method not in METHODS:
        raise UserError(f"sampler={method}: must be one of {', '.join(METHODS)}")
    if int(steps) < 1:
        raise UserError(f"steps: must be >= 1, got {steps}")


@torch.no_grad()
def integrate(velocity: Velocity, x: torch.Tensor, *, method: str = "heun", steps: int = 50, t0: float = 0.0,
              t1: float = 1.0, rtol: float = 1e-4, atol: float = 1e-4) -> tuple[torch.Tensor, int]:
    """``x (B, *shape)`` at ``t0`` carried to ``t1``; returns ``(x(t1), number of velocity calls)``."""
    check_method(method, steps)
    if method == "rk45":
        return _rk45(velocity, x, t0, t1, rtol, atol)
    h = (t1 - t0) / int(steps)
    calls = 0
    for i in range(int(steps)):
        t = t0 + i * h
        tt = torch.full((len(x),), t, device=x.device, dtype=x.dtype)
        v = velocity(x, tt)
        calls += 1
        if method == "euler":
            x = x + h * v
        elif method == "midpoint":
            x = x + h * velocity(x + 0.5 * h * v, tt + 0.5 * h)
            calls += 1
        else:
            v2 = velocity(x + h * v, tt + h)
            x = x + 0.5 * h * (v + v2)
            calls += 1
    return x, calls


def _rk45(velocity: Velocity, x: torch.Tensor, t0: float, t1: float, rtol: float, atol: float
          ) -> tuple[torch.Tensor, int]:
    from scipy.integrate import solve_ivp

    shape, dtype, device = x.shape, x.dtype, x.device
    calls = 0

    def rhs(t: float, y: np.ndarray) -> np.ndarray:
        nonlocal calls
        calls += 1
        xt = torch.from_numpy(y).to(device=device, dtype=dtype).reshape(shape)
        tt = torch.full((shape[0],), float(t), device=device, dtype=dtype)
        return velocity(xt, tt).double().cpu().numpy().ravel()

    sol = solve_ivp(rhs, (t0, t1), x.double().cpu().numpy().ravel(), method="RK45", rtol=rtol, atol=atol)
    if not sol.success:
        raise UserError(f"sampler=rk45: the adaptive solver failed ({sol.message}); use a fixed-step sampler")
    return torch.from_numpy(sol.y[:, -1]).to(device=device, dtype=dtype).reshape(shape), calls
