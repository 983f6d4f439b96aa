"""The statistical tests' checked quantities over a family of seeds, for benchmarks/records/test_margins.md.

Each function below reproduces one test's computation (importing the test module's own helpers) with the test's
seeds s replaced by s + 1000 k, k = 0 … N−1: member 0 is the test itself.  It returns the values the test
compares with its thresholds, before the comparison; ``BOUNDS`` names each value's threshold ("<" an upper and
">" a lower bound).  Per value the summary gives mean ± sd, the extreme over the seeds, the number of seeds on
the wrong side and the margin |threshold − mean| / sd.

    OMP_NUM_THREADS=1 python benchmarks/test_margins.py --tests dpm_solver ddim --seeds 20
    OMP_NUM_THREADS=1 python benchmarks/test_margins.py --list
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def max_abs_z(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> tuple[float, float]:
    """Largest |z| of the sample mean and of the sample std of ``x (n, d)`` against exact moments."""
    x, n = x.double(), len(x)
    return (float(((x.mean(0) - mean) / (std / math.sqrt(n))).abs().max()),
            float(((x.std(0) / std - 1) / (1 / math.sqrt(2 * n))).abs().max()))


def gaussian_z(x: torch.Tensor, mu: torch.Tensor, cov: torch.Tensor) -> float:
    """test_dpm_solver.assert_gaussian's largest |z| of the 2 means and 3 covariance entries."""
    x, n = x.double(), len(x)
    z_mean = (x.mean(0) - mu) / (cov.diag() / n).sqrt()
    se_cov = ((cov.diag()[:, None] * cov.diag()[None, :] + cov ** 2) / n).sqrt()
    return float(max(z_mean.abs().max(), ((torch.cov(x.T) - cov) / se_cov).abs().max()))


# --- samplers with the exact denoiser ---------------------------------------------------------------------
def dpm_solver(k: int) -> dict:
    """Largest |z| of the five against the solver's exact output moments (the test) and, ``*_target``, against
    N(μ, Σ) (the former test, whose discretisation error of about 1% in the variances it counted as noise)."""
    import test_dpm_solver as T
    from physgen.samplers import ddpm as R

    out = {}
    for kind, steps, seed in (("linear", 30, 1), ("cosine", 60, 1)):
        abar = R.alpha_bar(R.beta_schedule(kind, 1000))
        x = R.dpm_solver(T.exact_eps(abar), (T.N, 2), abar, steps=steps, generator=gen(seed + 1000 * k))
        out[f"{kind}{steps}"] = gaussian_z(x, *T.ddpm_moments(abar, steps))
        out[f"{kind}{steps}_target"] = gaussian_z(x, T.MU, T.SIGMA)
    abar = R.alpha_bar(R.beta_schedule("linear", 1000))
    x = R.dpm_solver(T.exact_eps(abar), (T.N, 2), abar, steps=100, stochastic=True, generator=gen(2 + 1000 * k))
    out["sde100"], out["sde100_target"] = gaussian_z(x, *T.ddpm_moments(abar, 100, True)), gaussian_z(x, T.MU, T.SIGMA)
    sde, mu = R.VESDE(100.0), torch.zeros(2, dtype=torch.float64)

    def score(x, t):
        s2 = float(sde.marginal_std(t[:1].double())) ** 2
        return (-torch.linalg.solve(T.SIGMA + s2 * T.EYE, (x.double() - mu).T).T).float()

    for name, steps, stochastic, seed in (("ve_ode", 30, False, 3), ("ve_sde", 50, True, 4)):
        x = R.dpm_solver_ve(score, (T.N, 2), sde, steps=steps, stochastic=stochastic, generator=gen(seed + 1000 * k))
        out[name], out[f"{name}_target"] = gaussian_z(x, *T.ve_moments(sde, steps, stochastic)), gaussian_z(x, mu, T.SIGMA)
    return out


def ddim(k: int) -> dict:
    import test_diffusion as T
    from physgen.samplers import ddpm as R

    abar = R.alpha_bar(R.beta_schedule("linear", 1000))
    errs = []
    for steps in (20, 100, 1000):
        x = R.ddim(T.exact_eps(abar), (T.N, 2), abar, steps=steps, generator=gen(2 + 1000 * k))
        errs.append(float((x.std(0) / T.S - 1).abs().max()))
    zm, zs = max_abs_z(x, *T.exact_moments(abar, 1000))
    return {"std_err_1000": errs[2], "order_ok": float(errs[0] > errs[1] > errs[2]), "z_mean": zm, "z_std": zs}


def respaced(k: int) -> dict:
    import test_diffusion as T
    from physgen.samplers import ddpm as R

    abar = R.alpha_bar(R.beta_schedule("linear", 1000))
    err = {}
    for variance in R.VARIANCES:
        x = R.ddim(T.exact_eps(abar), (T.N, 2), abar, steps=50, eta=1.0, generator=gen(4 + 1000 * k),
                   variance=variance)
        err[variance] = float((x.std(0) / T.S - 1).abs().max())
    zm, zs = max_abs_z(x, *T.exact_moments(abar, 50, eta=1.0, variance="beta"))
    return {"err_posterior": err["posterior"], "err_beta": err["beta"], "z_mean": zm, "z_std": zs}


def ddpm_ancestral(k: int) -> dict:
    import test_diffusion as T
    from physgen.samplers import ddpm as R

    out = {}
    for kind in ("linear", "cosine"):
        abar = R.alpha_bar(R.beta_schedule(kind, 1000))
        x = R.ddpm_ancestral(T.exact_eps(abar), (T.N, 2), abar, generator=gen(1 + 1000 * k))
        out[f"{kind}_z_mean"], out[f"{kind}_z_std"] = max_abs_z(x, *T.exact_moments(abar, 1000, eta=1.0))
    return out


def ancestral_paths(k: int) -> dict:
    from physgen.samplers.ddpm import alpha_bar, ancestral_paths as paths_of, beta_schedule

    abar = alpha_bar(beta_schedule("linear", 100))
    eps = lambda x, t: torch.sqrt(1 - abar[t]).view(-1, 1) * x  # noqa: E731
    final = paths_of(eps, (4000, 1), abar, generator=gen(1000 * k))[-1]
    v, a = 1.0, abar.double().tolist()
    for t in reversed(range(len(a))):
        a_prev = a[t - 1] if t > 0 else 1.0
        s2 = (1 - a_prev) / (1 - a[t]) * (1 - a[t] / a_prev)
        c = math.sqrt(a_prev * a[t]) + math.sqrt(max(1 - a_prev - s2, 0.0) * (1 - a[t]))
        v = c * c * v + (s2 if t > 0 else 0.0)
    std = math.sqrt(v)
    return {"z_std": abs(float(final.std()) - std) / (std / math.sqrt(2 * 4000)), "abs_mean": abs(float(final.mean()))}


# --- trained models -------------------------------------------------------------------------------------------
def flow_affine(k: int) -> dict:
    from physgen.models.base import DataSpec
    from physgen.models.flow import Flow, FlowConfig

    mean, cov = torch.tensor([1.0, -0.5]), torch.tensor([[1.0, 0.6], [0.6, 0.5]])
    truth = torch.distributions.MultivariateNormal(mean, cov)
    torch.manual_seed(1000 * k)
    x, test = truth.sample((2000,)), truth.sample((2000,))
    model = Flow(FlowConfig(flow="maf", transforms=1, hidden=(16,)), DataSpec("continuous", (2,)))
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    decay = torch.optim.lr_scheduler.CosineAnnealingLR(opt, 800)
    g = gen(1000 * k)
    for _ in range(800):
        loss, _ = model.loss({"x": x}, generator=g)
        opt.zero_grad()
        loss.backward()
        opt.step()
        decay.step()
    with torch.no_grad():
        d = model.log_prob(test, method="exact")[0] - truth.log_prob(test)
        s = model.sample(4000, generator=gen(3 + 1000 * k))
    return {"abs_mean_dlogp": abs(float(d.mean())), "median_dlogp": float(d.abs().median()),
            "mean_dev": float((s.mean(0) - mean).abs().max()), "cov_dev": float((torch.cov(s.T) - cov).abs().max())}


def thermo_van(k: int) -> dict:
    from physgen.training import load_run, train
    from physgen.training.hamiltonian import IsingTraining
    from physgen.training.thermo import thermodynamics

    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        train("van", out=Path(tmp) / "van", hamiltonian=IsingTraining(4, (2.5,), 1.0, 0.0, True), steps=300,
              seed=1000 * k, sets=["train.progress=false", "train.lr=0.01"])
        result = thermodynamics(load_run(Path(tmp) / "van"), n=20_000, seed=1000 * k, n_boot=100)
    (rec,) = result["temperatures"]
    keys = ("free_energy", "energy", "entropy", "specific_heat", "abs_magnetization", "susceptibility")
    pulls = [abs(rec["estimates"][q]["value"] - rec["exact"][q]) / rec["estimates"][q]["error"] for q in keys]
    f, fq = rec["exact"]["free_energy"], rec["estimates"]["variational_free_energy"]
    return {"max_pull": max(pulls), "fq_minus_f": fq["value"] - f, "fq_z": (fq["value"] - f) / fq["error"],
            "ess_fraction": rec["ess_fraction"]}


def vae_iwae(k: int) -> dict:
    import test_vae as T

    m, mvn = T.linear_gaussian_vae(exact=False)
    x = torch.from_numpy(mvn.rvs(size=4000, random_state=2 + 1000 * k).astype(np.float32))
    truth = mvn.logpdf(x.numpy())
    with torch.no_grad():
        est = {"elbo": m.log_prob(x, method="elbo", k=10, generator=gen(8 + 1000 * k))[0].numpy()}
        for n in (1, 10, 100, 1000):
            est[n] = m.log_prob(x, method="iwae", k=n, generator=gen(9 + n + 1000 * k))[0].numpy()

    def z(a, b):
        d = b - a
        return float(d.mean() / (d.std(ddof=1) / np.sqrt(len(d))))

    return {"abs_z_elbo_1": abs(z(est["elbo"], est[1])), "z_elbo_10": z(est["elbo"], est[10]),
            "z_10_100": z(est[10], est[100]), "z_100_1000": z(est[100], est[1000]),
            "z_1000_truth": z(est[1000], truth), "gap_elbo": float((truth - est["elbo"]).mean()),
            "gap_ratio": float((truth - est[1000]).mean() / (truth - est["elbo"]).mean())}


def van_reinforce(k: int) -> dict:
    import test_van as T
    from physgen.models.base import DataSpec

    out = {}
    for z2, h in (("on", 0.0), ("off", 0.3)):
        spec = DataSpec("spins", (2, 2), None, ("temperature",), {"temperature": (1.5,)})
        model = T.random_van(spec, 0, hidden=(8,), objective="free-energy", z2=z2, h=h, samples=40_000).train()
        params = list(model.parameters())
        exact = T.exact_beta_free_energy(model, 1.5)
        want = torch.cat([g.flatten() for g in torch.autograd.grad(exact, params)])
        batch = {"x": torch.ones(1, 2, 2), "cond": torch.tensor([[1.5]])}
        grads, values = [], []
        for j in range(5):
            loss, _ = model.loss(batch, generator=gen(j + 1000 * k))
            grads.append(torch.cat([g.flatten() for g in torch.autograd.grad(loss, params)]))
            values.append(float(loss.detach()))
        got = torch.stack(grads).mean(0).double()
        out[f"{z2}_grad_rel"] = float((got - want).norm() / want.norm())
        out[f"{z2}_loss_dev"] = abs(float(np.mean(values)) - float(exact.detach()))
    return out


def tune_tpe(k: int) -> dict:
    from physgen.models import registry
    from physgen.tune import parse_space, study as S

    space = parse_space({"train.weight_decay": {"low": 0.0, "high": 10.0}}, registry.get("rbm").config_class)
    study = S.open_study(None, {"model": "rbm", "objective": "kl", "seed": k, "trial_time": 1.0}, seed=k,
                         n_trials=30)
    for _ in range(30):
        trial = study.ask()
        x = space.suggest(trial)["train.weight_decay"]
        study.tell(trial, (x - 3.7) ** 2)
    return {"distance": abs(study.best_trial.params["train.weight_decay"] - 3.7)}


_TTBAR: list = []


def ttbar(k: int) -> dict:
    """test_metrics_evaluate's fixture ``_shuffled_result`` with the shuffle's seed 11 + 1000 k and evaluate's 1000 k."""
    from conftest import PYTHIA_TTBAR_ARGS
    from physgen.cli import main
    from physgen.data import Dataset, load
    from physgen.data.transforms import make_transform
    from physgen.metrics import evaluate

    if not _TTBAR:
        with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
            assert main([*PYTHIA_TTBAR_ARGS, "--out", f"{tmp}/ttbar.h5"]) == 0
            x = np.asarray(load(f"{tmp}/ttbar.h5").samples, dtype=np.float64)
        _TTBAR.append(make_transform("yeo-johnson").fit(x).transform(x))
    x, rng = _TTBAR[0], np.random.default_rng(11 + 1000 * k)
    shuffled = np.stack([rng.permutation(c) for c in x.T], axis=1)
    names = {"feature_names": ["s", "t", "y"]}
    r = evaluate(Dataset(x.astype(np.float32), "continuous", attrs=names),
                 Dataset(shuffled.astype(np.float32), "continuous", attrs=names), seed=1000 * k, n_boot=50)
    out = {name: (r[name]["value"] - r[name]["floor"]) / r[name]["error"]
           for name in ("mmd2_median", "mmd2_multiscale", "kpd", "fpd", "sliced_w1")}
    auc = r["c2st_auc"]
    per_feature = [pf["floor"] for pf in r["kl"]["per_feature"].values()]
    return {**out, "kl_floor": r["kl"]["floor"], "feature_floor_min": min(per_feature),
            "feature_floor_max": max(per_feature), "auc_ci_low": auc["ci_low"], "kl2d_ratio": r["kl_2d"]["value"] /
            r["kl_2d"]["floor"], "auc_floor_z": abs(auc["floor"] - 0.5) / auc["floor_error"],
            "kl_z": (r["kl"]["value"] - r["kl"]["floor"]) / r["kl"]["floor_error"]}


