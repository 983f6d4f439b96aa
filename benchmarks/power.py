"""Power of the suite's statistical tests: how often each test's own statistic and decision rule catch a
planted bias of 2–5% in one bin or one observable, and how often they fire with no bias (false positives).

Each section replaces the sampler under test by exact, independent draws from the target (the tests'
samples are thinned far beyond τ_int, so this is the situation the tests assume), plants a bias, and
applies the test's own p-values and thresholds (imported from the test module, so the figures follow the
tests).  Rates are over ``--reps`` seeded repetitions; ``±`` is the binomial standard error.

    OMP_NUM_THREADS=1 python benchmarks/power.py                 # every section (≈ 15 min on a loaded 2-core VM)
    OMP_NUM_THREADS=1 python benchmarks/power.py ising gibbs     # some sections
    python benchmarks/power.py --reps 400 --json power.json      # more repetitions, figures as JSON

Sections: ``ising`` (tests/test_ising_engine.py, L = 4 histograms vs exact enumeration), ``gibbs``
(tests/test_gibbs.py, 64-state chi-square), ``langevin`` (tests/test_langevin.py, KS on projections and the
3σ moment checks), ``discrete`` (tests/test_discrete_sampler.py, the discrete sampler's chi-square
against the exact 3×3 Ising law), ``autoregressive`` (tests/test_vae_autoregressive.py, the VAE decoder's
ancestral sampler against its enumerated 512-state law), ``thermo`` (tests/test_physics_exact.py, estimates
within 4 bootstrap errors), ``metrics`` (tests/test_metrics_mmd.py and tests/test_metrics_c2st.py null tests), ``stats``
(tests/test_stats.py, coverage of the AR(1) error bars), ``onsager`` (tests/test_ising_engine.py's L = 32
and Metropolis-vs-Wolff checks: their own simulations, analytic power from the measured errors), ``exact``
(tests/test_physics_exact.py's G(r) and exact-ensemble checks, analytic), ``compare``
(tests/test_compare.py's quick-mode AUC rule against the recorded DeLong errors, analytic).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

BIASES = (0.0, 0.02, 0.05)


def rate(caught: list[bool]) -> dict:
    """Detection rate and its binomial standard error."""
    k, n = int(np.sum(caught)), len(caught)
    p = k / n
    return {"caught": k, "reps": n, "rate": p, "se": float(np.sqrt(max(p * (1 - p), 1.0 / n) / n))}


def show(section: str, label: str, bias: float, r: dict, chi2_only: dict | None = None, kind: str | None = None
         ) -> None:
    """One line; ``chi2_only``: the rate of the chi-square alone (without the largest-bin statistic);
    ``kind`` replaces the bias column (a plant that is not a bias of size ``bias``)."""
    kind = kind or ("false positives" if bias == 0 else f"bias {100 * bias:.0f}%")
    extra = f"   chi-square alone {100 * chi2_only['rate']:5.1f}%" if chi2_only else ""
    print(f"{section:9s} {label:58s} {kind:16s} {100 * r['rate']:5.1f}% ± {100 * r['se']:.1f}%"
          f"  ({r['caught']}/{r['reps']}){extra}", flush=True)


def tilt(probs: np.ndarray, mask: np.ndarray, bias: float) -> np.ndarray:
    """Probabilities with the states in ``mask`` weighted by (1 + bias), renormalised: a bin of probability
    p rises by bias (1 − p) / (1 + bias p) relative (5% at p → 0; 0.4% for the ground state at T = 1.5)."""
    p = probs * np.where(mask, 1.0 + bias, 1.0)
    return p / p.sum()


def draw(rng: np.random.Generator, probs: np.ndarray, n: int) -> np.ndarray:
    """n independent state indices from ``probs``."""
    return np.minimum(np.searchsorted(np.cumsum(probs), rng.random(n) * probs.sum()), len(probs) - 1)


# ------------------------------------------------------------------------------------- ising
def hotter(T: float, bias: float, L: int = 4) -> float:
    """The temperature T' > T at which the exact L × L ⟨e⟩ is (1 − bias) ⟨e⟩(T) (bisection)."""
    from physgen.physics.exact import ExactIsing

    target, lo, hi = (1 - bias) * ExactIsing(L, T).mean_energy, T, 4 * T + 10
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if ExactIsing(L, mid).mean_energy < target else (lo, mid)
    return 0.5 * (lo + hi)


