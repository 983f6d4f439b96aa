"""DPM-Solver++(2M) (ODE and SDE) for ``ddpm`` and ``score-sde``, checked with the exact denoiser of Gaussian data.

For x_0 ~ N(μ, Σ) and x_t = α x_0 + σ ε every marginal is Gaussian, N(α μ, C), C = α² Σ + σ² I, so

* the optimal ε-predictor is E[ε | x_t] = σ C⁻¹ (x_t − α μ) and the VE score −C⁻¹ (x − μ) (α = 1);
* the probability-flow ODE moves x_t along x_t − α_t μ = C_t^{1/2} C_s^{−1/2} (x_s − α_s μ) (every C_t
  shares Σ's eigenvectors), so the exact end point of the solver's path is known for each start.

The solvers must then return N(μ, Σ) up to their discretisation error, and that error must fall as the
order of the method says when the number of steps doubles.
"""
from __future__ import annotations

import math

import pytest
import torch

from physgen.errors import UserError
from physgen.models.base import DataSpec
from physgen.models.registry import build
from physgen.samplers import ddpm as R
from physgen.samplers.dpm_solver import dpm_solver_pp, karras_sigmas

MU = torch.tensor([1.0, -2.0], dtype=torch.float64)
SIGMA = torch.tensor([[0.25, 0.3], [0.3, 4.0]], dtype=torch.float64)   # correlation 0.3
EYE = torch.eye(2, dtype=torch.float64)
N = 40000


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def sqrtm(c: torch.Tensor) -> torch.Tensor:
    w, v = torch.linalg.eigh(c)
    return v @ torch.diag(w.sqrt()) @ v.T


def exact_eps(abar: torch.Tensor, mu: torch.Tensor = MU):
    def eps(x, t):
        a = float(abar[int(t[0])])
        c = a * SIGMA + (1 - a) * EYE
        return (math.sqrt(1 - a) * torch.linalg.solve(c, (x.double() - math.sqrt(a) * mu).T).T).float()
    return eps


def flow(x: torch.Tensor, a_s: float, s_s: float, a_t: float, s_t: float) -> torch.Tensor:
    """The exact probability-flow map of Gaussian data from level (α_s, σ_s) to (α_t, σ_t), ``(B, 2)``."""
    c_s, c_t = a_s ** 2 * SIGMA + s_s ** 2 * EYE, a_t ** 2 * SIGMA + s_t ** 2 * EYE
    return a_t * MU + (sqrtm(c_t) @ torch.linalg.solve(sqrtm(c_s), (x - a_s * MU).T)).T


def posterior_mean(x: torch.Tensor, a: float, s: float) -> torch.Tensor:
    """E[x_0 | x_t = x] at level (α, σ)."""
    return MU + (a * SIGMA @ torch.linalg.solve(a ** 2 * SIGMA + s ** 2 * EYE, (x - a * MU).T)).T


def assert_gaussian(x: torch.Tensor, mu: torch.Tensor, cov: torch.Tensor, z_max: float = 4.0) -> None:
    """Sample mean and covariance of ``x`` (n, 2) against N(μ, Σ), each entry as a z-score.

    Standard errors: mean_i √(Σ_ii/n); covariance entry ij √((Σ_ii Σ_jj + Σ_ij²)/n) (Gaussian fourth moments).
    With n = 40,000 a relative error of 5% in either variance is 7 standard errors of that variance
    (√(2/n) = 0.71%) and always fails, 3% (4.2 standard errors) fails with probability ≥ 60%; a shift of the mean
    by 0.1 √Σ_ii is 20 standard errors.  Five z-scores at |z| < 4 give a false alarm probability below 3×10⁻⁴
    for draws of N(μ, Σ).
    """
    x = x.double()
    n = len(x)
    z_mean = (x.mean(0) - mu) / (cov.diag() / n).sqrt()
    se_cov = ((cov.diag()[:, None] * cov.diag()[None, :] + cov ** 2) / n).sqrt()
    z_cov = (torch.cov(x.T) - cov) / se_cov
    assert z_mean.abs().max() < z_max and z_cov.abs().max() < z_max, (x.mean(0), torch.cov(x.T), z_mean, z_cov)


