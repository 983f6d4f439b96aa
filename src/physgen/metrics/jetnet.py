"""JetNet's metrics for particle clouds: W1 of the jet mass, of the particle features and of energy-flow
polynomials, and the Fréchet and kernel physics distances (FPD, KPD) on energy-flow polynomials.

Inputs are point clouds ``(N, P, F)`` with a mask ``(N, P)`` whose first three particle features (or those
named ``eta_rel``, ``phi_rel``, ``pt_rel``) are JetNet's relative coordinates.  Definitions (Kansal et al.
2021, 2023):

- jet mass: the invariant mass of the sum of the particles taken massless, from (p_T,rel, η_rel, φ_rel):
  the jet mass over the jet p_T, m/p_T,jet;
- energy-flow polynomials (Komiske, Metodiev, Thaler 2018): for a multigraph G with vertices V and edges E,
  EFP_G = Σ_{i_1…i_|V|} z_{i_1} ⋯ z_{i_|V|} Π_{(k,l) ∈ E} θ_{i_k i_l}, with z_i = p_T,i (hadronic measure,
  here p_T,rel) and θ_ij = (Δη² + Δφ²)^{β/2}, β = 1; a disconnected graph's EFP is the product of its
  components'.  :func:`efp_graphs` lists every multigraph with 0 … d edges (d ≤ 4: 36 graphs, the set JetNet's
  FPD and KPD use); W1-EFP uses the five connected graphs with four vertices and four edges;
- W1: the 1-Wasserstein distance of the one-dimensional distributions (``scipy.stats.wasserstein_distance``),
  mean and standard deviation over ``n_batches`` samples of ``min(n, 50 000)`` jets drawn with replacement
  from each side (JetNet's protocol); W1-p and W1-EFP are the means over their features;
- FPD: the Fréchet distance of Gaussian fits to the EFPs (each divided by its largest |value| in the real
  sample), extrapolated to infinitely many jets by a straight line in 1/N over 10 subset sizes evenly spaced
  in 1/N between 20 000 and 50 000 jets (at most 0.8 n with n jets given), subsets drawn *without* replacement
  (:func:`physgen.metrics.frechet.fpd`);
- KPD: the unbiased MMD² with the polynomial kernel (x·y/d + 1)⁴ on the same normalised EFPs, over
  ``n_batches`` = 10 batches of ``min(n/2, 5 000)`` jets each drawn without replacement; the value is the
  median over batches, the error half the 16–84 % inter-quantile range.

Every metric is computed between real half A and generated F, and as its floor between real halves A and B
of the same size (:mod:`physgen.metrics.floors`).

References: R. Kansal et al., "Particle Cloud Generation with Message Passing Generative Adversarial
Networks", NeurIPS 2021, arXiv:2106.11535; R. Kansal et al., "Evaluating generative models in high energy
physics", Phys. Rev. D 107 (2023) 076017, arXiv:2211.10295; P. T. Komiske, E. M. Metodiev, J. Thaler,
"Energy flow polynomials: a complete linear basis for jet substructure", JHEP 04 (2018) 013, arXiv:1712.07124.
"""
from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np

from physgen.errors import UserError

METRICS = ("w1m", "w1p", "w1efp", "fpd", "kpd")
RELATIVE = ("eta_rel", "phi_rel", "pt_rel")
W1_SAMPLES, W1_BATCHES = 50_000, 5
FPD_SIZES, FPD_POINTS, FPD_BATCHES = (20_000, 50_000), 10, 20
KPD_SIZE, KPD_BATCHES = 5_000, 10
EFP_BLOCK = 1024   # jets per block when computing EFPs


