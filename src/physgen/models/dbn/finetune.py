"""Up-down fine-tuning of a deep belief network (Hinton, Osindero & Teh 2006, §5 and appendix B).

After greedy training the directed layers are untied: the recognition weights ``R_l, c_l`` (the upward
``q_l(h_{l+1} | h_l) = σ(c_l + h̃_l R_l)``, ``h̃ = h``, or ``v/σ²`` for Gaussian units) start as copies of
the RBMs' and then learn apart from the generative ones (``W_l, a_l`` of ``p_l(h_l | h_{l+1})``).  One update
from a batch ``v`` (``B`` rows):

* **wake / up pass**: ``s_0 = v``, ``s_{l+1} ~ q_l(· | s_l)``; the generative weights follow the gradient of
  ``log p_l(s_l | s_{l+1})``: ``ΔW_l ∝ (s_l − E[s_l | s_{l+1}])ᵀ s_{l+1} / B`` (divided by σ² for Gaussian
  units), ``Δa_l ∝`` the mean residual;
* **top**: contrastive divergence of the top RBM between ``s_{L−1}`` and ``k`` Gibbs sweeps from it;
* **sleep / down pass**: from the top's negatives ``t_{L−1}``, ``t_l ~ p_l(· | t_{l+1})``; the recognition
  weights follow the gradient of ``log q_l(t_{l+1} | t_l)``:
  ``ΔR_l ∝ t̃_lᵀ (t_{l+1} − σ(c_l + t̃_l R_l)) / B``.

Gradients are returned in the loss convention (``−Δ``), for an optimizer that minimises.
"""
from __future__ import annotations

import torch

from physgen.models.dbn.likelihood import log_conditional
from physgen.models.rbm import cd
from physgen.models.rbm.energy import RBMEnergy
from physgen.samplers.draws import bernoulli
from physgen.samplers.gibbs import gibbs_steps


def residual(e: RBMEnergy, s: torch.Tensor, field: torch.Tensor) -> torch.Tensor:
    """``∂ log p(s | h) / ∂f`` at the field ``f``: ``s − σ(f)`` (Bernoulli), ``s − tanh f`` (spin), ``(s − f)/σ²``
    (Gaussian)."""
    if e.visible == "bernoulli":
        return s - torch.sigmoid(field)
    if e.visible == "spin":
        return s - torch.tanh(field)
    return (s - field) / e.sigma ** 2


@torch.no_grad()
def up_down_gradients(gen: list[RBMEnergy], rec: list[RBMEnergy], v: torch.Tensor, k: int,
                      generator: torch.Generator | None) -> tuple[torch.Tensor, dict[str, list[torch.Tensor]]]:
    """One up-down step.  ``gen``: the RBMs' energies bottom first (the last is the top RBM); ``rec``: the
    recognition energies of the ``L − 1`` directed layers (``W = R_l``, ``b = c_l``).  Returns the wake
    pass's ``−mean Σ_l log p_l(s_l | s_{l+1})`` and the gradients ``{"gen_W", "gen_a"}`` (per directed
    layer), ``{"rec_W", "rec_b"}`` (per directed layer) and ``"top"`` = ``[dW, da, db]``."""
    B = len(v)
    s = [v]
    for e in rec:
        s.append(bernoulli(torch.sigmoid(e.hidden_logits(s[-1])), generator))
    top = gen[-1]
    pos = s[-1]
    neg = gibbs_steps(top, pos, k, generator)
    _, *top_grads = cd.cd_gradients(top, pos, top.hidden_logits(pos), neg, top.hidden_logits(neg))
    t = [neg]
    for e in reversed(gen[:-1]):
        t.insert(0, e.sample_visible(t[0], generator))
    out: dict[str, list[torch.Tensor]] = {"gen_W": [], "gen_a": [], "rec_W": [], "rec_b": [], "top": top_grads}
    value = torch.zeros((), dtype=v.dtype, device=v.device)
    for l, (e, q) in enumerate(zip(gen[:-1], rec)):
        field = e.visible_field(s[l + 1])
        r = residual(e, s[l], field)
        out["gen_W"].append(-(r.mT @ s[l + 1]) / B)
        out["gen_a"].append(-r.mean(0))
        value = value - log_conditional(e, s[l], s[l + 1]).mean()
        err = t[l + 1] - torch.sigmoid(q.hidden_logits(t[l]))
        out["rec_W"].append(-(q.scaled(t[l]).mT @ err) / B)
        out["rec_b"].append(-err.mean(0))
    return value, out
