"""The Ising engine against exact results.

Statistical tests use fixed seeds and combine repeated p-values (Fisher, scipy.stats.combine_pvalues).
Samples for the histogram tests come from many independent chains, two per chain, thinned far beyond
τ_int (L = 4: τ_int ≲ 3 sweeps), so they are independent to a very good approximation.  Each histogram
(energy, |m|) gets two statistics: Pearson's chi-square and the largest one-bin |z| (Bonferroni).

Measured power (``python benchmarks/power.py ising``: exact independent draws with a planted bias through
the tests' own p-values and decision rule): |⟨e⟩| off by 2% (a temperature error) is caught every time
(200/200) at the default size; a 5% excess in the most probable energy level is not (2/200, the same as
no bias) and needs the slow test's 20,000 × 3 samples per temperature (50/50; 2%: 5/50).

The L ≤ 4 histogram tests over simulate's seeds 300 + 1000 k (and the next, k = 0–19, one thread; both engines;
benchmarks/test_margins.py ising_exact): the smallest Fisher-combined p of a test's four statistics 0.0012–0.98
(720 values; the rule > 10⁻³, about 1/720 expected at the smallest) and its smallest single p 0.00021 or more
(the rule > 10⁻⁴); every test passed at every seed.
"""
import warnings

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.csgraph
import scipy.stats
import torch

from physgen.data import load, save
from physgen.data.ising import CheckerboardMetropolis, ThinningWarning, WolffClusters, multispin, simulate
from physgen.data.ising.wolff import neighbour_table
from physgen.errors import UserError
from physgen.physics import observables as ob
from physgen.physics import onsager
from physgen.physics.exact import ExactIsing


def _random_spins(m, L, seed):
    return (2 * np.random.default_rng(seed).integers(0, 2, size=(m, L, L)) - 1).astype(np.int8)


# ------------------------------------------------------------------------------------- mechanics
@pytest.mark.parametrize("L", [2, 4, 6, 10])
def test_checkerboard_layout_round_trip_and_energy(L):
    s = _random_spins(7, L, L)
    eng = CheckerboardMetropolis(torch.from_numpy(s), np.full(7, 0.4), J=0.7, h=0.3)
    np.testing.assert_array_equal(eng.spins().numpy(), s)
    e, m = eng.energy_magnetization()
    np.testing.assert_allclose(e.numpy(), ob.energy_per_spin(s, J=0.7, h=0.3))
    np.testing.assert_allclose(m.numpy(), ob.magnetization(s))
    eng.sweep(3)                                     # ghosts stay consistent after updates
    e, m = eng.energy_magnetization()
    np.testing.assert_allclose(e.numpy(), ob.energy_per_spin(eng.spins().numpy(), J=0.7, h=0.3))


def test_acceptance_probabilities_are_exact_including_threshold_ties():
    """p4 = 37.5/256 puts half of a top-byte tie class below the threshold: ignoring ties would shift
    P(accept) by 1/512 (~11 sigma with 4M draws); every probability must match within 5 sigma.
    Flip bounds 2l - 2: >= 0 with p0 = 1/2 (dE = 0), >= 2 with p4, == 4 with p8 = p4^2."""
    p4 = 37.5 / 256
    beta = -np.log(p4) / 4.0
    eng = CheckerboardMetropolis(torch.ones(64, 128, 128, dtype=torch.int8), np.full(64, beta))
    draws = [eng._levels(eng.bits.uint8((4, 64, 64, 64))).reshape(-1).clone() for _ in range(4)]
    levels = torch.cat(draws).numpy()
    n = levels.size
    for observed, p in [((levels >= 0).mean(), 0.5), ((levels >= 2).mean(), p4), ((levels == 4).mean(), p4 ** 2)]:
        assert abs(observed - p) < 5 * np.sqrt(p * (1 - p) / n), (observed, p)
    assert set(np.unique(levels)) <= {-2, 0, 2, 4}


