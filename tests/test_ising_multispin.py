"""The multispin-coded Metropolis engine (physgen.data.ising.multispin): layout, exact acceptance
probabilities, determinism, engine choice and fallback.  Its samples are checked against exact enumeration,
Onsager and Wolff in tests/test_ising_engine.py (``simulate`` runs it by default on the CPU)."""
import math

import numpy as np
import pytest
import torch

from physgen.data import load
from physgen.data.ising import CheckerboardMetropolis, multispin, simulate
from physgen.errors import UserError
from physgen.physics import observables as ob

pytestmark = pytest.mark.skipif(not multispin.AVAILABLE, reason="needs numba")


def _random_spins(m, L, seed):
    return (2 * np.random.default_rng(seed).integers(0, 2, size=(m, L, L)) - 1).astype(np.int8)


@pytest.mark.parametrize("M,L", [(7, 2), (64, 4), (130, 6), (65, 10)])
@pytest.mark.parametrize("J,h", [(1.0, 0.0), (0.7, 0.3), (-1.0, 0.5)])
def test_layout_round_trip_and_observables(M, L, J, h):
    """pack/unpack are inverse (chain c is bit c % 64 of group c // 64, padding bits unused), and the
    bit-sliced counters give every chain's energy and magnetization, before and after sweeps."""
    s = _random_spins(M, L, M + L)
    eng = multispin.MultispinMetropolis(s, np.linspace(0.2, 0.8, M), J=J, h=h, seed=1)
    np.testing.assert_array_equal(eng.spins(), s)
    assert eng.kernel == ("ferro" if (J, h) == (1.0, 0.0) else "general")
    for _ in range(2):
        e, m = eng.energy_magnetization()
        np.testing.assert_allclose(e, ob.energy_per_spin(eng.spins(), J=J, h=h), atol=1e-12)
        np.testing.assert_allclose(m, ob.magnetization(eng.spins()), atol=1e-12)
        eng.sweep(3)
    assert set(np.unique(eng.spins())) <= {-1, 1}


def test_threshold_planes_hold_floor_p_times_2_64_exactly():
    """Bit r of plane b of class k is bit 63 - b of chain r's threshold ⌊p 2^64⌋; p = 1 is 'certain'."""
    p = np.array([[0.5, 1.0, math.exp(-8 / 2.269), 2.0 ** -70, 0.0, 1 - 2.0 ** -53]] * 3)
    p[1, 0], p[2, 2] = 0.75, 1 / 3
    planes, cert = multispin.threshold_planes(p)
    for c in range(3):
        for k in range(p.shape[1]):
            if p[c, k] >= 1:
                assert (int(cert[0, k]) >> c) & 1
                continue
            t = sum(((int(planes[0, k, b]) >> c) & 1) << (63 - b) for b in range(64))
            assert t == math.floor(math.ldexp(float(p[c, k]), 64)), (c, k)
            assert not (int(cert[0, k]) >> c) & 1


def _colour0_flip_fraction(spins, beta, J=1.0, h=0.0, seed=0):
    """Fraction of (i + j)-even sites flipped by one sweep (they are updated once, first)."""
    eng = multispin.MultispinMetropolis(spins, np.full(len(spins), beta), J=J, h=h, seed=seed)
    eng.sweep(1)
    L = spins.shape[1]
    even = (np.add.outer(np.arange(L), np.arange(L)) % 2) == 0
    return (eng.spins() != spins)[:, even].mean(), int(len(spins) * even.sum()), eng.kernel