# ------------------------------------------------------------------------------------------- particles
def relative_coordinates(samples: np.ndarray, names: list[str] | None) -> np.ndarray:
    """``(N, P, 3)`` η_rel, φ_rel, p_T,rel: the features named so, else the first three."""
    x = np.asarray(samples, dtype=np.float64)
    if names is not None and all(n in names for n in RELATIVE):
        return x[..., [names.index(n) for n in RELATIVE]]
    if x.shape[-1] < 3:
        raise UserError(f"jet metrics need (η_rel, φ_rel, p_T,rel) particle features, the files have {x.shape[-1]}")
    return x[..., :3]


def jet_mass(rel: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``(N,)`` invariant mass over jet p_T of massless particles ``(N, P, 3)`` (η_rel, φ_rel, p_T,rel)."""
    eta, phi, pt = (rel[..., k] * mask for k in range(3))
    e, px, py, pz = (np.sum(v, axis=1) for v in (pt * np.cosh(eta), pt * np.cos(phi), pt * np.sin(phi),
                                                 pt * np.sinh(eta)))
    return np.sqrt(np.clip(e ** 2 - px ** 2 - py ** 2 - pz ** 2, 0.0, None))


# ------------------------------------------------------------------------------------- EFP graphs
def _connected(edges: tuple[tuple[int, int], ...], n: int) -> bool:
    parent = list(range(n))

    def root(a: int) -> int:
        while parent[a] != a:
            a = parent[a]
        return a
    for a, b in edges:
        parent[root(a)] = root(b)
    return len({root(v) for v in range(n)}) == 1


def _canonical(edges, n: int) -> tuple[tuple[int, int], ...]:
    """The lexicographically smallest sorted edge list over all relabellings of the ``n`` vertices."""
    return min(tuple(sorted(tuple(sorted((p[a], p[b]))) for a, b in edges))
               for p in itertools.permutations(range(n)))


@lru_cache(maxsize=None)
def connected_graphs(max_edges: int = 4) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Every connected multigraph without self-loops with 1 … ``max_edges`` edges, up to isomorphism, as
    sorted edge lists on vertices 0 … n−1; ordered by edges, then vertices, then edge list."""
    found = set()
    for d in range(1, max_edges + 1):
        for n in range(2, d + 2):
            for edges in itertools.combinations_with_replacement(itertools.combinations(range(n), 2), d):
                if len({v for e in edges for v in e}) == n and _connected(edges, n):
                    found.add(_canonical(edges, n))
    return tuple(sorted(found, key=lambda g: (len(g), 1 + max(max(e) for e in g), g)))


@lru_cache(maxsize=None)
def efp_graphs(max_edges: int = 4) -> tuple[tuple[int, ...], ...]:
    """Every multigraph with 0 … ``max_edges`` edges as a multiset of indices into
    :func:`connected_graphs` (its connected components with at least one edge); ``()`` is the graph of one
    vertex and no edge (EFP = Σ z)."""
    conn = connected_graphs(max_edges)
    out = [()]
    for k in range(1, max_edges + 1):
        for combo in itertools.combinations_with_replacement(range(len(conn)), k):
            if sum(len(conn[i]) for i in combo) <= max_edges:
                out.append(combo)
    return tuple(sorted(out, key=lambda c: (sum(len(conn[i]) for i in c), len(c), c)))


def w1efp_graphs() -> list[int]:
    """Indices into :func:`connected_graphs` of the connected graphs with 4 vertices and 4 edges (W1-EFP's)."""
    return [i for i, g in enumerate(connected_graphs(4)) if len(g) == 4 and 1 + max(max(e) for e in g) == 4]


def _graph_efp(edges, z: np.ndarray, theta: dict[int, np.ndarray]) -> np.ndarray:
    """EFP of one connected graph for a block of jets: ``z`` ``(B, P)``, ``theta[m]`` = θ^m ``(B, P, P)``."""
    n = 1 + max(max(e) for e in edges)
    letters = "ijklmnopqr"
    counts: dict[tuple[int, int], int] = {}
    for e in edges:
        counts[e] = counts.get(e, 0) + 1
    terms = [f"a{letters[v]}" for v in range(n)] + [f"a{letters[a]}{letters[b]}" for a, b in counts]
    ops = [z] * n + [theta[m] for m in counts.values()]
    return np.einsum(",".join(terms) + "->a", *ops, optimize="greedy")


def efps(rel: np.ndarray, mask: np.ndarray, *, max_edges: int = 4, beta: float = 1.0,
         graphs: list[int] | None = None) -> np.ndarray:
    """Energy-flow polynomials ``(N, G)`` of jets ``(N, P, 3)`` (η_rel, φ_rel, p_T,rel) with mask ``(N, P)``:
    every graph of :func:`efp_graphs` (``graphs=None``), or the connected graphs with the given indices."""
    conn = connected_graphs(max_edges)
    wanted = list(range(len(conn))) if graphs is None else list(graphs)
    out_conn = np.empty((len(rel), len(conn)))
    total = np.empty(len(rel))
    for start in range(0, len(rel), EFP_BLOCK):
        r, m = rel[start:start + EFP_BLOCK], mask[start:start + EFP_BLOCK].astype(np.float64)
        z = r[..., 2] * m
        d_eta = r[:, :, None, 0] - r[:, None, :, 0]
        d_phi = r[:, :, None, 1] - r[:, None, :, 1]
        t1 = (d_eta ** 2 + d_phi ** 2) ** (beta / 2)
        theta = {1: t1, 2: t1 ** 2, 3: t1 ** 3, 4: t1 ** 4}
        total[start:start + len(r)] = z.sum(axis=1)
        for i in wanted:
            out_conn[start:start + len(r), i] = _graph_efp(conn[i], z, theta)
    if graphs is not None:
        return out_conn[:, wanted]
    return np.stack([total if not c else np.prod(out_conn[:, list(c)], axis=1) for c in efp_graphs(max_edges)],
                    axis=1)


# ------------------------------------------------------------------------------------------ metrics
def w1_batches(x: np.ndarray, y: np.ndarray, *, n_eval: int = W1_SAMPLES, n_batches: int = W1_BATCHES,
               rng: np.random.Generator | int = 0, x_parts: list | None = None,
               y_parts: list | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation over ``n_batches`` of the per-column W1 between ``min(n_eval, len)`` rows
    of ``x`` ``(N, k)`` and of ``y`` ``(M, k)`` drawn with replacement (JetNet's protocol).  With
    ``x_parts``/``y_parts`` (one ``(n_i, k)`` array per row, e.g. a jet's particles) the rows drawn select
    those parts, which are pooled."""
    from scipy.stats import wasserstein_distance

    rng = np.random.default_rng(rng)
    n = min(int(n_eval), len(x), len(y))
    values = []
    for _ in range(n_batches):
        ix, iy = rng.integers(0, len(x), n), rng.integers(0, len(y), n)
        a = x[ix] if x_parts is None else np.concatenate([x_parts[i] for i in ix])
        b = y[iy] if y_parts is None else np.concatenate([y_parts[i] for i in iy])
        values.append([wasserstein_distance(a[:, k], b[:, k]) if len(a) and len(b) else np.inf
                       for k in range(a.shape[1])])
    values = np.asarray(values)
    return values.mean(axis=0), values.std(axis=0)


def normalise(reference: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Every array divided column-wise by the largest |value| of ``reference`` (1 for an all-zero column)."""
    scale = np.max(np.abs(reference), axis=0)
    scale[scale == 0] = 1.0
    return [reference / scale, *(o / scale for o in others)]


def fpd_sizes(n: int, sizes: tuple[int, int] = FPD_SIZES, points: int = FPD_POINTS) -> list[int]:
    """Subset sizes evenly spaced in 1/N between ``sizes``, the largest at most 0.8 ``n`` (so that subsets
    drawn without replacement differ), the smallest then at most 0.4 times the largest."""
    hi = min(sizes[1], max(3, int(0.8 * n)))
    lo = min(sizes[0], max(2, int(0.4 * hi)))
    return sorted({int(s) for s in 1.0 / np.linspace(1.0 / lo, 1.0 / hi, points)})


def fpd_efp(x: np.ndarray, y: np.ndarray, *, n_batches: int = FPD_BATCHES, rng=0) -> dict:
    """FPD between EFP arrays ``x`` (real) and ``y``: normalised by ``x``'s column maxima, then
    :func:`physgen.metrics.frechet.fpd` at :func:`fpd_sizes`."""
    from physgen.metrics.frechet import fpd

    x, y = normalise(x, y)
    return fpd(x, y, sizes=fpd_sizes(min(len(x), len(y))), n_batches=n_batches, rng=rng)


def kpd_efp(x: np.ndarray, y: np.ndarray, *, batch_size: int = KPD_SIZE, n_batches: int = KPD_BATCHES,
            rng=0) -> dict:
    """KPD between EFP arrays: median and half the 16–84 % range of the unbiased polynomial-kernel MMD² over
    ``n_batches`` batches of ``min(batch_size, n // 2)`` rows per side drawn without replacement (at most half
    the rows, so that batches differ)."""
    import torch

    from physgen.metrics.mmd import kpd

    x, y = normalise(x, y)
    rng = np.random.default_rng(rng)
    n = min(int(batch_size), len(x) // 2, len(y) // 2)
    if n < 2:
        raise UserError("KPD needs at least 2 jets per side")
    vals = [kpd(x[rng.choice(len(x), n, replace=False)], y[rng.choice(len(y), n, replace=False)],
                dtype=torch.float64) for _ in range(n_batches)]
    lo, hi = np.percentile(vals, [16, 84])
    return {"value": float(np.median(vals)), "error": float((hi - lo) / 2), "batches": vals, "batch_size": n}


class _Views:
    """Per-split arrays the jet metrics share (computed once): relative coordinates, masks, jet masses, EFPs."""

    def __init__(self, ctx):
        self.ctx = ctx
        self._cache: dict = {}

    def rel(self, which: str) -> tuple[np.ndarray, np.ndarray]:
        ds, rows = self._side(which)
        key = ("rel", which)
        if key not in self._cache:
            self._cache[key] = (relative_coordinates(ds.samples[rows], ds.feature_names),
                                np.asarray(ds.mask[rows], dtype=bool))
        return self._cache[key]

    def _side(self, which: str):
        s = self.ctx.split
        return {"a": (self.ctx.real, s.a), "b": (self.ctx.real, s.b), "f": (self.ctx.fake, s.f)}[which]

    def get(self, name: str, which: str) -> np.ndarray:
        key = (name, which)
        if key not in self._cache:
            rel, mask = self.rel(which)
            self._cache[key] = {"mass": lambda: jet_mass(rel, mask)[:, None],
                                "efp": lambda: efps(rel, mask),
                                "efp4": lambda: efps(rel, mask, graphs=w1efp_graphs())}[name]()
        return self._cache[key]


def _views(ctx) -> _Views:
    if "jetnet" not in ctx.cache:
        ctx.cache["jetnet"] = _Views(ctx)
    return ctx.cache["jetnet"]


def _w1_entry(ctx, name: str, what: str, names: list[str], tag: int, **kw) -> dict:
    from physgen.metrics.compute import _base_protocol, _per_feature, entry
    from physgen.stats import Estimate

    v = _views(ctx)
    if what == "particles":
        parts = {w: [r[m] for r, m in zip(*v.rel(w))] for w in "abf"}
        x = {w: np.zeros((len(parts[w]), 3)) for w in "abf"}
        val = w1_batches(x["a"], x["f"], x_parts=parts["a"], y_parts=parts["f"], rng=ctx.rng(tag), **kw)
        flo = w1_batches(x["a"], x["b"], x_parts=parts["a"], y_parts=parts["b"], rng=ctx.rng(tag + 1), **kw)
    else:
        val = w1_batches(v.get(what, "a"), v.get(what, "f"), rng=ctx.rng(tag), **kw)
        flo = w1_batches(v.get(what, "a"), v.get(what, "b"), rng=ctx.rng(tag + 1), **kw)
    z = _z(ctx.cfg.level)

    def est(mean, std):
        m, s = float(np.mean(mean)), float(np.sqrt(np.mean(std ** 2)))
        return Estimate(m, s, m - z * s, m + z * s, ctx.cfg.level, 0)
    n = min(W1_SAMPLES, ctx.split.n)
    protocol = _base_protocol(ctx, method=f"JetNet W1: mean ± std over {W1_BATCHES} batches of {n} jets per side "
                                          "drawn with replacement" + ("; mean over features" if len(names) > 1 else ""),
                              inputs=what)
    extra = {"per_feature": _per_feature(names, val[0], flo[0])} if len(names) > 1 else {}
    return {name: entry(est(*val), est(*flo), protocol, **extra)}


def _z(level: float) -> float:
    import scipy.stats
    return float(scipy.stats.norm.ppf(0.5 + level / 2))


def _distance_entry(ctx, name: str, tag: int) -> dict:
    from physgen.metrics.compute import _base_protocol, entry
    from physgen.stats import Estimate

    v = _views(ctx)
    a, b, f = (v.get("efp", w) for w in "abf")
    z = _z(ctx.cfg.level)
    if name == "fpd":
        val, flo = fpd_efp(a, f, rng=ctx.rng(tag)), fpd_efp(a, b, rng=ctx.rng(tag + 1))
        more = {"sizes": val["sizes"], "n_batches": val["n_batches"], "slope": val["slope"],
                "method": "Fréchet distance on EFPs (d <= 4, normalised by real A's max |EFP|), extrapolated "
                          "linearly in 1/N; subsets drawn without replacement"}
    else:
        val, flo = kpd_efp(a, f, rng=ctx.rng(tag)), kpd_efp(a, b, rng=ctx.rng(tag + 1))
        more = {"batch_size": val["batch_size"], "n_batches": len(val["batches"]),
                "method": "median over batches of the unbiased MMD^2 with kernel (x.y/d + 1)^4 on normalised EFPs "
                          "(d <= 4); error = half the 16-84 % range; batches drawn without replacement"}

    def est(r):
        return Estimate(r["value"], r["error"], r["value"] - z * r["error"], r["value"] + z * r["error"],
                        ctx.cfg.level, 0)
    return {name: entry(est(val), est(flo), _base_protocol(ctx, n_efps=int(a.shape[1]), **more))}


def _needs(ctx, name: str, minimum: int):
    from physgen.metrics.compute import _skipped

    if ctx.split.n < minimum:
        return {name: _skipped(ctx, name, f"needs at least {minimum} jets per side")}
    return None


METRIC_FUNCTIONS = {
    "w1m": lambda ctx: _needs(ctx, "w1m", 2) or _w1_entry(ctx, "w1m", "mass", ["jet_mass"], 200),
    "w1p": lambda ctx: _needs(ctx, "w1p", 2) or _w1_entry(ctx, "w1p", "particles", list(RELATIVE), 210),
    "w1efp": lambda ctx: _needs(ctx, "w1efp", 2) or _w1_entry(
        ctx, "w1efp", "efp4", [f"efp_{'-'.join(f'{a}{b}' for a, b in connected_graphs(4)[i])}"
                               for i in w1efp_graphs()], 220),
    "fpd": lambda ctx: _needs(ctx, "fpd", 8) or _distance_entry(ctx, "fpd", 230),
    "kpd": lambda ctx: _needs(ctx, "kpd", 8) or _distance_entry(ctx, "kpd", 240),
}