def test_zero_energy_moves_do_not_trap_the_checkerboard():
    """Row stripes: every spin has two aligned neighbours (dE = 0 everywhere).  With p0 = 1 the checkerboard
    flips them deterministically forever (a closed class, e = 0); with p0 < 1 the chains leave it and
    relax (at T = 2, P(e = 0) ~ 1e-3 in equilibrium, so at most a couple of the 50 chains may be at e = 0)."""
    stripes = np.repeat(np.array([1, -1, 1, -1], np.int8)[:, None], 4, 1)
    for J in (1.0, -1.0):                                       # fast path and table path
        eng = CheckerboardMetropolis(torch.from_numpy(np.tile(stripes, (50, 1, 1))), np.full(50, 0.5), J=J)
        eng.sweep(30)
        e, _ = eng.energy_magnetization()
        assert int((e == 0).sum()) <= 2 and float(e.mean()) < -1.5, e


@pytest.mark.parametrize("h", [0.0, 0.05])
def test_ground_state_is_stable_at_low_temperature(h):
    eng = CheckerboardMetropolis(torch.ones(4, 8, 8, dtype=torch.int8), np.full(4, 1 / 0.1), h=h)
    eng.sweep(20)
    assert bool((eng.spins() == 1).all())


def test_infinite_temperature_flips_every_spin():
    """beta = 0: every move has acceptance 1, so a sweep flips the whole lattice (the deterministic limit)."""
    eng = CheckerboardMetropolis(torch.ones(2, 6, 6, dtype=torch.int8), np.zeros(2))
    eng.sweep(1)
    assert bool((eng.spins() == -1).all())


@pytest.mark.parametrize("h", [0.0, 0.1])                      # fast path and table path
def test_samples_do_not_depend_on_threads_and_caller_setting_is_restored(h):
    """The default runs on one torch thread and restores the caller's setting; 2 threads give the same
    spins bit for bit (integer arithmetic and NumPy random bits only)."""
    before = torch.get_num_threads()
    s = torch.from_numpy(_random_spins(6, 16, 3))
    runs = []
    for threads in (None, 1, 2):
        eng = CheckerboardMetropolis(s, np.linspace(0.3, 0.6, 6), h=h, seed=5, threads=threads)
        eng.sweep(7)
        runs.append((eng.spins(), eng.energy_magnetization()[0]))
        assert torch.get_num_threads() == before
    for spins, e in runs[1:]:
        assert torch.equal(spins, runs[0][0]) and torch.equal(e, runs[0][1])
    with pytest.raises(ValueError, match="threads"):
        CheckerboardMetropolis(s, np.ones(6), threads=0)


def _aligned_components(spins):
    L = spins.shape[0]
    nbr = neighbour_table(L)
    flat = spins.reshape(-1)
    src = np.repeat(np.arange(L * L), 4)
    keep = flat[src] == flat[nbr.reshape(-1)]
    graph = scipy.sparse.coo_matrix((np.ones(keep.sum()), (src[keep], nbr.reshape(-1)[keep])), shape=(L * L,) * 2)
    return scipy.sparse.csgraph.connected_components(graph, directed=False)[1]


@pytest.mark.parametrize("table", [True, False])
def test_wolff_cluster_is_the_aligned_domain_at_zero_temperature(table):
    s = _random_spins(20, 8, 5)
    w = WolffClusters(s.copy(), np.full(20, 50.0), rng=np.random.default_rng(0))   # p_add = 1
    if not table:
        w._nbr_all = None                       # the path used when the global neighbour table is too big
    sizes = w.cluster_step(np.ones(20, bool))
    for before, after, size in zip(s, w.spins, sizes):
        flipped = (before != after).reshape(-1)
        labels = _aligned_components(before)
        domain = labels == labels[np.flatnonzero(flipped)[0]]
        np.testing.assert_array_equal(flipped, domain)
        assert size == domain.sum()


