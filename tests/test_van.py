"""The ``van`` family (variational autoregressive network): exact normalisation, samples that follow log q, the
REINFORCE gradient of the variational free energy against its exact gradient, data-free training towards the
exact free energy of the 4×4 Ising model, training on data, the ``--hamiltonian`` command line and exact
Boltzmann sampling (``physgen sample --mcmc``) from a data-free run."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from physgen.errors import UserError
from physgen.models.base import DataSpec
from physgen.models.van import VAN, VANConfig
from physgen.physics.exact import ExactIsing
from physgen.training.hamiltonian import IsingTraining


def all_states(L: int) -> torch.Tensor:
    """Every ±1 lattice ``(2^(L²), L, L)`` float32."""
    d = L * L
    bits = (torch.arange(2 ** d)[:, None] >> torch.arange(d)) & 1
    return (2 * bits - 1).float().reshape(-1, L, L)


def random_van(spec: DataSpec | int, seed: int, **options) -> VAN:
    """A van of ``spec`` (an int L: L×L spins) whose weights are all drawn from N(0, 0.7²): far from uniform,
    every mask exercised."""
    torch.manual_seed(seed)
    model = VAN(VANConfig(**options), DataSpec("spins", (spec, spec)) if isinstance(spec, int) else spec)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.7)
    return model.eval()


@pytest.mark.parametrize("L", [2, 3])
@pytest.mark.parametrize("z2", ["on", "off"])
@pytest.mark.parametrize("hidden", [(16,), (4, 6), ()])
def test_log_q_is_normalised(L, z2, hidden):
    """Σ_s q(s) = 1 over all 2^(L²) lattices, to float64 rounding, with and without Z₂ symmetrisation, for one
    hidden layer, two narrow ones (fewer units than degrees on 3×3) and the linear model alone."""
    model = random_van(L, 0, z2=z2, hidden=hidden)
    lq, attrs = model.log_prob(all_states(L))
    assert lq.dtype == torch.float64 and attrs["bound"] == "exact"
    assert float(torch.logsumexp(lq, 0)) == pytest.approx(0.0, abs=1e-9)


def test_binary_data_and_a_conditioned_model_are_normalised_at_every_condition():
    spec = DataSpec("binary", (2, 3), None, ("temperature",), {"temperature": (1.0, 3.0)})
    model = random_van(spec, 1)
    bits = ((torch.arange(64)[:, None] >> torch.arange(6)) & 1).float().reshape(-1, 2, 3)
    for t in (1.0, 2.0, 3.0):
        lq, _ = model.log_prob(bits, cond=torch.full((len(bits), 1), t))
        assert float(torch.logsumexp(lq, 0)) == pytest.approx(0.0, abs=1e-9)
    x = model.sample(50, generator=torch.Generator().manual_seed(0), condition={"temperature": 2.0})
    assert x.shape == (50, 2, 3) and set(x.unique().tolist()) <= {0.0, 1.0}


def state_counts(x: torch.Tensor) -> np.ndarray:
    """How often each of the 512 states of 3×3 occurs among lattices ``x (n, 3, 3)`` of ±1 ``(512,)``."""
    codes = (((x.reshape(len(x), -1) + 1) / 2).long() * (1 << torch.arange(9))).sum(1)
    return torch.bincount(codes, minlength=512).double().numpy()


def pooled_chi2(observed: np.ndarray, expected: np.ndarray) -> tuple[float, int, float]:
    """χ² of counts against expectations, cells with fewer than 5 expected pooled into one; (χ², dof, p)."""
    small = expected < 5
    obs = np.append(observed[~small], observed[small].sum())
    exp = np.append(expected[~small], expected[small].sum())
    chi2 = float(((obs - exp) ** 2 / exp).sum())
    return chi2, len(obs) - 1, float(stats.chi2.sf(chi2, len(obs) - 1))


@pytest.mark.parametrize("z2", ["on", "off"])
def test_samples_follow_log_q(z2):
    """100,000 draws on 3×3 (the incremental sampler, with the whole-lattice flip under Z₂) against q from the
    teacher-forced pass: the χ² test over the 512 states passes (p > 10⁻³; p-values over three seeds of each
    setting were 0.18–0.77), while the same counts against the other setting's q fail (p < 10⁻¹⁰).  False-alarm
    rate 10⁻³; over draw seeds 3 + 1000 k (k = 0–19, one thread) p is 0.035–0.96 (z2 on) and 0.048–0.94
    (off), and 0 (underflow) against the other q."""
    other = random_van(3, 2, hidden=(16, 8), z2="off" if z2 == "on" else "on")
    model = random_van(3, 2, hidden=(16, 8), z2=z2)
    x = model.sample(100_000, generator=torch.Generator().manual_seed(3))
    counts = state_counts(x)
    q = model.log_prob(all_states(3))[0].exp().numpy()
    assert pooled_chi2(counts, q * len(x))[2] > 1e-3
    assert pooled_chi2(counts, other.log_prob(all_states(3))[0].exp().numpy() * len(x))[2] < 1e-10


def test_conditioned_samples_follow_log_q_with_the_temperature_gain():
    """A van conditioned on two temperatures carries the gain e^{G c} (``gain = auto``), and its incremental
    sampler still draws q(s | T): 100,000 draws on 3×3 at T = 2.5 pass the χ² test over the 512 states
    (p > 10⁻³) and fail against q at T = 2 (p < 10⁻¹⁰).  Over draw seeds 6 + 1000 k (k = 0–19, one thread), p
    was 0.012–0.96 (false-alarm rate 10⁻³) and 0 (underflow) against the other temperature's q."""
    spec = DataSpec("spins", (3, 3), None, ("temperature",), {"temperature": (2.0, 3.0)})
    model = random_van(spec, 5, hidden=(16, 8), experts="off")
    assert model.config.gain == "on" and model.net.cond_gain is not None
    x = model.sample(100_000, generator=torch.Generator().manual_seed(6), condition={"temperature": 2.5})
    counts = state_counts(x)
    q = lambda t: model.log_prob(all_states(3), cond=torch.full((512, 1), t))[0].exp().numpy()  # noqa: E731
    assert pooled_chi2(counts, q(2.5) * len(x))[2] > 1e-3
    assert pooled_chi2(counts, q(2.0) * len(x))[2] < 1e-10