# --- observables with errors ----------------------------------------------------------------------------------
def nqs_uniform(k: int) -> dict:
    from physgen.quantum.estimators import measure
    from physgen.quantum.lattice import Lattice

    s = np.random.default_rng(4 + 1000 * k).choice([-1.0, 1.0], size=(400, 50, 8))
    obs = measure(s, Lattice("chain", 8, True))
    z = [abs(obs["nn_correlation"]["value"]) / obs["nn_correlation"]["error"],
         abs(obs["magnetisation_sq"]["value"] - 1 / 8) / obs["magnetisation_sq"]["error"]]
    z += [abs(v - 1) / e for v, e in zip(obs["structure_factor"]["value"], obs["structure_factor"]["error"])]
    return {"max_z": max(z)}


def thermo_uniform(k: int) -> dict:
    from physgen.physics import thermo as P
    from physgen.physics.exact import ExactIsing

    ex = ExactIsing(3, 3.0)
    idx = np.random.default_rng(2 + 1000 * k).integers(0, 512, 20_000)
    d = P.Draws(ex.energies[idx] * 9, np.abs(ex.magnetizations[idx]), np.full(len(idx), -9 * math.log(2)), 9)
    est = P.with_errors(d, 3.0, normalised=True, variational=False, n_boot=100,
                        rng=np.random.default_rng(3 + 1000 * k))
    exact = P._enumeration(3, 3.0, 1.0, 0.0)
    return {"max_pull": max(abs(est[q]["value"] - v) / est[q]["error"] for q, v in exact.items())}


def jetnet(k: int) -> dict:
    from physgen.metrics import jetnet as J

    rng = np.random.default_rng(1 + 1000 * k)
    x, y = rng.normal(size=(20000, 1)), rng.normal(0.3, 1, size=(20000, 1))
    mean, std = J.w1_batches(x, y, n_eval=20000, n_batches=5, rng=2 + 1000 * k)
    out = {"w1_dev": abs(mean[0] - 0.3) / (4 * std[0] + 0.02)}
    rng = np.random.default_rng(3 + 1000 * k)
    x = rng.normal(size=(6000, 3))
    mu = np.array([0.2, 0.0, -0.1])
    y = rng.normal(size=(6000, 3)) + mu
    r = J.fpd_efp(x, y, n_batches=10, rng=4 + 1000 * k)
    out["fpd_dev"] = abs(r["value"] - np.sum((mu / np.abs(x).max(axis=0)) ** 2)) / (3 * r["error"] + 1e-4)
    return out


def vmc_walker(k: int) -> dict:
    from physgen.quantum import Hamiltonian, RBMWaveFunction
    from physgen.quantum.estimators import estimate
    from physgen.quantum.samplers import Importance, start

    wf = RBMWaveFunction.random(1, 1, 2, sigma=1.0, rng=np.random.default_rng(0), scale=0.3)
    energies, walker_errors = [], []
    for rep in range(40):
        rng = np.random.default_rng(rep + 1 + 1000 * k)
        est = estimate(wf, Hamiltonian(1.0), Importance(0.3), start(wf, 100, rng), 20, rng, burn_in=100,
                       gradient=False)
        energies.append(est.energy)
        walker_errors.append(est.walker_error)
    return {"ratio": float(np.mean(walker_errors) / np.std(energies))}


def vmc_fermions_drift(k: int) -> dict:
    from physgen.quantum.estimators import estimate
    from physgen.quantum.hamiltonians import Hamiltonian
    from physgen.quantum.samplers import make_sampler, start
    from physgen.quantum.slater import SlaterRBM, spin_jastrow
    from physgen.quantum.wavefunctions import RBMWaveFunction

    rng = np.random.default_rng(1000 * k)
    rbm = RBMWaveFunction.gaussian(6, 2, 2, omega=1.0)
    rbm.jastrow = spin_jastrow(6)
    wf, ham = SlaterRBM(rbm, 1.0), Hamiltonian(1.0, "coulomb")
    res = [estimate(wf, ham, make_sampler(name, None, 1.0, limit=True), start(wf, 40, rng), 120, rng, burn_in=40,
                    gradient=False) for name in ("importance", "metropolis")]
    return {"abs_z": abs(res[0].energy - res[1].energy) / np.hypot(res[0].walker_error, res[1].walker_error),
            "variance_max": max(res[0].variance, res[1].variance)}


def gan_discriminator(k: int) -> dict:
    import test_gan as T
    from physgen.models.base import DataSpec

    m = T.build("wgan-gp", DataSpec("continuous", (1,)), loss="bce", hidden_d=(32, 32), noise="normal", latent=1)
    m.generate = lambda z, c=None: z - 1.0
    opt = torch.optim.Adam(m.disc.parameters(), lr=3e-3)
    g = gen(5 + 1000 * k)
    for _ in range(600):
        m._d_step(torch.randn(256, 1, generator=g) + 1.0, None, opt, g)
    grid = torch.tensor([[-1.0], [0.0], [1.0]])
    with torch.no_grad():
        return {"max_logit_dev": float((m.disc(grid) - 2 * grid.squeeze(1)).abs().max())}


def gan_wgan(k: int) -> dict:
    import copy

    import test_gan as T
    from physgen.models.base import DataSpec

    m = T.build("wgan-gp", DataSpec("continuous", (2,)), hidden_g=(32, 32), hidden_d=(32, 32), latent=2,
                output="linear")
    opts = {n: torch.optim.Adam(v, lr=2e-4, betas=(0.5, 0.9)) for n, v in m.parameter_groups().items()}
    g, target, avg = gen(6 + 1000 * k), torch.tensor([1.5, -0.5]), copy.deepcopy(m.gen)
    for _ in range(3000):
        m.adversarial_step({"x": 0.3 * torch.randn(128, 2, generator=g) + target}, opts, generator=g)
        with torch.no_grad():
            for a, p in zip(avg.parameters(), m.gen.parameters()):
                a.lerp_(p, 0.01)
    m.gen = avg
    x = m.sample(4000, generator=gen(7 + 1000 * k))
    return {"mean_dev": float((x.mean(0) - target).abs().max()), "std": float(x.std(0).mean())}


def c2st(k: int) -> dict:
    import scipy.stats

    from physgen.metrics import c2st_auc

    pvals = []
    for seed in range(4):
        rng = np.random.default_rng(seed + 1000 * k)
        est = c2st_auc(rng.normal(size=(600, 3)), rng.normal(size=(600, 3)), seed=seed + 1000 * k)
        pvals.append(2 * scipy.stats.norm.sf(abs(est.value - 0.5) / est.error))
    rng = np.random.default_rng(10 + 1000 * k)
    est = c2st_auc(rng.normal(size=(600, 3)), rng.normal(3.0, 1.0, size=(600, 3)), classifier="forest")
    return {"p": float(scipy.stats.combine_pvalues(pvals).pvalue), "auc_separated": est.value}


def mmd_null(k: int) -> dict:
    import scipy.stats

    from physgen.metrics import evaluate_arrays

    pvals, names = [], ("mmd2_median", "mmd2_multiscale", "kpd")
    for seed in range(5):
        rng = np.random.default_rng(seed + 1000 * k)
        r = evaluate_arrays(rng.normal(size=(800, 3)), rng.normal(size=(400, 3)), ["mmd"], seed=seed + 1000 * k,
                            n_boot=100)
        pvals += [2 * scipy.stats.norm.sf(abs(r[n]["value"] / r[n]["error"])) for n in names]
    rng = np.random.default_rng(9 + 1000 * k)
    r = evaluate_arrays(rng.normal(size=(1600, 3)), rng.normal(1.0, 1.0, size=(800, 3)), ["mmd"], n_boot=100,
                        seed=1000 * k)
    return {"p": float(scipy.stats.combine_pvalues(pvals).pvalue),
            "min_z_separated": min(r[n]["value"] / r[n]["error"] for n in names),
            "floor_z": (r["mmd"]["value"] - r["mmd"]["floor"]) / r["mmd"]["error"]}


def dmala(k: int) -> dict:
    import test_discrete_sampler as T
    from physgen.samplers.discrete import dlp, to_spins

    g = gen(1000 * k)
    res = dlp(lambda y: T.BETA * T.bond_sum(y), to_spins(torch.rand((4000, T.L * T.L), generator=g) * 2 - 1),
              step_size=0.8, n_steps=100, generator=g)
    return {"p": T.chi2_pvalue(T.BETA, seed=1000 * k), "acceptance": float(res.acceptance_rate.mean()),
            "flip_rate": res.flip_rate}


def rbm_symmetry(k: int) -> dict:
    from test_rbm_ising import exact_ising_file, kl_exact

    from physgen.cli import main

    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        data = exact_ising_file(Path(tmp) / "ising.h5", seed=1000 * k)
        assert main(["train", "rbm", "--data", str(data), "--out", f"{tmp}/run", "--steps", "5000",
                     "--seed", str(1000 * k), "--no-progress"]) == 0
        return {"kl": kl_exact(Path(tmp) / "run")}


def _pcd_rbm(data: torch.Tensor, spec, n_hidden: int, epochs: int, lr: float, seed: int):
    """test_ais.train with its seeds (torch and the generator, 0 there) set to ``seed``."""
    from physgen.models.rbm import RBM, RBMConfig

    torch.manual_seed(seed)
    g = gen(seed)
    model = RBM(RBMConfig(n_hidden=n_hidden, method="pcd", k=1), spec)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    for _ in range(epochs):
        perm = torch.randperm(len(data), generator=g)
        for i in range(0, len(data), 64):
            loss, _ = model.loss({"x": data[perm[i:i + 64]]}, generator=g)
            opt.zero_grad(), loss.backward(), opt.step()
    return model


def _ais_values(e, seed: int, prefix: str, **kw) -> dict:
    from physgen.models.rbm.partition import exact_log_z
    from physgen.samplers.ais import ais_log_z

    exact = float(exact_log_z(e))
    r = ais_log_z(e, generator=gen(seed), **kw)
    return {f"{prefix}_dev": abs(r.log_z - exact), f"{prefix}_dev_3se": abs(r.log_z - exact) / (3 * r.log_z_error + 1e-3),
            f"{prefix}_bracket": min(exact - r.log_z_lower, r.log_z_upper - exact)}


def ais(k: int) -> dict:
    from sklearn.datasets import load_digits

    from physgen.models.base import DataSpec
    from physgen.physics.exact import ExactIsing

    data = torch.tensor(load_digits().data / 16 > 0.5, dtype=torch.float32)
    e = _pcd_rbm(data, DataSpec("binary", (64,)), 20, 8, 0.05, 1000 * k).energy(0).detach()
    base = torch.logit(data.mean(0).clamp(0.02, 0.98))
    out = _ais_values(e, 1000 * k, "digits", n_chains=64, n_betas=3000, base_a=base)
    ising = ExactIsing(4, 2.5)
    idx = torch.multinomial(torch.tensor(ising.probabilities), 5000, replacement=True, generator=gen(1 + 1000 * k))
    data = torch.tensor(ising.states[idx.numpy()].reshape(-1, 16), dtype=torch.float32)
    e = _pcd_rbm(data, DataSpec("spins", (4, 4)), 16, 5, 0.01, 1000 * k).energy(0).detach()
    return {**out, **_ais_values(e, 1000 * k, "ising", n_chains=64, n_betas=3000, flip=True)}


def rbm_digits(k: int) -> dict:
    """test_rbm_digits with torch seed, generator and shuffle seed 1000 k (0 there)."""
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    from physgen.models.base import DataSpec
    from physgen.models.rbm import RBM, RBMConfig

    digits = load_digits()
    x = (digits.data / 16 > 0.5).astype(np.float32)
    train, held_out = x[:1500], x[1500:]
    clf = LogisticRegression(max_iter=2000).fit(train, digits.target[:1500])
    torch.manual_seed(1000 * k)
    g = gen(1000 * k)
    model = RBM(RBMConfig(n_hidden=500, method="cd", k=1, monitor_every=10 ** 9), DataSpec("binary", (8, 8)))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    data = torch.tensor(train)
    for _ in range(150):
        perm = torch.randperm(len(data), generator=g)
        for i in range(0, len(data), 64):
            loss, _ = model.loss({"x": data[perm[i:i + 64]]}, generator=g)
            opt.zero_grad(), loss.backward(), opt.step()
    samples = model.sample(300, generator=g, init="random", burn_in=1000).reshape(300, 64).numpy()
    rng = np.random.default_rng(1000 * k)
    noise = np.array([rng.permutation(s) for s in samples])
    nn = lambda s: np.abs(s[:, None, :] - train[None]).sum(-1).min(1).mean()  # noqa: E731
    d_rbm, d_real, d_noise = nn(samples), nn(held_out), nn(noise)
    classes = np.bincount(clf.predict(samples), minlength=10)
    return {"rbm_over_held_out": d_rbm / d_real, "rbm_over_shuffled": d_rbm / d_noise,
            "classes": int((classes >= 5).sum())}