@pytest.mark.parametrize("case", ["dE=8J", "dE=0 (p0)", "field"])
def test_acceptance_probabilities_are_exact(case):
    """One sweep from a configuration where every even site has the same move: the fraction flipped is
    Binomial(N, p) with p = e^{-8βJ} (aligned neighbours), p0 = max(1/2, e^{-4β|J|}) (column stripes: two
    aligned neighbours) and e^{-2β(4J + h)} (field, general kernel); within 5 sigma with N = 262,144.
    Power: an acceptance off by 1% of p (p ~ 0.2) is 2.5 sigma; off by 5% of p, 12 sigma."""
    L, M = 64, 64
    if case == "dE=8J":
        beta, spins, h, p, kernel = 0.2, np.ones((M, L, L), np.int8), 0.0, math.exp(-1.6), "ferro"
    elif case == "dE=0 (p0)":
        stripes = np.tile(np.where(np.arange(L) % 2 == 0, 1, -1).astype(np.int8), (M, L, 1))
        beta, spins, h, p, kernel = 0.4, stripes, 0.0, 0.5, "ferro"
    else:
        beta, spins, h, p, kernel = 0.2, np.ones((M, L, L), np.int8), 0.3, math.exp(-0.4 * 4.3), "general"
    frac, n, used = _colour0_flip_fraction(spins, beta, h=h, seed=11)
    assert used == kernel
    assert abs(frac - p) < 5 * math.sqrt(p * (1 - p) / n), (frac, p)


def test_acceptance_of_several_temperatures_in_one_word():
    """Chains of one machine word at different temperatures each flip with their own probability."""
    betas = np.repeat([0.15, 0.25, 0.35, 0.45], 16)
    spins = np.ones((64, 32, 32), np.int8)
    eng = multispin.MultispinMetropolis(spins, betas, seed=4)
    eng.sweep(1)
    even = (np.add.outer(np.arange(32), np.arange(32)) % 2) == 0
    flipped = (eng.spins() != 1)[:, even].reshape(4, -1)
    for row, beta in zip(flipped, [0.15, 0.25, 0.35, 0.45]):
        p = math.exp(-8 * beta)
        assert abs(row.mean() - p) < 5 * math.sqrt(p * (1 - p) / row.size), (beta, row.mean(), p)


def test_limits_ground_state_infinite_temperature_and_ties():
    """β = 10: nothing flips (p ≤ e^{-80} rounds to threshold 0); β = 0: every move is certain, so one sweep
    flips every spin; column stripes at β → large keep flipping with p0 = 1/2 (the chains are not trapped)."""
    eng = multispin.MultispinMetropolis(np.ones((3, 8, 8), np.int8), np.full(3, 10.0), h=0.05)
    eng.sweep(20)
    assert (eng.spins() == 1).all()
    eng = multispin.MultispinMetropolis(np.ones((70, 6, 6), np.int8), np.zeros(70))
    eng.sweep(1)
    assert (eng.spins() == -1).all()
    stripes = np.tile(np.repeat(np.array([1, -1, 1, -1], np.int8)[:, None], 4, 1), (50, 1, 1))
    for J in (1.0, -1.0):                                              # ferro and general kernel
        eng = multispin.MultispinMetropolis(stripes, np.full(50, 0.5), J=J, seed=2)
        eng.sweep(30)
        e, _ = eng.energy_magnetization()
        assert int((e == 0).sum()) <= 2 and float(e.mean()) < -1.5, e


@pytest.mark.parametrize("h", [0.0, 0.1])
def test_same_seed_same_chains_and_sweeps_compose(h):
    s = _random_spins(70, 8, 0)
    a = multispin.MultispinMetropolis(s, np.linspace(0.3, 0.6, 70), h=h, seed=5)
    b = multispin.MultispinMetropolis(s, np.linspace(0.3, 0.6, 70), h=h, seed=5)
    c = multispin.MultispinMetropolis(s, np.linspace(0.3, 0.6, 70), h=h, seed=6)
    a.sweep(4)
    for _ in range(4):
        b.sweep(1)
    c.sweep(4)
    np.testing.assert_array_equal(a.spins(), b.spins())
    assert not np.array_equal(a.spins(), c.spins())


@pytest.mark.parametrize("h", [0.0, 0.1])
def test_chains_do_not_depend_on_the_number_of_threads(h):
    """Rows draw from their own streams, so 1 and 2 threads give the same chains bit for bit, with the sweeps
    recorded inside the compiled call (both kernels: h = 0 runs the ferromagnetic one)."""
    s, beta = _random_spins(130, 16, 1), np.linspace(0.3, 0.6, 130)
    runs = []
    for threads in (1, 2):
        eng = multispin.MultispinMetropolis(s, beta, h=h, seed=4, threads=threads)
        e, m = eng.sweep(5, record=True)
        runs.append((eng.spins(), e, m, *eng.energy_magnetization()))
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_recorded_sweeps_equal_the_measurements_after_each_sweep():
    s, beta = _random_spins(70, 12, 2), np.full(70, 0.44)
    a = multispin.MultispinMetropolis(s, beta, seed=8)
    b = multispin.MultispinMetropolis(s, beta, seed=8)
    e, m = a.sweep(4, record=True)
    assert e.shape == m.shape == (4, 70)
    for t in range(4):
        b.sweep(1)
        np.testing.assert_array_equal(np.stack([e[t], m[t]]), np.stack(b.energy_magnetization()))