def test_wolff_clusters_are_single_sites_at_infinite_temperature():
    s = _random_spins(10, 6, 1)
    w = WolffClusters(s.copy(), np.zeros(10), rng=np.random.default_rng(0))
    active = np.arange(10) % 2 == 0
    sizes = w.cluster_step(active)
    np.testing.assert_array_equal(sizes, active.astype(int))
    np.testing.assert_array_equal((s != w.spins).sum((1, 2)), active.astype(int))


# ------------------------------------------------------------------------------------- simulate()
def test_dataset_layout_attrs_and_round_trip(tmp_path):
    ds = simulate(4, [2.0, 3.0], 10, chains=4, burn_in=5, thin=2, seed=3)
    assert ds.kind == "spins" and ds.samples.shape == (20, 4, 4) and ds.samples.dtype == np.int8
    np.testing.assert_array_equal(ds.conditions["temperature"], np.repeat([2.0, 3.0], 10))
    for key in ("size", "J", "h", "algorithm", "seed", "burn_in", "thin", "chains", "temperatures",
                "tau_int_abs_m", "tau_int_energy"):
        assert key in ds.attrs, key
    assert len(ds.attrs["tau_int_abs_m"]) == 2 and all(t >= 0.5 for t in ds.attrs["tau_int_energy"])
    back = load(save(ds, tmp_path / "i.h5"))
    np.testing.assert_array_equal(back.samples, ds.samples)
    assert back.attrs["temperatures"] == [2.0, 3.0] and back.attrs["algorithm"] == "metropolis"


@pytest.mark.parametrize("algorithm", ["metropolis", "wolff"])
def test_same_seed_same_samples(algorithm):
    kw = dict(chains=3, burn_in=10, thin=2, algorithm=algorithm)
    a, b = simulate(6, [2.5], 12, seed=7, **kw), simulate(6, [2.5], 12, seed=7, **kw)
    np.testing.assert_array_equal(a.samples, b.samples)
    assert not np.array_equal(a.samples, simulate(6, [2.5], 12, seed=8, **kw).samples)


@pytest.mark.parametrize("kwargs,match", [
    (dict(size=1), "size"), (dict(size=5), "even size"), (dict(temperatures=[2.0, 0.0]), "temperatures"),
    (dict(temperatures=[float("nan")]), "temperatures"), (dict(n_samples=0), "samples"), (dict(thin=0), "thin"),
    (dict(algorithm="glauber"), "unknown algorithm"), (dict(algorithm="wolff", h=0.1), "h = 0"),
    (dict(algorithm="wolff", J=-1.0), "J > 0"), (dict(chains=0), "chains"), (dict(start="hot"), "start"),
])
def test_simulate_refuses_bad_parameters(kwargs, match):
    args = dict(size=4, temperatures=[2.0], n_samples=4) | kwargs
    with pytest.raises(UserError, match=match):
        simulate(args.pop("size"), args.pop("temperatures"), args.pop("n_samples"), **args)


def test_ordered_start_gives_both_signs_and_random_start_is_random():
    """Over seeds 1 + 1000 k (k = 0–19, one thread): 31.0 ± 3.6 and 33.0 ± 3.6 of the 64 ordered chains in
    each phase, smallest 26 and 25, against > 15 (4.4, 4.9 sd); the random start's mean |m| 0.131 ± 0.013
    against 0.5 (28 sd)."""
    ds = simulate(16, [1.5], 64, chains=64, burn_in=20, thin=5, seed=1)
    m = ob.magnetization(ds.samples)
    assert (m > 0.9).sum() > 15 and (m < -0.9).sum() > 15         # both ordered phases, no stripes
    hot = simulate(16, [1.5], 64, chains=64, burn_in=0, thin=1, seed=1, start="random")
    assert np.abs(ob.magnetization(hot.samples)).mean() < 0.5     # one sweep from infinite temperature


