"""Neural quantum states: Hamiltonians, exact energies, ansatz derivatives, sampler, SR, observables, CLI."""
from __future__ import annotations

import json
from functools import reduce

import numpy as np
import pytest
from scipy.stats import chisquare

from physgen.errors import UserError
from physgen.quantum.estimators import energy_statistics, local_energy, measure
from physgen.quantum.exact import exact_ground_state, sparse_hamiltonian, tfim_chain_energy, to_spins
from physgen.quantum.hamiltonians import make_hamiltonian
from physgen.quantum.lattice import Lattice
from physgen.quantum.nqs import NQSConfig, run_nqs
from physgen.quantum.samplers import SpinMetropolis, sample_spins, start_spins
from physgen.quantum.wavefunctions import make_ansatz

X = np.array([[0, 1], [1, 0]])
Y = np.array([[0, -1j], [1j, 0]])
Z = np.diag([1.0, -1.0])


def _op(single, site, n):
    """σ acting on ``site`` of ``n`` in the basis of :mod:`physgen.quantum.exact` (bit i set ↔ σᶻ_i = +1):
    state index Σ_i bit_i 2^i, so site 0 is the last Kronecker factor and bit 1 is the first basis vector of
    the flipped single-site matrix."""
    flip = np.array([[0, 1], [1, 0]])
    m = flip @ single @ flip                   # single-site basis (down, up) ↔ bit (0, 1)
    mats = [m if i == site else np.eye(2) for i in reversed(range(n))]
    return reduce(np.kron, mats)


def _dense(ham, lat):
    n = lat.n_sites
    h = np.zeros((2 ** n, 2 ** n), complex)
    if ham.name == "tfim":
        for i, j in lat.bonds(1):
            h -= ham.J * _op(Z, i, n) @ _op(Z, j, n)
        for i in range(n):
            h -= ham.h * _op(X, i, n)
        return h
    p, c, _ = ham.bond_table()
    for (i, j), cij in zip(p, c):
        h += 0.25 * cij * sum(_op(s, i, n) @ _op(s, j, n) for s in (X, Y, Z))
    return h


@pytest.mark.parametrize("name, lat, kw", [
    ("tfim", Lattice("chain", 5, True), dict(h=0.7, J=1.3)), ("tfim", Lattice("square", 3, False), dict(h=2.0)),
    ("heisenberg", Lattice("chain", 6, False), dict(J=1.0)), ("j1j2", Lattice("chain", 6, True), dict(J2=0.4)),
    ("heisenberg", Lattice("square", 2, False), dict(J=0.8)), ("j1j2", Lattice("square", 2, False), dict(J2=0.6))])
def test_connected_elements_equal_the_pauli_matrix_hamiltonian(name, lat, kw):
    """The sparse H built from ``connected`` equals H built from Kronecker products of Pauli matrices."""
    ham = make_hamiltonian(name, lat, marshall=False, **kw)
    h, _ = sparse_hamiltonian(ham, sz_zero=False)
    np.testing.assert_allclose(h.toarray(), _dense(ham, lat), atol=1e-12)


@pytest.mark.parametrize("n", [3, 4, 5, 7, 8, 10])
@pytest.mark.parametrize("h", [0.3, 1.0, 2.5])
def test_free_fermion_tfim_equals_exact_diagonalization(n, h):
    ham = make_hamiltonian("tfim", Lattice("chain", n, True), h=h)
    assert exact_ground_state(ham)[0] == pytest.approx(tfim_chain_energy(n, h), abs=1e-10)


def test_small_systems_against_closed_forms():
    """Heisenberg ring of 4 (S = σ/2): H = J (S₁+S₃)·(S₂+S₄) = (J/2)(S² − S_A² − S_B²), lowest at S = 0,
    S_A = S_B = 1: E₀ = (J/2)(0 − 2 − 2) = −2J; two-site open TFIM: E₀ = −√(J² + 4h²); 4 × 4 periodic Heisenberg:
    −0.7017802 J per site (Schulz, Ziman & Poilblanc, J. Phys. I 6, 675 (1996))."""
    for j in (1.0, 2.5):
        for marshall in (False, True):
            ham = make_hamiltonian("heisenberg", Lattice("chain", 4, True), J=j, marshall=marshall)
            assert exact_ground_state(ham)[0] == pytest.approx(-2 * j, abs=1e-10)
    ham = make_hamiltonian("tfim", Lattice("chain", 2, False), h=0.6, J=1.1)
    assert exact_ground_state(ham)[0] == pytest.approx(-np.sqrt(1.1 ** 2 + 4 * 0.36), abs=1e-12)
    ham = make_hamiltonian("heisenberg", Lattice("square", 4, True))
    assert exact_ground_state(ham)[0] / 16 == pytest.approx(-0.7017802, abs=1e-6)
    # Majumdar–Ghosh point J₂ = J/2 (J. Math. Phys. 10, 1388 (1969)): dimer product states, E₀ = −3NJ/8.
    ham = make_hamiltonian("j1j2", Lattice("chain", 8, True), J2=0.5)
    assert exact_ground_state(ham)[0] == pytest.approx(-3.0, abs=1e-10)