def solver_moments(alphas, sigmas, mu: torch.Tensor, start_std: float, stochastic: bool = False):
    """Exact mean ``(2,)`` and covariance ``(2, 2)`` of DPM-Solver++(2M)'s output (the module docstring's
    steps) with the exact denoiser of N(μ, Σ), D_i(x) = μ + α_i Σ C_i⁻¹ (x − α_i μ), from x ~ N(0, start_std² I).

    Every step is affine in the state (x, D_prev) plus independent Gaussian noise, so the state's mean and
    covariance follow exactly.  They carry the discretisation error and the start's mismatch with the true
    level-0 marginal (which the SDE forgets): against N(μ, Σ) the variances come out up to 1.5% too large here,
    1 to 2 standard errors at n = 20,000 (up to 5 at 200,000).
    """
    a, s = [float(v) for v in alphas], [float(v) for v in sigmas]
    m, c = torch.zeros(4, dtype=torch.float64), torch.zeros(4, 4, dtype=torch.float64)
    c[:2, :2] = start_std ** 2 * EYE
    h_prev = None
    for i in range(len(a) - 1):
        p = a[i] * SIGMA @ torch.linalg.inv(a[i] ** 2 * SIGMA + s[i] ** 2 * EYE)     # D = P x + q
        q = mu - a[i] * p @ mu
        if s[i + 1] == 0:
            return a[i + 1] * (p @ m[:2] + q), a[i + 1] ** 2 * p @ c[:2, :2] @ p.T
        h = math.log(a[i + 1] / s[i + 1]) - math.log(a[i] / s[i])
        k = 0.0 if h_prev is None else h / (2 * h_prev)                                # D̃ = (1 + k) D − k D_prev
        cx, cd = ((s[i + 1] / s[i] * math.exp(-h), a[i + 1] * -math.expm1(-2 * h)) if stochastic
                  else (s[i + 1] / s[i], a[i + 1] * -math.expm1(-h)))
        t = torch.zeros(4, 4, dtype=torch.float64)
        t[:2, :2], t[:2, 2:], t[2:, :2] = cx * EYE + cd * (1 + k) * p, -cd * k * EYE, p
        m = t @ m + torch.cat([cd * (1 + k) * q, q])
        c = t @ c @ t.T
        if stochastic:
            c[:2, :2] += s[i + 1] ** 2 * -math.expm1(-2 * h) * EYE
        h_prev = h
    return m[:2], c[:2, :2]


def ddpm_moments(abar: torch.Tensor, steps: int, stochastic: bool = False):
    """:func:`solver_moments` on :func:`R.dpm_solver`'s levels (log-SNR spacing, then ᾱ = 1), start N(0, I)."""
    levels = [float(abar[t]) for t in R.logsnr_subsequence(abar.double(), steps)[::-1]] + [1.0]
    return solver_moments([math.sqrt(v) for v in levels], [math.sqrt(1 - v) for v in levels], MU, 1.0, stochastic)


def ve_moments(sde, steps: int, stochastic: bool = False):
    """:func:`solver_moments` on :func:`R.dpm_solver_ve`'s levels (Karras σ from s(1) to s(10⁻³), then 0) for
    centred data, start N(0, s(1)² I)."""
    one = torch.ones((), dtype=torch.float64)
    s_max, s_min = float(sde.marginal_std(one)), float(sde.marginal_std(one * 1e-3))
    sigmas = karras_sigmas(s_max, s_min, steps) + [0.0]
    return solver_moments([1.0] * len(sigmas), sigmas, torch.zeros(2, dtype=torch.float64), s_max, stochastic)


# --- the solver core ------------------------------------------------------------------------------------
def vp_levels(n: int, lam_lo: float = -5.0, lam_hi: float = 4.0) -> tuple[list[float], list[float]]:
    """n + 1 VP levels evenly spaced in λ = log(α/σ) from ``lam_lo`` to ``lam_hi`` (α² + σ² = 1)."""
    lam = torch.linspace(lam_lo, lam_hi, n + 1, dtype=torch.float64)
    return torch.sigmoid(2 * lam).sqrt().tolist(), torch.sigmoid(-2 * lam).sqrt().tolist()