def test_thinning_warning_only_when_thin_is_short():
    with pytest.warns(ThinningWarning, match="T=2.269"):
        simulate(16, [2.269], 64, chains=8, burn_in=200, thin=1, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ThinningWarning)
        simulate(8, [5.0], 64, chains=8, burn_in=50, thin=20, seed=0)


# ------------------------------------------------------------------------------------- vs exact (L = 4)
def _histogram_pvalues(values, levels, probs) -> tuple[float, float]:
    """(chi-square p, largest-bin p) of observed values against an exact discrete distribution.

    Bins are pooled to expected counts >= 5.  The chi-square spreads a one-bin excess over all its degrees
    of freedom; the second statistic does not: the largest |z| = |O − E| / √(E (1 − p)) over the K pooled
    bins, as a Bonferroni-corrected two-sided p (min(1, 2 K Φ(−|z|)))."""
    keys, values = np.round(np.asarray(levels), 9), np.round(np.asarray(values), 9)
    idx = np.searchsorted(keys, values)
    assert np.all(keys[np.minimum(idx, len(keys) - 1)] == values), "value outside the support"
    observed = np.bincount(idx, minlength=len(keys)).astype(float)
    expected = probs * len(values)
    obs_b, exp_b, o, e = [], [], 0.0, 0.0
    for oi, ei in zip(observed, expected):
        o, e = o + oi, e + ei
        if e >= 5:
            obs_b.append(o), exp_b.append(e)
            o = e = 0.0
    obs_b[-1] += o
    exp_b[-1] += e
    obs_b, exp_b = np.array(obs_b), np.array(exp_b) * sum(obs_b) / sum(exp_b)
    z = (obs_b - exp_b) / np.sqrt(exp_b * (1 - exp_b / exp_b.sum()) + 1e-300)
    bin_p = min(1.0, 2 * len(z) * scipy.stats.norm.sf(np.abs(z).max()))
    return scipy.stats.chisquare(obs_b, exp_b).pvalue, bin_p


def _chi2_pvalue(values, levels, probs):
    """Chi-square p-value of observed values against an exact discrete distribution."""
    return _histogram_pvalues(values, levels, probs)[0]


def _pvalues_of_samples(samples, ex) -> dict:
    """{'energy', 'energy_bin', 'abs_m', 'abs_m_bin'}: one p-value each (see _histogram_pvalues) for spins
    ``(n, L, L)`` against the exact enumeration ``ex``."""
    return _pvalues_of_observables(ob.energy_per_spin(samples, ex.J, ex.h), np.abs(ob.magnetization(samples)), ex)


def _pvalues_of_observables(energy, abs_m, ex) -> dict:
    """As _pvalues_of_samples, from the per-spin energies and |m| ``(n,)``."""
    out = {}
    for name, values, exact in (("energy", energy, ex.energy_distribution()),
                                ("abs_m", abs_m, ex.abs_m_distribution())):
        out[name], out[name + "_bin"] = _histogram_pvalues(values, *exact)
    return out


N_L4, REPEATS = 2000, 2       # samples per temperature and repeat, repeats: the default tests' size
SEED = 300                    # seed of the first repeat
ENGINES = ["multispin", "torch"] if multispin.AVAILABLE else ["torch"]


def _pvalues_vs_exact(algorithm, temperatures, J=1.0, h=0.0, repeats=REPEATS, n=N_L4, size=4, engine="auto",
                      seed=SEED):
    """{'energy': [...], 'energy_bin': [...], 'abs_m': [...], 'abs_m_bin': [...]} p-values, one per
    temperature and repeat.  Random (infinite temperature) starts: every chain must reach equilibrium from
    anywhere (this exposed the reducibility of checkerboard Metropolis with p0 = 1, see metropolis.py)."""
    out = {}
    for rep in range(repeats):
        ds = simulate(size, temperatures, n, chains=n // 2, burn_in=100, thin=25, algorithm=algorithm, J=J,
                      h=h, seed=seed + rep, start="random", engine=engine if algorithm == "metropolis" else "auto")
        for T in temperatures:
            s = ds.samples[ds.conditions["temperature"] == T]
            for name, p in _pvalues_of_samples(s, ExactIsing(size, T, J, h)).items():
                out.setdefault(name, []).append(p)
    return out