@pytest.mark.parametrize("name", ["rbm", "rbm-symmetric", "jastrow", "mean-field"])
@pytest.mark.parametrize("complex_params", [False, True])
def test_derivatives_of_log_psi_match_finite_differences(name, complex_params):
    lat = Lattice("chain", 6, True)
    rng = np.random.default_rng(1)
    ans = make_ansatz(name, lat, alpha=2, complex_params=complex_params, rng=rng, scale=0.3)
    s = rng.choice([-1.0, 1.0], size=(5, 6))
    o = ans.derivatives(s)
    theta, eps = ans.params, 1e-6
    for k in range(0, len(theta), max(1, len(theta) // 15)):
        step = np.zeros_like(theta)
        step[k] = eps
        ans.params = theta + step
        up = ans.log_psi(s)
        ans.params = theta - step
        down = ans.log_psi(s)
        ans.params = theta
        np.testing.assert_allclose((up - down) / (2 * eps), o[:, k], atol=1e-7)


@pytest.mark.parametrize("name, kw", [("tfim", dict(h=0.8)), ("j1j2", dict(J2=0.3, marshall=True))])
def test_local_energy_equals_h_psi_over_psi(name, kw):
    """E_L(s) = (Hψ)(s)/ψ(s) with ψ on the whole basis and the dense H (complex RBM)."""
    lat = Lattice("chain", 6, True)
    ham = make_hamiltonian(name, lat, **kw)
    ans = make_ansatz("rbm", lat, alpha=1, complex_params=True, rng=np.random.default_rng(2), scale=0.4)
    h, states = sparse_hamiltonian(ham, sz_zero=False)
    s = to_spins(states, 6)
    psi = np.exp(ans.log_psi(s))
    np.testing.assert_allclose(local_energy(ans, ham, s), (h @ psi) / psi, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("rule", ["flip", "exchange"])
def test_metropolis_samples_psi_squared(rule):
    """Visits of the 16 (flip) or 6 (exchange, Sᶻ = 0) states of 4 spins against |ψ|² (χ² test), 4,000
    samples of 200 chains thinned by 5.  Power: the same samples reject |ψ|² with one amplitude changed by 20 %
    (asserted below).  False-alarm rate 10⁻⁴: over seeds 3 + 1000 k (k = 0–99, one thread) the p-values are
    uniform (Kolmogorov–Smirnov p 0.56 and 0.92, mean χ²/dof 0.99 and 1.08), so the former rule p > 10⁻³ failed
    a seed with probability 10⁻³ per test, and did at k = 10 (flip, p = 0.00079); over k = 0–19 p is
    0.00079–0.95 (flip) and 0.0066–0.96 (exchange), and at most 5×10⁻⁷ against the changed amplitude."""
    rng = np.random.default_rng(3)
    lat = Lattice("chain", 4, True)
    ans = make_ansatz("rbm", lat, alpha=1, complex_params=True, rng=rng, scale=0.3)
    chains = start_spins(ans, 4, 200, rule, rng)
    s, _ = sample_spins(ans, SpinMetropolis(rule), chains, 100, rng, burn_in=20)
    idx = np.sum((s[::5].reshape(-1, 4) > 0) << np.arange(4), axis=1)
    states = np.arange(16) if rule == "flip" else np.array([3, 5, 6, 9, 10, 12])
    p = np.abs(np.exp(ans.log_psi(to_spins(states, 4)))) ** 2
    counts = np.array([np.sum(idx == k) for k in states])
    assert counts.sum() == len(idx)
    assert chisquare(counts, p / p.sum() * counts.sum()).pvalue > 1e-4
    wrong = p.copy()
    wrong[np.argmax(p)] *= 1.2 ** 2
    assert chisquare(counts, wrong / wrong.sum() * counts.sum()).pvalue < 1e-4


def test_observables_of_the_uniform_state():
    """ψ = const: σᶻ independent ±1, so ⟨σᶻσᶻ⟩ = 0, ⟨m²⟩ = 1/N and S(q) = 1 at every q (within 5 errors).  The
    largest |z| over seeds 4 + 1000 k (k = 0–19, one thread): 1.5 ± 0.8 (largest 3.2; 2.7 at the test's seed),
    4.7 sd inside 5."""
    rng = np.random.default_rng(4)
    s = rng.choice([-1.0, 1.0], size=(400, 50, 8))
    obs = measure(s, Lattice("chain", 8, True))
    assert abs(obs["nn_correlation"]["value"]) < 5 * obs["nn_correlation"]["error"]
    assert abs(obs["magnetisation_sq"]["value"] - 1 / 8) < 5 * obs["magnetisation_sq"]["error"]
    sf = obs["structure_factor"]
    assert all(abs(v - 1) < 5 * e for v, e in zip(sf["value"], sf["error"]))


def test_energy_statistics_and_vscore():
    """The walker error of 100 independent walkers is within 30% of σ/√n: over 200 seeds its relative error is
    0.003 ± 0.074 (4 sd inside; 0.02 at seed 0).  With 10 walkers the spread was ± 0.14 (0.25 at seed 0 and up
    to 0.42 over 8 seeds): the sample std of 10 walker means carries 24% noise."""
    e = np.full((10, 4), -3.0)
    st = energy_statistics(e, 6)
    assert st["energy"] == -3.0 and st["variance"] == 0 and st["vscore"] == 0 and st["error"] == 0
    assert st["walker_error"] == 0
    e = np.random.default_rng(0).normal(-2.0, 0.5, (400, 100))
    st = energy_statistics(e, 5)
    assert st["vscore"] == pytest.approx(5 * st["variance"] / st["energy"] ** 2)
    assert st["walker_error"] == pytest.approx(0.5 / np.sqrt(40000), rel=0.3)


@pytest.mark.parametrize("kw, tol", [(dict(hamiltonian="tfim", size=6, h=1.0), 2e-3),
                                     (dict(hamiltonian="heisenberg", size=6), 2e-3),
                                     pytest.param(dict(hamiltonian="tfim", size=6, h=1.0, optimizer="adam", lr=0.02,
                                                       complex_params=True), 1e-2, marks=pytest.mark.slow)])
def test_optimisation_of_a_tiny_chain_reaches_the_exact_energy(kw, tol):
    """RBM α = 1 on 6 sites, 150 iterations of 500 samples: SR within 2 × 10⁻³ of the exact energy (measured
    about 10⁻⁴), Adam within 10⁻²."""
    cfg = NQSConfig(**kw, alpha=1, samples=500, walkers=25, iterations=150, final_samples=5000)
    res = run_nqs(cfg, np.random.default_rng(0))
    assert res.exact is not None and res.final["relative_error"] < tol, res.final
    assert res.history[-1]["variance"] < res.history[0]["variance"]


def test_nqs_cli_writes_result_and_report(cli, tmp_path):
    out = tmp_path / "run"
    code, stdout, err = cli("nqs", "--hamiltonian", "heisenberg", "--size", "4", "--iterations", "5", "--samples",
                            "200", "--walkers", "20", "--final-samples", "400", "--out", out)
    assert code == 0, err
    assert stdout.count("iteration ") == 5 and "relative error" in stdout
    data = json.loads((out / "result.json").read_text())
    assert data["exact"]["energy"] == pytest.approx(-2.0)
    assert data["settings"]["marshall"] is True and data["settings"]["sampler"] == "exchange"
    assert {"energy", "error", "walker_error", "variance", "vscore", "relative_error"} <= set(data["final"])
    assert len(data["observables"]["structure_factor"]["value"]) == 4
    html = (out / "report.html").read_text()
    assert "Energy convergence" in html and "data:image/png" in html
    code, _, err = cli("nqs", "--size", "4", "--out", out)
    assert code == 2 and "--overwrite" in err


@pytest.mark.parametrize("args, flag", [
    (["--size", "2"], "--size"), (["--size", "4", "--alpha", "0"], "--alpha"),
    (["--size", "4", "--h", "nan"], "--h"), (["--size", "5", "--hamiltonian", "heisenberg"], "--size"),
    (["--size", "4", "--marshall"], "--marshall"), (["--size", "4", "--ansatz", "rbm-symmetric", "--no-pbc"], "--ansatz"),
    (["--size", "4", "--samples", "10"], "--samples"), (["--size", "4", "--lr", "0"], "--lr"),
    (["--size", "4", "--J2", "0.5"], "--J2"), (["--size", "4", "--hamiltonian", "heisenberg", "--sampler", "flip"],
                                               "--sampler"),
    (["--size", "x"], "--size"), (["--size", "4", "--diag-shift", "-1"], "--diag-shift"),
    (["--size", "4", "--ansatz", "rbm-symmetric", "--alpha", "1.5"], "--alpha")])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(cli, tmp_path, args, flag):
    out = tmp_path / "run"
    code, _, err = cli("nqs", *args, "--iterations", "1", "--out", out)
    assert code == 2 and err.count("\n") == 1 and flag in err, err
    assert not out.exists()


def test_library_errors_name_the_parameter():
    with pytest.raises(UserError, match="^hamiltonian: "):
        make_hamiltonian("ising", Lattice("chain", 4))
    with pytest.raises(UserError, match="^lattice: "):
        Lattice("triangular", 4)


def test_a_coupling_given_counts_as_set_even_at_its_default_value():
    """``h`` given to an exchange model is refused whatever its value (1.0 is the tfim's default), and one left out
    takes its default without counting as given."""
    from physgen.quantum import NQSConfig

    rng = np.random.default_rng(0)
    with pytest.raises(UserError, match="^h: heisenberg does not read it"):
        NQSConfig(hamiltonian="heisenberg", size=4, h=1.0).build(rng)
    with pytest.raises(UserError, match="^J2: tfim does not read it"):
        NQSConfig(hamiltonian="tfim", size=4, J2=0.0).build(rng)
    cfg = NQSConfig(hamiltonian="heisenberg", size=4)
    assert (cfg.h, cfg.J2, cfg.given) == (1.0, 0.0, frozenset())
    cfg.build(rng)