def test_gain_auto_follows_the_temperatures():
    """``gain = auto``: on when the temperature takes more than one value, off for one temperature (whose model has
    no gain weights) and off when set so."""
    def gain(temperatures, **kw):
        spec = DataSpec("spins", (4, 4), None, ("temperature",), {"temperature": temperatures})
        return VAN.resolve(VANConfig(**kw), spec).gain
    assert gain((2.0, 3.0)) == "on" and gain((2.5,)) == "off" and gain((2.0, 3.0), gain="off") == "off"
    assert VAN.resolve(VANConfig(), DataSpec("spins", (4, 4))).gain == "off"
    assert random_van(DataSpec("spins", (3, 3), None, ("temperature",), {"temperature": (2.5,)}), 0).net.cond_gain \
        is None


def test_the_proposal_scores_its_draws_as_log_prob():
    """``proposal(condition).draw`` returns lattices with their exact log q (float64), the value ``log_prob`` and the
    proposal's ``log_q`` give them; a conditioned van needs a condition, binary data propose nothing."""
    spec = DataSpec("spins", (3, 3), None, ("temperature",), {"temperature": (2.0, 3.0)})
    model = random_van(spec, 4, z2="on")
    proposal = model.proposal({"temperature": 2.5})
    gen = torch.Generator().manual_seed(0)
    s, lq = proposal.draw(500, gen)
    assert s.shape == (500, 3, 3) and lq.dtype == torch.float64
    want, _ = model.log_prob(s, cond=torch.full((500, 1), 2.5))
    assert torch.allclose(lq, want, atol=1e-9) and torch.allclose(proposal.log_q(s, gen), want, atol=1e-9)
    with pytest.raises(UserError, match="pass a condition"):
        model.proposal()
    with pytest.raises(UserError, match="not binary data"):
        random_van(DataSpec("binary", (3, 3)), 0).proposal()


def exact_beta_free_energy(model: VAN, T: float) -> torch.Tensor:
    """βF_q/D = (1/D) Σ_s q(s) [E(s)/T + log q(s)] by enumeration: a differentiable function of the weights."""
    s = all_states(model.spec.shape[0]).reshape(-1, model.spec.n_features)
    c = model.cond(torch.full((len(s), 1), T))
    lq = model.log_q(s, c)
    return (lq.exp() * (model.energy(s) / T + lq)).sum() / model.spec.n_features