def _consistent(pvalues) -> bool:
    """The decision rule: every statistic's Fisher-combined p > 1e-3 and its smallest p > 1e-4."""
    return all(scipy.stats.combine_pvalues(ps, method="fisher").pvalue > 1e-3 and min(ps) > 1e-4
               for ps in pvalues.values())


def _assert_consistent(pvalues):
    assert _consistent(pvalues), {k: (min(v), scipy.stats.combine_pvalues(v, method="fisher").pvalue)
                                  for k, v in pvalues.items()}


@pytest.mark.parametrize("engine", ENGINES)
def test_metropolis_l4_histograms_match_exact_enumeration(engine):
    """Power (benchmarks/power.py ising, 200 repetitions): |⟨e⟩| 2% too small caught 200/200; a 5% excess
    in the most probable energy level 2/200 (no bias: 0/200), i.e. this size checks temperatures and
    mixing, not single bins (see the slow test)."""
    _assert_consistent(_pvalues_vs_exact("metropolis", [1.5, 2.269, 3.5], engine=engine))


@pytest.mark.parametrize("engine", ENGINES)
def test_metropolis_l4_with_field_and_antiferromagnet_match_exact_enumeration(engine):
    ps = _pvalues_vs_exact("metropolis", [2.0, 3.0], J=1.0, h=0.3, engine=engine)
    for name, extra in _pvalues_vs_exact("metropolis", [1.5, 2.5], J=-1.0, h=0.5, engine=engine).items():
        ps[name] += extra
    _assert_consistent(ps)


def test_wolff_l4_histograms_match_exact_enumeration():
    _assert_consistent(_pvalues_vs_exact("wolff", [1.5, 2.269, 3.5]))


@pytest.mark.parametrize("algorithm,size,engine", [("metropolis", 2, e) for e in ENGINES]
                         + [("wolff", 2, "auto"), ("wolff", 3, "auto")])
def test_smaller_and_odd_lattices_match_exact_enumeration(algorithm, size, engine):
    """L = 2 (left and right neighbours coincide: two bonds per pair) and odd L = 3 (Wolff only)."""
    _assert_consistent(_pvalues_vs_exact(algorithm, [1.5, 2.5, 4.0], size=size, engine=engine))


@pytest.mark.slow
@pytest.mark.parametrize("algorithm,engine", [("metropolis", e) for e in ENGINES] + [("wolff", "auto")])
def test_l4_histograms_high_power(algorithm, engine):
    """20,000 samples per temperature, 3 repeats.  Power (benchmarks/power.py ising, 50 repetitions): a 5%
    excess in the most probable energy level at every T is caught 50/50, a 2% excess 5/50 (no bias: 1/50
    false positives); |⟨e⟩| 2% too small 50/50."""
    _assert_consistent(_pvalues_vs_exact(algorithm, [1.0, 2.0, 2.269, 2.6, 4.0], repeats=3, n=20000, engine=engine))


# ------------------------------------------------------------------------------------- vs Onsager (L = 32)
def _chain_means(ds, T, fn):
    """(chains,) per-chain means of fn(samples) at temperature T (samples are time-major over chains)."""
    s = ds.samples[ds.conditions["temperature"] == T]
    return fn(s).reshape(-1, ds.attrs["chains"]).mean(0)


def _mean_and_error(x):
    return x.mean(), x.std(ddof=1) / np.sqrt(len(x))


