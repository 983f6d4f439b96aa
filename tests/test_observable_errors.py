"""Errors of the thermodynamic observables that account for Markov-chain autocorrelation (block bootstrap)
and for importance weights (weighted estimates, weighted bootstrap), as ``physgen evaluate`` reports them."""
import json
import warnings

import numpy as np
import pytest

from physgen.data import Dataset
from physgen.errors import UserError
from physgen.physics import observables as ob
from physgen.physics.exact import ExactIsing
from physgen.stats.autocorr import sum_variance, thinned_tau
from physgen.stats.bootstrap import block_bootstrap, block_labels


def _simulate(seed: int, **kw) -> Dataset:
    from physgen.data.ising import simulate

    params = dict(algorithm="metropolis", thin=1, chains=4, burn_in=200) | kw
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # ThinningWarning: these samples are meant to be correlated
        return simulate(params.pop("size", 6), params.pop("temperatures", [2.3, 3.0]), params.pop("n", 400),
                        seed=seed, **params)


def _truth(ex: ExactIsing) -> dict[str, float]:
    return {"energy": ex.mean_energy, "abs_magnetization": ex.mean_abs_m, "specific_heat": ex.specific_heat,
            "susceptibility": ex.susceptibility, "binder": ex.binder(), "correlation_length": ex.correlation_length()}


