"""The negative phase of :class:`~physgen.models.rbm.model.RBM` training: CD-k, persistent chains, PT sweeps.

The surrogate ``L = mean_data F(v) − mean_neg F(v⁻)`` needs negatives ``v⁻`` drawn (without gradient) from
the model, per condition group ``k``:

* **CD-k** (Hinton 2002): k block-Gibbs sweeps ``h → v → x → h`` from ``h ~ σ(x_data)``, the data's hidden
  draw (:func:`cd_negative`);
* **PCD-k** (Tieleman 2008): the persistent chains ``chains (K, C, n)`` advance from their stored hidden
  units ``chain_hidden (K, C, m)``: k − 1 sweeps and the last ``h → v`` for every group at once
  (:func:`chain_visible`), then each group's last ``v → x → h`` half-sweep (:func:`finish_chain`) with the
  global spin flip ``s → −s`` accepted with ``min(1, p(−s)/p(s))`` from the logits;
* **PT** (Desjardins et al. 2010): one parallel-tempering sweep of the replicas ``chains (K, R, C, n)`` at
  ``betas (R,)``; the β = 1 replica gives the negatives (:func:`negative`).

:func:`closed_form` gives group k's ``(L, ∂L/∂W, ∂L/∂a, ∂L/∂b)`` without autograd
(:mod:`physgen.models.rbm.cd`): for PCD the logits of the data and of the chains come from one product
``[v₀; v⁻]W``.  Functions take the model and update its chain buffers in place; the random draws happen
in the order the training's reproducibility relies on.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from physgen.models.rbm import cd
from physgen.models.rbm.energy import RBMEnergy
from physgen.samplers.tempering import pt_sweep

if TYPE_CHECKING:
    from physgen.models.rbm.model import RBM


@torch.no_grad()
def chain_visible(model: RBM, generator: torch.Generator) -> list[torch.Tensor]:
    """PCD: k − 1 full sweeps and the last ``h → v`` of every persistent chain of every condition value
    at once (batched products; a single RBM uses plain 2-D products, which oneDNN runs faster than a
    batch of one): ``(K, C, n)``.  Each group finishes its chains in :func:`finish_chain`, its
    ``v → x`` product stacked with the data's.  Returns the K tensors ``(C, n)``."""
    single = model.W.shape[0] == 1
    e = model._fast_energy(0) if single else model.stacked_energy().fast()
    h = model.chain_hidden[0] if single else model.chain_hidden
    if model.config.k > 1:
        h = cd.sweeps(e, h, model.config.k - 1, generator, flip=model.flip)[2]
    v = e.sample_visible(h, generator)
    return [v] if single else list(v.unbind(0))


@torch.no_grad()
def finish_chain(model: RBM, k: int, e: RBMEnergy, v: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Last half-sweep of group k's chains from ``v (C, n)``: logits, the spin flip, ``h ~ σ(x)``;
    stores both (:func:`store_chain`) and returns the chains' visible units."""
    x = e.hidden_logits(v)
    if model.flip:
        v, x = cd.flip_from_logits(e, v, x, generator)
    store_chain(model, k, v, torch.sigmoid(x), generator)
    return v


def store_chain(model: RBM, k: int, v: torch.Tensor, p: torch.Tensor, generator: torch.Generator) -> None:
    """Group k's persistent chains become ``v (C, n)``, their hidden units a draw ``h ~ p (C, m)``."""
    model.chains[k] = v
    cd.bernoulli(p, generator, out=model.chain_hidden[k])


def closed_form(model: RBM, k: int, e: RBMEnergy, v: torch.Tensor, chain_v: list[torch.Tensor] | None,
                generator: torch.Generator, value: bool = True) -> tuple[torch.Tensor | None, ...]:
    """``(L, dW, da, db)`` of group k by :func:`cd.cd_gradients`: PCD computes the logits of the data
    and of its chains in one product (then the chains' flip and hidden draw, as
    :func:`finish_chain`, reusing the probabilities the statistics need); CD runs k sweeps from the
    data's hidden units."""
    with torch.no_grad():
        if chain_v is None:
            x_data = e.hidden_logits(v)
            return cd.cd_gradients(e, v, x_data, *cd_negative(model, e, x_data, generator), value=value)
        B, both = len(v), torch.cat([v, chain_v[k]])
        vc = e.operands(both)   # cast once for both products (None: Gaussian units, scaled per product)
        x = e.hidden_logits(both if vc is None else vc)
        if model.flip:
            both[B:], x[B:] = cd.flip_from_logits(e, both[B:], x[B:], generator)
            if vc is not None and vc is not both:
                vc[B:] = both[B:]
        p = torch.sigmoid(x)
        store_chain(model, k, both[B:], p[B:], generator)
        return cd.stacked_gradients(e, both, x, B, p, vc, value=value)


def cd_negative(model: RBM, e: RBMEnergy, x_data: torch.Tensor, generator: torch.Generator
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """CD-k negatives ``(v, x)``: k sweeps from ``h ~ σ(x_data)`` (the final hidden draw skipped)."""
    h = cd.bernoulli(torch.sigmoid(x_data), generator)
    neg, x_neg, _ = cd.sweeps(e, h, model.config.k, generator, flip=model.flip, last_hidden=False)
    return neg, x_neg


def negative(model: RBM, k: int, e: RBMEnergy, x_data: torch.Tensor, chain_v: list[torch.Tensor] | None,
             generator: torch.Generator, logs: dict[str, float]) -> torch.Tensor:
    """Negative samples ``(C, n)`` of group ``k`` for the autograd path: CD-k from the data's hidden
    units, the persistent chains finished from ``chain_v``, or a PT sweep (its lowest swap rate logged
    as ``pt_swap_min``)."""
    c = model.config
    with torch.no_grad():
        if c.method == "cd":
            return cd_negative(model, e, x_data, generator)[0]
        if c.method == "pcd":
            return finish_chain(model, k, model._fast_energy(k), chain_v[k], generator)
        model.chains[k], rate = pt_sweep(e, model.chains[k], model.betas, generator, steps=c.k, flip=model.flip)
        logs["pt_swap_min"] = float(rate.min())
        return model.chains[k, -1].clone()
