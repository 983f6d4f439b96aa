"""One function per requested metric: ``f(ctx) -> {entry_name: entry}`` (used by :func:`evaluate`).

Each entry has ``value``/``error``/``ci_low``/``ci_high`` (real A vs fake F), ``floor``/``floor_error``/
``floor_ci_low``/``floor_ci_high`` (real A vs real B, same size), ``per_feature`` where it applies and
``protocol``.  Errors are bootstrap standard deviations (:func:`physgen.stats.bootstrap`) except for the
C2ST (DeLong), the FPD (fit of the 1/N extrapolation) and the observables (χ²/dof).
"""
from __future__ import annotations

import math

import numpy as np

from physgen.metrics import divergences as dv
from physgen.metrics import floors
from physgen.stats import Estimate, bootstrap


def entry(value: Estimate, floor: Estimate, protocol: dict, **extra) -> dict:
    """A metrics.json entry from the value and floor estimates."""
    out = value.to_json()
    f = floor.to_json()
    out.update({"floor": f["value"], "floor_error": f["error"], "floor_ci_low": f["ci_low"],
                "floor_ci_high": f["ci_high"]})
    out.update(extra)
    out["protocol"] = protocol
    return out


def _boot(ctx, statistic, x, y, tag: int) -> Estimate:
    return bootstrap(statistic, x, y, n_boot=ctx.cfg.n_boot, level=ctx.cfg.level, rng=ctx.rng(tag))


def _per_feature(names, values, floor_values) -> dict:
    return {n: {"value": float(v), "floor": float(f)} for n, v, f in zip(names, values, floor_values)}


def _base_protocol(ctx, n: int | None = None, **more) -> dict:
    return {"n_real": int(n or ctx.split.n), "n_fake": int(n or ctx.split.n), "seed": ctx.seed,
            "n_boot": ctx.cfg.n_boot, "level": ctx.cfg.level,
            "split": "real A vs fake F; floor real A vs real B (disjoint halves, equal sizes"
                     + (", stratified by temperature)" if ctx.temperatures else ")"), **more}


def histogram_metrics(ctx, which: str) -> dict:
    """``kl``/``js`` per feature (mean over features) and ``kl_2d``/``js_2d`` over feature pairs."""
    cfg, k = ctx.cfg, 0 if which == "kl" else 1
    a, b, f = ctx.tab()
    nb = cfg.bins + 2
    edges = dv.histogram_edges(ctx.tab_real, cfg.bins)
    ia, ib, jf = (dv.feature_bins(x, edges) for x in (a, b, f))

    def full(x, y):
        return dv.kl_js_from_counts(dv.binned_counts(x, nb), dv.binned_counts(y, nb), cfg.alpha)[k]

    def stat(x, y):
        return float(full(x, y).mean())
    binning = {"bins": cfg.bins, "edges": "equal width over the full real sample's range, per feature, "
               "plus underflow and overflow bins", "empty_bins": f"pseudo-count {cfg.alpha} added to every bin "
               "of both histograms", "direction": "KL(real || fake)" if which == "kl" else "symmetric",
               "units": "nats", "aggregate": "mean over features"}
    out = {which: entry(_boot(ctx, stat, ia, jf, 10 + k), _boot(ctx, stat, ia, ib, 12 + k),
                        _base_protocol(ctx, **binning),
                        per_feature=_per_feature(ctx.names, full(ia, jf), full(ia, ib)))}
    tabular = ctx.real.kind in ("continuous", "spins", "categorical")
    pairs = dv.feature_pairs(len(edges), cfg.max_pair_features) if tabular else []
    if pairs:
        out[f"{which}_2d"] = _pair_entry(ctx, which, k, pairs, (a, b, f))
    return out