@pytest.mark.parametrize("z2, h", [("on", 0.0), ("off", 0.3)])
def test_reinforce_gradient_matches_the_exact_gradient(z2, h):
    """On 2×2 at T = 1.5, the gradient of the training loss of one MADE (REINFORCE with the batch-mean baseline,
    40,000 draws per batch, averaged over 5 batches) agrees with the gradient of the enumerated βF_q/D within 3% of its
    norm (measured: 0.4–0.5%, the statistical error of the mean 0.7%); dropping log q from the reward, a
    plausible slip, misses by 28–29% (the test asserts > 20%); the loss value is βF_q/D within 0.005.  Over
    the batches' seeds j + 1000 k (k = 0–19, one thread), z2 on and off: relative error 0.0081 ± 0.0055 and
    0.0088 ± 0.0052 (largest 0.021; 4.0 and 4.1 sd inside 0.03), loss off by 0.0012 ± 0.0010 and 0.0012 ±
    0.0011 (largest 0.0041; 3.8 and 3.4 sd inside 0.005, which is about 3.3 of the loss's standard errors)."""
    T = 1.5
    spec = DataSpec("spins", (2, 2), None, ("temperature",), {"temperature": (T,)})
    model = random_van(spec, 0, hidden=(8,), objective="free-energy", z2=z2, h=h, samples=40_000,
                       arch="made").train()
    params = list(model.parameters())
    exact = exact_beta_free_energy(model, T)
    want = torch.cat([g.flatten() for g in torch.autograd.grad(exact, params)])
    batch = {"x": torch.ones(1, 2, 2), "cond": torch.tensor([[T]])}
    grads, values = [], []
    for k in range(5):
        loss, logs = model.loss(batch, generator=torch.Generator().manual_seed(k))
        grads.append(torch.cat([g.flatten() for g in torch.autograd.grad(loss, params)]))
        values.append(float(loss.detach()))
    got = torch.stack(grads).mean(0).double()
    assert float((got - want).norm() / want.norm()) < 0.03
    assert np.mean(values) == pytest.approx(float(exact.detach()), abs=0.005)
    # the same estimator without the entropy term of the reward
    s = model.draw(40_000, model.cond(torch.full((40_000, 1), T)), torch.Generator().manual_seed(9))
    c = model.cond(torch.full((len(s), 1), T))
    lq = model.log_q(s, c)
    reward = (model.energy(s) / T).detach()
    wrong = torch.autograd.grad(((reward - reward.mean()) * lq).mean() / 4, params)
    wrong = torch.cat([g.flatten() for g in wrong]).double()
    assert float((wrong - want).norm() / want.norm()) > 0.2


def test_z2_auto_follows_the_objective_and_the_field():
    spec = DataSpec("spins", (4, 4), None, ("temperature",), {"temperature": (2.5,)})
    resolve = lambda **kw: VAN.resolve(VANConfig(**kw), spec).z2  # noqa: E731
    assert resolve(objective="free-energy") == "on" and resolve(objective="free-energy", h=0.1) == "off"
    assert resolve() == "off" and resolve(objective="free-energy", z2="off") == "off"
    with pytest.raises(UserError, match="model.objective=free-energy"):
        VAN(VANConfig(objective="free-energy"), DataSpec("spins", (4, 4)))
    with pytest.raises(UserError, match="model.hidden"):
        VANConfig(hidden=(), direct=False)


L4, T4 = 4, 2.5


@pytest.fixture(scope="module")
def free_run(tmp_path_factory):
    """``van`` trained on the 4×4 Ising Hamiltonian at T = 2.5 alone: a short run, 400 steps of 256 draws at
    the learning rate 10⁻² (about 3 s; the defaults' 8,000 steps at 3×10⁻³ take about 40 s)."""
    from physgen.training import train

    out = tmp_path_factory.mktemp("van") / "free"
    summary = train("van", hamiltonian=IsingTraining(L4, (T4,)), out=out, steps=400, seed=0,
                    sets=["train.progress=false", "train.lr=0.01"])
    return out, summary


def exact_f_q(model: VAN, T: float) -> float:
    """F_q/N = (1/N) Σ_s q(s) [E(s) + T log q(s)] over the 65,536 lattices of 4×4."""
    s = all_states(L4)
    lq, _ = model.log_prob(s, cond=torch.full((len(s), 1), T))
    e = model.energy(s.reshape(len(s), -1))
    return float((lq.exp() * (e + T * lq)).sum()) / (L4 * L4)