def solve_vp(n: int, order: int, x: torch.Tensor) -> torch.Tensor:
    a, s = vp_levels(n)
    return dpm_solver_pp(lambda y, i: posterior_mean(y, a[i], s[i]), x, a, s, order=order)


@pytest.mark.parametrize("order", [1, 2])
def test_error_falls_with_the_order_of_the_method(order):
    """Fixed starts at λ = −5 integrated to λ = 4 with 16 … 128 steps against the exact flow: the maximum
    error must shrink by 2^order per doubling (measured ratio between 0.75 and 1.3 times 2^order)."""
    a, s = vp_levels(1)
    x = a[0] * MU + torch.randn(2000, 2, generator=gen(0), dtype=torch.float64) @ sqrtm(a[0] ** 2 * SIGMA + s[0] ** 2 * EYE)
    exact = flow(x, a[0], s[0], a[-1], s[-1])
    errs = [float((solve_vp(n, order, x) - exact).abs().max()) for n in (16, 32, 64, 128)]
    ratios = [errs[i] / errs[i + 1] for i in range(3)]
    assert all(0.75 * 2 ** order < r < 1.3 * 2 ** order for r in ratios), (errs, ratios)


def test_final_step_to_zero_noise_returns_the_denoised_data():
    x = torch.randn(4, 2, generator=gen(0), dtype=torch.float64)
    out = dpm_solver_pp(lambda y, i: y * 0 + 7.0, x, [0.5, 1.0], [0.8, 0.0])
    torch.testing.assert_close(out, torch.full_like(out, 7.0))


def test_karras_sigmas_endpoints_and_monotone():
    s = karras_sigmas(80.0, 0.002, 10)
    assert s[0] == pytest.approx(80.0) and s[-1] == pytest.approx(0.002)
    assert all(a > b for a, b in zip(s, s[1:]))


def test_logsnr_subsequence_is_even_in_log_snr():
    abar = R.alpha_bar(R.beta_schedule("linear", 1000))
    seq = R.logsnr_subsequence(abar, 20)
    assert seq[0] == 0 and seq[-1] == 999 and len(seq) == 20
    lam = 0.5 * torch.log(abar / (1 - abar))
    gaps = -torch.diff(lam[seq])
    assert float(gaps.max() / gaps.min()) < 1.5   # integer timesteps: near-even steps in λ
    with pytest.raises(UserError, match="steps"):
        R.logsnr_subsequence(abar, 1001)


# --- the DDPM's and the VE SDE's samplers with the exact denoiser --------------------------------------
def assert_exact_output(x: torch.Tensor, moments, mu: torch.Tensor) -> None:
    """``x`` carries the solver's exact output moments (:func:`solver_moments`), and those are N(μ, Σ) up to the
    discretisation: means within 0.02 √Σ_ii and variances within 2% (exactly: 1.2% and 1.3% for linear-30, 0.8%
    for cosine-60, 0.3% for SDE-100, 1.3% and 1.2% for the VE ODE and SDE).

    Against N(μ, Σ) itself at n = 20,000 and |z| < 3.5, the largest |z| of the five over seeds s + 1000 k
    (k = 0–19, one thread) was 2.2 ± 0.3 (linear-30), 1.5 ± 0.6, 1.6 ± 0.6, 1.7 ± 0.8 and 2.1 ± 0.7 (VE SDE,
    3.77 at k = 12): the variances' discretisation error of about 1% sits 1 to 2 standard errors out.  Against
    the exact moments at n = 40,000: see ``benchmarks/records/test_margins.md``."""
    mean, cov = moments
    assert ((mean - mu).abs() < 0.02 * SIGMA.diag().sqrt()).all() and ((cov.diag() / SIGMA.diag() - 1).abs() < 0.02).all()
    assert_gaussian(x, mean, cov)


@pytest.mark.parametrize("kind, steps", [("linear", 30), ("cosine", 60)])
def test_dpm_solver_ddpm_with_exact_eps_recovers_the_gaussian(kind, steps):
    abar = R.alpha_bar(R.beta_schedule(kind, 1000))
    x = R.dpm_solver(exact_eps(abar), (N, 2), abar, steps=steps, generator=gen(1))
    assert_exact_output(x, ddpm_moments(abar, steps), MU)


