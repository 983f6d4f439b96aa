"""physgen's own named samplers (:mod:`physgen.samplers.registry`), each a thin object round the loop that does
the work, declared as ``physgen.samplers`` entry points in ``pyproject.toml``.

Step defaults come from the family's settings: ``steps`` for the ancestral, DDIM, Euler–Maruyama and
fixed-step ODE samplers, ``solver_steps`` for DPM-Solver++.  Each sampler's ``options`` name the settings it
reads that a user may change when sampling (``--set sampler.eta=0``).
"""
from __future__ import annotations

from physgen.errors import UserError
from physgen.samplers import ddpm as rev
from physgen.samplers import interpolant_sde, ode
from physgen.samplers.registry import Problem, Sampler


# --- ε̂ on a variance-preserving schedule (ddpm) ------------------------------------------------------------
def _ddim(ancestral: bool):
    """DDIM's update; ``ancestral``: η = 1 and T steps by default (DDPM), else η = ``ddim_eta`` and 50 steps."""
    def run(p: Problem, steps: int | None):
        cfg, T = p.settings, len(p.schedule)
        default, eta = (T, 1.0) if ancestral else (min(50, T), cfg.ddim_eta)
        return rev.ddim(p.field, p.shape, p.schedule, steps=int(steps or cfg.steps or default), eta=eta,
                        generator=p.generator, device=p.device, clip=p.clip, variance=cfg.ancestral_variance)
    return run


def _dpm_solver(stochastic: bool):
    def run(p: Problem, steps: int | None):
        cfg = p.settings
        return rev.dpm_solver(p.field, p.shape, p.schedule, steps=int(steps or min(cfg.solver_steps, len(p.schedule))),
                              stochastic=stochastic, spacing=cfg.solver_spacing, generator=p.generator,
                              device=p.device, clip=p.clip)
    return run


DDPM = Sampler("ddpm", "vp-eps", _ddim(ancestral=True), "ancestral sampling (Ho et al. 2020), respaced when steps < T",
               aliases=("ancestral",), options={"variance": "ancestral_variance"})
DDIM = Sampler("ddim", "vp-eps", _ddim(ancestral=False), "DDIM (Song, Meng & Ermon 2021) with η = model.ddim_eta",
               options={"eta": "ddim_eta", "variance": "ancestral_variance"})
VP_DPM_SOLVER = Sampler("dpm-solver++", "vp-eps", _dpm_solver(False),
                        "DPM-Solver++(2M) on the probability-flow ODE (Lu et al. 2022b)",
                        options={"spacing": "solver_spacing"})
VP_SDE_DPM_SOLVER = Sampler("sde-dpm-solver++", "vp-eps", _dpm_solver(True),
                            "SDE-DPM-Solver++(2M) on the reverse SDE (Lu et al. 2022b)",
                            options={"spacing": "solver_spacing"})


# --- the score on a variance-exploding SDE (score-sde) -----------------------------------------------------
def _ve_dpm_solver(stochastic: bool):
    def run(p: Problem, steps: int | None):
        cfg = p.settings
        if cfg.corrector_steps > 0:
            raise UserError("corrector_steps: the Langevin corrector runs with sampler=euler-maruyama")
        return rev.dpm_solver_ve(p.field, p.shape, p.schedule, steps=int(steps or cfg.solver_steps),
                                 stochastic=stochastic, generator=p.generator, device=p.device, eps=cfg.sample_eps)
    return run


def _ve_euler_maruyama(p: Problem, steps: int | None):
    cfg = p.settings
    return rev.euler_maruyama(p.field, p.shape, p.schedule, steps=int(steps or cfg.steps), generator=p.generator,
                              device=p.device, eps=cfg.sample_eps, corrector_steps=cfg.corrector_steps, snr=cfg.snr)


VE_DPM_SOLVER = Sampler("dpm-solver++", "ve-score", _ve_dpm_solver(False),
                        "DPM-Solver++(2M) on the probability-flow ODE of the VE SDE", options={"eps": "sample_eps"})
VE_SDE_DPM_SOLVER = Sampler("sde-dpm-solver++", "ve-score", _ve_dpm_solver(True),
                            "SDE-DPM-Solver++(2M) on the reverse VE SDE", options={"eps": "sample_eps"})
VE_EULER_MARUYAMA = Sampler("euler-maruyama", "ve-score", _ve_euler_maruyama,
                            "Euler–Maruyama on the reverse SDE, predictor–corrector with model.corrector_steps "
                            "(Song et al. 2021)", options={"eps": "sample_eps", "snr": "snr"})


# --- a velocity from noise (t = 0) to data (t = 1) (flow-matching) -----------------------------------------
def _ode(method: str):
    def run(p: Problem, steps: int | None):
        cfg = p.settings
        tolerances = {"rtol": cfg.rtol, "atol": cfg.atol} if method == "rk45" else {}
        x, _ = ode.integrate(p.field, p.x0, method=method, steps=int(steps or cfg.steps), **tolerances)
        return x
    return run


def _interpolant_sde(p: Problem, steps: int | None):
    cfg = p.settings
    return interpolant_sde.euler_maruyama(p.field, p.x0, steps=int(steps or cfg.steps), gamma=cfg.noise,
                                          generator=p.generator, sigma_min=cfg.sigma_min)


EULER = Sampler("euler", "velocity", _ode("euler"), "Euler's method on the ODE")
MIDPOINT = Sampler("midpoint", "velocity", _ode("midpoint"), "the explicit midpoint method on the ODE")
HEUN = Sampler("heun", "velocity", _ode("heun"), "Heun's method on the ODE (Karras et al. 2022)")
RK45 = Sampler("rk45", "velocity", _ode("rk45"), "SciPy's adaptive Dormand–Prince pair, model.rtol / model.atol",
               options={"rtol": "rtol", "atol": "atol"})
SDE = Sampler("sde", "velocity", _interpolant_sde,
              "the SDE with the flow's marginals, noise model.noise (Albergo, Boffi & Vanden-Eijnden 2023)",
              options={"noise": "noise"})