def _pair_entry(ctx, which, k, pairs, parts) -> dict:
    cfg = ctx.cfg
    nb = cfg.bins_2d + 2
    edges = dv.histogram_edges(ctx.tab_real, cfg.bins_2d)
    pa, pb, pf = (dv.pair_bins(dv.feature_bins(x, edges), pairs, nb) for x in parts)
    counts = lambda x: dv.binned_counts(x, nb * nb)  # noqa: E731
    stat = lambda x, y: float(dv.kl_js_from_counts(counts(x), counts(y), cfg.alpha)[k].mean())  # noqa: E731
    vals = dv.kl_js_from_counts(counts(pa), counts(pf), cfg.alpha)[k]
    flos = dv.kl_js_from_counts(counts(pa), counts(pb), cfg.alpha)[k]
    pair_names = [f"{ctx.names[i]}|{ctx.names[j]}" for i, j in pairs]
    protocol = _base_protocol(ctx, bins=f"{cfg.bins_2d}x{cfg.bins_2d} (+ under/overflow per axis)",
                              empty_bins=f"pseudo-count {cfg.alpha}", units="nats",
                              aggregate="mean over feature pairs",
                              pairs=f"all pairs of the first {cfg.max_pair_features} features")
    return entry(_boot(ctx, stat, pa, pf, 14 + k), _boot(ctx, stat, pa, pb, 16 + k), protocol,
                 per_feature=_per_feature(pair_names, vals, flos))


def w1_metrics(ctx) -> dict:
    """Per-feature W1 (mean over features) and sliced W1 on random unit directions."""
    from physgen.metrics.wasserstein import random_directions, w1_equal_size, wasserstein

    a, b, f = ctx.tab()
    stat = lambda x, y: float(w1_equal_size(x, y).mean())  # noqa: E731
    per = _per_feature(ctx.names, wasserstein(a, f), wasserstein(a, b))
    out = {"w1": entry(_boot(ctx, stat, a, f, 20), _boot(ctx, stat, a, b, 21),
                       _base_protocol(ctx, method="scipy.stats.wasserstein_distance per feature",
                                      aggregate="mean over features"), per_feature=per)}
    theta = random_directions(a.shape[1], ctx.cfg.n_projections, ctx.rng(22))
    pa, pb, pf = a @ theta, b @ theta, f @ theta
    out["sliced_w1"] = entry(_boot(ctx, stat, pa, pf, 23), _boot(ctx, stat, pa, pb, 24),
                             _base_protocol(ctx, n_projections=ctx.cfg.n_projections,
                                            directions="uniform on the unit sphere, seeded"))
    return out


def mmd_metrics(ctx) -> dict:
    """The course MMD, unbiased MMD² (median / multi-bandwidth Gaussian) and KPD, with group bootstrap."""
    from physgen.metrics.mmd import as_tensor, mmd_terms, self_sums, standard_kernels

    cfg = ctx.cfg
    split = floors.subsample(ctx.split, cfg.max_samples)
    a, b, f = ctx.conf(split)
    standardised = ctx.real.kind == "continuous"
    if standardised:
        mu, sd = a.mean(0), a.std(0)
        sd = np.where(sd > 0, sd, 1.0)
        a, b, f = ((x - mu) / sd for x in (a, b, f))
    kernels = standard_kernels(a, sigma=cfg.sigma, rng=ctx.rng(30))
    klist = list(kernels.values())
    n = split.n
    group = max(1, math.ceil(n / cfg.mmd_groups))
    ta, tb, tf = (as_tensor(x) for x in (a, b, f))
    sa = self_sums(ta, klist, group_size=group)
    terms_f = mmd_terms(ta, tf, klist, group_size=group, x_sums=sa)
    terms_b = mmd_terms(ta, tb, klist, group_size=group, x_sums=sa)
    groups = (np.arange(len(terms_f.size_x)), np.arange(len(terms_f.size_y)))
    out = {}
    for k, (name, kernel) in enumerate(kernels.items()):
        unbiased = name != "mmd"
        if unbiased and n < 2:
            out[name] = _skipped(ctx, name, "needs at least 2 samples per side")
            continue
        ests = [_boot(ctx, _group_stat(t, k, unbiased), *groups, 31 + 2 * k + i)
                for i, t in enumerate((terms_f, terms_b))]
        protocol = _base_protocol(ctx, n, **kernel.describe(), standardised=standardised,
                                  estimator="unbiased MMD^2 (U-statistic)" if unbiased
                                  else "sqrt(max(0, mean Kxx + mean Kyy - 2 mean Kxy)) (V-statistic)",
                                  bandwidth=_bandwidth_note(name, cfg.sigma),
                                  bootstrap=f"group bootstrap over {len(groups[0])} random row groups")
        out[name] = entry(ests[0], ests[1], protocol)
    return out