def test_free_energy_training_approaches_the_exact_free_energy(free_run):
    """After 400 steps of the default hierarchical network F_q/N (by enumeration) lies above the exact
    F/N = −T log Z/N (the variational bound) and within 0.002 of it (measured over training seeds 1000 k,
    k = 0–19, one thread: 2.6×10⁻⁴ ± 0.4×10⁻⁴, 2.0×10⁻⁴ to 3.4×10⁻⁴, 47 sd inside; the untrained model is
    0.55–0.63 above at seeds 1000 k, k = 0–4); the logged F_q/N estimates it within 0.003 (measured: within
    3.7×10⁻⁴); data.json records the Hamiltonian."""
    from physgen.training import load_run
    from physgen.training import rundir as R

    out, summary = free_run
    f = -T4 * ExactIsing(L4, T4).log_z / (L4 * L4)
    run = load_run(out)
    f_q = exact_f_q(run.model, T4)
    assert f <= f_q < f + 0.002, (f_q, f)
    untrained = VAN(run.model.config, run.spec)
    assert exact_f_q(untrained, T4) > f + 0.3
    assert summary["last_metrics"]["f_q"] == pytest.approx(f_q, abs=0.003)
    assert R.read_json(out / R.DATA)["attrs"] == {"J": 1.0, "h": 0.0, "size": 4, "boundary": "periodic",
                                                  "hamiltonian_J": 1.0, "hamiltonian_h": 0.0}
    assert run.config.model.objective == "free-energy" and run.config.model.z2 == "on"
    assert run.config.model.arch == "han"
    assert VAN.hamiltonian_defaults["train"]["steps"] == 8000 and run.config.data.augment == "none"


def test_mcmc_from_a_data_free_run(cli, free_run, tmp_path):
    """``physgen sample RUN --mcmc`` finds the Hamiltonian in the run (no --hamiltonian); its samples at T = 2.5
    pass the χ² test of the exact energy distribution (p > 10⁻³) with a high acceptance."""
    from physgen.data import load

    out, _ = free_run
    code, stdout, err = cli("sample", out, "--mcmc", "--n", "4000", "--seed", "1", "--out", tmp_path / "s.h5")
    assert code == 0, err
    assert "T=2.5: acceptance" in stdout
    ds = load(tmp_path / "s.h5")
    assert ds.attrs["target_J"] == 1.0 and ds.attrs["target_boundary"] == "periodic"
    assert ds.attrs["mcmc_acceptance"] > 0.8 and np.all(ds.conditions["temperature"] == T4)
    exact = ExactIsing(L4, T4)
    levels, p = exact.energy_distribution()
    s = ds.samples.astype(np.int64)
    e = -((s * np.roll(s, -1, 1)).sum((1, 2)) + (s * np.roll(s, -1, 2)).sum((1, 2))) / (L4 * L4)
    observed = np.array([np.sum(np.isclose(e, v)) for v in levels], dtype=float)
    assert observed.sum() == len(s)
    assert pooled_chi2(observed, p * len(s))[2] > 1e-3