def quality(k: int) -> dict:
    from physgen.data import Dataset
    from physgen.data.digits import load_digits
    from physgen.metrics.quality import QualityProbe
    from test_quality import gaussian

    rng = np.random.default_rng(1000 * k)
    probe = QualityProbe(gaussian(2000, 3, rng), condition=None, seed=1000 * k)
    scores = [probe.score(gaussian(2000, 3, rng))["score"] for _ in range(4)]
    out = {"same_over_threshold": float(np.mean(scores)) / probe.threshold,
           "same_over_floor": float(np.mean(scores)) / probe.floor["score"],
           "one_sample_over_floor": scores[0] / probe.floor["score"]}
    digits = load_digits()
    rng = np.random.default_rng(1000 * k)
    perm = rng.permutation(len(digits))
    held, rest = digits.subset(perm[:800]), perm[800:]
    probe = QualityProbe(held, condition="labels", seed=1000 * k)
    fake = digits.subset(np.concatenate([rest[digits.labels[rest] == c][:n] for n, c in
                                         ((r[0], int(r[1]["labels"])) for r in probe.requests())]))
    out["digits_over_threshold"] = probe.score(fake)["score"] / probe.threshold
    shuffled = Dataset(fake.samples, fake.kind, labels=rng.permutation(fake.labels))
    out["shuffled_over_threshold"] = probe.score(shuffled)["score"] / probe.threshold
    return out


def fpd_identical(k: int) -> dict:
    from test_metrics_w1_frechet import _fpd_repeats

    values, errors = _fpd_repeats(0.0, 5000, 30, seed=500 + 1000 * k)
    return {"abs_mean": abs(float(values.mean())), "max_over_error": float(np.max(np.abs(values) / errors)),
            "error_over_spread": float(errors.mean() / values.std(ddof=1))}


def frechet_diagonal(k: int) -> dict:
    from physgen.metrics.frechet import frechet_distance_samples

    m1, m2, s1, s2 = np.array([0.0, 1.0]), np.array([0.5, 1.0]), np.array([1.0, 2.0]), np.array([1.5, 2.0])
    rng = np.random.default_rng(6 + 1000 * k)
    x, y = m1 + s1 * rng.normal(size=(200_000, 2)), m2 + s2 * rng.normal(size=(200_000, 2))
    return {"abs_dev": abs(frechet_distance_samples(x, y) - (np.sum((m1 - m2) ** 2) + np.sum((s1 - s2) ** 2)))}


def langevin(k: int) -> dict:
    """test_langevin's 3σ variance tests, the mixture and truncated-target p rules, τ_int and the acceptance."""
    import scipy.stats
    import test_langevin as T
    from physgen.samplers import langevin as L

    out = {}
    for eta in (0.4, 0.2, 0.05):
        v, err = T.ula_variance(eta, "conventional", seed=1000 * k)
        out[f"ula_z_{eta}"] = abs(v - 1 / (1 - eta / 4)) / err
    for eta in (0.4, 0.1):
        v, err = T.ula_variance(eta, "course", seed=3 + 1000 * k)
        out[f"course_z_{eta}"] = abs(v - 1 / (2 - eta)) / err
    for form in ("conventional", "course"):
        p = T.mixture_pvalues(L.mala, range(1000 * k, 1000 * k + 5), step_size=0.5, form=form)
        out[f"mixture_p_{form}"] = float(scipy.stats.combine_pvalues(p, method="fisher").pvalue)
    res = L.ula(lambda x: -0.5 * x.pow(2).sum(1), torch.zeros(16, 1), step_size=0.5, n_steps=4000,
                generator=gen(2 + 1000 * k), burn_in=100, record=True)
    out["tau_rel"] = abs(float(res.tau_int.mean()) / 3.5 - 1)
    out["acceptance"] = float(L.mala(T.gaussian_log_prob(), torch.zeros(64, 2), step_size=0.05, n_steps=300,
                                     generator=gen(1 + 1000 * k), diagnostics=False).acceptance_rate.mean())
    return out


def vmc_optimise(k: int) -> dict:
    """test_vmc's two optimisations (free particles to E = 2; Taut's two electrons to E = 3) from rng 1000 k."""
    from physgen.quantum import VMCConfig, run_vmc

    cfg = VMCConfig(particles=2, dim=2, hidden=2, iterations=60, samples=2000, walkers=100, lr=0.05,
                    init_scale=0.3, step=0.3, final_samples=20000)
    res = run_vmc(cfg, np.random.default_rng(1000 * k))
    out = {"free_start": res.history[0]["energy"], "free_dev": abs(res.final.energy - 2.0),
           "free_dev_5se": abs(res.final.energy - 2.0) / (5 * res.final.error + 1e-3),
           "free_variance": res.final.variance}
    cfg = VMCConfig(particles=2, dim=2, interaction="coulomb", hidden=4, jastrow="pade", iterations=60,
                    samples=3000, step=0.3, lr=0.02, init_scale=0.1, final_samples=30000)
    res = run_vmc(cfg, np.random.default_rng(1000 * k))
    return {**out, "taut_dev": abs(res.final.energy - 3.0), "taut_variance": res.final.variance}


def exact_sampling(k: int) -> dict:
    """test_exact_sampling: --mcmc chains of under-trained rbm, flow and vae (data seed 3 + 1000 k, training 1000 k,
    exact starts 1000 k, chains 1 + 1000 k), the biased proposal (2 + 1000 k) and the importance weights (4 + 1000 k)."""
    import test_exact_sampling as T
    from physgen.data import save
    from physgen.data.ising import simulate
    from physgen.physics.exact import ExactIsing
    from physgen.samplers.boltzmann import Proposal, importance_weights
    from physgen.training import load_run, train

    exact, out = ExactIsing(T.L, T.T), {}
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        data = save(simulate(T.L, [T.T], 2000, algorithm="wolff", seed=3 + 1000 * k), Path(tmp) / "ising4.h5")
        for family, steps, moves in (("rbm", 100, 100), ("flow", 30, 10), ("vae", 30, 10)):
            train(family, data=data, out=Path(tmp) / family, steps=steps, seed=1000 * k,
                  sets=["train.progress=false"])
            run = load_run(Path(tmp) / family)
            ends = T.chain_ends(run.model.proposal({"temperature": T.T}), T.exact_draws(exact, 4000, 1000 * k),
                                moves, seed=1 + 1000 * k)
            out[f"{family}_p"] = T.joint_chi2(ends, exact)[2]
            out[f"{family}_own_p"] = T.joint_chi2(run.sample(4000, seed=1 + 1000 * k).samples, exact)[2]
    bern = torch.distributions.Bernoulli(probs=torch.full((T.L, T.L), 0.7, dtype=torch.float64))

    def log_q(s, generator=None):
        return bern.log_prob((s.double() + 1) / 2).sum((1, 2))

    def draw(n, generator):
        s = (2 * (torch.rand((n, T.L, T.L), generator=generator, dtype=torch.float64) < 0.7) - 1).double()
        return s, log_q(s)

    ends = T.chain_ends(Proposal(draw, log_q=log_q), T.exact_draws(exact, 4000, 2 + 1000 * k), 100, seed=2 + 1000 * k)
    out["biased_p"] = T.joint_chi2(ends, exact)[2]
    s = (2 * torch.randint(0, 2, (20000, 3, 3), generator=gen(4 + 1000 * k)) - 1).double()   # 3×3 (4×4 before)
    target, small = T.ising_at(T.T, 3), ExactIsing(3, T.T)
    log_w, ess = importance_weights(target.log_weight(s), torch.full((len(s),), -9 * np.log(2.0), dtype=torch.float64))
    w = np.exp(log_w)
    for name, values, truth in (("e", target.energy(s).numpy() / 9, small.mean_energy),
                                ("m", np.abs(s.numpy().mean((1, 2))), small.mean_abs_m)):
        mean = float((w * values).sum())
        out[f"weights_pull_{name}"] = abs(mean - truth) / float(np.sqrt((w * (values - mean) ** 2).sum() / ess))
    return out


def dbn(k: int) -> dict:
    """test_dbn's sampled bound and AIS (generator 2 + 1000 k) and its χ² of samples (seed 1000 k)."""
    import test_dbn as T
    from physgen.models.rbm.partition import exact_log_z

    model = T.tiny((4, 3, 3), scale=0.8)
    v, g = T.visible_states(model), gen(2 + 1000 * k)
    exact_b, _ = model.log_prob(v, method="bound")
    mc, info = model.log_prob(v, method="bound", k=400, generator=g)
    out = {"bound_z": abs(float(mc.mean() - exact_b.mean())) / info["mc_error"]}
    _, info = model.log_prob(v, method="ais", generator=g, n_chains=200, n_betas=500)
    log_z = float(exact_log_z(model.rbms[-1].energy().detach().to(torch.float64)))
    out["ais_dev"] = abs(info["log_z"] - log_z) / (4 * info["log_z_error"] + 0.02)
    model = T.tiny((4, 3), scale=1.0)
    target = T._exact_marginal(model)
    out["chi2_p"] = T._chi2_p(model, 20_000, 1000 * k, target)
    with torch.no_grad():
        model.rbms[0].a.add_(0.1)
    out["shifted_p"] = T._chi2_p(model, 20_000, 1000 * k, target)
    return out


def thermo_flow(k: int) -> dict:
    """test_thermo's flow in extended space: 3×3 exact data (seed 1 + 1000 k), 100 training steps (seed 1000 k),
    10,000 draws (seed 1000 k)."""
    from physgen.data import Dataset, save
    from physgen.physics.exact import exact_ensembles
    from physgen.training import load_run, train
    from physgen.training.thermo import thermodynamics

    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        states, temps = exact_ensembles(3, [2.5], 2000, seed=1 + 1000 * k)
        data = save(Dataset(states, "spins", {"temperature": temps}, None,
                            {"J": 1.0, "h": 0.0, "boundary": "periodic"}), Path(tmp) / "exact3.h5")
        train("flow", data=data, out=Path(tmp) / "flow", steps=100, seed=1000 * k, sets=["train.progress=false"])
        (rec,) = thermodynamics(load_run(Path(tmp) / "flow"), n=10_000, seed=1000 * k, n_boot=100)["temperatures"]
    keys = ("free_energy", "energy", "entropy", "specific_heat")
    return {"max_pull": max(abs(rec["estimates"][q]["value"] - rec["exact"][q]) / rec["estimates"][q]["error"]
                            for q in keys), "ess_fraction": rec["ess_fraction"]}


def van_samples(k: int) -> dict:
    """test_van's sampler χ² (model seed 2, draws 3 + 1000 k; conditioned: model 5, draws 6 + 1000 k)."""
    import test_van as T

    out = {}
    for z2 in ("on", "off"):
        other = T.random_van(3, 2, hidden=(16, 8), z2="off" if z2 == "on" else "on")
        model = T.random_van(3, 2, hidden=(16, 8), z2=z2)
        x = model.sample(100_000, generator=gen(3 + 1000 * k))
        codes = (((x.reshape(len(x), -1) + 1) / 2).long() * (1 << torch.arange(9))).sum(1)
        counts = torch.bincount(codes, minlength=512).double().numpy()
        with torch.no_grad():
            out[f"{z2}_p"] = T.pooled_chi2(counts, model.log_prob(T.all_states(3))[0].exp().numpy() * len(x))[2]
            out[f"{z2}_other_p"] = T.pooled_chi2(counts, other.log_prob(T.all_states(3))[0].exp().numpy() * len(x))[2]
    spec = T.DataSpec("spins", (3, 3), None, ("temperature",), {"temperature": (2.0, 3.0)})
    model = T.random_van(spec, 5, hidden=(16, 8))
    x = model.sample(100_000, generator=gen(6 + 1000 * k), condition={"temperature": 2.5})
    codes = (((x.reshape(len(x), -1) + 1) / 2).long() * (1 << torch.arange(9))).sum(1)
    counts = torch.bincount(codes, minlength=512).double().numpy()
    with torch.no_grad():
        q = lambda t: model.log_prob(T.all_states(3), cond=torch.full((512, 1), t))[0].exp().numpy()  # noqa: E731
        out["cond_p"], out["cond_other_p"] = (T.pooled_chi2(counts, q(2.5) * len(x))[2],
                                              T.pooled_chi2(counts, q(2.0) * len(x))[2])
    return out


def van_free_energy(k: int) -> dict:
    """test_van's data-free 4×4 run: 400 steps at lr 10⁻², training seed 1000 k; F_q − F by enumeration."""
    import test_van as T
    from physgen.physics.exact import ExactIsing
    from physgen.training import load_run, train
    from physgen.training.hamiltonian import IsingTraining

    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        summary = train("van", hamiltonian=IsingTraining(4, (2.5,)), out=Path(tmp) / "free", steps=400,
                        seed=1000 * k, sets=["train.progress=false", "train.lr=0.01"])
        with torch.no_grad():
            f_q = T.exact_f_q(load_run(Path(tmp) / "free").model, 2.5)
    f = -2.5 * ExactIsing(4, 2.5).log_z / 16
    return {"fq_minus_f": f_q - f, "logged_dev": abs(summary["last_metrics"]["f_q"] - f_q)}


