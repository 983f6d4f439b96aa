"""Normalizing flows (``flow``) and flow matching (``flow-matching``): exact densities, dequantisation bounds,
ODE integrators, the optimal-transport coupling, the CLI (train, resume, sample, score) and bad input.

Exact truths used: the change of variables (the flow's log-density against log N(f(x)) + log|det J_f| with the
Jacobian from autograd, and its integral over the line being 1); a Gaussian, which a one-layer affine
autoregressive flow represents exactly; the closed-form marginal velocity of flow matching towards Gaussian
data (x_t ~ N(t μ, σ_t²), σ_t² = (1 − t)² + t² s²; v(x, t) = μ + σ_t'/σ_t (x − t μ)), whose ODE carries N(0, 1)
onto N(μ, s²); and brute-force assignment for the minibatch OT plan.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from physgen.data import Dataset, save
from physgen.errors import UserError
from physgen.models.base import DataSpec
from physgen.models.flow import Flow, FlowConfig
from physgen.models.flow_matching import FlowMatching, FlowMatchingConfig, ot_permutation
from physgen.samplers import ode


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def small_flow(spec: DataSpec, **options) -> Flow:
    torch.manual_seed(0)
    cfg = FlowConfig(**{"transforms": 2, "hidden": (16, 16), **options})
    model = Flow(cfg, spec)
    with torch.no_grad():   # move away from the near-identity initialisation
        for p in model.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=gen(1)))
    return model


# --- exact densities -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("flow", ["nsf", "maf"])
def test_log_density_is_the_change_of_variables(flow):
    """log p(x) = log N(f(x); 0, I) + log |det ∂f/∂x| with the Jacobian computed by autograd, to 1e-4."""
    model = small_flow(DataSpec("continuous", (3,)), flow=flow).double()
    x = torch.randn(5, 3, generator=gen(2), dtype=torch.float64)
    lp, attrs = model.log_prob(x, method="exact")
    assert attrs["bound"] == "exact"
    t = model.flow().transform
    for i in range(len(x)):
        z = t(x[i:i + 1])[0]
        jac = torch.autograd.functional.jacobian(lambda v: t(v[None])[0], x[i])
        want = -0.5 * (z ** 2).sum() - 1.5 * math.log(2 * math.pi) + torch.linalg.slogdet(jac)[1]
        assert abs(float(lp[i]) - float(want.detach())) < 1e-4


def test_density_integrates_to_one_on_the_line():
    """∫ p(x) dx = 1 within 1e-3 for a randomly perturbed one-dimensional spline flow (trapezoid rule)."""
    model = small_flow(DataSpec("continuous", (1,))).double()
    grid = torch.linspace(-15, 15, 30001, dtype=torch.float64)[:, None]
    p = model.log_prob(grid, method="exact")[0].exp()
    assert abs(float(torch.trapezoid(p, grid[:, 0])) - 1) < 1e-3


def test_an_affine_flow_learns_a_gaussian():
    """A one-transform MAF fitted by maximum likelihood (800 full-batch Adam steps, cosine decay) to 2,000 draws
    of a correlated 2-D Gaussian: on 2,000 held-out draws the mean of log p_flow − log p_true (minus the KL
    divergence) is within 0.02 nats of 0 and the median pointwise deviation below 0.15; a Gaussian with the fitted
    variances but no correlation is 0.62 nats worse, so the check sees a wrong covariance; 4,000 samples' mean and
    covariance entries within 0.2 of the truth, which a lost correlation (0.6) fails.  Over torch seeds 1000 k
    (k = 0–19, one thread): |mean of log p_flow − log p_true| 0.0043 ± 0.0026 (5.9 sd inside 0.02), the median
    deviation 0.038 ± 0.011 (9.9 sd inside 0.15), mean and covariance entries 0.022 ± 0.014 and 0.041 ± 0.030
    (largest 0.10: the 2,000 training draws' own error; 12.7 and 5.3 sd inside 0.2).  With 400 steps the fit had
    not converged at k = 1 (training NLL 0.005 nats above the truth's, the flow's covariance 0.14 from the data's)
    and the covariance entries reached 0.21."""
    mean = torch.tensor([1.0, -0.5])
    cov = torch.tensor([[1.0, 0.6], [0.6, 0.5]])
    truth = torch.distributions.MultivariateNormal(mean, cov)
    torch.manual_seed(0)
    x, test = truth.sample((2000,)), truth.sample((2000,))
    model = Flow(FlowConfig(flow="maf", transforms=1, hidden=(16,)), DataSpec("continuous", (2,)))
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    decay = torch.optim.lr_scheduler.CosineAnnealingLR(opt, 800)
    g = gen(0)
    for _ in range(800):
        loss, _ = model.loss({"x": x}, generator=g)
        opt.zero_grad()
        loss.backward()
        opt.step()
        decay.step()
    d = model.log_prob(test, method="exact")[0] - truth.log_prob(test)
    assert abs(float(d.mean())) < 0.02 and float(d.abs().median()) < 0.15
    s = model.sample(4000, generator=gen(3))
    assert torch.allclose(s.mean(0), mean, atol=0.2) and torch.allclose(torch.cov(s.T), cov, atol=0.2)


# --- dequantised discrete data ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["binary", "spins"])
def test_dequantisation_bounds_add_up_to_the_mass_in_the_box(kind):
    """For 4 two-valued features: elbo ≤ iwae per configuration (same draws), and the IWAE probabilities
    (k = 200) add up over the 16 configurations to the flow's probability of the box that the logit map covers,
    |z_i| < logit(1 − α), measured by sampling the flow (20,000 draws, standard error 0.003): within 0.02."""
    model = small_flow(DataSpec(kind, (4,)))
    bits = torch.tensor(list(itertools.product([0.0, 1.0], repeat=4)))
    x = 2 * bits - 1 if kind == "spins" else bits
    elbo = model.log_prob(x, method="elbo", generator=gen(0), k=200)[0]
    iwae = model.log_prob(x, method="iwae", generator=gen(0), k=200)[0]
    assert (elbo <= iwae + 1e-5).all()
    with torch.no_grad():
        z = model.flow().transform.inv(torch.randn(20000, 4, generator=gen(1)))
    edge = math.log((1 - 0.05) / 0.05)
    inside = float((z.abs() < edge).all(1).double().mean())
    assert abs(float(iwae.exp().sum()) - inside) < 0.02


@pytest.mark.parametrize("spec", [DataSpec("spins", (4, 4)), DataSpec("binary", (4, 4)),
                                  DataSpec("image", (4, 4), levels=4), DataSpec("image", (2, 3))],
                         ids=["spins", "binary", "grey-grid", "grey"])
def test_samples_are_in_the_data_format(spec):
    model = small_flow(spec, passes=2)
    x = model.sample(50, generator=gen(0))
    assert x.shape == (50, *spec.shape)
    if spec.kind == "spins":
        assert set(x.unique().tolist()) <= {-1.0, 1.0}
    elif spec.kind == "binary":
        assert set(x.unique().tolist()) <= {0.0, 1.0}
    elif spec.levels:
        assert torch.allclose(x * 4, (x * 4).round())
    else:
        assert float(x.min()) >= 0 and float(x.max()) <= 1
        assert model.log_prob(x, method="exact")[0].isfinite().all()


def test_scoring_methods_follow_the_data_kind():
    with pytest.raises(UserError, match="supports elbo and iwae"):
        small_flow(DataSpec("spins", (4,))).log_prob(torch.ones(2, 4), method="exact")
    with pytest.raises(UserError, match="supports exact"):
        small_flow(DataSpec("continuous", (2,))).log_prob(torch.ones(2, 2), method="ais")


@pytest.mark.parametrize("options, message", [
    ({"flow": "realnvp"}, "model.flow"), ({"transforms": 0}, "model.transforms"), ({"passes": 1}, "model.passes"),
    ({"alpha": 0.5}, "model.alpha"), ({"dequantize": "gauss"}, "model.dequantize")])
def test_bad_flow_config_is_a_user_error(options, message):
    with pytest.raises(UserError, match=message):
        FlowConfig(**options)


def test_dequantisation_must_fit_the_data():
    with pytest.raises(UserError, match="need dequantize=uniform"):
        Flow(FlowConfig(dequantize="none"), DataSpec("spins", (4,)))
    with pytest.raises(UserError, match="not discrete"):
        Flow(FlowConfig(dequantize="uniform"), DataSpec("continuous", (4,)))


def test_conditional_flow_uses_the_condition():
    spec = DataSpec("continuous", (2,), None, ("temperature",), {"temperature": (1.0, 3.0)})
    model = small_flow(spec)
    x = torch.randn(4, 2, generator=gen(0))
    lo = model.log_prob(x, method="exact", cond=torch.full((4, 1), 1.0))[0]
    hi = model.log_prob(x, method="exact", cond=torch.full((4, 1), 3.0))[0]
    assert not torch.allclose(lo, hi)
    assert model.sample(6, generator=gen(0), condition={"temperature": 2.0}).shape == (6, 2)


# --- ODE integrators and flow matching ---------------------------------------------------------------------------
def test_fixed_step_integrators_converge_at_their_order():
    """dx/dt = −x from x = 1 to t = 1: Euler's error halves with the step, Heun's and midpoint's quarter;
    rk45 meets its tolerance."""
    v = lambda x, t: -x  # noqa: E731
    x0, exact = torch.ones(1, dtype=torch.float64), math.exp(-1)
    err = {m: [abs(float(ode.integrate(v, x0, method=m, steps=n)[0]) - exact) for n in (20, 40)]
           for m in ("euler", "heun", "midpoint")}
    assert 1.8 < err["euler"][0] / err["euler"][1] < 2.2
    assert 3.6 < err["heun"][0] / err["heun"][1] < 4.4 and 3.6 < err["midpoint"][0] / err["midpoint"][1] < 4.4
    x, calls = ode.integrate(v, x0, method="rk45", rtol=1e-8, atol=1e-10)
    assert abs(float(x) - exact) < 1e-6 and calls > 0
    with pytest.raises(UserError, match="sampler=rk4"):
        ode.integrate(v, x0, method="rk4")


MU_FM, S_FM = 1.5, 0.5


class ExactVelocity(torch.nn.Module):
    """The marginal velocity of straight paths from N(0, 1) to N(μ, s²), called with the noise level τ = 1 − t."""

    def forward(self, x: torch.Tensor, tau: torch.Tensor, *args) -> torch.Tensor:
        t = (1 - tau)[:, None]
        var = (1 - t) ** 2 + t ** 2 * S_FM ** 2
        dvar = -(1 - t) + t * S_FM ** 2           # σ_t σ_t'
        return MU_FM + dvar / var * (x - t * MU_FM)


@pytest.mark.parametrize("sampler, steps", [("heun", 20), ("midpoint", 20), ("rk45", 1)])
def test_flow_matching_sampler_with_the_exact_velocity_recovers_the_gaussian(sampler, steps):
    """Over 5 seeds and 1 and 2 threads: the mean's |z| 0.97 ± 0.60 (a 3σ test, 3.4 sd), the std's relative
    error 0.0030–0.0035 ± 0.002–0.003 (5.5 sd or more inside 0.02)."""
    model = FlowMatching(FlowMatchingConfig(width=8, blocks=1, emb_dim=8, clip_to_data=False),
                         DataSpec("continuous", (1,)))
    model.denoiser = ExactVelocity()
    x = model.sample(20000, generator=gen(0), sampler=sampler, steps=steps).double()
    assert abs(float(x.mean()) - MU_FM) < 3 * S_FM / math.sqrt(len(x))
    assert abs(float(x.std()) / S_FM - 1) < 0.02


def test_ot_permutation_is_the_brute_force_optimum_within_groups():
    x0, x1 = torch.randn(6, 2, generator=gen(0)), torch.randn(6, 2, generator=gen(1))
    perm = ot_permutation(x0, x1)
    cost = lambda p: float(((x0[list(p)] - x1) ** 2).sum())  # noqa: E731
    assert abs(cost(perm.tolist()) - min(cost(p) for p in itertools.permutations(range(6)))) < 1e-9
    groups = torch.tensor([0, 0, 0, 1, 1, 1])
    perm = ot_permutation(x0, x1, groups)
    assert set(perm[:3].tolist()) == {0, 1, 2} and set(perm[3:].tolist()) == {3, 4, 5}


@pytest.mark.parametrize("coupling", ["independent", "ot"])
def test_flow_matching_trains_on_conditioned_spins_and_decodes_by_sign(coupling):
    spec = DataSpec("spins", (4, 4), None, ("temperature",), {"temperature": (2.0, 3.0)})
    model = FlowMatching(FlowMatchingConfig(channels=(8,), emb_dim=16, coupling=coupling, steps=4), spec)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    batch = {"x": torch.randn(16, 4, 4, generator=gen(0)).sign(), "cond": torch.tensor([[2.0], [3.0]]).repeat(8, 1)}
    losses = []
    for s in range(5):
        loss, logs = model.loss(batch, generator=gen(s))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(logs["loss"])
    assert all(math.isfinite(v) for v in losses)
    x = model.sample(6, generator=gen(0), condition={"temperature": 2.5})
    assert x.shape == (6, 4, 4) and set(x.unique().tolist()) <= {-1.0, 1.0}


@pytest.mark.parametrize("options, message", [
    ({"coupling": "sinkhorn"}, "model.coupling"), ({"sampler": "rk4"}, "model.sampler"), ({"steps": 0}, "model.steps"),
    ({"sigma_min": 1.0}, "model.sigma_min")])
def test_bad_flow_matching_config_is_a_user_error(options, message):
    with pytest.raises(UserError, match=message):
        FlowMatchingConfig(**options)


# --- CLI ---------------------------------------------------------------------------------------------------------
@pytest.fixture
def gauss_file(tmp_path):
    x = np.random.default_rng(0).normal([1.0, -1.0], [0.5, 2.0], size=(300, 2)).astype(np.float32)
    return save(Dataset(x, kind="continuous", attrs={"feature_names": ["a", "b"]}), tmp_path / "gauss.h5")


def one_line_error(code: int, err: str, text: str) -> bool:
    return code == 2 and text in err and len(err.strip().splitlines()) == 1


def test_cli_flow_trains_resumes_samples_and_scores(cli, tmp_path, gauss_file):
    run = tmp_path / "run"
    small = ["--set", "model.transforms=1", "--set", "model.hidden=[16]", "--no-progress"]
    code, out, err = cli("train", "flow", "--data", gauss_file, "--out", run, "--steps", "5", *small)
    assert code == 0, err
    code, out, err = cli("train", "flow", "--data", gauss_file, "--out", run, "--steps", "10", "--resume",
                         "--no-progress")
    assert code == 0 and "step 10" in out, err
    code, out, err = cli("sample", run, "--n", "40", "--out", tmp_path / "s.h5")
    assert code == 0, err
    code, out, err = cli("score", run, "--data", gauss_file, "--out", tmp_path / "lp.h5")
    assert code == 0 and "(exact)" in out, err
    import h5py
    with h5py.File(tmp_path / "lp.h5") as f:
        assert f["log_prob"].shape == (300,) and np.isfinite(f["log_prob"][:]).all()
    code, out, err = cli("score", run, "--data", gauss_file, "--out", tmp_path / "ais.h5", "--method", "ais")
    assert one_line_error(code, err, "--method ais") and not (tmp_path / "ais.h5").exists()


def test_cli_flow_matching_trains_and_samples_with_each_solver(cli, tmp_path, gauss_file):
    run = tmp_path / "run"
    code, out, err = cli("train", "flow-matching", "--data", gauss_file, "--out", run, "--steps", "5", "--no-progress",
                         "--set", "model.width=16", "--set", "model.blocks=1", "--set", "model.coupling=ot")
    assert code == 0, err
    for sampler in ("euler", "heun", "midpoint", "rk45"):
        code, out, err = cli("sample", run, "--n", "20", "--out", tmp_path / f"{sampler}.h5", "--sampler", sampler,
                             "--steps", "3")
        assert code == 0, err
    code, out, err = cli("sample", run, "--n", "20", "--out", tmp_path / "bad.h5", "--sampler", "ddim")
    assert one_line_error(code, err, "sampler=ddim") and not (tmp_path / "bad.h5").exists()


@pytest.mark.parametrize("model, option, text", [("flow", "model.bins=0", "model.bins"),
                                                 ("flow", "model.flow=glow", "model.flow"),
                                                 ("flow-matching", "model.coupling=exact", "model.coupling")])
def test_cli_bad_options_give_one_line(cli, tmp_path, gauss_file, model, option, text):
    code, out, err = cli("train", model, "--data", gauss_file, "--out", tmp_path / "r", "--steps", "2",
                         "--set", option)
    assert one_line_error(code, err, text) and not (tmp_path / "r").exists()


# --- slow: flow matching against an exact mixture ---------------------------------------------------------------
@pytest.mark.slow
def test_flow_matching_reaches_the_exact_mixture_in_w1():
    """A 1-D mixture ½N(−2, 0.5²) + ½N(2, 0.5²): 3,000 updates of the MLP (batch 256, cosine decay) and 20,000
    Heun samples (50 steps) give W1 = ∫|F_n − F| dx < 0.05 against the exact CDF F.  Exact draws of that size
    give 0.014 on average (0.026 the largest of 20 sets); a mode weight off by 5% gives 0.22 and modes 10% too
    wide 0.039, so the test sees a wrong weight for sure and a wrong width mostly."""
    from scipy.stats import norm

    def mixture(n, g):
        side = torch.randint(2, (n, 1), generator=g) * 4.0 - 2.0
        return side + 0.5 * torch.randn(n, 1, generator=g)

    torch.manual_seed(0)
    model = FlowMatching(FlowMatchingConfig(width=64, blocks=2, emb_dim=32), DataSpec("continuous", (1,)))
    opt = torch.optim.Adam(model.parameters(), 2e-3)
    decay = torch.optim.lr_scheduler.CosineAnnealingLR(opt, 3000)
    g = gen(0)
    for _ in range(3000):
        loss, _ = model.loss({"x": mixture(256, g)}, generator=g)
        opt.zero_grad()
        loss.backward()
        opt.step()
        decay.step()
    x = np.sort(model.sample(20000, generator=gen(1)).flatten().double().numpy())
    grid = np.linspace(-8, 8, 160001)
    exact = 0.5 * norm.cdf(grid, -2, 0.5) + 0.5 * norm.cdf(grid, 2, 0.5)
    w1 = np.trapezoid(np.abs(np.searchsorted(x, grid, side="right") / len(x) - exact), grid)
    assert w1 < 0.05, w1


# --- GPU path (skipped without CUDA) -----------------------------------------------------------------------------
@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("model", ["flow", "flow-matching"])
def test_cuda_train_resume_sample_and_score(cli, tmp_path, gauss_file, model):
    """Both families train, resume, sample and (flow) score on the GPU through the CLI."""
    run = tmp_path / "run"
    q = ["--no-progress", "--device", "cuda"]
    code, out, err = cli("train", model, "--data", gauss_file, "--out", run, "--steps", "5", *q)
    assert code == 0, err
    code, out, err = cli("train", model, "--data", gauss_file, "--out", run, "--steps", "10", "--resume", *q)
    assert code == 0 and "step 10" in out, err
    code, out, err = cli("sample", run, "--n", "50", "--out", tmp_path / "s.h5", "--device", "cuda")
    assert code == 0, err
    if model == "flow":
        code, out, err = cli("score", run, "--data", gauss_file, "--out", tmp_path / "lp.h5", "--device", "cuda")
        assert code == 0 and "(exact)" in out, err