def test_l32_matches_onsager_at_low_and_high_temperature():
    """Finite-size corrections at L = 32 are exponentially small at T = 1.5 and 3.5 (ξ ≲ 2), so the
    tolerance is 4 standard errors (chain means as batches) plus 5e-4.  The (default) ordered start avoids
    the long-lived striped states a random quench can fall into at T = 1.5; the errors themselves must be
    small, so a stuck chain cannot hide behind a large error bar.  Power (benchmarks/power.py onsager,
    from this simulation's errors): a 2% bias in ⟨e⟩ (T = 1.5, 3.5) or in ⟨|m|⟩ at T = 1.5 is caught with
    probability 1.00; ⟨|m|⟩ and N⟨m²⟩ at T = 3.5 carry the series' 3% / 5% allowance, so a 5% bias there
    is not caught (0.2%).  Each deviation over its tolerance, over seeds 5 + 1000 k (k = 0–19, one thread):
    0.10–0.19 ± 0.11–0.14, largest 0.57 (⟨e⟩ at 1.5), ≥ 5.9 sd inside 1; the errors 0.00047 and 0.0012 (against
    2×10⁻³) and 0.00014 (against 5×10⁻⁴), ≥ 10 sd."""
    ds = simulate(32, [1.5, 3.5], 2048, chains=128, burn_in=400, thin=10, seed=5)
    for T in (1.5, 3.5):
        e, de = _mean_and_error(_chain_means(ds, T, ob.energy_per_spin))
        assert de < 2e-3 and abs(e - onsager.energy_per_spin(T)) < 4 * de + 5e-4, (T, e, de)
    m, dm = _mean_and_error(_chain_means(ds, 1.5, lambda s: np.abs(ob.magnetization(s))))
    assert dm < 5e-4 and abs(m - onsager.spontaneous_magnetization(1.5)) < 4 * dm + 5e-4, (m, dm)
    # T = 3.5: |m| is a finite-size quantity. High-temperature series of chi_0 = sum_r <s_0 s_r>
    # (square lattice, v = tanh(1/T), 13 terms; truncated tail ~2%) gives N<m^2> = chi_0 and, m being
    # Gaussian, <|m|> = sqrt(2 chi_0 / (pi N)).
    coeffs = [1, 4, 12, 36, 100, 276, 740, 1972, 5172, 13492, 34876, 89764, 229628]
    chi0 = np.polyval(coeffs[::-1], np.tanh(1 / 3.5))
    m2, dm2 = _mean_and_error(1024 * _chain_means(ds, 3.5, lambda s: ob.magnetization(s) ** 2))
    assert abs(m2 - chi0) < 4 * dm2 + 0.05 * chi0, (m2, dm2, chi0)
    am, dam = _mean_and_error(_chain_means(ds, 3.5, lambda s: np.abs(ob.magnetization(s))))
    assert abs(am - np.sqrt(2 * chi0 / (np.pi * 1024))) < 4 * dam + 0.03 * am, (am, dam)


def _metropolis_and_wolff_at_tc(scale=1):
    """L = 16 at T_c, 128 × ``scale`` chains of each algorithm (same seed): the two datasets and, per
    observable, (name, mean_met, error_met, mean_wolff, error_wolff) with chain means as batches."""
    common = dict(chains=128 * scale, seed=9)
    met = simulate(16, [onsager.T_C], 2560 * scale, burn_in=1000, thin=50, algorithm="metropolis", **common)
    wol = simulate(16, [onsager.T_C], 2560 * scale, burn_in=100, thin=4, algorithm="wolff", **common)
    fns = {"e": ob.energy_per_spin, "|m|": lambda s: np.abs(ob.magnetization(s)),
           "m2": lambda s: ob.magnetization(s) ** 2}
    rows = [(name, *(v for d in (met, wol) for v in _mean_and_error(_chain_means(d, onsager.T_C, fn))))
            for name, fn in fns.items()]
    return met, wol, rows