def potts_van(k: int) -> dict:
    """test_lattice_van's q-state van check: model seed 1000 k, draws 1 + 1000 k, both symmetrisations."""
    import test_lattice_van as T

    out = {}
    for z2 in ("on", "off"):
        check = T.q_state_van_check(z2, 1000 * k, 1 + 1000 * k)
        out.update({f"{z2}_{key}": value for key, value in check.items() if z2 == "on" or key != "relabel_dev"})
    return out


def potts_thermo(k: int) -> dict:
    """test_lattice_van's 3×3 q = 3 Potts van (300 steps, lr 10⁻², β annealed over 50; training seed 1000 k) and
    thermo's 20,000 draws (seed 1 + 1000 k): the largest |pull| of F, U, S and C against enumeration."""
    from physgen.training import load_run, train
    from physgen.training.hamiltonian import IsingTraining
    from physgen.training.thermo import thermodynamics

    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        train("van", out=Path(tmp) / "van", hamiltonian=IsingTraining(3, (1.0,), model="potts", params=(("q", 3),)),
              steps=300, seed=1000 * k, sets=["train.progress=false", "train.lr=0.01", "model.anneal=50"])
        result = thermodynamics(load_run(Path(tmp) / "van"), n=20_000, seed=1 + 1000 * k, n_boot=100)
    (rec,) = result["temperatures"]
    keys = ("free_energy", "energy", "entropy", "specific_heat")
    return {"max_pull": max(abs(rec["estimates"][q]["value"] - rec["exact"][q]) / rec["estimates"][q]["error"]
                            for q in keys)}


def potts_evaluate(k: int) -> dict:
    """test_lattice_van's Potts evaluation: the 3×3 q = 3 van of its fixture (training seed 0), then sample --mcmc,
    Swendsen–Wang data and evaluate, each with --seed 1000 k; |z| of ⟨e⟩ and ⟨|m|⟩."""
    import test_lattice_van as T
    from physgen.cli import main

    def cli(*args):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([str(a) for a in args])
        return code, out.getvalue(), err.getvalue()

    global _POTTS_RUN
    if "_POTTS_RUN" not in globals():
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            _POTTS_RUN = T.small_van(Path(tempfile.mkdtemp()) / "van", "--hamiltonian", "potts", "--param", "q=3",
                                     "--size", "3")
    with tempfile.TemporaryDirectory() as tmp:
        _, entry = T.potts_evaluation(cli, _POTTS_RUN, Path(tmp), 1000 * k)
    return {"abs_z_energy": abs(entry["energy"]["difference"]["z"]),
            "abs_z_abs_m": abs(entry["abs_magnetization"]["difference"]["z"])}


def potts_relabel(k: int) -> dict:
    """test_augment's relabelling χ² with the generator seed 2 + 1000 k."""
    import test_augment as T

    return {"p": T.relabelling_p(2 + 1000 * k)}


def nqs_metropolis(k: int) -> dict:
    """test_nqs::test_metropolis_samples_psi_squared with rng 3 + 1000 k (ansatz, starts and chains)."""
    from scipy.stats import chisquare

    from physgen.quantum.exact import to_spins
    from physgen.quantum.lattice import Lattice
    from physgen.quantum.samplers import SpinMetropolis, sample_spins, start_spins
    from physgen.quantum.wavefunctions import make_ansatz

    out = {}
    for rule in ("flip", "exchange"):
        rng = np.random.default_rng(3 + 1000 * k)
        ans = make_ansatz("rbm", Lattice("chain", 4, True), alpha=1, complex_params=True, rng=rng, scale=0.3)
        s, _ = sample_spins(ans, SpinMetropolis(rule), start_spins(ans, 4, 200, rule, rng), 100, rng, burn_in=20)
        idx = np.sum((s[::5].reshape(-1, 4) > 0) << np.arange(4), axis=1)
        states = np.arange(16) if rule == "flip" else np.array([3, 5, 6, 9, 10, 12])
        p = np.abs(np.exp(ans.log_psi(to_spins(states, 4)))) ** 2
        counts = np.array([np.sum(idx == j) for j in states])
        out[f"{rule}_p"] = chisquare(counts, p / p.sum() * counts.sum()).pvalue
        p[np.argmax(p)] *= 1.2 ** 2
        out[f"{rule}_changed_p"] = chisquare(counts, p / p.sum() * counts.sum()).pvalue
    return out


def kpd_and_auc(k: int) -> dict:
    """test_metrics_jetnet's KPD of equal laws (rng 5 + 1000 k, 6 + 1000 k) and test_tune's folded AUC of equal
    laws (rng 1000 k, scoring seed 1000 k)."""
    from physgen.data import Dataset
    from physgen.metrics import jetnet as J
    from physgen.tune import scoring

    rng = np.random.default_rng(5 + 1000 * k)
    rng.normal(size=(60, 4)), rng.normal(0.5, 1, size=(50, 4))        # the test's explicit-MMD arrays come first
    same = J.kpd_efp(rng.normal(size=(2000, 4)), rng.normal(size=(2000, 4)), batch_size=500, rng=6 + 1000 * k)
    rng = np.random.default_rng(1000 * k)
    real = Dataset(rng.normal(size=(400, 2)).astype(np.float32), "continuous")
    good = Dataset(rng.normal(size=(400, 2)).astype(np.float32), "continuous")
    auc = scoring.score("auc", real, good, condition=None, seed=1000 * k)["value"]
    return {"kpd_z": abs(same["value"]) / same["error"], "folded_auc": auc}


def delong_and_pca(k: int) -> dict:
    """test_metrics_c2st's DeLong SE against the bootstrap (rng 1000 k) and test_analysis_pca's PC1 fraction
    (data seed 1 + 1000 k)."""
    from sklearn.metrics import roc_auc_score

    from physgen.analysis import analyze_pca
    from physgen.metrics import delong
    from test_analysis_pca import _ordered_mixture

    rng = np.random.default_rng(1000 * k)
    y = np.r_[np.zeros(400, int), np.ones(300, int)]
    s = np.round(rng.normal(size=700) + 0.7 * y, 1)
    _, se = delong(y, s)
    boot = [roc_auc_score(y[i], s[i]) for i in
            (np.r_[rng.choice(400, 400), 400 + rng.choice(300, 300)] for _ in range(1000))]
    result = analyze_pca(_ordered_mixture(4000, 8, 0.5, seed=1 + 1000 * k), n_components=5, n_boot=50)
    return {"delong_rel": abs(se / np.std(boot) - 1),
            "pc1_dev": abs(result.explained_variance_ratio[0] - (0.5 + 0.5 / 64)) / (3 * np.sqrt(0.25 / 4000) + 0.005),
            "other_max": float(np.max(result.explained_variance_ratio[1:]) / (2.0 * 0.5 / 64)),
            "pc1_weights_dev": float(np.max(np.abs(np.abs(result.components[0]) - 1 / 8)) / 0.02)}


def gan_reweighted(k: int) -> dict:
    """test_gan_reweighted: data seed 1000 k, draw seed 1 + 1000 k; the largest |z| of the six, the rows per
    temperature, the observable targets at 2.3 and the fluctuation targets' relative errors."""
    import test_gan_reweighted as T
    from physgen.models import registry
    from physgen.models.gan.observables import observables
    from physgen.physics.exact import ExactIsing

    model = registry.build("wgan-gp", {**T.SMALL, "reweight": 3, "match_observables": 1.0, "match_fluctuations": True},
                           T.SPEC)
    x, t = T.exact_lattices(6000, seed=1000 * k)
    model.reals.fit(x, t)
    batch = model.reals.draw(20000, gen(1 + 1000 * k))
    s, zs, zs_old, rows_min, rows_max = observables(batch["x"]).double(), [], [], 20000, 0
    for temp in (2.1, 2.3, 2.5):
        rows = (batch["cond"][:, 0] - temp).abs() < 1e-6
        rows_min, rows_max = min(rows_min, int(rows.sum())), max(rows_max, int(rows.sum()))
        ex = ExactIsing(4, temp)
        ess = float(model.reals.ess[round((temp - 2.1) / 0.2)])
        for j, exact in ((0, ex.mean_abs_m), (2, ex.mean_energy)):
            got = s[rows, j]
            zs.append(abs(float(got.mean()) - exact) / (float(got.std()) * (1 / int(rows.sum()) + 1 / ess) ** 0.5))
            zs_old.append(abs(float(got.mean()) - exact) / (float(got.std()) / min(int(rows.sum()), ess) ** 0.5))
    model.observables.fit(x, t, model.reals)
    ex = ExactIsing(4, 2.3)
    target = model.observables.target
    var_m, var_e = target[1, 3:].tolist()
    return {"max_z": max(zs), "max_z_min_se": max(zs_old), "rows_min": rows_min, "rows_max": rows_max,
            "target_m_dev": abs(float(target[1, 0]) - ex.mean_abs_m),
            "target_e_dev": abs(float(target[1, 2]) - ex.mean_energy),
            "var_e_rel": abs(var_e / (ex.specific_heat * 2.3 ** 2 / ex.n_spins) - 1),
            "var_m_rel": abs(var_m / (ex.susceptibility * 2.3 / ex.n_spins) - 1)}


def pointcloud_multiplicity(k: int) -> dict:
    """test_pointcloud_multiplicity: training clouds seeds 1000 k and 1 + 1000 k, generator 1000 k."""
    import scipy.stats
    import test_pointcloud_multiplicity as T
    from physgen.models.base import DataSpec
    from physgen.models.epic import mask_of

    x = torch.tensor(np.concatenate([T._clouds(2000, (2, 3, 4, 5), (0.1, 0.2, 0.3, 0.4), seed=1000 * k),
                                     T._clouds(300, (6,), seed=1 + 1000 * k)]), dtype=torch.float32)
    labels, out = torch.tensor([0] * 2000 + [1] * 300), {}
    for family, make in T.FAMILIES.items():
        model = make(DataSpec("pointcloud", (8, 3), T.NAMES, n_labels=2))
        g = gen(1000 * k)
        model.on_fit_start({"x": x, "labels": labels}, resumed=False, generator=g)
        with torch.no_grad():
            counts = mask_of(model.sample(4000, generator=g, condition={"labels": 0}))[..., 0].sum(1).long().numpy()
        expected = np.bincount(mask_of(x[:2000])[..., 0].sum(1).long().numpy(), minlength=9)[2:6] / 2000 * 4000
        out[f"{family}_p"] = float(scipy.stats.chisquare(np.bincount(counts, minlength=9)[2:6], expected).pvalue)
    return out

def stats_bootstrap(k: int) -> dict:
    """test_stats' bootstrap errors (data seeds 0 and 3, bootstrap seeds 1 and 7, each + 1000 k) and white-noise
    τ_int and ESS (seed 1000 k)."""
    from physgen.stats import bootstrap, effective_sample_size, integrated_autocorrelation_time

    x = np.random.default_rng(1000 * k).normal(2.0, 3.0, size=2000)
    est = bootstrap(np.mean, x, n_boot=2000, rng=1 + 1000 * k)
    rng = np.random.default_rng(3 + 1000 * k)
    a, b = rng.normal(size=(300, 2)), rng.normal(1.0, size=(200, 2))
    e1 = bootstrap(lambda u, v: float(np.linalg.norm(u.mean(0) - v.mean(0))), a, b, n_boot=300, rng=7 + 1000 * k)
    w = np.random.default_rng(1000 * k).normal(size=(8, 5000))
    return {"mean_error_rel": abs(est.error / (3.0 / math.sqrt(2000)) - 1),
            "two_sample_error_rel": abs(e1.error / math.sqrt(1 / 300 + 1 / 200) - 1),
            "tau_white_dev": abs(integrated_autocorrelation_time(w) - 0.5),
            "ess_white_rel": abs(effective_sample_size(w) / 40000 - 1)}


def _moments_z(trace: torch.Tensor, mean: np.ndarray, cov: np.ndarray) -> float:
    """test_langevin.check_moments' largest |z| of the means and covariance entries (it asserts each < 4)."""
    from physgen.stats import mean_with_error

    x, zs = trace.double().numpy().transpose(1, 0, 2), []
    for i in range(x.shape[2]):
        est = mean_with_error(x[:, :, i])
        zs.append(abs(est.value - mean[i]) / est.error)
        for j in range(i, x.shape[2]):
            est = mean_with_error((x[:, :, i] - mean[i]) * (x[:, :, j] - mean[j]))
            zs.append(abs(est.value - cov[i, j]) / est.error)
    return float(max(zs))