def test_dpm_solver_ddpm_converges_to_the_exact_flow_with_second_order():
    """Same start noise, the DDPM's integer timesteps (linear, T = 1000): error against the exact flow to
    t = 0 followed by the exact denoising shrinks ≥ 3× per doubling of the steps from 40 on (4× for order 2;
    time-even spacing, whose levels are regular enough in λ)."""
    abar = R.alpha_bar(R.beta_schedule("linear", 1000))
    z = torch.randn(2000, 2, generator=gen(5))
    errs = []
    for steps in (40, 80, 160):
        x = R.dpm_solver(exact_eps(abar), (2000, 2), abar, steps=steps, spacing="time", generator=gen(5))
        seq = R.timestep_subsequence(1000, steps)
        a_T, a_0 = float(abar[seq[-1]]), float(abar[0])
        at0 = flow(z.double(), math.sqrt(a_T), math.sqrt(1 - a_T), math.sqrt(a_0), math.sqrt(1 - a_0))
        errs.append(float((x.double() - posterior_mean(at0, math.sqrt(a_0), math.sqrt(1 - a_0))).abs().max()))
    assert errs[0] / errs[1] > 3 and errs[1] / errs[2] > 3, errs


def test_sde_dpm_solver_ddpm_with_exact_eps_recovers_the_gaussian():
    """The SDE variant needs more steps than the ODE for the same accuracy on this exact problem."""
    abar = R.alpha_bar(R.beta_schedule("linear", 1000))
    x = R.dpm_solver(exact_eps(abar), (N, 2), abar, steps=100, stochastic=True, generator=gen(2))
    assert_exact_output(x, ddpm_moments(abar, 100, stochastic=True), MU)


def test_dpm_solver_ve_with_exact_score_recovers_the_gaussian():
    # centred data and σ = 100 (s(1)² = 1,086): the prior N(0, s(1)² I) against the true N(0, Σ + s(1)² I) then
    # shrinks the variances by Σ_ii/s(1)² ≤ 0.4% (with σ = 25, s(1)² = 97, by 4%)
    sde, mu = R.VESDE(100.0), torch.zeros(2, dtype=torch.float64)

    def score(x, t):
        s2 = float(sde.marginal_std(t[:1].double())) ** 2
        return (-torch.linalg.solve(SIGMA + s2 * EYE, (x.double() - mu).T).T).float()

    assert_exact_output(R.dpm_solver_ve(score, (N, 2), sde, steps=30, generator=gen(3)), ve_moments(sde, 30), mu)
    x = R.dpm_solver_ve(score, (N, 2), sde, steps=50, stochastic=True, generator=gen(4))
    assert_exact_output(x, ve_moments(sde, 50, stochastic=True), mu)


# --- the models: defaults, names, old runs ------------------------------------------------------------------
def calls(model, **kw) -> int:
    sizes = []
    handle = model.denoiser.register_forward_hook(lambda mod, args, out: sizes.append(len(args[0])))
    model.sample(3, generator=gen(0), **kw)
    handle.remove()
    return len(sizes)


def test_ddpm_default_sampler_is_sde_dpm_solver_and_the_others_keep_their_steps():
    spec = DataSpec("continuous", (2,))
    model = build("ddpm", {"timesteps": 100, "width": 16, "blocks": 1, "emb_dim": 8, "solver_steps": 7,
                           "steps": 40}, spec)
    assert model.config.sampler == "sde-dpm-solver++"
    assert calls(model) == 7 and calls(model, steps=12) == 12
    assert calls(model, sampler="dpm-solver++") == 7
    assert calls(model, sampler="ddpm") == 40 and calls(model, sampler="ancestral", steps=5) == 5
    assert calls(model, sampler="ddim") == 40
    with pytest.raises(UserError, match="sampler=heun"):
        model.sample(2, generator=gen(0), sampler="heun")