def test_thread_count_policy(monkeypatch):
    """One thread below PARALLEL_WORDS; OMP_NUM_THREADS caps it; never more than numba's cores, never 0."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert multispin.kernel_threads(multispin.PARALLEL_WORDS - 1) == 1
    assert 1 <= multispin.kernel_threads(multispin.PARALLEL_WORDS) <= multispin.numba.config.NUMBA_NUM_THREADS
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert multispin.kernel_threads(10 ** 9) == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "512")
    assert multispin.kernel_threads(10 ** 9) == multispin.numba.config.NUMBA_NUM_THREADS


def test_the_command_runs_without_torch_or_scipy_stats(tmp_path):
    """``physgen data ising`` on the multispin engine imports neither torch nor scipy.stats (together ~1.2 s
    of start-up, more than 2,000 sweeps of a 128 × 128 lattice of 64 chains take)."""
    import subprocess
    import sys

    code = ("import sys; from physgen.cli import main; "
            f"rc = main(['data', 'ising', '--size', '8', '--temperatures', '2.5', '--samples', '4', '--burn-in', '4', "
            f"'--out', {str(tmp_path / 'a.h5')!r}]); "
            "print(rc, 'torch' in sys.modules, 'scipy.stats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split()[-3:] == ["0", "False", "False"], out


def test_chains_in_one_word_are_independent():
    """64 chains of one word started equal at T = 3 decorrelate: after 20 sweeps the pairwise overlaps
    q_ab = Σ s_a s_b / N of distinct chains are centred on 0 (|mean| < 5 standard errors) — a shared or
    correlated bit of the random words would make them positive."""
    eng = multispin.MultispinMetropolis(np.ones((64, 16, 16), np.int8), np.full(64, 1 / 3.0), seed=9)
    eng.sweep(20)
    s = eng.spins().reshape(64, -1).astype(float)
    q = (s @ s.T / s.shape[1])[np.triu_indices(64, 1)]
    assert abs(q.mean()) < 5 * q.std() / math.sqrt(64), q.mean()


def test_agrees_with_the_torch_engine_at_l8():
    """Same transition kernel: mean energy and |m| of both engines at L = 8, T = 2.5 agree within 4
    combined standard errors (chain means as batches; 256 chains, 300 sweeps)."""
    stats = []
    s = _random_spins(256, 8, 3)
    for make in (lambda: multispin.MultispinMetropolis(s, np.full(256, 0.4), seed=1),
                 lambda: CheckerboardMetropolis(torch.from_numpy(s), np.full(256, 0.4), seed=1)):
        eng = make()
        eng.sweep(100)
        e_sum, m_sum = np.zeros(256), np.zeros(256)
        for _ in range(200):
            eng.sweep(1)
            e, m = (np.asarray(x) for x in eng.energy_magnetization())
            e_sum, m_sum = e_sum + e, m_sum + np.abs(m)
        stats.append([(x.mean(), x.std(ddof=1) / 16) for x in (e_sum / 200, m_sum / 200)])
    for (a, da), (b, db) in zip(*stats):
        assert abs(a - b) < 4 * math.hypot(da, db), (a, da, b, db)


# ------------------------------------------------------------------------------------- simulate() and the CLI
def test_simulate_records_the_engine_and_falls_back_without_numba(monkeypatch):
    kw = dict(chains=3, burn_in=4, thin=2, seed=1)
    assert simulate(4, [2.5], 6, **kw).attrs["engine"] == "multispin"
    assert simulate(4, [2.5], 6, engine="torch", **kw).attrs["engine"] == "torch"
    assert simulate(4, [2.5], 6, algorithm="wolff", **kw).attrs["engine"] == "wolff"
    assert simulate(4, [2.5], 6, device="cpu", **kw).attrs["engine"] == "multispin"
    monkeypatch.setattr(multispin, "AVAILABLE", False)
    ds = simulate(4, [2.5], 6, **kw)
    assert ds.attrs["engine"] == "torch" and ds.attrs["device"] == "cpu"
    with pytest.raises(UserError, match="engine: the multispin engine needs numba"):
        simulate(4, [2.5], 6, engine="multispin", **kw)


@pytest.mark.parametrize("kwargs,match", [(dict(engine="fast"), "unknown engine"),
                                          (dict(engine="multispin", algorithm="wolff"), "Metropolis only")])
def test_simulate_refuses_bad_engines(kwargs, match):
    with pytest.raises(UserError, match=match):
        simulate(4, [2.5], 6, chains=3, **kwargs)


def test_same_seed_same_samples_and_shards_are_deterministic():
    from physgen.data.ising.sharded import simulate_shard

    kw = dict(chains=70, burn_in=10, thin=2, h=0.1)
    a, b = simulate(6, [2.5, 3.0], 80, seed=7, **kw), simulate(6, [2.5, 3.0], 80, seed=7, **kw)
    np.testing.assert_array_equal(a.samples, b.samples)
    assert not np.array_equal(a.samples, simulate(6, [2.5, 3.0], 80, seed=8, **kw).samples)
    s1, s2 = (simulate_shard(6, [2.5], 40, index=1, count=2, seed=3, chains=8, burn_in=5) for _ in range(2))
    np.testing.assert_array_equal(s1.samples, s2.samples)
    assert s1.attrs["engine"] == "multispin"


def test_cli_engine_option(cli, tmp_path):
    base = ["data", "ising", "--size", "4", "--temperatures", "2.5", "--samples", "6", "--chains", "3",
            "--burn-in", "4", "--thin", "2"]
    for engine in ("multispin", "torch"):
        code, _, err = cli(*base, "--engine", engine, "--out", str(tmp_path / f"{engine}.h5"))
        assert code == 0, err
        assert load(tmp_path / f"{engine}.h5").attrs["engine"] == engine
    code, _, err = cli(*base, "--engine", "multispin", "--algorithm", "wolff", "--out", str(tmp_path / "w.h5"))
    assert code == 2 and err.count("\n") == 1 and "--engine" in err and "Traceback" not in err, err


def test_make_bench_parses_the_benchmark_output():
    """benchmarks/run_all.py turns benchmarks/ising.py's output into table rows (ratios, load, the default)."""
    import importlib.util
    import sys
    from pathlib import Path

    bench = Path(__file__).resolve().parents[1] / "benchmarks"
    sys.path.insert(0, str(bench))
    spec = importlib.util.spec_from_file_location("physgen_run_all", bench / "run_all.py")
    run_all = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_all)
    n = run_all.conditions.cores()
    out = (f"engine default: multispin (numba, 1 thread)\n"
           f"L=128, 64 chains, T=2.269, h=0, device cpu, median of 3 interleaved runs, load 1.00-1.20/{n} cores\n"
           f"  engine default               3000.0 M flips/s   runs 3000   (per CPU second of the process: 3000 M)\n"
           f"  engine torch 1 thread         750.0 M flips/s   runs 750   (per CPU second of the process: 750 M)\n"
           f"  numpy (1 thread)              400.0 M flips/s   runs 400   (per CPU second of the process: 400 M)\n"
           f"  numba (1 thread)              300.0 M flips/s   runs 300   (per CPU second of the process: 300 M)\n"
           f"under load: one busy-loop process per core ({n}), load 3.00-3.10; fraction of the idle default "
           f"engine (3000.0 M flips/s):\n"
           f"  engine default               1800.0 M flips/s     0.60 of idle default engine, 0.60 of its own "
           f"idle figure\n")
    rows = run_all.ising(out)
    assert [r[1] for r in rows] == ["7.50×", "10.00×", "4.00×", "0.60 of its idle"]
    assert "engine default = multispin (numba, 1 thread)" in rows[0][2] and rows[0][4] == "1.00–1.20"
    assert "(3000 vs 400 per CPU second of the process, 7.50×)" in rows[0][2]