def langevin_moments(k: int) -> dict:
    """test_langevin's check_moments tests (MALA Gaussian, seed 10; ULA biased covariance, 11; MALA mixture, 20;
    each + 1000 k) and the truncated-target combined p (seeds 100 + 1000 k … 102 + 1000 k)."""
    import scipy.stats
    import test_langevin as T
    from physgen.samplers import langevin as L

    out = {}
    res = L.mala(T.gaussian_log_prob(), torch.zeros(32, 2), step_size=0.3, n_steps=2500,
                 generator=gen(10 + 1000 * k), burn_in=200, record=True)
    out["mala_gauss_z"] = _moments_z(res.trace, T.MU.numpy(), T.SIGMA.numpy())
    out["mala_gauss_acc"] = float(res.acceptance_rate.mean())
    eta = 0.15
    lam, vec = torch.linalg.eigh(T.SIGMA.double())
    cov_eta = (vec @ torch.diag(lam / (1 - eta / (4 * lam))) @ vec.T).numpy()
    res = L.ula(T.gaussian_log_prob(), torch.zeros(32, 2), step_size=eta, n_steps=3000,
                generator=gen(11 + 1000 * k), burn_in=200, record=True)
    out["ula_cov_z"] = _moments_z(res.trace, T.MU.numpy(), cov_eta)
    res = L.mala(T.mixture_log_prob, torch.zeros(32, 2, dtype=torch.float64), step_size=0.8, n_steps=2500,
                 generator=gen(20 + 1000 * k), burn_in=200, record=True)
    out["mala_mixture_z"] = _moments_z(res.trace, *T.mixture_moments())
    lo, hi, ps = -0.5, 1.0, []
    for seed in range(3):
        g = gen(100 + seed + 1000 * k)
        x0 = lo + (hi - lo) * torch.rand(3000, 1, generator=g, dtype=torch.float64)
        x = L.mala(lambda x: -0.5 * x.pow(2).sum(1), x0, step_size=0.5, n_steps=200, generator=g,
                   clamp=(lo, hi), grad_clip=0.2, diagnostics=False).samples[:, 0].numpy()
        ps.append(scipy.stats.kstest(x, scipy.stats.truncnorm(lo, hi).cdf).pvalue)
    out["truncated_p"] = float(scipy.stats.combine_pvalues(ps).pvalue)
    return out


def ising_tc(k: int) -> dict:
    """test_ising_engine::test_metropolis_and_wolff_agree_at_tc with simulate's seed 9 + 1000 k: |z| of the
    three differences (signed in ``z_*``) and the ratio of the τ_int of |m|."""
    import test_ising_engine as T
    from physgen.data.ising import simulate
    from physgen.physics import onsager

    common = dict(chains=128, seed=9 + 1000 * k)
    met = simulate(16, [onsager.T_C], 2560, burn_in=1000, thin=50, algorithm="metropolis", **common)
    wol = simulate(16, [onsager.T_C], 2560, burn_in=100, thin=4, algorithm="wolff", **common)
    fns = {"e": T.ob.energy_per_spin, "abs_m": lambda s: np.abs(T.ob.magnetization(s)),
           "m2": lambda s: T.ob.magnetization(s) ** 2}
    out = {}
    for name, fn in fns.items():
        (a, da), (b, db) = (T._mean_and_error(T._chain_means(d, onsager.T_C, fn)) for d in (met, wol))
        out[f"z_{name}"] = float((a - b) / np.hypot(da, db))
    out["max_abs_z"] = max(abs(v) for v in out.values())
    out["tau_ratio"] = float(met.attrs["tau_int_abs_m"][0] / wol.attrs["tau_int_abs_m"][0])
    return out


def gibbs(k: int) -> dict:
    """test_gibbs with the generators' seeds s + 1000 k (the five laws, small_rbm's 100 + seed, kept): the
    Fisher-combined χ² and largest-bin p of each test (the rule: both > 10⁻³) and the flip move's single p."""
    import test_gibbs as T
    from physgen.models.rbm.partition import _log_g, all_states, states_index
    from physgen.samplers.gibbs import flip_move, gibbs_sample
    from physgen.samplers.tempering import default_betas, pt_sample, pt_sweep

    def g(seed):
        return gen(seed + 1000 * k)

    runs = {}
    for visible, flip in (("bernoulli", False), ("spin", False), ("spin", True)):
        runs[f"gibbs_{visible}{'_flip' if flip else ''}"] = [
            T.visible_pvalues(T.small_rbm(visible, s), gibbs_sample(T.small_rbm(visible, s), T.N_EXACT, generator=g(s),
                                                                    burn_in=50, flip=flip)) for s in T.SEEDS]
    runs["thinned"] = [T.visible_pvalues(T.small_rbm("bernoulli", s), gibbs_sample(
        T.small_rbm("bernoulli", s), T.N, generator=g(s), chains=2000, burn_in=100, thin=20, init=torch.ones(1, 6)))
        for s in T.SEEDS]
    for visible, flip in (("bernoulli", False), ("spin", True)):
        runs[f"pt_{visible}"] = [T.visible_pvalues(T.small_rbm(visible, s), pt_sample(
            T.small_rbm(visible, s), T.N // 2, betas=default_betas(4, dtype=torch.float64), generator=g(s),
            burn_in=30, flip=flip)) for s in T.SEEDS]
    e, gg = T.small_rbm("spin", 0), g(0)
    betas = default_betas(3, 0.2, dtype=torch.float64)
    chains, _ = pt_sweep(e, e.random_visible((3, T.N), gg), betas, gg, steps=30)
    runs["replicas"] = [T.histogram_pvalues(torch.bincount(states_index(chains[r]), minlength=64),
                                            torch.softmax(-e.tempered(float(b)).free_energy(all_states(6, spin=True)), 0))
                        for r, b in enumerate(betas)]
    runs["gaussian_hidden"] = []
    for s in T.SEEDS:
        e, gg = T.small_rbm("gaussian", s), g(s)
        h = e.sample_hidden(gibbs_sample(e, T.N, generator=gg, burn_in=200), gg)
        hs = all_states(4)
        runs["gaussian_hidden"].append(T.histogram_pvalues(torch.bincount(states_index(h), minlength=16),
                                                           torch.softmax(hs @ e.b + _log_g(e, e.a + hs @ e.W.T), 0)))
    out = {f"{name}_{stat}": T.combined([pair[i] for pair in pairs])
           for name, pairs in runs.items() for i, stat in enumerate(("chi2", "bin"))}
    e, gg = T.small_rbm("spin", 3), g(3)
    probs = T.exact_log_prob_all(e).exp()
    x = all_states(6, spin=True)[torch.multinomial(probs, T.N, replacement=True, generator=gg)]
    out["flip_move_p"] = T.visible_pvalue(e, flip_move(e, x, gg)[0])
    return out


def rbm_cd(k: int) -> dict:
    """test_rbm_cd with the generators' seeds s + 1000 k (the laws kept): the flip z-test's |z| and the combined
    χ² p of the hidden-state and stacked sweep tests."""
    import test_gibbs as G
    import test_rbm_cd as T
    from physgen.models.rbm.energy import RBMEnergy
    from physgen.models.rbm.partition import _log_g, all_states, states_index
    from physgen.samplers.gibbs import flip_from_logits, sweeps

    e, g = G.small_rbm("spin", 2), gen(1000 * k)
    s = T._units("spin", (4000, 6), g)
    v, _ = flip_from_logits(e, s, e.hidden_logits(s), gen(3 + 1000 * k))
    flipped = (v != s).all(-1).double()
    accept = torch.exp(e.flip_log_ratio(s)).clamp(max=1.0)
    out = {"flip_z": abs(float((flipped.mean() - accept.mean()) / (accept * (1 - accept)).mean().sqrt() * 4000 ** 0.5))}
    for visible, flip in (("bernoulli", False), ("spin", True), ("gaussian", False)):
        p = []
        for seed in G.SEEDS:
            e = G.small_rbm(visible, seed)
            v, _, h = sweeps(e, torch.zeros(G.N, e.n_hidden, dtype=torch.float64), 60, gen(seed + 1000 * k), flip=flip)
            if visible == "gaussian":
                hs = all_states(e.n_hidden)
                probs = torch.softmax(hs @ e.b + _log_g(e, e.a + hs @ e.W.T), 0)
                p.append(G.chi2_pvalue(torch.bincount(states_index(h), minlength=len(hs)), probs))
            else:
                p.append(G.visible_pvalue(e, v))
        out[f"hidden_{visible}_p"] = G.combined(p)
    for visible, flip in (("bernoulli", False), ("spin", True)):
        p = []
        for seed in G.SEEDS:
            es = [G.small_rbm(visible, 10 * seed + j) for j in range(3)]
            stacked = RBMEnergy(visible, torch.stack([e.W for e in es]), torch.stack([e.a for e in es])[:, None],
                                torch.stack([e.b for e in es])[:, None])
            v, _, _ = sweeps(stacked, torch.zeros(3, G.N, 4, dtype=torch.float64), 60, gen(seed + 1000 * k), flip=flip)
            p += [G.visible_pvalue(e, v[j]) for j, e in enumerate(es)]
        out[f"stacked_{visible}_p"] = G.combined(p)
    return out


def rbm_levels(k: int) -> dict:
    """test_rbm_levels with the generators' seeds s + 1000 k (the laws kept): the Gibbs tests' combined χ² and
    largest-bin p (the rule: both > 10⁻³; against the shifted law: not both), AIS |log Z − exact| and the
    binomial conditional's largest mean and variance deviations."""
    import test_gibbs as G
    import test_rbm_levels as T
    from physgen.models.rbm.partition import exact_log_z
    from physgen.samplers.ais import ais_log_z
    from physgen.samplers.gibbs import gibbs_sample

    out = {}
    for visible in T.UNITS:
        draws = []
        for seed in range(5):
            e = T.level_rbm(visible, seed)
            draws.append((seed, T.state_counts(e, gibbs_sample(e, 20000, generator=gen(seed + 1000 * k), burn_in=50))))
        for shift, tag in ((0.0, ""), (0.2, "_shifted")):
            pairs = [G.histogram_pvalues(c, T.exact_probs(T.level_rbm(visible, seed, shift=shift))) for seed, c in draws]
            for i, stat in enumerate(("chi2", "bin")):
                out[f"{visible}{tag}_{stat}"] = G.combined([pair[i] for pair in pairs])
        e = T.level_rbm(visible, 2, n_pix=4, m=4)
        out[f"{visible}_ais_dev"] = abs(ais_log_z(e, n_chains=200, n_betas=2000, generator=gen(1000 * k)).log_z
                                        - float(exact_log_z(e)))
    e = T.level_rbm("binomial", 1, levels=4)
    h = torch.tensor([[1.0, 0.0, 1.0]], dtype=torch.float64).expand(40000, -1)
    x = e.sample_visible(h, gen(1000 * k)) * 4
    p = torch.sigmoid(e.visible_field(h[:1]))[0]
    out["binomial_mean_dev"] = float((x.mean(0) - 4 * p).abs().max())
    out["binomial_var_dev"] = float((x.var(0) - 4 * p * (1 - p)).abs().max())
    out["shifted_rejected"] = float(all(min(out[f"{v}_shifted_chi2"], out[f"{v}_shifted_bin"]) <= 1e-3
                                        for v in T.UNITS))
    return out


def reweighting(k: int) -> dict:
    """test_reweighting with the exact samples' seeds s + 1000 k: the free energies' largest deviation and, over
    the three parametrised seeds 1–3, the largest |z| of the 18 reweighted means (``max_z``: the test's SE
    √(Σ w² (x − x̄)²); ``max_z_ess``: the former √(Σ w (x − x̄)² / ESS)) and the smallest ESS."""
    import test_reweighting as T
    from physgen.physics.exact import ExactIsing
    from physgen.physics.reweighting import effective_sample_size, free_energies, log_weights

    E, _, B = T._exact_samples((2.0, 2.4, 2.8), 4000, seed=1000 * k)
    levels, f = free_energies(E, B)
    exact = np.array([ExactIsing(4, 1 / b).log_z for b in levels])
    out = {"f_dev": float(np.abs(f - (exact - exact[0])).max()), "max_z": 0.0, "max_z_ess": 0.0, "min_ess": math.inf}
    for seed in (1, 2, 3):
        E, M, B = T._exact_samples((2.1, 2.5), 5000, seed + 1000 * k)
        fit = free_energies(E, B)
        for temp in (2.1, 2.3, 2.5):
            lw = log_weights(E, B, 1 / temp, fit)
            w, ess = np.exp(lw), effective_sample_size(lw)
            out["min_ess"] = min(out["min_ess"], float(ess))
            ex = ExactIsing(4, temp)
            for got, values, exact_value in ((w @ E / 16, E / 16, ex.mean_energy), (w @ M, M, ex.mean_abs_m)):
                se, se_ess = np.sqrt((w ** 2) @ (values - got) ** 2), np.sqrt(w @ (values - got) ** 2 / ess)
                out["max_z"] = max(out["max_z"], float(abs(got - exact_value) / se))
                out["max_z_ess"] = max(out["max_z_ess"], float(abs(got - exact_value) / se_ess))
    return out


