"""Thermodynamics of a trained run's Hamiltonian by importance sampling its model: ``physgen thermo``.

A run whose family has a probability of a spin configuration (:func:`~physgen.training.exact_sampling.
families_with_density`) proposes draws s ~ q with log q; against the lattice model of its training data
(``RUN/data.json``; :func:`~physgen.lattice.registry.recorded`) :mod:`physgen.physics.thermo` turns them into
F, U, S, C, ⟨|m|⟩ and χ per spin with bootstrap errors, beside the exact values of the lattice.
What a family's log q allows:

* ``normalised`` — ``van``, and ``flow`` on fields: i.i.d. draws of an exactly normalised q(s): every quantity,
  and the variational free energy F_q ≥ F (for a field the absolute free energy, which HMC alone cannot give;
  Nicoli et al., PRL 126, 032001, 2021);
* ``extended`` — ``flow`` and ``vae``/``conv-vae``: i.i.d. draws of a normalised density on an extended space
  whose target has the Boltzmann marginal (Nicoli et al., PRE 101, 023304, 2020), so Ẑ is unbiased: every
  quantity but F_q.  The flow's space is the dequantised y ∈ [0, 1]^D (each spin's cell of width ½, the target
  uniform on it: log q(s-cell) = log q(y) − D log 2); a draw whose y left [0, 1]^D through the logit map's
  margin lies outside the target's support and weighs 0 (``Flow.proposal``).  The vae's space is (s, z), with
  log q = log p(z) + log p(s|z) − log r(z|s);
* ``unnormalised`` — ``rbm`` (q ∝ e^{−F(v)}, draws from Gibbs chains): the ratios U, C, ⟨|m|⟩, χ only; F and S
  would need its log Z and are left out.

Temperatures default to the run's: the trained values of a run conditioned on temperature, else the training
file's constant temperature.  A conditioned run proposes with ``condition={"temperature": T}``.  Shapes: draws
``(n, L, L)`` of ±1, log q and energies ``(n,)`` float64.
"""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np
import torch

from physgen.errors import UserError, as_written
from physgen.physics import thermo as P
from physgen.samplers.boltzmann import LatticeTarget
from physgen.training.exact_sampling import check_exact, constants_of

DEFAULT_N = 10_000      # draws per temperature
DEFAULT_BOOT = 200      # bootstrap resamples
CHUNK = 4096            # draws per call of the proposal

NOTES = {
    "normalised": "{family}: i.i.d. draws of an exactly normalised q(s); F = -T log Z with log Z = log mean(e^(-E/T)/q), "
             "biased low by about (n/ESS - 1)/(2n); F_q = E_q[E + T log q] >= F",
    "extended": "{family}: i.i.d. draws of a normalised density on an extended space with the Boltzmann marginal "
                "(flow: dequantised cells y in [0,1]^D, draws outside them weight 0; vae: (s, z) with the encoder "
                "as auxiliary); F_q of the extended space is not reported",
    "unnormalised": "{family}: log q is unnormalised and the draws come from Gibbs chains: F, S and F_q are not "
                    "estimated; U, C, <|m|> and chi are self-normalised ratios",
}


def normalisation(model) -> str:
    """``"normalised"``, ``"extended"`` or ``"unnormalised"``: what the model's log q allows (module docstring)."""
    from physgen.models.flow import Flow
    from physgen.models.vae import VAE
    from physgen.models.van import VAN

    if isinstance(model, VAN) or (isinstance(model, Flow) and model.field is not None):
        return "normalised"
    return "extended" if isinstance(model, (Flow, VAE)) else "unnormalised"


def run_temperatures(run, constants: dict) -> list[float]:
    """The run's temperatures: the trained values of a temperature-conditioned run, else the training file's
    constant temperature; UserError where it records none."""
    values = run.spec.condition_values.get("temperature")
    if values:
        return sorted(float(t) for t in values)
    t = constants.get("conditions", {}).get("temperature")
    if t is None:
        raise UserError(f"the run records no temperature: give {as_written('temperatures')}", key="temperatures")
    return [float(t)]


def check_temperatures(temperatures: Iterable[float], key: str = "temperatures") -> list[float]:
    """Each temperature finite and > 0, at least one; returned as floats (errors name ``key``)."""
    temps = [float(t) for t in temperatures]
    if not temps:
        raise UserError("need at least one temperature", key=key)
    for t in temps:
        if not (math.isfinite(t) and t > 0):
            raise UserError("every temperature must be finite and > 0", key=key, value=f"{t:g}")
    return temps