def ising(reps: int, rng: np.random.Generator) -> list[dict]:
    """L = 4 energy and |m| histograms vs exact enumeration, two plants at every T: the most probable
    energy level's weight × (1 + bias) (one bin), and samples from the temperature at which |⟨e⟩| is
    smaller by the bias (one observable)."""
    import test_ising_engine as t
    from physgen.physics.exact import ExactIsing

    configs = [("default (%d T, %d repeats × %d)" % (3, t.REPEATS, t.N_L4), [1.5, 2.269, 3.5], t.REPEATS, t.N_L4,
                reps),
               ("slow (5 T, 3 repeats × 20000)", [1.0, 2.0, 2.269, 2.6, 4.0], 3, 20000, max(reps // 4, 10))]
    out = []
    for label, temps, repeats, n, n_reps in configs:
        exact = {T: ExactIsing(4, T) for T in temps}
        modal = {T: np.isclose(ex.energies, ex.energy_distribution()[0][np.argmax(ex.energy_distribution()[1])])
                 for T, ex in exact.items()}
        for plant in ("one bin", "<e>"):
            for bias in BIASES if plant == "one bin" else BIASES[1:]:
                if plant == "one bin":
                    probs = {T: tilt(ex.probabilities, modal[T], bias) for T, ex in exact.items()}
                else:
                    probs = {T: ExactIsing(4, hotter(T, bias)).probabilities for T in temps}
                caught, chi2 = [], []
                for _ in range(n_reps):
                    pvalues = {}
                    for T, ex in exact.items():
                        for _rep in range(repeats):
                            idx = draw(rng, probs[T], n)
                            obs = (ex.energies[idx], np.abs(ex.magnetizations[idx]))
                            for name, p in t._pvalues_of_observables(*obs, ex).items():
                                pvalues.setdefault(name, []).append(p)
                    caught.append(not t._consistent(pvalues))
                    chi2.append(not t._consistent({k: pvalues[k] for k in ("energy", "abs_m")}))
                r, r_chi2 = rate(caught), rate(chi2)
                show("ising", f"{label}, {plant}", bias, r, r_chi2)
                out.append({"section": "ising", "test": label, "plant": plant, "bias": bias} | r
                           | {"chi2_alone_rate": r_chi2["rate"]})
    return out


# ------------------------------------------------------------------------------------- gibbs
def gibbs(reps: int, rng: np.random.Generator) -> list[dict]:
    """64-state RBM laws (the tests' five seeds), N draws each: the most probable state's weight
    × (1 + bias) in every law; decision by test_gibbs.consistent (Fisher over the seeds)."""
    import test_gibbs as t
    import torch
    from physgen.models.rbm.partition import exact_log_prob_all

    out = []
    for visible, n in (("bernoulli", t.N_EXACT), ("bernoulli", t.N), ("spin", t.N_EXACT), ("spin", t.N)):
        laws = [exact_log_prob_all(t.small_rbm(visible, seed)).exp().numpy() for seed in t.SEEDS]
        for bias in BIASES:
            caught, chi2 = [], []
            for _ in range(reps):
                pairs = []
                for probs in laws:
                    planted = tilt(probs, np.arange(len(probs)) == np.argmax(probs), bias)
                    counts = torch.from_numpy(np.bincount(draw(rng, planted, n), minlength=len(probs)))
                    pairs.append(t.histogram_pvalues(counts, torch.from_numpy(probs)))
                caught.append(not t.consistent(pairs))
                chi2.append(t.combined([pair[0] for pair in pairs]) <= 1e-3)
            r, r_chi2 = rate(caught), rate(chi2)
            label = f"{visible} RBM, 6 visible: {len(laws)} laws × {n}, most probable state"
            show("gibbs", label, bias, r, r_chi2)
            out.append({"section": "gibbs", "test": label, "bias": bias} | r | {"chi2_alone_rate": r_chi2["rate"]})
    return out


# ------------------------------------------------------------------------------------- langevin
def langevin(reps: int, rng: np.random.Generator) -> list[dict]:
    """(a) KS on 1-D projections of the 3-component mixture (5 seeds × 3000 draws, Fisher p > 0.01):
    exact mixture draws with the first component's weight × (1 + bias) (one observable: a mode's weight),
    or every draw scaled about the mixture mean by (1 + bias) (its width).  (b) The 3σ moment checks of
    the MALA Gaussian test: the test's chain gives each moment's error; a bias of ``bias`` × the true value
    (the variance, and the mean μ₁ = 1) is caught with probability Φ(δ/σ − 3) + Φ(−δ/σ − 3)."""
    import scipy.stats
    import test_langevin as t
    import torch
    from physgen.samplers import langevin as L
    from physgen.stats import mean_with_error

    out = []
    mean, _ = t.mixture_moments()
    for plant in ("mode weight", "width"):
        for bias in BIASES:
            caught = []
            for _ in range(reps):
                pvalues = []
                for seed in range(5):
                    w = t.W_MIX * np.where(np.arange(3) == 0, 1 + bias if plant == "mode weight" else 1, 1)
                    k = draw(rng, w / w.sum(), 3000)
                    x = t.MU_MIX[k] + t.S_MIX[k, None] * rng.standard_normal((3000, 2))
                    if plant == "width":
                        x = mean + (1 + bias) * (x - mean)
                    u = np.array([np.cos(0.7 * seed), np.sin(0.7 * seed)])
                    pvalues.append(scipy.stats.kstest(x @ u, t.projection_cdf(u)).pvalue)
                caught.append(scipy.stats.combine_pvalues(pvalues, method="fisher").pvalue <= 0.01)
            r = rate(caught)
            label = f"mixture KS, 5 × 3000, {plant}"
            show("langevin", label, bias, r)
            out.append({"section": "langevin", "test": label, "bias": bias} | r)
    res = L.mala(t.gaussian_log_prob(), torch.zeros(32, 2), step_size=0.3, n_steps=2500, generator=t.gen(10),
                 burn_in=200, record=True)
    x = res.trace.double().numpy().transpose(1, 0, 2)
    mu, sigma = t.MU.numpy(), t.SIGMA.numpy()
    for name, series, truth in (("mean x1 (1.0)", x[:, :, 0], mu[0]),
                                ("var x1 (1.0)", (x[:, :, 0] - mu[0]) ** 2, sigma[0, 0]),
                                ("var x2 (0.5)", (x[:, :, 1] - mu[1]) ** 2, sigma[1, 1])):
        err = mean_with_error(series).error
        for bias in BIASES[1:]:
            z = bias * abs(truth) / err
            p = float(scipy.stats.norm.cdf(z - 3) + scipy.stats.norm.cdf(-z - 3))
            label = f"MALA Gaussian 3σ check, {name}, σ = {err:.3f}"
            print(f"{'langevin':9s} {label:58s} {f'bias {100 * bias:.0f}%':16s} {100 * p:5.1f}%  (analytic)")
            out.append({"section": "langevin", "test": label, "bias": bias, "rate": p, "analytic": True})
    return out


def discrete(reps: int, rng: np.random.Generator) -> list[dict]:
    """tests/test_discrete_sampler.py's chi-square of the bond-sum histogram (3×3 Ising, β = 0.4, 4,000
    chains after 100 steps, p < 1e-3).  Here the sampler is part of what is tested, so the bias is planted
    in the chain's coupling (β × (1 + bias)) and the test's own function runs the chains, with seeds
    0..reps − 1; the unadjusted chain (DULA, α = 2) with the exact coupling is the other plant."""
    import test_discrete_sampler as t

    out = []
    plants = [("DMALA α = 0.8, coupling × (1 + bias)", bias, None, {"beta_chain": t.BETA * (1 + bias)})
              for bias in (0.0, 0.03, 0.05)]
    plants.append(("DULA α = 2, exact coupling", 0.0, "no MH test",
                   {"beta_chain": t.BETA, "mh": False, "step_size": 2.0}))
    for label, bias, kind, kwargs in plants:
        r = rate([t.chi2_pvalue(seed=seed, **kwargs) < 1e-3 for seed in range(reps)])
        show("discrete", label, bias, r, kind=kind)
        out.append({"section": "discrete", "test": label, "bias": bias} | r)
    return out


def autoregressive(reps: int, rng: np.random.Generator) -> list[dict]:
    """tests/test_vae_autoregressive.py's chi-square of 200,000 draws over the 512 states of a 3×3 lattice
    against the head's enumerated law (p < 1e-3), with exact independent draws from that law and the most
    probable state's weight raised by the bias."""
    import test_vae_autoregressive as t

    import torch

    probs = t.exact_law(0)
    top = probs == probs.max()
    out = []
    for bias in (0.0, 0.03, 0.05, 0.10):
        law = tilt(probs, top, bias)
        caught = [t.chi2_pvalue(torch.from_numpy(np.bincount(draw(rng, law, t.N_DRAWS), minlength=len(probs))),
                                torch.from_numpy(probs)) < 1e-3 for _ in range(reps)]
        r = rate(caught)
        show("autoreg", "512-state chi-square, most probable state × (1 + bias)", bias, r)
        out.append({"section": "autoregressive", "test": "512-state chi-square", "bias": bias} | r)
    return out


# ------------------------------------------------------------------------------------- thermo
def thermo(reps: int, rng: np.random.Generator) -> list[dict]:
    """ob.thermodynamics on N_THERMO exact L = 4 draws at T = 2.5, 200 bootstraps: the most probable energy
    level × (1 + bias), or the temperature at which |⟨e⟩| is smaller by the bias; decision by
    test_physics_exact._covers (all five estimates within 4 errors)."""
    import test_physics_exact as t
    from physgen.physics import observables as ob
    from physgen.physics.exact import ExactIsing

    ex, T = ExactIsing(4, 2.5), 2.5
    truth = t._thermo_truth(ex)
    levels, p = ex.energy_distribution()
    modal = np.isclose(ex.energies, levels[np.argmax(p)])
    out = []
    n_reps = max(reps // 4, 10)
    for plant in ("one bin", "<e>"):
        for bias in BIASES if plant == "one bin" else BIASES[1:]:
            probs = tilt(ex.probabilities, modal, bias) if plant == "one bin" else \
                ExactIsing(4, hotter(T, bias)).probabilities
            caught = [not t._covers(ob.thermodynamics(ex.states[draw(rng, probs, t.N_THERMO)], T, rng=rng), truth)
                      for _ in range(n_reps)]
            r = rate(caught)
            label = f"thermodynamics vs exact, {t.N_THERMO} draws, {plant}"
            show("thermo", label, bias, r)
            out.append({"section": "thermo", "test": label, "bias": bias} | r)
    return out


# ------------------------------------------------------------------------------------- metrics
def metrics(reps: int, rng: np.random.Generator) -> list[dict]:
    """The null tests of MMD² (800 vs 400, 5 seeds, 3 estimators) and C2ST AUC (600 vs 600, 4 seeds):
    Fisher p of the two-sided z-scores > 0.01.  Plant: the generated side's first feature shifted by
    ``bias`` standard deviations (one observable)."""
    import scipy.stats
    from physgen.metrics import c2st_auc, evaluate_arrays

    out = []
    n_reps = max(reps // 10, 10)
    for bias in BIASES:
        caught_mmd, caught_c2st = [], []
        for _ in range(n_reps):
            seed = int(rng.integers(1 << 31))
            shift = np.r_[bias, 0.0, 0.0]
            pvals = []
            for k in range(5):
                g = np.random.default_rng([seed, k])
                r = evaluate_arrays(g.normal(size=(800, 3)), g.normal(size=(400, 3)) + shift, ["mmd"],
                                    seed=k, n_boot=100)
                pvals += [2 * scipy.stats.norm.sf(abs(r[m]["value"] / r[m]["error"]))
                          for m in ("mmd2_median", "mmd2_multiscale", "kpd")]
            caught_mmd.append(scipy.stats.combine_pvalues(pvals).pvalue <= 0.01)
            pvals = []
            for k in range(4):
                g = np.random.default_rng([seed, 10 + k])
                est = c2st_auc(g.normal(size=(600, 3)), g.normal(size=(600, 3)) + shift, seed=k)
                pvals.append(2 * scipy.stats.norm.sf(abs(est.value - 0.5) / est.error))
            caught_c2st.append(scipy.stats.combine_pvalues(pvals).pvalue <= 0.01)
        for label, caught in (("MMD² null test, 5 × (800 vs 400), mean shift", caught_mmd),
                              ("C2ST AUC null test, 4 × (600 vs 600), mean shift", caught_c2st)):
            r = rate(caught)
            show("metrics", label, bias, r)
            out.append({"section": "metrics", "test": label, "bias": bias} | r)
    return out


# ------------------------------------------------------------------------------------- stats
def stats(reps: int, rng: np.random.Generator) -> list[dict]:
    """test_stats' coverage check (1,000 AR(1) chains, φ = 0.8, 2000 steps; coverage of ±1 error in
    (0.62, 0.74)): the error bars planted too small by the bias."""
    import test_stats as t
    from physgen.stats import mean_with_error

    out = []
    for bias in BIASES:
        caught = []
        for _ in range(max(reps // 2, 10)):
            x = t.ar1(0.8, 2000, 1000, seed=int(rng.integers(1 << 31)))
            z = [e.value / ((1 - bias) * e.error) for e in map(mean_with_error, x)]
            caught.append(not 0.62 < np.mean(np.abs(z) < 1) < 0.74)
        r = rate(caught)
        show("stats", "AR(1) error-bar coverage, 1,000 chains, errors too small", bias, r)
        out.append({"section": "stats", "test": "coverage", "bias": bias} | r)
    return out


# ------------------------------------------------------------------------------------- onsager
def onsager(reps: int, rng: np.random.Generator) -> list[dict]:
    """The tests' own simulations (test_l32_matches_onsager_at_low_and_high_temperature and
    test_metropolis_and_wolff_agree_at_tc, same seeds): each observable's standard error (chain means)
    and tolerance; a bias δ = bias × |value| is caught with probability P(|δ + σZ| > tolerance)."""
    import scipy.stats
    import test_ising_engine as t
    from physgen.data.ising import simulate
    from physgen.physics import observables as ob
    from physgen.physics import onsager as ons

    def power(delta, sigma, tol):
        return float(scipy.stats.norm.sf((tol - delta) / sigma) + scipy.stats.norm.cdf((-tol - delta) / sigma))

    rows = []
    ds = simulate(32, [1.5, 3.5], 2048, chains=128, burn_in=400, thin=10, seed=5)
    for T in (1.5, 3.5):
        e, de = t._mean_and_error(t._chain_means(ds, T, ob.energy_per_spin))
        rows.append((f"L = 32 <e> at T = {T} vs Onsager", abs(ons.energy_per_spin(T)), de, 4 * de + 5e-4))
    m, dm = t._mean_and_error(t._chain_means(ds, 1.5, lambda x: np.abs(ob.magnetization(x))))
    rows.append(("L = 32 <|m|> at T = 1.5 vs Onsager", m, dm, 4 * dm + 5e-4))
    am, dam = t._mean_and_error(t._chain_means(ds, 3.5, lambda x: np.abs(ob.magnetization(x))))
    rows.append(("L = 32 <|m|> at T = 3.5 vs series", am, dam, 4 * dam + 0.03 * am))
    for scale in (1, 16):
        for name, a, da, b, db in t._metropolis_and_wolff_at_tc(scale)[2]:
            sigma = float(np.hypot(da, db))
            rows.append((f"L = 16 Metropolis vs Wolff at Tc ({128 * scale} chains), <{name}>", abs(a), sigma,
                         4 * sigma))
    out = []
    for label, value, sigma, tol in rows:
        for bias in BIASES[1:]:
            p = power(bias * abs(value), sigma, tol)
            print(f"{'onsager':9s} {label:58s} σ {sigma:.1e} tol {tol:.1e} {f'bias {100 * bias:.0f}%':9s}"
                  f" {100 * p:5.1f}%  (analytic)", flush=True)
            out.append({"section": "onsager", "test": label, "bias": bias, "rate": p, "sigma": sigma,
                        "tolerance": tol, "analytic": True})
    return out


# ------------------------------------------------------------------------------------- exact
def exact(reps: int, rng: np.random.Generator) -> list[dict]:
    """Two tests of tests/test_physics_exact.py with fixed tolerances, analytic from the estimators' spread:
    G(r) of 20,000 exact L = 4 draws at T = 2.4 within G_TOL (σ from 30 repeated draws), and ⟨e⟩ of
    exact_ensembles' 4000 L = 3 draws at T = 1.5 and 3.0 within 4 standard errors."""
    import scipy.stats
    import test_physics_exact as t
    from physgen.physics import observables as ob
    from physgen.physics.exact import ExactIsing

    def power(delta, sigma, tol):
        return float(scipy.stats.norm.sf((tol - delta) / sigma) + scipy.stats.norm.cdf((-tol - delta) / sigma))

    ex = ExactIsing(4, 2.4)
    r, g = ex.correlation()
    draws = [ob.correlation_function(ex.states[draw(rng, ex.probabilities, 20000)])[1] for _ in range(30)]
    sd = np.std(draws, axis=0, ddof=1)
    rows = [(f"L = 4 G({k}) = {g[k]:.3f} at T = 2.4, tolerance {t.G_TOL}", g[k], sd[k], t.G_TOL)
            for k in r if k > 0]
    for T in (1.5, 3.0):
        e = ExactIsing(3, T)
        se = float(np.sqrt(e.probabilities @ (e.energies - e.mean_energy) ** 2 / 4000))
        rows.append((f"L = 3 <e> = {e.mean_energy:.3f} at T = {T}, 4 standard errors", e.mean_energy, se, 4 * se))
    out = []
    for label, value, sigma, tol in rows:
        for bias in BIASES[1:]:
            p = power(bias * abs(value), sigma, tol)
            print(f"{'exact':9s} {label:58s} σ {sigma:.1e} tol {tol:.1e} {f'bias {100 * bias:.0f}%':9s}"
                  f" {100 * p:5.1f}%  (analytic)", flush=True)
            out.append({"section": "exact", "test": label, "bias": bias, "rate": p, "sigma": float(sigma),
                        "tolerance": float(tol), "analytic": True})
    return out


# ------------------------------------------------------------------------------------- compare
def compare(reps: int, rng: np.random.Generator) -> list[dict]:
    """tests/test_compare.py's AUC rule, |new − recorded| > 3σ + tol (σ: the recorded and new DeLong errors in
    quadrature), for every cell of benchmarks/compare_quick_reference.json: a true AUC shift Δ, the new AUC
    drawn around it with the recorded error, is caught with Φ((Δ − lim)/e) + Φ((−Δ − lim)/e) (analytic)."""
    import scipy.stats

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import compare as c

    reference = json.loads(c.REFERENCE.read_text())
    tol = c.regressions.__kwdefaults__["auc_tol"]
    out = []
    for data, cells in reference["results"].items():
        for family, metrics in cells.items():
            value, e = metrics["c2st_auc"]["value"], metrics["c2st_auc"]["error"]
            limit = tol + 3 * np.hypot(e, e)
            for delta in (0.05, 0.1, 0.2):
                p = (float(scipy.stats.norm.cdf((delta - limit) / e) + scipy.stats.norm.cdf((-delta - limit) / e))
                     if e > 0 else float(delta > limit))
                label = f"{data} {family}: AUC {value:.3f} ± {e:.3f}, limit ±{limit:.3f}"
                print(f"{'compare':9s} {label:58s} {f'shift {delta:g}':9s} {100 * p:5.1f}%  (analytic)", flush=True)
                out.append({"section": "compare", "test": f"{data} {family}", "shift": delta, "rate": p,
                            "limit": float(limit), "analytic": True})
    return out


SECTIONS = {"ising": ising, "gibbs": gibbs, "langevin": langevin, "discrete": discrete,
            "autoregressive": autoregressive, "thermo": thermo, "metrics": metrics, "stats": stats,
            "onsager": onsager, "exact": exact, "compare": compare}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sections", nargs="*", choices=[[], *SECTIONS], default=[], metavar="SECTION",
                    help=f"any of {', '.join(SECTIONS)} (default: all)")
    ap.add_argument("--reps", type=int, default=200, help="repetitions per bias (default 200)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, help="write the figures to this file")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore", RuntimeWarning)      # log(0) in Fisher's method: p = 0 is a catch
    rows = []
    for name in args.sections or list(SECTIONS):
        start = time.perf_counter()
        rows += SECTIONS[name](args.reps, np.random.default_rng([args.seed, list(SECTIONS).index(name)]))
        print(f"{name}: {time.perf_counter() - start:.0f} s", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