def augment_and_toys(k: int) -> dict:
    """test_augment's uniformity p (generator 1 + 1000 k) and test_data_digits_toys' χ² of the mixtures (seeds
    0–2 + 1000 k, Fisher-combined; 20% wrong noise, 9 + 1000 k) and of the checkerboard (1000 k)."""
    import scipy.stats
    import test_data_digits_toys as D
    from physgen.data.toys import CHECKER_SQUARES, sample_toy
    from physgen.training.augment import LatticeSymmetries

    x = -torch.ones(25_000, 5, 5)
    x[:, 0, 0] = 1
    y = LatticeSymmetries((5, 5))(x, gen(1 + 1000 * k))
    flipped = y.sum((1, 2)) > 0
    site = torch.where(flipped[:, None, None], -y, y).flatten(1).argmax(1)
    out = {"augment_sites_p": float(scipy.stats.chisquare(np.bincount(site.numpy(), minlength=25)).pvalue),
           "augment_flips_p": float(scipy.stats.binomtest(int(flipped.sum()), len(flipped)).pvalue)}
    for name, noise in (("ring", 0.1), ("grid", 0.05), ("ring", 0.3)):
        edges = np.linspace(-3.5, 3.5, int(round(7 / noise)) + 1)
        probs = D._mixture_bin_probabilities(name, noise, edges)
        ps = [D._chi2_pvalue(sample_toy(name, 20000, rng=np.random.default_rng(s + 1000 * k), noise=noise)[0],
                             probs, edges) for s in range(3)]
        out[f"{name}{noise}_p"] = float(scipy.stats.combine_pvalues(ps).pvalue)
        wrong = sample_toy(name, 20000, rng=np.random.default_rng(9 + 1000 * k), noise=1.2 * noise)[0]
        out[f"{name}{noise}_wrong_p"] = float(D._chi2_pvalue(wrong, probs, edges))
    x, labels = sample_toy("checkerboard", 16000, rng=np.random.default_rng(1000 * k))
    cell = np.floor(x).astype(int)
    assert np.array_equal(cell, CHECKER_SQUARES[labels].astype(int))
    ps = [scipy.stats.chisquare(np.bincount(labels, minlength=8)).pvalue,
          scipy.stats.kstest(x[:, 0] - cell[:, 0], "uniform").pvalue,
          scipy.stats.kstest(x[:, 1] - cell[:, 1], "uniform").pvalue]
    out["checkerboard_p"] = float(scipy.stats.combine_pvalues(ps).pvalue)
    return out


def ising_exact(k: int) -> dict:
    """test_ising_engine's L ≤ 4 histograms against exact enumeration (simulate's seeds 300 + 1000 k and the next):
    per test the smallest Fisher-combined p and the smallest single p of its four statistics (the rule: > 10⁻³
    and > 10⁻⁴)."""
    import scipy.stats
    import test_ising_engine as T

    def record(name, ps):
        out[f"{name}_fisher"] = min(float(scipy.stats.combine_pvalues(v, method="fisher").pvalue) for v in ps.values())
        out[f"{name}_single"] = min(min(v) for v in ps.values())

    out, seed = {}, T.SEED + 1000 * k
    for engine in T.ENGINES:
        record(f"met_{engine}", T._pvalues_vs_exact("metropolis", [1.5, 2.269, 3.5], engine=engine, seed=seed))
        ps = T._pvalues_vs_exact("metropolis", [2.0, 3.0], J=1.0, h=0.3, engine=engine, seed=seed)
        for name, extra in T._pvalues_vs_exact("metropolis", [1.5, 2.5], J=-1.0, h=0.5, engine=engine,
                                               seed=seed).items():
            ps[name] += extra
        record(f"field_{engine}", ps)
        record(f"l2_{engine}", T._pvalues_vs_exact("metropolis", [1.5, 2.5, 4.0], size=2, engine=engine, seed=seed))
    record("wolff", T._pvalues_vs_exact("wolff", [1.5, 2.269, 3.5], seed=seed))
    for size in (2, 3):
        record(f"wolff_l{size}", T._pvalues_vs_exact("wolff", [1.5, 2.5, 4.0], size=size, seed=seed))
    return out


def ising_ordered_start(k: int) -> dict:
    """test_ising_engine::test_ordered_start_gives_both_signs_and_random_start_is_random, simulate's seed 1 + 1000 k:
    the ordered chains in each phase (of 64) and the random start's mean |m| after one sweep."""
    from physgen.data.ising import simulate
    from physgen.physics import observables as ob

    m = ob.magnetization(simulate(16, [1.5], 64, chains=64, burn_in=20, thin=5, seed=1 + 1000 * k).samples)
    hot = simulate(16, [1.5], 64, chains=64, burn_in=0, thin=1, seed=1 + 1000 * k, start="random")
    return {"plus": float((m > 0.9).sum()), "minus": float((m < -0.9).sum()),
            "hot_abs_m": float(np.abs(ob.magnetization(hot.samples)).mean())}


def ising_onsager(k: int) -> dict:
    """test_ising_engine::test_l32_matches_onsager_at_low_and_high_temperature, simulate's seed 5 + 1000 k: each
    deviation over its tolerance (4 SE + 5×10⁻⁴, or the series' allowance) and the errors."""
    import test_ising_engine as T
    from physgen.data.ising import simulate
    from physgen.physics import onsager

    ob = T.ob
    ds = simulate(32, [1.5, 3.5], 2048, chains=128, burn_in=400, thin=10, seed=5 + 1000 * k)
    out = {}
    for temp in (1.5, 3.5):
        e, de = T._mean_and_error(T._chain_means(ds, temp, ob.energy_per_spin))
        out[f"e_{temp}"], out[f"de_{temp}"] = abs(e - onsager.energy_per_spin(temp)) / (4 * de + 5e-4), float(de)
    m, dm = T._mean_and_error(T._chain_means(ds, 1.5, lambda s: np.abs(ob.magnetization(s))))
    out["m_1.5"], out["dm_1.5"] = abs(m - onsager.spontaneous_magnetization(1.5)) / (4 * dm + 5e-4), float(dm)
    coeffs = [1, 4, 12, 36, 100, 276, 740, 1972, 5172, 13492, 34876, 89764, 229628]
    chi0 = np.polyval(coeffs[::-1], np.tanh(1 / 3.5))
    m2, dm2 = T._mean_and_error(1024 * T._chain_means(ds, 3.5, lambda s: ob.magnetization(s) ** 2))
    out["m2_3.5"] = abs(m2 - chi0) / (4 * dm2 + 0.05 * chi0)
    am, dam = T._mean_and_error(T._chain_means(ds, 3.5, lambda s: np.abs(ob.magnetization(s))))
    out["am_3.5"] = abs(am - np.sqrt(2 * chi0 / (np.pi * 1024))) / (4 * dam + 0.03 * am)
    return {key: float(v) for key, v in out.items()}


def physics_exact(k: int) -> dict:
    """test_physics_exact's Binder cumulant of normal draws (rng 1000 k), thermodynamics of exact L = 4 samples
    (draws 11 + 1000 k, bootstrap 1 + 1000 k: the largest |pull|, the errors over their cap, the energy error
    against σ/√N), G(r) of exact samples (3 + 1000 k) and exact_ensembles' ⟨e⟩ (seed 5 + 1000 k)."""
    import test_physics_exact as T
    from physgen.physics import observables as ob
    from physgen.physics.exact import ExactIsing

    rng = np.random.default_rng(1000 * k)
    rng.choice([-1.0, 1.0], 1000)
    out = {"binder_normal": abs(float(ob.binder_cumulant(rng.normal(size=200000))))}
    ex = ExactIsing(4, 2.5)
    rng = np.random.default_rng(11 + 1000 * k)
    s = ex.states[rng.choice(ex.probabilities.size, size=T.N_THERMO, p=ex.probabilities)]
    est, truth = ob.thermodynamics(s, 2.5, rng=1 + 1000 * k, n_boot=200), T._thermo_truth(ex)
    out["max_pull"] = max(abs(est[key].value - v) / est[key].error for key, v in truth.items())
    out["error_over_cap"] = max(est[key].error / (0.1 * abs(v) + 0.01) for key, v in truth.items())
    e = ob.energy_per_spin(s)
    out["energy_error_rel"] = abs(est["energy"].error / (e.std() / np.sqrt(len(e))) - 1)
    ex, rng = ExactIsing(4, 2.4), np.random.default_rng(3 + 1000 * k)
    s = ex.states[rng.choice(ex.probabilities.size, size=20000, p=ex.probabilities)]
    out["g_dev"] = float(np.abs(ob.correlation_function(s)[1] - ex.correlation()[1]).max())
    from physgen.physics.exact import exact_ensembles

    states, temps = exact_ensembles(3, (1.5, 3.0), 4000, seed=5 + 1000 * k)
    out["ensemble_z"] = max(abs(e.mean() - ExactIsing(3, t).mean_energy) / (e.std() / np.sqrt(len(e)))
                            for t in (1.5, 3.0) for e in [ob.energy_per_spin(states[temps == t])])
    return {key: float(v) for key, v in out.items()}


# --- test_rbm, test_observable_errors, test_vae (grey levels, training), test_ebm ---------------------------
def rbm_exact(k: int) -> dict:
    """test_rbm's pseudo-likelihood expectation (generator 1000 k; the energy, seed 5, kept) and the four SGD
    loops of test_training_loop_improves_likelihood (torch seed and generator 1000 k, 0 there): the gain in
    exact log-likelihood and the shortfall below the data law's log-likelihood of the same rows (unbounded:
    below the law's −entropy, the former reference, and below the rows' empirical optimum)."""
    import test_rbm as T
    from physgen.models.rbm import pseudo_log_likelihood
    from physgen.models.rbm.partition import all_states, exact_log_prob_all, states_index

    e = T.random_energy("bernoulli", n=4, m=3, seed=5)
    v = all_states(4)[5:6].repeat(20000, 1)
    est = float(pseudo_log_likelihood(e, v, gen(1000 * k)).mean())
    logp, exact = exact_log_prob_all(e), 0.0
    for i in range(4):
        other = v[0].clone()
        other[i] = 1 - other[i]
        pair = torch.stack([logp[states_index(v[:1])][0], logp[states_index(other[None])][0]])
        exact += float(pair[0] - torch.logsumexp(pair, 0))
    out = {"pl_dev": abs(est - exact), "pl_signed": est - exact}
    ups = (all_states(6, spin=True) > 0).double().sum(1)
    law = 0.5 * 0.9 ** ups * 0.1 ** (6 - ups) + 0.5 * 0.1 ** ups * 0.9 ** (6 - ups)
    entropy = float(-(law * law.log()).sum())
    for method in ("cd", "pcd", "pt", "exact"):
        data, before, after, _ = T._train_two_modes(method, 1000 * k)
        law_ll = float(law[states_index(data)].log().mean())
        counts = torch.bincount(states_index(data), minlength=64).double() / len(data)
        empirical_ll = float((counts[counts > 0] * counts[counts > 0].log()).sum())
        out[f"{method}_gain"], out[f"{method}_below_optimum"] = after - before, -entropy - after
        out[f"{method}_below_law"], out[f"{method}_below_empirical"] = law_ll - after, empirical_ll - after
    return out


def observable_errors(k: int) -> dict:
    """test_observable_errors' AR(1) block bootstrap (series rng 5 + 1000 k, bootstrap 1 + 1000 k; the blocked
    error against the expectation for independent blocks of 40, ``blocked_signed`` against the true error),
    weighted uniform draws at T = 10 (21 + 1000 k, 22 + 1000 k; ``pull_*`` signed) and evaluate's Monte Carlo
    file against reweighted exact draws (simulate 31 + 1000 k, draws 32 + 1000 k, evaluate 1000 k; ``z_*`` the
    six z of the χ²/dof).  The two mean-z² calibrations state their own 30-seed measurements and are not
    repeated here."""
    import test_observable_errors as T
    from physgen.data import Dataset
    from physgen.metrics import evaluate
    from physgen.physics import observables as ob
    from physgen.physics.exact import ExactIsing
    from physgen.stats.bootstrap import block_bootstrap, block_labels

    x, truth, expected = T._ar1_series(5 + 1000 * k)   # expected: independent blocks of 40, 5.7% below truth
    n = len(x)
    mean = lambda v, w: (w @ v) / w.sum(-1)  # noqa: E731
    naive = block_bootstrap(mean, x, n_boot=1000, rng=1 + 1000 * k)
    blocked = block_bootstrap(mean, x, labels=block_labels(np.zeros(n), np.arange(n), 40)[0], n_boot=1000,
                              rng=1 + 1000 * k)
    out = {"naive_rel": abs(naive.error / (truth / 3) - 1), "blocked_rel": abs(blocked.error / expected - 1),
           "naive_signed": naive.error / (truth / 3) - 1, "blocked_block_signed": blocked.error / expected - 1,
           "blocked_signed": blocked.error / truth - 1}
    t, rng = 10.0, np.random.default_rng(21 + 1000 * k)
    s = (2 * rng.integers(0, 2, size=(80000, 4, 4)) - 1).astype(np.int8)
    lw = -16 * ob.energy_per_spin(s) / t
    est, _ = ob.thermodynamics_report(s, t, log_weights=lw, rng=22 + 1000 * k)
    pulls = {q: (est[q].value - v) / est[q].error for q, v in T._truth(ExactIsing(4, t)).items()}
    out["weighted_max_pull"] = max(abs(v) for v in pulls.values())
    out.update({f"pull_{q}": v for q, v in pulls.items()})
    flat = ob.thermodynamics(s, t, rng=22 + 1000 * k)
    out["flat_z"] = abs(flat["energy"].value) / flat["energy"].error
    out["flat_power"] = abs(est["energy"].value) / (4 * flat["energy"].error)
    t = 2.5
    real = T._simulate(31 + 1000 * k, size=4, temperatures=[t], n=1200)
    s, lw = T._reweighted_draws(4000, t, 3.0, np.random.default_rng(32 + 1000 * k))
    fake = Dataset(s, "spins", {"temperature": np.full(len(s), t)}, log_weights=lw)
    with contextlib.redirect_stderr(io.StringIO()):
        res = evaluate(real, fake, ["observables"], seed=1000 * k, n_boot=100)
    per_t = res["observables"]["by_temperature"]["2.5"]
    out["chi2_dof"] = res["observables"]["value"]
    out["ess_fraction"] = per_t["sampling"]["fake"]["ess"] / len(s)
    g_diff = np.asarray(per_t["correlation"]["fake"]) - ExactIsing(4, t).correlation()[1]
    out["g_dev"] = float(np.abs(g_diff).max())
    out.update({f"g_signed_{j}": float(v) for j, v in enumerate(g_diff)})
    out.update({f"z_{q}": e["difference"]["z"] for q, e in per_t["observables"].items()})
    return out