def _proposal_draw(run, temperature: float):
    """The ``draw(n, generator)`` of the run's model at ``temperature``."""
    condition = {"temperature": float(temperature)} if "temperature" in run.spec.condition_names else None
    return run.model.proposal(condition).draw


def draws_at(run, temperature: float, model, n: int, generator: torch.Generator) -> P.Draws:
    """``n`` draws of the run's model at ``temperature`` as :class:`~physgen.physics.thermo.Draws` (energies
    and the model's |m| under the lattice ``model``, :class:`~physgen.samplers.boltzmann.LatticeTarget`); UserError
    where a draw is not a lattice of ±1 (of q states, for a q-state model)."""
    draw, target = _proposal_draw(run, temperature), LatticeTarget(float(temperature), model)
    kind = model.space.kind
    energy, abs_m, log_q = [], [], []
    for start in range(0, n, CHUNK):
        s, lq = draw(min(CHUNK, n - start), generator)
        s = s.detach().to(torch.float64)
        valid = {"categorical": lambda: (s == s.round()).all(), "field": lambda: torch.isfinite(s).all(),
                 "spins": lambda: (s.abs() == 1).all()}[kind]
        if s.dim() != 3 or not bool(valid()):
            raise UserError(f"model {run.config.model_name!r}: its draws are not lattices of {model.space.describe()}")
        energy.append(target.energy(s).cpu().numpy())
        abs_m.append(target.abs_magnetization(s).cpu().numpy())
        log_q.append(lq.detach().double().cpu().numpy())
    n_spins = int(np.prod(run.spec.shape))
    return P.Draws(np.concatenate(energy), np.concatenate(abs_m), np.concatenate(log_q), n_spins)


def _record(run, kind: str, model, temperature: float, draws: P.Draws, *, n_boot: int,
            rng: np.random.Generator) -> dict:
    """One temperature's entry of ``thermo.json``."""
    est = P.with_errors(draws, temperature, normalised=kind != "unnormalised", variational=kind == "normalised",
                        n_boot=n_boot, rng=rng)
    ess, frac, k = est.pop("ess"), est.pop("ess_fraction"), est.pop("pareto_k")
    return {"temperature": temperature, "method": f"importance sampling ({kind} q)", "estimates": est,
            "ess": ess, "ess_fraction": frac, "pareto_k": k,
            "exact": model.exact(temperature),
            "onsager": model.infinite_lattice(temperature)}


def thermodynamics(run, temperatures: Iterable[float] | None = None, *, n: int = DEFAULT_N, seed: int = 0,
                   n_boot: int = DEFAULT_BOOT, progress=None) -> dict:
    """The content of ``thermo.json`` for ``run`` at ``temperatures`` (default: :func:`run_temperatures`), ``n``
    draws each; ``progress(record)`` is called after each temperature."""
    if isinstance(n, bool) or int(n) != n or n < 2:
        raise UserError("must be an integer >= 2", key="n", value=n)
    if n_boot < 0:
        raise UserError("must be >= 0", key="n_boot", value=n_boot)
    constants = constants_of(run)
    model = check_exact(run.config.model_name, run.spec.kind, None, constants, chains=None, shape=run.spec.shape)
    temps = check_temperatures(run_temperatures(run, constants) if temperatures is None else temperatures)
    kind = normalisation(run.model)
    generator = torch.Generator(device=run.model.device).manual_seed(int(seed))
    rng = np.random.default_rng(int(seed))
    records = []
    for t in temps:
        records.append(_record(run, kind, model, t, draws_at(run, t, model, int(n), generator),
                               n_boot=n_boot, rng=rng))
        if progress is not None:
            progress(records[-1])
    shape = [int(x) for x in run.spec.shape]
    return {"run": str(run.path.resolve()), "family": run.config.model_name, "checkpoint": run.checkpoint,
            "checkpoint_step": run.step, "lattice": shape, "n_spins": int(np.prod(shape)),
            "hamiltonian": {"J": float(model.values.get("J", 1.0)), "h": model.h, "boundary": model.boundary,
                            **({"model": model.name} if model.name != "ising" else {})},
            "proposal": kind, "note": NOTES[kind].format(family=run.config.model_name),
            "reference": model.reference_method(),
            "units": "per spin (k_B = 1): F, U, S divided by N; C = Var(E)/(N T^2); chi = N (<m^2> - <|m|>^2)/T",
            "n": int(n), "seed": int(seed), "n_boot": int(n_boot), "temperatures": records}
