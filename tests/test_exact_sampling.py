"""Exact Boltzmann samples from learned models (`physgen sample --mcmc / --importance`), judged against the exact
distribution of the 4×4 periodic Ising model (65,536 states enumerated)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from physgen.data import load, save
from physgen.physics.exact import ExactIsing
from physgen.lattice import registry as lattices
from physgen.samplers.boltzmann import LatticeTarget, Proposal, boltzmann_chains, importance_weights

L, T = 4, 2.5


def joint_chi2(samples: np.ndarray, exact: ExactIsing) -> tuple[float, int, float]:
    """χ² of the joint (E, M) histogram of ``samples`` ``(N, L, L)`` against the exact probabilities, bins with
    fewer than 5 expected counts pooled into one; returns (χ², degrees of freedom, p-value)."""
    def keys(s):
        s = s.astype(np.int64)
        bonds = (s * np.roll(s, -1, 1)).sum((1, 2)) + (s * np.roll(s, -1, 2)).sum((1, 2))
        return bonds * 1000 + s.sum((1, 2))
    exact_keys = keys(np.asarray(exact.states))
    cells, inverse = np.unique(exact_keys, return_inverse=True)
    p = np.bincount(inverse, weights=exact.probabilities)
    observed = np.bincount(np.searchsorted(cells, keys(samples)), minlength=len(cells)).astype(float)
    expected = p * len(samples)
    small = expected < 5
    obs = np.append(observed[~small], observed[small].sum())
    exp = np.append(expected[~small], expected[small].sum())
    chi2 = float(((obs - exp) ** 2 / exp).sum())
    dof = len(obs) - 1
    return chi2, dof, float(stats.chi2.sf(chi2, dof))


@pytest.fixture(scope="module")
def exact():
    return ExactIsing(L, T)


@pytest.fixture(scope="module")
def ising4(tmp_path_factory):
    from physgen.data.ising import simulate

    path = tmp_path_factory.mktemp("ising4") / "ising4.h5"
    save(simulate(L, [T], 2000, algorithm="wolff", seed=3), path)
    return path


@pytest.fixture(scope="module")
def rbm4(ising4, tmp_path_factory):
    """An rbm deliberately under-trained (100 steps): its own samples are visibly off."""
    from physgen.training import load_run, train

    out = tmp_path_factory.mktemp("rbm4") / "run"
    train("rbm", data=ising4, out=out, steps=100, seed=0, sets=["train.progress=false"])
    return load_run(out)


@pytest.fixture(scope="module")
def flow4(ising4, tmp_path_factory):
    """A flow deliberately under-trained (30 steps)."""
    from physgen.training import load_run, train

    out = tmp_path_factory.mktemp("flow4") / "run"
    train("flow", data=ising4, out=out, steps=30, seed=0, sets=["train.progress=false"])
    return load_run(out)


def ising_at(T: float, size: int = L, **params) -> LatticeTarget:
    """The Boltzmann target of the Ising model of ``params`` (J, h; ``boundary``) on a ``size``² lattice."""
    boundary = params.pop("boundary", "periodic")
    return LatticeTarget(T, lattices.build("ising", size, params=params, boundary=boundary))


def exact_draws(exact: ExactIsing, n: int, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.as_tensor(np.asarray(exact.states)[rng.choice(len(exact.probabilities), n, p=exact.probabilities)],
                           dtype=torch.float32)


def chain_ends(proposal, init: torch.Tensor, moves: int, seed: int) -> np.ndarray:
    """The states of ``len(init)`` Metropolis–Hastings chains after ``moves`` moves from ``init``: independent
    draws of π when the kernel leaves π invariant, since the starts are exact."""
    gen = torch.Generator().manual_seed(seed)
    res = boltzmann_chains(proposal, ising_at(T, init.shape[-1]), len(init), chains=len(init), burn_in=moves - 1,
                           generator=gen, init=init)
    return res.samples.numpy()


@pytest.fixture(scope="module")
def vae4(ising4, tmp_path_factory):
    """A vae deliberately under-trained (30 steps)."""
    from physgen.training import load_run, train

    out = tmp_path_factory.mktemp("vae4") / "run"
    train("vae", data=ising4, out=out, steps=30, seed=0, sets=["train.progress=false"])
    return load_run(out)


@pytest.mark.parametrize("family, moves", [("rbm4", 100), ("flow4", 10), ("vae4", 10)])
def test_mcmc_with_an_undertrained_model_keeps_the_exact_law(family, moves, request, exact):
    """4,000 chains started from exact draws, ``moves`` moves each (an rbm's block-Gibbs proposals, a flow's
    and a vae's independent ones): their end-points pass the χ² test of the exact joint (E, M) law (p > 10⁻³), while the
    models' own samples fail it (p < 10⁻¹⁰).  Power: plain Gibbs moves of the rbm from the same exact starts
    give χ² ~ 10⁵ on 48 degrees of freedom, so a kernel that skipped or mis-signed the correction would fail
    by orders of magnitude; the correct kernel's p-values over seeds were 0.28–0.92.  False-alarm rate 10⁻³;
    over data, training and chain seeds s + 1000 k (k = 0–19, one thread; 1 and 2 threads at k = 0, the same)
    p is 0.058–0.98 (rbm), 0.010–0.96 (flow), 0.10–0.95 (vae), and the models' own samples give p = 0
    (underflow) every time."""
    run = request.getfixturevalue(family)
    proposal = run.model.proposal({"temperature": T})
    chi2, dof, p = joint_chi2(chain_ends(proposal, exact_draws(exact, 4000, 0), moves, seed=1), exact)
    assert p > 1e-3, (chi2, dof)
    chi2_plain, dof_plain, p_plain = joint_chi2(run.sample(4000, seed=1).samples, exact)
    assert p_plain < 1e-10, (chi2_plain, dof_plain)


def test_a_biased_independent_proposal_is_corrected(exact):
    """An independence sampler from a deliberately wrong i.i.d. proposal (each spin up with probability 0.7,
    log q exact) keeps the exact law (p > 10⁻³) where its draws are far off (p < 10⁻¹⁰).  False-alarm rate
    10⁻³; p over seeds 2 + 1000 k (k = 0–19, one thread) 0.034–0.99 (0.41 at the test's seed)."""
    bern = torch.distributions.Bernoulli(probs=torch.full((L, L), 0.7, dtype=torch.float64))

    def log_q(s, generator=None):
        return bern.log_prob((s.double() + 1) / 2).sum((1, 2))

    def draw(n, generator):
        s = (2 * (torch.rand((n, L, L), generator=generator, dtype=torch.float64) < 0.7) - 1).double()
        return s, log_q(s)

    proposal = Proposal(draw, log_q=log_q)
    chi2, dof, p = joint_chi2(chain_ends(proposal, exact_draws(exact, 4000, 2), 100, seed=2), exact)
    assert p > 1e-3, (chi2, dof)
    raw, _ = draw(4000, torch.Generator().manual_seed(2))
    assert joint_chi2(raw.numpy(), exact)[2] < 1e-10


def test_importance_weights_recover_exact_means():
    """Self-normalised weights of 20,000 uniform draws of 3×3 lattices against π give ⟨e⟩ and ⟨|m|⟩ within 4
    bootstrap-free standard errors (delta-method, from the effective sample size) of the exact values: a 4σ test.
    Every one of the 512 states is drawn about 39 times and the largest weight is 146 times the mean, so the
    error is calibrated: signed pulls over seeds 4 + 1000 k (k = 0–19, one thread) −0.27 ± 0.77 and 0.24 ± 0.70;
    |pull| 0.59 ± 0.55 and 0.54 ± 0.49, largest 1.9 (6.2 and 7.0 sd inside 4; 1.2 and 1.0 at k = 0).  On 4×4 (the
    former test) the two ground states carry 34% of π but 1/32,768 of the draws (0.6 expected): without one the
    estimate misses that mass and its ESS error cannot tell, so the pulls were 3.4 ± 4.4 and −2.1 ± 3.0, beyond 4
    at 10 and 8 of 20 seeds (1.8 and 1.6 at seed 4); 200,000 draws still gave up to 3.4."""
    small = ExactIsing(3, T)
    gen = torch.Generator().manual_seed(4)
    s = (2 * torch.randint(0, 2, (20000, 3, 3), generator=gen) - 1).double()
    log_q = torch.full((len(s),), -9 * np.log(2.0), dtype=torch.float64)
    target = ising_at(T, 3)
    log_w, ess = importance_weights(target.log_weight(s), log_q)
    w = np.exp(log_w)
    assert w.sum() == pytest.approx(1.0) and 1 < ess < len(s)
    e = target.energy(s).numpy() / 9
    m = np.abs(s.numpy().mean((1, 2)))
    for values, truth in ((e, small.mean_energy), (m, small.mean_abs_m)):
        mean = float((w * values).sum())
        err = float(np.sqrt((w * (values - mean) ** 2).sum() / ess))
        assert abs(mean - truth) < 4 * err, (mean, truth, err)


def test_ising_target_energy_counts_every_bond_once(exact):
    """The target's energy equals a site-by-site sum over right and down neighbours (periodic: 2L² bonds; open
    boundaries drop the 2L wrapping ones), and the enumeration's."""
    s = torch.as_tensor(np.array(exact.states[::997]), dtype=torch.float64)

    def by_hand(x, J, h, periodic):
        e = 0.0
        for i in range(L):
            for j in range(L):
                for di, dj in ((0, 1), (1, 0)):
                    if periodic or (i + di < L and j + dj < L):
                        e -= J * x[i, j] * x[(i + di) % L, (j + dj) % L]
                e -= h * x[i, j]
        return e

    for J, h, boundary in ((1.0, 0.0, "periodic"), (0.7, 0.3, "periodic"), (-1.3, 0.5, "open")):
        got = ising_at(T, J=J, h=h, boundary=boundary).energy(s).numpy()
        want = [by_hand(x.numpy(), J, h, boundary == "periodic") for x in s]
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ising_at(T).energy(s).numpy() / (L * L), exact.energies[::997])


def test_mcmc_settings_by_set_are_the_settings_by_keyword(cli, rbm4, tmp_path):
    """``--set sampler.thin=3 --set sampler.burn_in=7`` draws what ``Run.sample(thin=3, burn_in=7)`` draws, and
    the file records them; thinning by 3 keeps every third state of the same chains."""
    from physgen.training import load_run

    out = tmp_path / "t.h5"
    code, _, err = cli("sample", rbm4.path, "--n", "64", "--mcmc", "--chains", "8", "--set", "sampler.thin=3",
                       "--set", "sampler.burn_in=7", "--out", out)
    assert code == 0, err
    ds, run = load(out), load_run(rbm4.path)
    assert (ds.attrs["mcmc_thin"], ds.attrs["mcmc_burn_in"]) == (3, 7)
    same = run.sample(64, mcmc=True, chains=8, thin=3, burn_in=7)
    assert np.array_equal(same.samples, ds.samples)
    every = run.sample(3 * 64, mcmc=True, chains=8, burn_in=7)   # 24 states per chain, chain-major
    third = every.samples.reshape(8, 24, *ds.shape)[:, 2::3].reshape(64, *ds.shape)
    assert np.array_equal(third, ds.samples)


def test_cli_mcmc_and_importance_write_their_attributes(cli, rbm4, tmp_path):
    out = tmp_path / "m.h5"
    code, stdout, err = cli("sample", rbm4.path, "--n", "640", "--mcmc", "--chains", "32", "--out", out)
    assert code == 0, err
    assert "acceptance" in stdout and "independent" in stdout
    ds = load(out)
    assert len(ds) == 640 and ds.attrs["exact_method"] == "mcmc" and ds.attrs["mcmc_chains"] == 32
    assert 0 < ds.attrs["mcmc_acceptance"] <= 1 and ds.attrs["mcmc_tau_int_energy"] >= 0.5
    assert ds.attrs["mcmc_n_effective"] <= 640 and ds.attrs["target_J"] == 1.0
    out = tmp_path / "w.h5"
    code, stdout, err = cli("sample", rbm4.path, "--n", "500", "--importance", "--out", out)
    assert code == 0, err
    ds = load(out)
    assert ds.log_weights.shape == (500,) and np.exp(ds.log_weights).sum() == pytest.approx(1.0)
    assert 1 <= ds.attrs["importance_ess"] <= 500


@pytest.mark.parametrize("args, message", [
    (("--mcmc", "--importance"), "exclude each other"),
    (("--mcmc", "--chains", "0"), "argument --chains: '0' must be >= 1"),
    (("--mcmc", "--condition", "temperature=-1"), "temperature"),
    (("--J", "2"), "go with --mcmc or --importance"),
    (("--mcmc", "--J", "2"), "add it"),
    (("--mcmc", "--steps", "3"), "drop --steps"),
    (("--mcmc", "--set", "sampler.thin=0"), "sampler.thin=0: must be an integer >= 1"),
    (("--mcmc", "--set", "sampler.eta=1"), "sampler.eta: the mcmc sampler takes burn_in, thin"),
    (("--mcmc", "--set", "sampler.chains=4"), "set it with --chains"),
    (("--importance", "--set", "sampler.thin=2"), "sampler.thin: the importance sampler takes no options"),
])
def test_cli_bad_exact_options_are_one_line(cli, rbm4, tmp_path, args, message):
    out = tmp_path / "x.h5"
    code, _, err = cli("sample", rbm4.path, "--n", "10", *args, "--out", out)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_cli_refuses_families_without_a_density(cli, ising4, tmp_path):
    from physgen.training import train

    run = tmp_path / "gan"
    train("gan", data=ising4, out=run, steps=2, seed=0, sets=["train.progress=false"])
    code, _, err = cli("sample", run, "--n", "10", "--mcmc", "--out", tmp_path / "x.h5")
    assert code == 2 and "families that can: " in err and "rbm" in err and "flow" in err, err
    assert "'gan'" in err and "vae" in err


def test_cli_needs_a_hamiltonian_where_the_data_records_none(cli, tmp_path):
    from physgen.data import Dataset
    from physgen.training import train

    rng = np.random.default_rng(0)
    spins = (2 * rng.integers(0, 2, (200, 4, 4)) - 1).astype(np.int8)
    data = tmp_path / "plain.h5"
    save(Dataset(spins, "spins"), data)
    run = tmp_path / "run"
    train("rbm", data=data, out=run, steps=5, seed=0, sets=["train.progress=false"])
    code, _, err = cli("sample", run, "--n", "10", "--mcmc", "--out", tmp_path / "x.h5")
    assert code == 2 and "--hamiltonian" in err, err
    code, _, err = cli("sample", run, "--n", "10", "--mcmc", "--hamiltonian", "ising",
                       "--out", tmp_path / "x.h5")
    assert code == 2 and "temperature" in err, err
    code, _, err = cli("sample", run, "--n", "32", "--mcmc", "--hamiltonian", "ising", "--J", "0.5",
                       "--condition", "temperature=2", "--out", tmp_path / "y.h5")
    assert code == 0, err
    assert load(tmp_path / "y.h5").attrs["target_J"] == 0.5


def test_chains_that_never_move_report_no_independent_samples():
    """A proposal the target always rejects leaves every chain at its start: τ_int is infinite and the effective
    number of samples 0, not the ½ a constant series would give."""
    def draw(n, generator):
        s = (2 * torch.randint(0, 2, (n, 3, 3), generator=generator) - 1).double()
        return s, torch.zeros(n, dtype=torch.float64)

    def move(s, log_q, generator):   # claims each new state 10⁶ times likelier under q than the old: never accepted
        return draw(len(s), generator)[0], log_q + 1e6

    res = boltzmann_chains(Proposal(draw, move), ising_at(T, 3), 40, chains=4, burn_in=5,
                           generator=torch.Generator().manual_seed(0))
    assert res.acceptance == 0 and res.tau_energy == np.inf and res.n_effective == 0
