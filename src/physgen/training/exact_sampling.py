"""Exact Boltzmann samples from a trained run: ``Run.sample(..., mcmc=True)`` and ``importance=True``.

The run's model proposes (:meth:`~physgen.models.base.GenerativeModel.proposal`); the lattice model of its
training data (:func:`physgen.lattice.registry.recorded`), or one given by the caller, accepts or weights
(:mod:`physgen.samplers.boltzmann`).  A run conditioned on temperature gets one target per temperature of the
sampling plan; at a temperature outside the trained range the chains stay exact and only their acceptance
suffers, which the result's attributes report.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from physgen.data import Dataset
from physgen.errors import UserError, as_written
from physgen.models import registry
from physgen.samplers.boltzmann import LatticeTarget
from physgen.training.data import to_dataset


def ising(size: int, J: float = 1.0, h: float = 0.0, periodic: bool = True):
    """The Ising model of ``physgen sample --hamiltonian ising --J J --h H [--open]`` on an L×L lattice."""
    from physgen.lattice import registry

    return registry.build("ising", size, params={"J": J, "h": h}, boundary="periodic" if periodic else "open")


def families_with_density() -> list[str]:
    """The registered families whose models propose Boltzmann moves (they define ``proposal``)."""
    from physgen.models.base import GenerativeModel

    return [name for name in registry.names()
            if getattr(registry.get(name), "proposal", None) is not GenerativeModel.proposal]


def constants_of(run) -> dict:
    """The training file's constant conditions and attributes the run recorded (``RUN/data.json``)."""
    from physgen.training import rundir as R

    return R.read_json(run.path / R.DATA) if (run.path / R.DATA).is_file() else {}


def check_exact(model_name: str, kind: str, hamiltonian, constants: dict, *, chains: int | None,
                shape: tuple[int, ...]):
    """Refuse what exact sampling cannot do (one line each); returns the target's lattice model: ``hamiltonian``
    (a :mod:`physgen.lattice` model of the run's ``shape``) or the one the training data record."""
    from physgen.models.base import GenerativeModel

    if getattr(registry.get(model_name), "proposal", None) is GenerativeModel.proposal:
        raise UserError(f"model {model_name!r} has no probability of a configuration to correct with the Boltzmann "
                        f"weight; families that can: {', '.join(families_with_density())}")
    if kind not in ("spins", "categorical", "field"):
        raise UserError(f"exact Boltzmann sampling needs a run trained on spin or q-state lattices or fields, not "
                        f"{kind} data")
    if chains is not None and chains < 1:
        raise UserError(f"chains: must be >= 1, got {chains}")
    from physgen.lattice import registry as lattices

    found = hamiltonian or lattices.recorded(constants.get("attrs", {}), int(shape[-1]))
    if found is None:
        raise UserError("the run's training data records no Hamiltonian (no J attribute); give "
                        f"{as_written('hamiltonian')} (the Ising couplings J and h)")
    if tuple(found.shape) != tuple(int(x) for x in shape):
        raise UserError(f"the target {found.describe()} does not fit the run's lattice {tuple(shape)}")
    return found


def sample_exact(run, plan, *, method: str, generator: torch.Generator, constants: dict,
                 hamiltonian, chains: int | None, attrs: dict, temperature: float | None = None,
                 options: dict | None = None) -> Dataset:
    """``method`` ``"mcmc"`` or ``"importance"`` samples of ``run`` (the ``boltzmann`` samplers of
    :mod:`physgen.samplers.corrected`, ``options`` their settings, e.g. ``{"burn_in": 200}``) for each ``(k,
    condition)`` of ``plan`` (at ``temperature`` where the run is not conditioned on it: the training file's by
    default); the Dataset's attributes report the acceptance, τ_int and effective sizes (lists when the plan has
    several temperatures), and importance samples carry ``log_weights``."""
    from physgen.samplers import registry as samplers

    model = check_exact(run.config.model_name, run.spec.kind, hamiltonian, constants, chains=chains,
                        shape=run.spec.shape)
    sampler = samplers.get("boltzmann", method)
    settings = samplers.configure(sampler, sampler.settings(), options or {})
    fixed_t = temperature if temperature is not None else constants.get("conditions", {}).get("temperature")
    parts, logw, reports = [], [], []
    for k, condition in plan:
        t = (condition or {}).get("temperature", fixed_t)
        if t is None:
            raise UserError(f"exact Boltzmann sampling needs a temperature: give {as_written('condition')} "
                            "temperature=T")
        problem = samplers.Problem(run.model.proposal(condition), (k,), generator, run.model.device, settings,
                                   schedule=LatticeTarget(float(t), model), chains=chains)
        res = sampler.run(problem, None)
        parts.append(res.samples)
        if method == "mcmc":
            reports.append({"temperature": float(t), **res.attrs()})
        else:
            logw.append(res.log_weights)
            reports.append({"temperature": float(t), "importance_ess": res.ess, "importance_ess_fraction": res.ess / k})
    x = torch.cat([p.detach().float().cpu() for p in parts]).numpy()
    ds = to_dataset(x, run.spec, run.transform, plan, constants=constants, attrs=attrs)
    ds.attrs.update(_report_attrs(reports, method, model))
    if logw:
        ds.log_weights = np.concatenate(logw)
    return ds


def _report_attrs(reports: list[dict], method: str, model) -> dict:
    """One attribute per reported quantity: a number for one temperature, a list for several."""
    keys = [key for key in reports[0]]
    out = {("mcmc_temperature" if method == "mcmc" and key == "temperature" else
            "importance_temperature" if key == "temperature" else key):
           (reports[0][key] if len(reports) == 1 else [r[key] for r in reports]) for key in keys}
    out.update({"exact_method": method, "target_hamiltonian": model.name,
                "target_J": float(model.values.get("J", 1.0)), "target_h": model.h, "target_boundary": model.boundary})
    return out


def acceptance_text(ds: Dataset) -> str:
    """One line for the command line: acceptance and τ_int per temperature, or the ESS of importance weights."""
    a = ds.attrs
    listify = lambda v: v if isinstance(v, list) else [v]  # noqa: E731
    if a.get("exact_method") == "mcmc":
        rows = zip(listify(a["mcmc_temperature"]), listify(a["mcmc_acceptance"]),
                   listify(a["mcmc_tau_int_energy"]), listify(a["mcmc_tau_int_abs_magnetization"]),
                   listify(a["mcmc_n_effective"]))
        return "; ".join(f"T={t:g}: acceptance {acc:.1%}, tau_int E/|m| {te:.2f}/{tm:.2f} moves, "
                         f"{neff:.0f} independent" for t, acc, te, tm, neff in rows)
    rows = zip(listify(a["importance_temperature"]), listify(a["importance_ess"]),
               listify(a["importance_ess_fraction"]))
    return "; ".join(f"T={t:g}: ESS {ess:.1f} ({frac:.1%})" for t, ess, frac in rows if math.isfinite(ess))