def _group_stat(terms, k: int, unbiased: bool):
    gx, gy = len(terms.size_x), len(terms.size_y)

    def stat(ix, iy):
        return terms.estimate(k, unbiased=unbiased, counts_x=np.bincount(ix, minlength=gx),
                              counts_y=np.bincount(iy, minlength=gy))
    return stat


def _bandwidth_note(name: str, sigma: float) -> str:
    return {"mmd": f"2 sigma^2 Dbar with sigma={sigma}, Dbar = mean pairwise squared distance of real A",
            "mmd2_median": "h = median pairwise distance of real A (<= 1000 random rows)",
            "mmd2_multiscale": "mean of Gaussians with h x {1/4, 1/2, 1, 2, 4}",
            "kpd": "polynomial (x.y/d + 1)^4"}[name]


def fpd_metrics(ctx) -> dict:
    """Fréchet distance of Gaussian fits extrapolated to N → ∞ (Kansal et al. 2023)."""
    from physgen.metrics.frechet import fpd

    a, b, f = ctx.tab()
    if ctx.split.n < 8:
        return {"fpd": _skipped(ctx, "fpd", "needs at least 8 samples per side")}
    val = fpd(a, f, n_batches=ctx.cfg.fpd_batches, rng=ctx.rng(40))
    flo = fpd(a, b, n_batches=ctx.cfg.fpd_batches, rng=ctx.rng(41))
    z = _z(ctx.cfg.level)

    def est(r: dict) -> Estimate:
        return Estimate(r["value"], r["error"], r["value"] - z * r["error"], r["value"] + z * r["error"],
                        ctx.cfg.level, 0)
    protocol = _base_protocol(ctx, sizes=val["sizes"], n_batches=val["n_batches"],
                              method="FD(N) = FD_inf + b/N fitted by weighted least squares; error from the fit",
                              slope=val["slope"], floor_slope=flo["slope"])
    return {"fpd": entry(est(val), est(flo), protocol)}


def c2st_metrics(ctx) -> dict:
    """Classifier two-sample test AUC (DeLong interval)."""
    from physgen.metrics.c2st import c2st_auc

    split = floors.subsample(ctx.split, ctx.cfg.max_samples)
    if split.n < 4:
        return {"c2st_auc": _skipped(ctx, "c2st_auc", "needs at least 4 samples per side")}
    a, b, f = ctx.conf(split) if ctx.real.kind != "continuous" else ctx.tab(split)
    kw = dict(seed=ctx.seed, test_fraction=ctx.cfg.test_fraction, classifier=ctx.cfg.classifier,
              level=ctx.cfg.level)
    protocol = _base_protocol(ctx, split.n, classifier=ctx.cfg.classifier, test_fraction=ctx.cfg.test_fraction,
                              error="DeLong standard error on the held-out split",
                              inputs="features" if ctx.real.kind == "continuous" else "flattened samples")
    return {"c2st_auc": entry(c2st_auc(a, f, **kw), c2st_auc(a, b, **kw), protocol)}