def test_spin_lattices_sample_ancestrally_by_default():
    """On spins the ddpm's default is the ancestral sampler with 100 respaced steps: the DPM-Solvers biased ⟨|m|⟩
    of the paramagnet (benchmarks/records/diffusion.md); tabular data keep sde-dpm-solver++."""
    from physgen.models import registry

    ddpm = registry.get("ddpm")
    spins = ddpm.defaults(DataSpec("spins", (16, 16)))["model"]
    assert spins["sampler"] == "ddpm" and spins["steps"] == 100
    assert "sampler" not in ddpm.defaults(DataSpec("continuous", (3,))).get("model", {})


def test_a_run_recorded_with_the_ancestral_sampler_keeps_it():
    """Checkpoints written before DPM-Solver++ record ``sampler = "ddpm"``: their default stays ancestral."""
    model = build("ddpm", {"timesteps": 50, "width": 16, "blocks": 1, "emb_dim": 8, "sampler": "ddpm", "steps": 25},
                  DataSpec("continuous", (2,)))
    assert calls(model) == 25


def test_score_sde_default_sampler_and_the_corrector():
    spec = DataSpec("continuous", (2,))
    model = build("score-sde", {"width": 16, "blocks": 1, "emb_dim": 8, "solver_steps": 6, "steps": 9}, spec)
    assert model.config.sampler == "sde-dpm-solver++"
    assert calls(model) == 6 and calls(model, sampler="dpm-solver++") == 6
    assert calls(model, sampler="euler-maruyama") == 9
    assert calls(model, corrector_steps=1) == 18            # predictor–corrector: Euler–Maruyama
    with pytest.raises(UserError, match="corrector_steps"):
        model.sample(2, generator=gen(0), sampler="dpm-solver++", corrector_steps=1)
    with pytest.raises(UserError, match="model.sampler"):
        build("score-sde", {"sampler": "ddim"}, spec)
    with pytest.raises(UserError, match="model.solver_steps"):
        build("ddpm", {"solver_steps": 0}, spec)
    with pytest.raises(UserError, match="model.solver_spacing"):
        build("ddpm", {"solver_spacing": "karras"}, spec)


def test_solver_spacing_time_uses_the_respaced_ancestral_grid():
    seen = []
    model = build("ddpm", {"timesteps": 100, "width": 16, "blocks": 1, "emb_dim": 8, "solver_steps": 9,
                           "solver_spacing": "time"}, DataSpec("continuous", (2,)))
    model.denoiser.register_forward_hook(lambda mod, args, out: seen.append(int(args[1][0])))
    model.sample(3, generator=gen(0))
    assert seen == R.timestep_subsequence(100, 9)[::-1]


@pytest.mark.parametrize("name", ["ddpm", "score-sde"])
def test_spin_samples_from_the_default_sampler_are_spins(name):
    spec = DataSpec("spins", (8, 8), condition_names=("temperature",), condition_values={"temperature": (2.0, 3.0)})
    model = build(name, {"channels": (8,), "emb_dim": 16, "solver_steps": 4,
                         **({"timesteps": 20} if name == "ddpm" else {})}, spec)
    x = model.sample(5, generator=gen(0), condition={"temperature": 2.5})
    assert x.shape == (5, 8, 8) and set(x.unique().tolist()) <= {-1.0, 1.0}


def test_cli_sample_with_the_new_and_the_old_samplers(cli, tmp_path):
    from physgen.data import save
    from physgen.data.toys import make_toy

    data = save(make_toy("ring", 200, seed=0), tmp_path / "ring.h5")
    run = tmp_path / "run"
    code, _, err = cli("train", "ddpm", "--data", data, "--out", run, "--steps", "3", "--no-progress",
                       "--set", "model.timesteps=20", "--set", "model.width=16", "--set", "model.blocks=1")
    assert code == 0, err
    for sampler in ("sde-dpm-solver++", "dpm-solver++", "ddpm", "ancestral", "ddim"):
        code, _, err = cli("sample", run, "--n", "20", "--out", tmp_path / f"{sampler}.h5", "--sampler", sampler,
                           "--steps", "4")
        assert code == 0, err
    code, _, err = cli("sample", run, "--n", "20", "--out", tmp_path / "x.h5", "--sampler", "heun")
    assert code == 2 and "sampler=heun" in err and len(err.strip().splitlines()) == 1