def vae_levels(k: int) -> dict:
    """test_vae's grey-level draws (generator 5 + 1000 k; the laws, from seeds 0, 2, 3, kept): the largest
    |mean − π| of 20,000 binomial draws and |frequency − softmax| of 20,000 categorical ones (vae, conv-vae);
    and test_training_step_lowers_the_negative_elbo's drop of the loss over 60 steps (initialisation seed,
    data seed 12 and step seeds, each + 1000 k)."""
    import test_vae as T
    from physgen.models import registry
    from physgen.models.base import DataSpec

    m = T.build(spec=DataSpec("image", (6,), levels=4), likelihood="binomial")
    params = torch.randn(4, 6, generator=gen(3))
    draws = m.draw(params[:1].expand(20000, -1), None, generator=gen(5 + 1000 * k))
    out = {"binomial_dev": float((draws.mean(0) - torch.sigmoid(params[0])).abs().max())}
    for name in ("vae", "conv-vae"):
        m = T.build(name, spec=DataSpec("image", (4, 4), levels=4))
        with torch.no_grad():
            params, _ = m.decode(torch.randn(3, m.config.latent, generator=gen(2)))
            draws = m.draw(params[:1].expand(20000, -1, -1, -1), None, generator=gen(5 + 1000 * k))
        freq = torch.stack([(draws * 4 == j).float().mean(0) for j in range(5)], -1)
        out[f"{name}_categorical_dev"] = float((freq - params[0].softmax(-1)).abs().max())
    torch.manual_seed(1000 * k)
    m = registry.build("vae", {"latent": 2, "hidden": (32,)}, DataSpec("binary", (4, 4)))
    x = torch.bernoulli(torch.full((64, 4, 4), 0.2), generator=gen(12 + 1000 * k))
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    first = None
    for step in range(60):
        loss, _ = m.loss({"x": x}, generator=gen(step + 1000 * k))
        opt.zero_grad(), loss.backward(), opt.step()
        first = first if first is not None else float(loss.detach())
    out["elbo_drop"] = first - float(loss.detach())
    return out


def ebm_buffer(k: int) -> dict:
    """test_ebm's replay buffer (uniform fill, generator 1000 k; re-initialised count, 1000 k and 1 + 1000 k;
    clipped Gaussian restarts against the clipped law's exact moments, 1000 k; ``*_former`` (unbounded) against
    N(0, 0.5²)'s, the former reference) and the Langevin chains on the bare Gaussian base (1000 k)."""
    import test_ebm as T
    from physgen.models.registry import build
    from physgen.samplers.replay import ReplayBuffer

    buf = ReplayBuffer(1000, (3,), low=-2.0, high=0.5, reinit_fraction=0.0)
    x, _ = buf.draw(1000, gen(1000 * k))
    out = {"uniform_z": abs(float(x.mean()) + 0.75) / (2.5 / math.sqrt(12 * 3000))}
    buf = ReplayBuffer(4000, (2,), low=-1.0, high=1.0)
    buf.draw(1, gen(1000 * k))
    buf.data.fill_(5.0)
    x, _ = buf.draw(4000, gen(1 + 1000 * k))
    out["reinit_z"] = abs(int((x[:, 0] != 5.0).sum()) - 200) / math.sqrt(4000 * 0.05 * 0.95)
    buf = ReplayBuffer(4000, (2,), low=-1.0, high=3.0, reinit_fraction=0.0)
    buf.set_gaussian(torch.tensor([0.0, 2.0]), torch.tensor([0.5, 2.0]))
    x, _ = buf.draw(4000, gen(1000 * k))
    mean, std = T.clipped_normal_moments(0.0, 0.5, -1.0, 3.0)
    m, s = float(x[:, 0].mean()), float(x[:, 0].std())
    out.update({"gauss_mean_z": abs(m - mean) / (std / math.sqrt(4000)), "gauss_std_rel": abs(s / std - 1),
                "gauss_top_dev": abs(float((x[:, 1] == 3.0).float().mean()) - 0.3085),
                "gauss_std_signed": s / std - 1, "gauss_mean_z_former": abs(m) / (0.5 / math.sqrt(4000)),
                "gauss_std_rel_former": abs(s / 0.5 - 1)})
    model = build("ebm", {"langevin": "conventional", "step_size": 0.05 * 32.0, "margin": 2.0, "grad_clip": 0.0,
                          "hidden": (8,)}, T.SPEC2)
    model._fit_range(torch.tensor([[-4.0, 6.0], [4.0, 14.0]]))
    with torch.no_grad():
        model.energy_net.net[-1].weight.zero_()
        model.energy_net.net[-1].bias.zero_()
    mu, sigma = model.base_mean, model.base_std
    z = (model.langevin((mu + 3 * sigma).expand(4000, 2).clone(), None, n_steps=600,
                        generator=gen(1000 * k)).samples - mu) / sigma
    out["langevin_mean_z"] = float(z.mean(0).abs().max()) * math.sqrt(4000)
    out["langevin_std_z"] = float((z.std(0) - 1.006).abs().max()) * math.sqrt(8000)
    return out


def _ising_engines() -> tuple[str, ...]:
    """test_ising_engine.ENGINES without importing the test module at start-up."""
    from physgen.data.ising import multispin

    return ("multispin", "torch") if multispin.AVAILABLE else ("torch",)