def observables_metrics(ctx) -> dict:
    """Per-temperature thermodynamics, real vs fake, with half-vs-half floors; χ²/dof summary."""
    from physgen.metrics import observables as ob
    from physgen.physics.observables import sampling_of

    if not ctx.temperatures:
        return {"observables": _skipped(ctx, "observables", "no /conditions/temperature in the files")}
    if ctx.real.kind == "field":
        return field_metrics(ctx)
    from physgen.lattice.registry import model_of

    model = model_of(ctx.real)
    per_t = {}
    for i, t in enumerate(ctx.temperatures):
        rows = {"real": floors.rows_at(ctx.real, t), "fake": floors.rows_at(ctx.fake, t)}
        ds = {"real": ctx.real, "fake": ctx.fake}
        kw = {f"{k}_sampling": sampling_of(ds[k], t, rows[k], model=model,
                                           unrecorded="estimate" if k == "real" else "independent") for k in ds}
        kw.update({f"{k}_log_weights": None if ds[k].log_weights is None else ds[k].log_weights[rows[k]] for k in ds})
        per_t[ob.temperature_key(t)] = ob.compare_at_temperature(ds["real"].samples[rows["real"]],
                                                                  ds["fake"].samples[rows["fake"]], t,
                                                                  n_boot=ctx.cfg.n_boot, rng=ctx.rng(100 + i),
                                                                  model=model, **kw)
    summary = ob.summarise(per_t)
    protocol = {"seed": ctx.seed, "n_boot": ctx.cfg.n_boot,
                "J": float(model.values.get("J", 1.0)) if model is not None else 1.0,
                "h": model.h if model is not None else 0.0,
                "value": "chi2/dof = mean z^2 of (fake - real)/error over temperatures and observables",
                "floor": "same between two disjoint halves of the real configurations at each temperature "
                         "(whole Markov chains to each half)",
                "errors": "block bootstrap over blocks of ceil(4 tau_int) - 1 consecutive stored samples of one "
                          "chain (Carlstein 1986, Kunsch 1989), tau_int of e for energy and C, of |m| for |m|, chi "
                          "and U4, from the file's attributes (real files without them: measured on the rows; "
                          "generated files without them: independent rows), corrected for the correlation "
                          "across block boundaries under an exponential autocorrelation; weighted files "
                          "(log_weights): weighted averages and weighted bootstrap",
                "observables": list(ob.OBSERVABLES)}
    return {"observables": {**summary, "ci_low": None, "ci_high": None, "by_temperature": per_t,
                            "protocol": protocol}}


def field_metrics(ctx) -> dict:
    """Per-temperature field observables, real vs fake, with half-vs-half floors; χ²/dof summary."""
    from physgen.metrics import observables as ob
    from physgen.metrics.field_compare import FIELD_OBSERVABLES, compare_fields

    per_t = {ob.temperature_key(t): compare_fields(ctx.real.samples[floors.rows_at(ctx.real, t)],
                                                   ctx.fake.samples[floors.rows_at(ctx.fake, t)])
             for t in ctx.temperatures}
    protocol = {"seed": ctx.seed, "observables": list(FIELD_OBSERVABLES),
                "value": "chi2/dof = mean z^2 of (fake - real)/error over temperatures and observables",
                "floor": "same between the first and second half of the real rows at each temperature",
                "errors": "blocked jackknife over 20 blocks of rows in file order (physgen.lattice.field_observables)"}
    return {"observables": {**ob.summarise(per_t), "ci_low": None, "ci_high": None, "by_temperature": per_t,
                            "protocol": protocol}}


def _skipped(ctx, name: str, reason: str) -> dict:
    ctx.warn(f"{name}: skipped ({reason})")
    return {"value": None, "error": None, "ci_low": None, "ci_high": None, "floor": None, "skipped": reason,
            "protocol": _base_protocol(ctx)}


def _z(level: float) -> float:
    import scipy.stats
    return float(scipy.stats.norm.ppf(0.5 + level / 2))


METRIC_FUNCTIONS = {
    "kl": lambda ctx: histogram_metrics(ctx, "kl"),
    "js": lambda ctx: histogram_metrics(ctx, "js"),
    "mmd": mmd_metrics,
    "w1": w1_metrics,
    "fpd": fpd_metrics,
    "c2st": c2st_metrics,
    "observables": observables_metrics,
}