def _reweighted_draws(n: int, t: float, t0: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` exact 4×4 draws at ``t0`` with self-normalised log-weights e^{−H(1/t − 1/t0)} towards ``t``."""
    ex0 = ExactIsing(4, t0)
    s = ex0.states[ex0.sample_indices(n, rng)]
    lw = -16 * ob.energy_per_spin(s) * (1 / t - 1 / t0)
    return s, lw - np.logaddexp.reduce(lw)


# --- the statistics underneath ------------------------------------------------------------------------------------

def test_block_labels_cut_each_chain_into_consecutive_blocks():
    chain, time = np.arange(23) % 3, np.arange(23) // 3            # time-major over 3 chains (8, 8, 7 rows)
    labels, sizes = block_labels(chain, time, 3)
    assert sizes.sum() == 23 and len(sizes) == 3 + 3 + 2                # round(8/3) = 3, round(7/3) = 2 blocks
    for k in range(len(sizes)):
        rows = np.flatnonzero(labels == k)
        assert len(np.unique(chain[rows])) == 1                       # a block never spans two chains
        assert np.ptp(time[rows]) == len(rows) - 1                    # ... and holds consecutive steps
    assert np.array_equal(block_labels(chain, time, 1)[1], np.ones(23))
    one, _ = block_labels(np.zeros(10), np.arange(10)[::-1], 100)    # longer than the chain: one block
    assert np.all(one == 0)


def test_single_mode_model_of_a_correlated_series():
    """τ_int of a thinned series and the variance of a sum of ℓ consecutive values, against direct sums."""
    assert thinned_tau(3.0, 1) == pytest.approx(3.0)
    assert thinned_tau(0.4, 5) == 0.5 and thinned_tau(3.0, 1000) == pytest.approx(0.5)
    r = (2 * 3.0 - 1) / (2 * 3.0 + 1)
    assert thinned_tau(3.0, 4) == pytest.approx(0.5 * (1 + r ** 4) / (1 - r ** 4))
    for length in (1, 2, 7):
        k = np.arange(1, length)
        assert sum_variance(length, 3.0) == pytest.approx(length + 2 * np.sum((length - k) * r ** k))
    assert sum_variance(10 ** 6, 3.0) / 10 ** 6 == pytest.approx(6.0, rel=1e-4)      # → 2 τ_int ℓ
    assert np.array_equal(sum_variance([1, 5], 0.5), [1.0, 5.0])


def _ar1_series(seed: int, r: float = 0.8, n: int = 20000) -> tuple[np.ndarray, float, float]:
    """An AR(1) series ``(n,)`` of unit variance and lag-one correlation ``r`` (τ_int = ½ (1 + r)/(1 − r)), the
    true error of its mean and the error independent blocks of 40 should give (``sum_variance``)."""
    rng = np.random.default_rng(seed)
    x = np.empty(n)
    x[0] = rng.normal()
    for i in range(1, n):
        x[i] = r * x[i - 1] + np.sqrt(1 - r * r) * rng.normal()
    tau = 0.5 * (1 + r) / (1 - r)
    return x, np.sqrt(sum_variance(n, tau) / n ** 2), np.sqrt(n / 40 * sum_variance(40, tau) / n ** 2)


def test_block_bootstrap_of_an_ar1_series_sees_the_autocorrelation():
    """Error of the mean of an AR(1) series (τ_int = 4.5): the ordinary bootstrap is too small by
    sqrt(2 τ_int) = 3; blocks of 40 (≈ 9 τ_int) recover the error up to the blocks' known bias: independent
    blocks of ℓ = 40 see the variance of a sum of 40 consecutive values, ℓ·8.0 instead of ℓ·2τ_int = ℓ·9.0, so
    the error they should give is 5.7% below the true one, and the blocked error is checked against that.

    Over series and bootstrap seeds s + 1000 k (one thread) with 1,000 resamples: naive error / (truth / 3) − 1
    is 0.000 ± 0.017 over k = 0–19 (0.001 ± 0.024, largest |·| 0.075, over k = 0–199): 0.15 sits 6.2 sd away;
    blocked error / expected − 1 is −0.001 ± 0.026 (0.001 ± 0.036, largest |·| 0.126, over 200): 0.2 sits
    5.5 sd away.  The former check of the blocked error against the true one at 300 resamples had
    −0.056 ± 0.048, down to −0.207 over 200 seeds (3.0 sd from −0.2; one failure)."""
    x, truth, expected = _ar1_series(5)
    n = len(x)
    assert expected == pytest.approx(truth, rel=0.06)
    mean = lambda v, w: (w @ v) / w.sum(-1)  # noqa: E731
    naive = block_bootstrap(mean, x, n_boot=1000, rng=1)
    blocked = block_bootstrap(mean, x, labels=block_labels(np.zeros(n), np.arange(n), 40)[0], n_boot=1000, rng=1)
    assert naive.error == pytest.approx(truth / 3, rel=0.15)
    assert blocked.error == pytest.approx(expected, rel=0.2)


# --- reading the files' layout -------------------------------------------------------------------------------------

def test_sampling_of_reads_simulation_and_mcmc_attributes():
    from physgen.data.merge import merge

    ds = _simulate(3, thin=3, n=40)
    rows = np.flatnonzero(ds.conditions["temperature"] == 3.0)
    s = ob.sampling_of(ds, 3.0, rows)
    assert s.source == "file attributes" and s.n_chains == 4
    assert np.array_equal(s.chain, np.arange(40) % 4) and np.array_equal(s.time, np.arange(40) // 4)
    assert s.tau_energy == pytest.approx(thinned_tau(ds.attrs["tau_int_energy"][1], 3))
    assert s.tau_abs_m == pytest.approx(thinned_tau(ds.attrs["tau_int_abs_m"][1], 3))
    both = merge([ds, _simulate(4, thin=3, n=40)])                     # differing attrs sit under "shards"
    rows = np.flatnonzero(both.conditions["temperature"] == 3.0)
    s2 = ob.sampling_of(both, 3.0, rows)
    assert s2.source == "file attributes" and s2.n_chains == 8 and np.array_equal(s2.chain[40:], 4 + np.arange(40) % 4)
    # physgen sample --mcmc: chain-major, τ_int in recorded steps, lists per temperature
    mc = Dataset(ds.samples, "spins", dict(ds.conditions),
                 attrs={"mcmc_temperature": [2.3, 3.0], "mcmc_tau_int_energy": [2.0, 1.5],
                        "mcmc_tau_int_abs_magnetization": [4.0, 3.0], "mcmc_chains": [4, 3]})
    s3 = ob.sampling_of(mc, 3.0, rows[:40], unrecorded="independent")
    assert (s3.tau_energy, s3.tau_abs_m, s3.source) == (1.5, 3.0, "file attributes")
    assert np.array_equal(s3.chain, np.arange(40) // 14) and np.array_equal(s3.time, np.arange(40) % 14)
    # no τ attributes: a generated file is independent, a real one gets τ measured on its rows
    plain = Dataset(ds.samples, "spins", dict(ds.conditions))
    assert ob.sampling_of(plain, 3.0, rows[:40], unrecorded="independent").source == "independent"
    assert ob.sampling_of(plain, 3.0, rows[:40]).source == "estimated"
    # attributes that do not describe these rows: τ measured, not trusted
    assert ob.sampling_of(ds, 3.0, rows[:30], unrecorded="independent").source == "estimated"


def test_halves_share_no_chain_segment():
    rng = np.random.default_rng(0)
    s = ob.Sampling.chains([(45, 5)], order="time-major", tau_energy=3.0, tau_abs_m=3.0)
    a, b = s.halves(rng)
    assert len(np.intersect1d(a, b)) == 0 and abs(len(a) - len(b)) <= 1 and len(a) + len(b) >= 44
    shared = np.intersect1d(s.chain[a], s.chain[b])                  # the odd chain out, split in time
    assert len(shared) == 1 and s.time[a][s.chain[a] == shared[0]].max() < s.time[b][s.chain[b] == shared[0]].min()
    a, b = ob.Sampling.independent(9).halves(rng)
    assert len(a) == len(b) == 4 and len(np.intersect1d(a, b)) == 0


# --- calibration: z of two independent Monte Carlo files -----------------------------------------------------------

PAIRS, TEMPERATURES = 50, (2.3, 3.0)


def _mean_z2(seed_base: int, honest: bool) -> float:
    """Mean z² over PAIRS pairs of independent files × 2 temperatures × the 6 observables."""
    z2 = []
    for p in range(PAIRS):
        files = [_simulate(seed_base + 2 * p + i) for i in range(2)]
        rng = np.random.default_rng([seed_base, p])
        for t in TEMPERATURES:
            est = []
            for ds in files:
                rows = np.flatnonzero(ds.conditions["temperature"] == t)
                sampling = ob.sampling_of(ds, t, rows) if honest else None
                est.append(ob.thermodynamics(ds.samples[rows], t, sampling=sampling, rng=rng, n_boot=200))
            z2 += [(est[1][k].value - est[0][k].value) ** 2 / (est[0][k].error ** 2 + est[1][k].error ** 2)
                   for k in ob.OBSERVABLES]
    return float(np.mean(z2))


def test_z_of_independent_monte_carlo_files_is_standard_normal():
    """Pairs of independent Metropolis files (L = 6, T = 2.3 and 3.0, 400 configurations per temperature from
    4 chains, thinned by 1 sweep, so consecutive samples are correlated): the mean of z² of the six
    observables over 50 pairs must lie in [0.65, 1.5] with the block-bootstrap errors, and the ordinary
    bootstrap over configurations (independent rows) must give more than 2.5.

    Measured with this code over 30 other seed bases (one thread): block bootstrap 1.04 ± 0.12 (range
    0.82–1.30), so the band sits 3.3 and 3.9 standard deviations from the typical value; ordinary bootstrap
    4.4 ± 0.6 (range 3.2–5.7), 3.3 standard deviations above 2.5.  Errors 20 % too small fail 22 of the 30
    seed bases, 10 % too small 2 of 30.  The statistic is a mean over 600 squared z: its spread is not
    sensitive to the bits of one thread count or another."""
    assert 0.65 < _mean_z2(7000, honest=True) < 1.5
    assert _mean_z2(7000, honest=False) > 2.5


# --- weighted samples ----------------------------------------------------------------------------------------------

def test_weighted_uniform_draws_reproduce_exact_thermodynamics():
    """80 000 uniform 4×4 configurations weighted by e^{−H/T} at T = 10 (Kish ESS ≈ 56 000): every weighted
    observable within 5 errors of the exact value; unweighted, the energy is that of T = ∞ (0 within 4 errors,
    and the weighted one more than 4 of those errors away).  (At T ≲ 6 uniform draws are a poor proposal: the
    ordered states carry rare, huge weights, the self-normalised estimate of C is biased low by about 0.6 of
    its error at T = 6 and no error bar covers that; the reweighting test below uses a proposal close to
    the target.)

    At T = 10 the pulls of C and of the Binder cumulant are still skewed and wider than a unit normal: with
    20 000 draws over seeds s + 1000 k (k = 0–1199, one thread) C's pull was −0.21 ± 1.09 and U₄'s
    +0.33 ± 1.20 (mean z² 1.55), and the largest |pull| of the six exceeded 4 at 8 of 1,200 seeds (5.47 once).
    With 80 000 draws (k = 0–399): U₄ +0.15 ± 1.13, C −0.07 ± 1.06, the others' sd 1.00–1.06; the largest
    |pull| 1.32 ± 0.58 over k = 0–19 (6.3 sd below 5) and 1.39 ± 0.69, largest 4.02, over 400.  The
    unweighted energy's z is −0.02 ± 1.01 (largest |z| 3.37 of 400: the former 3σ rule fails 0.27% of runs),
    and the weighted energy lies 144 or more of the unweighted energy's errors from 0."""
    t, rng = 10.0, np.random.default_rng(21)
    s = (2 * rng.integers(0, 2, size=(80000, 4, 4)) - 1).astype(np.int8)
    lw = -16 * ob.energy_per_spin(s) / t
    est, notes = ob.thermodynamics_report(s, t, log_weights=lw, rng=22)    # unnormalised: renormalised inside
    w = np.exp(lw - lw.max())
    assert notes["energy"]["ess"] == pytest.approx(w.sum() ** 2 / np.sum(w * w))
    assert notes["specific_heat"]["error_method"] == "weighted-bootstrap"
    for name, value in _truth(ExactIsing(4, t)).items():
        assert abs(est[name].value - value) < 5 * est[name].error, (name, est[name], value)
    flat = ob.thermodynamics(s, t, rng=22)                                 # unweighted: infinite temperature
    assert abs(flat["energy"].value) < 4 * flat["energy"].error < abs(est["energy"].value)


def test_weighted_errors_are_calibrated():
    """Exact 4×4 draws at T₀ = 3.0 reweighted to T = 2.5 (2000 draws, Kish ESS ≈ 1400), 40 repetitions: mean
    z² against the exact values of the six observables in [0.4, 1.7].  Measured over 30 other seed bases:
    0.99 ± 0.15 (range 0.69–1.32): the band sits 3.9 and 4.7 standard deviations from the typical value.
    Errors 30 % too small fail 25 of those 30, 20 % too small 6 of 30; without the weights mean z² ≈ 350."""
    assert 0.4 < _weighted_mean_z2(11) < 1.7


def _weighted_mean_z2(seed_base: int, weighted: bool = True) -> float:
    """Mean z² of the six observables over 40 samples of 2000 reweighted draws (T₀ = 3.0 -> T = 2.5)."""
    t, truth = 2.5, _truth(ExactIsing(4, 2.5))
    z2 = []
    for rep in range(40):
        rng = np.random.default_rng([seed_base, rep])
        s, lw = _reweighted_draws(2000, t, 3.0, rng)
        est = ob.thermodynamics(s, t, log_weights=lw if weighted else None, rng=rng)
        z2 += [((est[k].value - v) / est[k].error) ** 2 for k, v in truth.items()]
    return float(np.mean(z2))


# --- physgen evaluate -----------------------------------------------------------------------------------------------

def test_evaluate_states_the_error_method_and_the_effective_size():
    """A Monte Carlo file (correlated: block bootstrap) against a weighted file of exact reweighted draws;
    every existing key stays, the new ones describe each error; weighted G(r) matches the exact one.

    The χ²/dof of the six observables' z is not χ²₆/6: the six are strongly correlated (|m|, U₄ and ξ₂ move
    together, |ρ| 0.6–0.98; the first principal component carries 92% of the variance), so it behaves like
    0.92 χ²₁.  Over the seeds s + 1000 k (simulate, draws and evaluate; k = 0–1199, one thread) it was
    1.06 ± 1.37, median 0.65, 99.9% quantile 11.3, largest 11.95, and above the former bound 4 at 51 of 1,200
    (4.3%; 3.2 at the test's own seed); each z 1.01–1.04 wide.  A normal model with the measured covariance
    puts 6×10⁻⁵ above 15 (and 10⁻³ above 10.1, where 4 of the 1,200 seeds lay: the tail is about 3 times the
    model's), so the bound 15 fails about 2×10⁻⁴ of runs.  G(r) − exact at r = 1, 2: −0.0001 ± 0.0052 and
    −0.0001 ± 0.0065 (no bias); the larger |·| 0.0054 ± 0.0039 over 1,200 seeds, largest 0.023 (2 above the
    former 0.02), and 0.0074 ± 0.0046 over k = 0–19: 0.03 is 6.3 and 4.9 sd away."""
    from physgen.metrics import evaluate

    t = 2.5
    real = _simulate(31, size=4, temperatures=[t], n=1200)
    s, lw = _reweighted_draws(4000, t, 3.0, np.random.default_rng(32))
    fake = Dataset(s, "spins", {"temperature": np.full(len(s), t)}, log_weights=lw)
    r = evaluate(real, fake, ["observables"], seed=0, n_boot=100)
    json.dumps(r, allow_nan=False)
    per_t = r["observables"]["by_temperature"]["2.5"]
    assert r["observables"]["dof"] == 6 and r["observables"]["value"] < 15.0
    assert {"n_real", "n_fake", "observables", "distributions", "correlation", "sampling"} <= set(per_t)
    assert per_t["sampling"]["fake"]["weighted"] and per_t["sampling"]["fake"]["ess"] < 0.8 * len(s)
    assert per_t["sampling"]["real"]["tau_source"] == "file attributes" and per_t["sampling"]["real"]["chains"] == 4
    for name, entry in per_t["observables"].items():
        assert {"real", "fake", "difference", "onsager", "floor"} <= set(entry), name
        assert {"value", "error", "ci_low", "ci_high", "level", "n_boot"} <= set(entry["real"]), name
        assert entry["real"]["error_method"] == "block-bootstrap" and entry["real"]["block_length"] > 1, name
        assert entry["fake"]["error_method"] == "weighted-bootstrap" and entry["fake"]["block_length"] == 1, name
        assert entry["fake"]["ess"] == pytest.approx(per_t["sampling"]["fake"]["ess"]), name
        assert entry["floor"]["z"] is not None, name
    assert "block bootstrap" in r["observables"]["protocol"]["errors"]
    np.testing.assert_allclose(per_t["correlation"]["fake"], ExactIsing(4, t).correlation()[1], atol=0.03)


def test_bad_weights_and_layouts_raise_user_errors():
    s = np.ones((5, 4, 4), np.int8)
    with pytest.raises(UserError, match="log_weights"):
        ob.thermodynamics(s, 2.0, log_weights=np.zeros(4))
    with pytest.raises(UserError, match="log_weights"):
        ob.thermodynamics(s, 2.0, log_weights=np.array([0, 0, np.nan, 0, 0]))
    with pytest.raises(UserError, match="sampling"):
        ob.thermodynamics(s, 2.0, sampling=ob.Sampling.independent(4))
    with pytest.raises(UserError, match="tau_energy"):
        ob.Sampling(np.zeros(3), np.arange(3), tau_energy=float("nan"))
    with pytest.raises(UserError, match="unrecorded"):
        ob.sampling_of(Dataset(s, "spins"), 2.0, unrecorded="maybe")