# name: (function, {value: (">" or "<", threshold)}, the test)
TESTS = {
    "potts_van": (potts_van, {"on_norm_dev": ("<", 1e-12), "on_relabel_dev": ("<", 1e-12), "on_p": (">", 1e-4),
                              "off_norm_dev": ("<", 1e-12), "off_p": (">", 1e-4)},
                  "test_lattice_van::test_the_q_state_van_is_normalised_and_samples_its_own_law"),
    "potts_thermo": (potts_thermo, {"max_pull": ("<", 4)},
                     "test_lattice_van::test_thermo_of_the_potts_model_agrees_with_enumeration"),
    "potts_evaluate": (potts_evaluate, {"abs_z_energy": ("<", 5), "abs_z_abs_m": ("<", 5)},
                       "test_lattice_van::test_potts_samples_and_their_evaluation"),
    "potts_relabel": (potts_relabel, {"p": (">", 1e-4)}, "test_augment::test_potts_lattices_are_relabelled_uniformly"),
    "dpm_solver": (dpm_solver, {v: ("<", 4) for v in ("linear30", "cosine60", "sde100", "ve_ode", "ve_sde")},
                   "test_dpm_solver::test_*_recovers_the_gaussian"),
    "ddim": (ddim, {"std_err_1000": ("<", 0.02), "order_ok": (">", 0.5), "z_mean": ("<", 4), "z_std": ("<", 4)},
             "test_diffusion::test_ddim_with_exact_eps_converges_with_steps"),
    "respaced": (respaced, {"err_posterior": (">", 0.08), "err_beta": ("<", 0.06), "z_mean": ("<", 4),
                            "z_std": ("<", 4)},
                 "test_diffusion::test_respaced_ancestral_with_beta_variance_is_closer_to_the_gaussian"),
    "ddpm_ancestral": (ddpm_ancestral, {f"{k}_z_{m}": ("<", 4) for k in ("linear", "cosine") for m in ("mean", "std")},
                       "test_diffusion::test_ddpm_ancestral_with_exact_eps_recovers_the_gaussian"),
    "ancestral_paths": (ancestral_paths, {"z_std": ("<", 4), "abs_mean": ("<", 0.05)},
                        "test_shared_helpers::test_ancestral_paths_records_the_reverse_process"),
    "flow_affine": (flow_affine, {"abs_mean_dlogp": ("<", 0.02), "median_dlogp": ("<", 0.15), "mean_dev": ("<", 0.2),
                                  "cov_dev": ("<", 0.2)}, "test_flows::test_an_affine_flow_learns_a_gaussian"),
    "thermo_van": (thermo_van, {"max_pull": ("<", 4), "fq_minus_f": ("<", 0.01), "fq_z": (">", -4),
                                "ess_fraction": (">", 0.5)}, "test_thermo::test_van_matches_exact_enumeration"),
    "vae_iwae": (vae_iwae, {"abs_z_elbo_1": ("<", 4), "z_elbo_10": (">", 3), "z_10_100": (">", 3),
                            "z_100_1000": (">", -3), "z_1000_truth": (">", -3), "gap_elbo": (">", 0.3),
                            "gap_ratio": ("<", 0.05)},
                 "test_vae::test_iwae_bounds_order_and_converge_to_log_likelihood"),
    "van_reinforce": (van_reinforce, {"on_grad_rel": ("<", 0.03), "on_loss_dev": ("<", 0.005),
                                      "off_grad_rel": ("<", 0.03), "off_loss_dev": ("<", 0.005)},
                      "test_van::test_reinforce_gradient_matches_the_exact_gradient"),
    "tune_tpe": (tune_tpe, {"distance": ("<", 0.15)}, "test_tune::test_tpe_finds_the_minimum_of_a_quadratic"),
    "ttbar": (ttbar, {**{m: (">", 3) for m in ("mmd2_median", "mmd2_multiscale", "kpd", "fpd", "sliced_w1")},
                      "kl_floor": ("<", 0.02), "kl_floor ": (">", 0.003), "feature_floor_min": (">", 0.0015),
                      "feature_floor_max": ("<", 0.03), "auc_ci_low": (">", 0.65), "kl2d_ratio": (">", 3),
                      "auc_floor_z": ("<", 3), "kl_z": ("<", 3)},
              "test_metrics_evaluate::test_ttbar_floors_and_shuffled_events"),
    "nqs_uniform": (nqs_uniform, {"max_z": ("<", 5)}, "test_nqs::test_observables_of_the_uniform_state"),
    "thermo_uniform": (thermo_uniform, {"max_pull": ("<", 4)},
                       "test_thermo::test_uniform_proposal_and_weightless_draws"),
    "jetnet": (jetnet, {"w1_dev": ("<", 1), "fpd_dev": ("<", 1)},
               "test_metrics_jetnet::test_w1_of_shifted_gaussians_and_scipy, test_fpd_analytic_gaussian_shift"),
    "vmc_walker": (vmc_walker, {"ratio": (">", 0.6), "ratio ": ("<", 1.4)},
                   "test_vmc::test_walker_error_matches_the_spread_of_repeated_short_runs"),
    "vmc_fermions_drift": (vmc_fermions_drift, {"abs_z": ("<", 4), "variance_max": ("<", 3)},
                           "test_vmc_fermions::test_drift_limited_importance_sampling_agrees_with_metropolis"),
    "gan_discriminator": (gan_discriminator, {"max_logit_dev": ("<", 0.3)},
                          "test_gan::test_discriminator_learns_the_optimal_discriminator"),
    "gan_wgan": (gan_wgan, {"mean_dev": ("<", 0.25), "std": (">", 0.1), "std ": ("<", 0.6)},
                 "test_gan::test_wgan_gp_fits_a_shifted_gaussian"),
    "c2st": (c2st, {"p": (">", 0.01), "auc_separated": (">", 0.95)},
             "test_metrics_c2st::test_null_is_half_and_separated_is_one"),
    "mmd_null": (mmd_null, {"p": (">", 0.01), "min_z_separated": (">", 5), "floor_z": (">", 5)},
                 "test_metrics_mmd::test_null_consistent_with_zero_and_alternative_clearly_not"),
    "dmala": (dmala, {"p": (">", 1e-3), "acceptance": (">", 0.95), "acceptance ": ("<", 0.97),
                      "flip_rate": (">", 0.035), "flip_rate ": ("<", 0.039)},
              "test_discrete_sampler::test_dmala_samples_the_exact_ising_distribution, "
              "test_acceptance_and_flip_rates_at_the_default_step"),
    "rbm_symmetry": (rbm_symmetry, {"kl": ("<", 0.03)}, "test_rbm_symmetry::test_exact_kl_translation_invariant"),
    "ais": (ais, {"digits_dev": ("<", 0.1), "digits_dev_3se": ("<", 1), "digits_bracket": (">", -0.1),
                  "ising_dev": ("<", 0.1), "ising_dev_3se": ("<", 1), "ising_bracket": (">", -0.1)},
            "test_ais::test_ais_on_rbm_trained_on_digits, test_ais_on_rbm_trained_on_ising"),
    "rbm_digits": (rbm_digits, {"rbm_over_held_out": ("<", 1.8), "rbm_over_shuffled": ("<", 0.6),
                                "classes": (">", 5.5)},
                   "test_rbm_digits::test_cd1_rbm_on_digits_gives_recognisable_samples"),
    "quality": (quality, {"same_over_threshold": ("<", 1), "same_over_floor": (">", 0.5), "same_over_floor ": ("<", 1.5),
                          "one_sample_over_floor": ("<", 1.5),
                          "digits_over_threshold": ("<", 1), "shuffled_over_threshold": (">", 2)},
                "test_quality::test_same_distribution_is_at_floor, test_digits_mmd_by_label"),
    "fpd_identical": (fpd_identical, {"abs_mean": ("<", 0.0012), "max_over_error": ("<", 4),
                                      "error_over_spread": (">", 0.6), "error_over_spread ": ("<", 2.2)},
                      "test_metrics_w1_frechet::test_fpd_of_identical_distributions_extrapolates_to_zero"),
    "frechet_diagonal": (frechet_diagonal, {"abs_dev": ("<", 0.02)},
                         "test_metrics_w1_frechet::test_frechet_diagonal_and_samples"),
    "langevin": (langevin, {**{f"ula_z_{e}": ("<", 4) for e in (0.4, 0.2, 0.05)},
                            **{f"course_z_{e}": ("<", 4) for e in (0.4, 0.1)},
                            "mixture_p_conventional": (">", 0.01), "mixture_p_course": (">", 0.01),
                            "tau_rel": ("<", 0.2), "acceptance": (">", 0.95)},
                 "test_langevin (ULA variances, course form, mixture p, τ_int, MALA acceptance)"),
    "vmc_optimise": (vmc_optimise, {"free_start": (">", 2.03), "free_dev": ("<", 0.01), "free_dev_5se": ("<", 1),
                                    "free_variance": ("<", 0.02), "taut_dev": ("<", 0.005),
                                    "taut_variance": ("<", 0.05)},
                     "test_vmc::test_two_noninteracting_particles_in_2d_optimise_to_2, "
                     "test_two_electrons_in_2d_with_jastrow_reach_taut_energy"),
    "exact_sampling": (exact_sampling, {**{f"{f}_p": (">", 1e-3) for f in ("rbm", "flow", "vae", "biased")},
                                        **{f"{f}_own_p": ("<", 1e-10) for f in ("rbm", "flow", "vae")},
                                        "weights_pull_e": ("<", 4), "weights_pull_m": ("<", 4)},
                       "test_exact_sampling (--mcmc chains, biased proposal, importance weights)"),
    "dbn": (dbn, {"bound_z": ("<", 4), "ais_dev": ("<", 1), "chi2_p": (">", 1e-3), "shifted_p": ("<", 1e-3)},
            "test_dbn::test_sampled_bound_and_ais_agree_with_the_exact_bound, test_samples_follow_the_exact_marginal"),
    "thermo_flow": (thermo_flow, {"max_pull": ("<", 4)},
                    "test_thermo::test_flow_extended_space_matches_exact_enumeration"),
    "van_samples": (van_samples, {"on_p": (">", 1e-3), "off_p": (">", 1e-3), "cond_p": (">", 1e-3),
                                  "on_other_p": ("<", 1e-10), "off_other_p": ("<", 1e-10), "cond_other_p": ("<", 1e-10)},
                    "test_van::test_samples_follow_log_q, test_conditioned_samples_follow_log_q_with_the_temperature_gain"),
    "van_free_energy": (van_free_energy, {"fq_minus_f": ("<", 0.002), "fq_minus_f ": (">", 0),
                                          "logged_dev": ("<", 0.003)},
                        "test_van::test_free_energy_training_approaches_the_exact_free_energy"),
    "nqs_metropolis": (nqs_metropolis, {"flip_p": (">", 1e-4), "exchange_p": (">", 1e-4),
                                        "flip_changed_p": ("<", 1e-4), "exchange_changed_p": ("<", 1e-4)},
                       "test_nqs::test_metropolis_samples_psi_squared"),
    "kpd_and_auc": (kpd_and_auc, {"kpd_z": ("<", 3), "folded_auc": ("<", 0.6), "folded_auc ": (">", 0.5)},
                    "test_metrics_jetnet::test_kpd_batch_equals_explicit_unbiased_mmd, "
                    "test_tune::test_scores_are_lower_for_better_samples"),
    "delong_and_pca": (delong_and_pca, {"delong_rel": ("<", 0.1), "pc1_dev": ("<", 1), "other_max": ("<", 1),
                                        "pc1_weights_dev": ("<", 1)},
                       "test_metrics_c2st::test_delong_auc_matches_sklearn_and_bootstrap, "
                       "test_analysis_pca::test_pc1_variance_matches_the_analytic_mixture_value"),
    "gan_reweighted": (gan_reweighted, {"max_z": ("<", 4), "max_z_min_se": ("<", 4), "rows_min": (">", 6000),
                                        "rows_max": ("<", 7300),
                                        "target_m_dev": ("<", 0.01), "target_e_dev": ("<", 0.03),
                                        "var_e_rel": ("<", 0.1), "var_m_rel": ("<", 0.1)},
                       "test_gan_reweighted (draws at the middle temperature, observable and fluctuation targets)"),
    "pointcloud_multiplicity": (pointcloud_multiplicity, {"epic-gan_p": (">", 0.01), "epic-fm_p": (">", 0.01)},
                                "test_pointcloud_multiplicity::test_generated_multiplicities_follow_the_training_distribution"),
    "stats_bootstrap": (stats_bootstrap, {"mean_error_rel": ("<", 0.1), "two_sample_error_rel": ("<", 0.2),
                                          "tau_white_dev": ("<", 0.05), "ess_white_rel": ("<", 0.1)},
                        "test_stats (bootstrap errors, white-noise τ_int and ESS)"),
    "langevin_moments": (langevin_moments, {"mala_gauss_z": ("<", 4), "ula_cov_z": ("<", 4),
                                            "mala_mixture_z": ("<", 4), "mala_gauss_acc": (">", 0.5),
                                            "truncated_p": (">", 0.01)},
                         "test_langevin (check_moments: MALA Gaussian, ULA covariance, MALA mixture; truncated p)"),
    "ising_tc": (ising_tc, {"max_abs_z": ("<", 4), "tau_ratio": (">", 2)},
                 "test_ising_engine::test_metropolis_and_wolff_agree_at_tc"),
    "gibbs": (gibbs, {f"{t}_{stat}": (">", 1e-3) for t in ("gibbs_bernoulli", "gibbs_spin", "gibbs_spin_flip",
                                                             "thinned", "pt_bernoulli", "pt_spin", "replicas",
                                                             "gaussian_hidden") for stat in ("chi2", "bin")}
              | {"flip_move_p": (">", 1e-3)},
              "test_gibbs (Gibbs, thinned, PT, replicas, Gaussian hidden marginal, flip move)"),
    "rbm_cd": (rbm_cd, {"flip_z": ("<", 4)} | {f"{t}_p": (">", 1e-3) for t in (
        "hidden_bernoulli", "hidden_spin", "hidden_gaussian", "stacked_bernoulli", "stacked_spin")},
               "test_rbm_cd (logit flip z-test, hidden-state and stacked sweeps)"),
    "rbm_levels": (rbm_levels, {f"{v}_{stat}": (">", 1e-3) for v in ("binomial", "softmax") for stat in ("chi2", "bin")}
                   | {"binomial_ais_dev": ("<", 0.05), "softmax_ais_dev": ("<", 0.05), "binomial_mean_dev": ("<", 0.03),
                      "binomial_var_dev": ("<", 0.05), "shifted_rejected": (">", 0.5)},
                   "test_rbm_levels (Gibbs against enumeration, its power, AIS log Z, binomial conditional)"),
    "reweighting": (reweighting, {"f_dev": ("<", 0.05), "max_z": ("<", 4), "max_z_ess": ("<", 4),
                                  "min_ess": (">", 1000)},
                    "test_reweighting (free energies, reweighted ⟨E⟩ and ⟨|m|⟩ at 2.1, 2.3, 2.5)"),
    "augment_and_toys": (augment_and_toys, {v: (">", 1e-3) for v in (
        "ring0.1_p", "grid0.05_p", "ring0.3_p", "checkerboard_p")}
                         | {"augment_sites_p": (">", 1e-4), "augment_flips_p": (">", 1e-4)}
                         | {f"{t}_wrong_p": ("<", 1e-6) for t in ("ring0.1", "grid0.05", "ring0.3")},
                         "test_augment::test_group_elements_are_uniform, test_data_digits_toys (mixture and "
                         "checkerboard samplers)"),
    "ising_exact": (ising_exact, {f"{t}_{e}_{stat}": (">", bound) for t in ("met", "field", "l2") for e in _ising_engines()
                                  for stat, bound in (("fisher", 1e-3), ("single", 1e-4))}
                    | {f"wolff{t}_fisher": (">", 1e-3) for t in ("", "_l2", "_l3")}
                    | {f"wolff{t}_single": (">", 1e-4) for t in ("", "_l2", "_l3")},
                    "test_ising_engine (L ≤ 4 histograms against exact enumeration, Metropolis and Wolff)"),
    "ising_ordered_start": (ising_ordered_start, {"plus": (">", 15), "minus": (">", 15), "hot_abs_m": ("<", 0.5)},
                            "test_ising_engine::test_ordered_start_gives_both_signs_and_random_start_is_random"),
    "ising_onsager": (ising_onsager, {"e_1.5": ("<", 1), "e_3.5": ("<", 1), "m_1.5": ("<", 1), "m2_3.5": ("<", 1),
                                      "am_3.5": ("<", 1), "de_1.5": ("<", 2e-3), "de_3.5": ("<", 2e-3),
                                      "dm_1.5": ("<", 5e-4)},
                      "test_ising_engine::test_l32_matches_onsager_at_low_and_high_temperature"),
    "physics_exact": (physics_exact, {"binder_normal": ("<", 0.02), "max_pull": ("<", 4), "error_over_cap": ("<", 1),
                                      "energy_error_rel": ("<", 0.2), "g_dev": ("<", 0.01), "ensemble_z": ("<", 4)},
                      "test_physics_exact (Binder cumulant of normal draws, thermodynamics of exact samples)"),
    "rbm_exact": (rbm_exact, {"pl_dev": ("<", 0.05)} | {f"{m}_gain": (">", 1.0) for m in ("cd", "pcd", "pt", "exact")}
                  | {f"{m}_below_law": ("<", 0.05) for m in ("cd", "pcd", "pt", "exact")},
                  "test_rbm::test_pseudo_likelihood_expectation_matches_exact, test_training_loop_improves_likelihood"),
    "observable_errors": (observable_errors, {"naive_rel": ("<", 0.15), "blocked_rel": ("<", 0.2),
                                              "weighted_max_pull": ("<", 5), "flat_z": ("<", 4),
                                              "flat_power": (">", 1), "chi2_dof": ("<", 15),
                                              "ess_fraction": ("<", 0.8), "g_dev": ("<", 0.03)},
                          "test_observable_errors (AR(1) block bootstrap, weighted uniform draws, evaluate)"),
    "vae_levels": (vae_levels, {"binomial_dev": ("<", 0.01), "vae_categorical_dev": ("<", 0.015),
                                "conv-vae_categorical_dev": ("<", 0.015), "elbo_drop": (">", 2.0)},
                   "test_vae (binomial and categorical grey-level draws, ELBO training step)"),
    "ebm_buffer": (ebm_buffer, {"uniform_z": ("<", 4), "reinit_z": ("<", 4), "gauss_mean_z": ("<", 4),
                                "gauss_std_rel": ("<", 0.04), "gauss_top_dev": ("<", 0.03),
                                "langevin_mean_z": ("<", 4), "langevin_std_z": ("<", 4)},
                   "test_ebm (replay buffer fill, re-initialisation, Gaussian restarts; bare-base Langevin)"),
}


def summarise(name: str, rows: list[dict], bounds: dict) -> list[dict]:
    """Per bounded value: mean ± sd over the seeds, the extreme towards the threshold, failures and the margin."""
    out = []
    for key, (op, threshold) in bounds.items():
        v = np.array([r[key.strip()] for r in rows])
        mean, sd = float(v.mean()), float(v.std(ddof=1))
        worst = float(v.max() if op == "<" else v.min())
        fails = int(np.sum(v >= threshold) if op == "<" else np.sum(v <= threshold))
        margin = (threshold - mean if op == "<" else mean - threshold) / sd if sd > 0 else math.inf
        out.append({"test": name, "value": key.strip(), "bound": f"{op} {threshold}", "mean": mean, "sd": sd,
                    "worst": worst, "seed0": float(v[0]), "fails": fails, "n": len(v), "margin_sd": margin})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tests", nargs="+", default=list(TESTS), choices=list(TESTS), metavar="NAME")
    ap.add_argument("--seeds", type=int, default=20, help="k = 0 … seeds − 1 (default 20)")
    ap.add_argument("--list", action="store_true", help="print the names and the tests they reproduce")
    ap.add_argument("--json", type=Path, help="append the per-seed rows and the summaries here")
    args = ap.parse_args()
    if args.list:
        for name, (_, _, test) in TESTS.items():
            print(f"{name:20s} tests/{test}")
        return
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)", flush=True)
    for name in args.tests:
        fn, bounds, test = TESTS[name]
        t0, rows = time.perf_counter(), []
        for k in range(args.seeds):
            rows.append({"k": k, **fn(k)})
        seconds = (time.perf_counter() - t0) / args.seeds
        print(f"\n{name} ({test}): {args.seeds} seeds, {seconds:.2f} s a seed", flush=True)
        summary = summarise(name, rows, bounds)
        for s in summary:
            print(f"  {s['value']:16s} {s['mean']:.4g} ± {s['sd']:.2g}  worst {s['worst']:.4g}  seed 0 {s['seed0']:.4g}"
                  f"  bound {s['bound']:8s} fails {s['fails']}/{s['n']}  margin {s['margin_sd']:.1f} sd", flush=True)
        if args.json:
            with args.json.open("a") as f:
                f.write(json.dumps({"test": name, "rows": rows, "summary": summary}, default=float) + "\n")


if __name__ == "__main__":
    main()