def test_a_data_free_run_resumes_exactly(tmp_path):
    """With β-annealing (its step count is a buffer of the model) and a constant learning rate, 10 + 10 resumed
    steps give the weights of 20 uninterrupted steps; several temperatures are logged one F_q/N column each; the
    user's learning rate wins over the Hamiltonian run's default."""
    from physgen.training import load_run, train

    target = IsingTraining(3, (2.0, 3.0), h=0.2, periodic=False)
    sets = ["train.progress=false", "model.anneal=5", "model.samples=32", "train.log_every=5",
            "train.schedule=constant", "train.lr=0.005"]
    train("van", hamiltonian=target, out=tmp_path / "whole", steps=20, seed=1, sets=sets)
    train("van", hamiltonian=target, out=tmp_path / "part", steps=10, seed=1, sets=sets)
    train("van", out=tmp_path / "part", resume=True, steps=20, sets=["train.progress=false"])
    a, b = (load_run(tmp_path / name, which="latest").model.state_dict() for name in ("whole", "part"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert int(b["steps_done"]) == 20 and load_run(tmp_path / "part").config.train.lr == 0.005
    header = (tmp_path / "part" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"f_q", "f_q[T=2]", "f_q[T=3]"} <= set(header)


def test_train_on_data_end_to_end(cli, tmp_path):
    """``physgen train van --data ising.h5`` (Wolff samples of 4×4 at T = 2.5), then sample and score the run."""
    from physgen.data import load, save
    from physgen.data.ising import simulate
    from physgen.training import load_run

    data = tmp_path / "ising.h5"
    save(simulate(4, [2.5], 500, algorithm="wolff", seed=1), data)
    out = tmp_path / "run"
    code, stdout, err = cli("train", "van", "--data", data, "--out", out, "--steps", "200", "--no-progress")
    assert code == 0, err
    assert "completed: van at step 200/200" in stdout
    code, _, err = cli("sample", out, "--n", "64", "--out", tmp_path / "s.h5")
    assert code == 0, err
    x = load(tmp_path / "s.h5").samples
    assert x.shape == (64, 4, 4) and set(np.unique(x)) <= {-1, 1}
    run = load_run(out)
    lp, attrs = run.log_prob(load(data), method="exact")
    assert attrs["bound"] == "exact" and np.all(lp < 0) and np.isfinite(lp).all()
    assert -lp.mean() / 16 < np.log(2)      # better than the uniform law
    with pytest.raises(UserError, match="exact normalised log-likelihood only"):
        run.log_prob(load(data), method="elbo")


def test_the_symmetric_default_refuses_data_made_at_a_field(cli, tmp_path):
    """The spins defaults make the model symmetric under s → −s (z2 = on); data made at h ≠ 0 are refused with
    one line that names the way out, nothing is written, and model.z2=off trains."""
    from physgen.data import save
    from physgen.data.ising import simulate

    data = tmp_path / "field.h5"
    save(simulate(4, [2.5], 200, algorithm="metropolis", h=0.3, seed=1), data)
    code, _, err = cli("train", "van", "--data", data, "--out", tmp_path / "r", "--steps", "5", "--no-progress")
    assert code == 2 and "model.z2=on: the data were made at h = 0.3" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()
    code, _, err = cli("train", "van", "--data", data, "--out", tmp_path / "r", "--steps", "5", "--no-progress",
                       "--set", "model.z2=off")
    assert code == 0, err


@pytest.mark.parametrize("args, message", [
    (["--data", "DATA"], "--data/--hamiltonian: give one"),
    (["--temperatures", "2.0,0"], "--temperatures 0: every temperature must be finite and > 0"),
    (["--temperatures", "-1"], "every temperature must be finite and > 0"),
    (["--t-range=-1:2:3"], "--t-range -1: every temperature must be finite and > 0"),
    (["--temperatures", "2", "--size", "1"], "argument --size: '1' must be >= 2"),
    (["--temperatures", "2", "--set", "train.batch_size=8"], "train.batch_size is set by the Hamiltonian run"),
    (["--temperatures", "2", "--condition", "temperature"], "conditioned on temperature; drop it"),
    (["--temperatures", "2", "--resume"], "resume without --hamiltonian"),
    ([], "--temperatures/--t-range: give one"),
])
def test_cli_bad_hamiltonian_input_is_one_line_and_writes_nothing(cli, tmp_path, args, message):
    data = tmp_path / "d.h5"
    data.write_bytes(b"")
    argv = [a if a != "DATA" else str(data) for a in args]
    if "--size" not in argv:
        argv += ["--size", "4"]
    if "--data" in argv:
        argv += ["--temperatures", "2"]
    out = tmp_path / "run"
    code, _, err = cli("train", "van", "--hamiltonian", "ising", *argv, "--out", out)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_cli_refuses_hamiltonian_flags_without_it_and_other_families(cli, tmp_path):
    out = tmp_path / "run"
    code, _, err = cli("train", "rbm", "--hamiltonian", "ising", "--size", "4", "--temperatures", "2", "--out", out)
    assert code == 2 and "model 'rbm' trains on data only; families that train on a Hamiltonian: flow, van" in err
    code, _, err = cli("train", "van", "--size", "4", "--J", "2", "--out", out, "--data", tmp_path / "x.h5")
    assert code == 2 and "--size, --J: describe --hamiltonian ising" in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()


@pytest.mark.parametrize("size, steps", [(16, 8000), (32, 8000), (33, 12000), (64, 12000)])
def test_the_hamiltonian_budget_grows_past_32x32(size, steps):
    """A Hamiltonian run's default budget: 8,000 steps up to 32×32 sites, 12,000 above (``--set train.steps`` still wins)."""
    from physgen.training.run_config import fresh_config

    ds = IsingTraining(size, (2.269185,)).dataset()
    assert fresh_config("van", VAN, ds, None, [], {}, hamiltonian=True).train.steps == steps
    assert fresh_config("van", VAN, ds, None, ["train.steps=500"], {}, hamiltonian=True).train.steps == 500