def test_metropolis_and_wolff_agree_at_tc():
    """L = 16 at T_c: ⟨e⟩, ⟨|m|⟩ and ⟨m²⟩ agree within 4 combined standard errors; Wolff decorrelates faster.
    Power (benchmarks/power.py onsager, from this simulation's errors): a bias in one algorithm's ⟨e⟩ of
    2% / 5% is caught with probability 0.90 / 1.00, in ⟨|m|⟩ 0.05 / 0.97, in ⟨m²⟩ 0.01 / 0.43 (the slow
    test below catches 2% in each).  A 4σ test (false-alarm rate 2×10⁻⁴ for the three).  At the test's seed z
    is +2.7, −2.4 and −2.6 with 1 and 2 threads; over seeds 9 + 1000 k (k = 0–19, one thread) the signed z
    are 0.29 ± 1.10, −0.24 ± 1.14 and −0.25 ± 1.10 (−2.6 to +2.7: no systematic difference), the largest |z|
    of the three 1.16 ± 0.64, up to 2.7 at the test's seed (4.5 sd inside 4), and Metropolis' τ_int of |m| is
    21.5 ± 1.4 times Wolff's (smallest 19.1, against 2)."""
    met, wol, rows = _metropolis_and_wolff_at_tc()
    for name, a, da, b, db in rows:
        assert abs(a - b) < 4 * np.hypot(da, db), (name, a, da, b, db)
    assert met.attrs["tau_int_abs_m"][0] > 2 * wol.attrs["tau_int_abs_m"][0]


@pytest.mark.slow
def test_metropolis_and_wolff_agree_at_tc_high_power():
    """As above with 16 × the chains (40-80 s).  Power (benchmarks/power.py onsager): a 2% bias in one
    algorithm's ⟨e⟩, ⟨|m|⟩ or ⟨m²⟩ is caught with probability 1.00, 1.00, 0.99 (σ ≈ 1.3e-3 to 1.7e-3)."""
    for name, a, da, b, db in _metropolis_and_wolff_at_tc(16)[2]:
        assert abs(a - b) < 4 * np.hypot(da, db), (name, a, da, b, db)


@pytest.mark.filterwarnings("ignore::physgen.data.ising.ThinningWarning")   # thin=1 on purpose
def test_series_error_from_autocorrelation_matches_spread_of_chains():
    """The stored τ_int predicts the chain-to-chain spread of 64 chain means of ℓ = 10 consecutive sweeps:
    σ sqrt(v(ℓ))/ℓ with v(ℓ) = Var(Σ x)/σ² of the exponential model (:func:`physgen.stats.autocorr.sum_variance`;
    the asymptotic σ sqrt(2τ/ℓ) overestimates such short means by ~30%).  Over seeds 4–23 the ratio
    prediction / spread is 1.02 ± 0.05 (0.89–1.13); the bound ±20% is four of those standard deviations."""
    from physgen.stats.autocorr import sum_variance

    ds = simulate(16, [2.5], 640, chains=64, burn_in=300, thin=1, seed=6)
    e = ob.energy_per_spin(ds.samples).reshape(-1, 64).T                # (chains, time)
    length, tau = e.shape[1], ds.attrs["tau_int_energy"][0]
    predicted = e.std(ddof=1) * np.sqrt(sum_variance(length, tau)) / length
    assert predicted == pytest.approx(e.mean(1).std(ddof=1), rel=0.2)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_exact_enumeration():
    """The engine on a CUDA device: 4,000 L = 4 energies at T = 2.269 against exact enumeration (chi-square,
    p > 1e-4).  Power (exact independent draws through this decision rule, 200 repetitions each): samples
    from the temperature at which |⟨e⟩| is 2% smaller are caught 40/200, 5% smaller 200/200; no bias 0/200."""
    ds = simulate(4, [2.269], 4000, chains=2000, burn_in=100, thin=25, seed=1, device="cuda")
    ex = ExactIsing(4, 2.269)
    p = _chi2_pvalue(ob.energy_per_spin(ds.samples), *ex.energy_distribution())
    assert p > 1e-4 and ds.attrs["device"].startswith("cuda")
