"""A fast held-out quality probe for training: one headline number beside its real-data floor.

The trainer builds one :class:`QualityProbe` from the held-out (validation) rows, asks it what to generate
(:meth:`QualityProbe.requests`), scores the generated samples (:meth:`QualityProbe.score`, lower is better)
and prints :meth:`QualityProbe.verdict`.  Everything the probe needs from the held-out set (binning, kernel
bandwidth and matrix, observables, the floor) is computed once, so a call to ``score`` repeats none of that
work (its time: benchmarks/records/training.md).

Metric by data kind (samples in data space, ``(N, *shape)``):

* ``continuous`` (tabular features ``(N, d)``): per feature j, the histogram ``KL_j(held-out ‖ fake)`` in
  nats (:func:`physgen.metrics.divergences.kl_js_from_counts`: pseudo-count ½ per bin) on equal-mass bins
  cut at held-out quantiles, ``B = clip(n_half // 50, 5, 20)`` bins plus under- and overflow (quantile
  bins resolve heavy-tailed physics spectra where equal-width bins would put most events in one bin),
  and ``W1_j / sd_j``, the 1-D Wasserstein-1 distance (:func:`physgen.metrics.wasserstein.wasserstein`)
  in units of the held-out standard deviation (Kansal et al. 2023, Phys. Rev. D 107, 076017,
  arXiv:2211.10295, recommend per-feature W1 beside a real-vs-real floor).  Components ``kl`` and
  ``w1`` (means over features) and ``kl[name]``, ``w1[name]`` per feature (up to 16 features);
  headline = ``kl``.  A conditioned run draws at the held-out condition values; the histograms pool them.
* ``spins`` (Ising lattices ``(N, L, L)`` of ±1): per condition value T, the energy per spin
  ``e = −(J Σ_<ij> s_i s_j + h Σ_i s_i)/L²`` (periodic nearest neighbours,
  :func:`physgen.physics.observables.energy_per_spin`, J and h from the held-out attrs, default 1 and 0)
  and ``|m| = |Σ_i s_i|/L²``; relative errors ``|⟨e⟩_fake − ⟨e⟩_held| / max(|⟨e⟩_held|, 1/L²)``, the
  same for ⟨|m|⟩.  Components ``e_err`` and ``m_err`` (maxima over T) and ``e_err[temperature=T]``,
  ``m_err[temperature=T]`` (up to 16 values); headline = ``max(e_err, m_err)``.  Beside the headline,
  ``c_err`` and ``chi_err``: the largest relative errors over T of var(e) and var(|m|), i.e. of
  C = N_s var(e)/T² and χ = N_s var(|m|)/T (denominator at least 1/N_s²), with floors of their own;
  :meth:`QualityProbe.remarks` states them.  Its floor is set by
  the noisiest (T, observable), usually ⟨|m|⟩ above T_c; the per-T components and their floors show where
  an error sits.
* ``binary`` / ``image`` (and spins that are not square lattices): the maximum mean discrepancy with the
  Gaussian kernel ``k(x, y) = exp(−‖x − y‖²/(2h²))`` on flattened samples, h the median pairwise distance
  of the held-out set fixed at construction (Gretton et al. 2012, JMLR 13:723, §8), V-statistic
  ``MMD = sqrt(max(0, mean K_xx + mean K_yy − 2 mean K_xy))``.  Conditioned runs (e.g. digit labels)
  use the product kernel ``k(x, y)·[c_x = c_y]``, so MMD² = ``Σ_c ‖p_c μ_P,c − q_c μ_Q,c‖²`` compares the
  joint distribution of (sample, condition).

A condition with more than 64 distinct values (a continuous one) is still requested value by value, but
rows are then halved, observables averaged and kernels evaluated over all values together.

Floor and comparability.  A metric between two finite samples is not 0 even when the distributions agree;
its floor is its value between two real samples of the same size.  The reference R (the held-out rows,
stratified by condition value and capped at ``max_samples``) is split, per condition value, into disjoint
halves A, B; the generated rows are split the same way into F₁, F₂.  The value of every component is
``½[m(A, F₁) + m(B, F₂)]`` (per feature / per T before any maximum is taken), so each term compares two
samples of size ~n/2, exactly like the floor term ``m(A_r, B_r)``.  The floor is the mean of 8 such
paired averages over 16 seeded random half-splits ``(A_r, B_r)`` of R, and ``floor_noise`` the standard
deviation of the 8 paired headlines (one realisation's scatter).  Under the null (generated = held-out
distribution) value and floor have the same expectation per feature / per T; the floor's pairs share rows,
which makes the floor of a max-over-T headline slightly conservative (a little high).

Verdict rule: "at floor" when ``score <= threshold = max(1.5 × floor, floor + 2 × floor_noise)``,
otherwise ``"{score/floor}x floor: train longer"``.  The generated counts must follow :meth:`requests`
(fewer samples raise the histogram and kernel biases above the floor's).  What the rule tells apart (mean
shifts of one feature, lattices at another temperature, digits with shuffled labels) and what it misses (weak
Gaussian pixel noise on digits, which the median-bandwidth MMD barely sees): benchmarks/records/training.md.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from physgen.data import Dataset
from physgen.errors import UserError

N_SPLITS = 16
"""Random half-splits of the reference for the floor (averaged in consecutive pairs)."""
AT_FLOOR_RATIO = 1.5
NOISE_SIGMAS = 2.0
MAX_NAMED = 16
"""Per-feature / per-value components are reported up to this many features or values."""
MAX_GROUPS = 64
"""Up to this many distinct condition values the rows are halved, the Ising observables computed and the
MMD kernel matched per value; beyond (a continuous condition), all of that pools the values."""


class QualityProbe:
    """Held-out quality metric with its floor (see the module docstring for the maths).

    ``heldout``: :class:`~physgen.data.Dataset` in data space; ``condition``: ``None``, the name of a
    ``/conditions`` entry (e.g. ``"temperature"``) or ``"labels"``, as the run is conditioned;
    ``seed`` fixes the reference subset, the half-splits and the bandwidth estimate; ``max_samples`` caps
    the reference (and so the total of :meth:`requests`).

    Attributes: ``name`` (headline label), ``floor`` (same keys as :meth:`score`), ``floor_noise``,
    ``threshold`` (the "at floor" bound of :meth:`verdict`).  The reference rows and half-splits are drawn at
    construction; the metric's held-out statistics and the floor are computed on first use, so a probe that
    is only asked for :meth:`requests` (and replaced by a smaller one) costs no kernel or histogram work.
    """

    def __init__(self, heldout: Dataset, *, condition: str | None, seed: int = 0, max_samples: int = 2000):
        if int(max_samples) < 2:
            raise UserError(f"max_samples: must be >= 2, got {max_samples}")
        self.condition, self.kind, self.shape = condition, heldout.kind, tuple(heldout.shape)
        self._seed = int(seed)
        rng = np.random.default_rng([self._seed, 0])
        keys = _condition_keys(heldout, condition, "held-out set")
        self._values, self._ref_ids, rows = _reference_rows(keys, int(max_samples), rng, len(heldout))
        self._pooled = len(self._values) > MAX_GROUPS
        strata = self._strata(self._ref_ids)
        self._n_strata = int(strata.max()) + 1
        self._splits = [_half_split(strata, self._n_strata, rng) for _ in range(N_SPLITS)]
        self._split = self._splits[0]
        self._reference = (heldout, rows, strata)   # the metric's input, built by _metric on first use

    def _strata(self, ids: np.ndarray) -> np.ndarray:
        """Rows are halved within each condition value, or all together beyond MAX_GROUPS values."""
        return np.zeros_like(ids) if self._pooled else ids

    @functools.cached_property
    def _metric(self):
        """The data kind's metric on the reference rows (:func:`_make_metric`)."""
        heldout, rows, strata = self._reference
        self._reference = None
        return _make_metric(heldout, rows, strata, self._n_strata, self._seed)

    @property
    def name(self) -> str:
        return self._metric.name

    @functools.cached_property
    def _floor(self) -> tuple[dict[str, float], float, float]:
        """``(floor, floor_noise, threshold)`` from the paired half-splits of the reference."""
        bases = [self._metric.compare_ref(a, b) for a, b in self._splits]
        pairs = [self._summary(_average(bases[i], bases[i + 1])) for i in range(0, len(bases), 2)]
        floor = {k: float(np.mean([p[k] for p in pairs])) for k in pairs[0]}
        noise = float(np.std([p["score"] for p in pairs], ddof=1))
        f = floor["score"]
        return floor, noise, max(AT_FLOOR_RATIO * f, f + NOISE_SIGMAS * noise)

    @property
    def floor(self) -> dict[str, float]:
        return self._floor[0]

    @property
    def floor_noise(self) -> float:
        return self._floor[1]

    @property
    def threshold(self) -> float:
        return self._floor[2]

    def requests(self) -> list[tuple[int, dict[str, float] | None]]:
        """``[(count, {condition: value}), ...]``: the reference's count at each condition value.

        Unconditioned: ``[(n, None)]``.  For ``condition="labels"`` the dict is ``{"labels": label}``.
        The counts sum to at most ``max_samples``.
        """
        counts = np.bincount(self._ref_ids, minlength=len(self._values))
        if self.condition is None:
            return [(int(counts[0]), None)]
        return [(int(c), {self.condition: float(v)}) for c, v in zip(counts, self._values) if c > 0]

    def score(self, fake: Dataset) -> dict[str, float]:
        """Metrics of generated samples ``fake`` (data space, conditions/labels per :meth:`requests`).

        Returns ``{"score": headline, <components>}``, every value lower-is-better; all ``inf`` (and
        ``nonfinite_fraction``) when the samples contain NaN/Inf.
        """
        self._check_fake(fake)
        x = np.asarray(fake.samples)
        if x.dtype.kind in "fc":
            bad = ~np.isfinite(x.reshape(len(x), -1)).all(axis=1)
            if bad.any():
                return {**{k: math.inf for k in self.floor}, "nonfinite_fraction": float(bad.mean())}
        ids = _match_values(_condition_keys(fake, self.condition, "fake"), self._values, self.condition, len(x))
        strata = self._strata(ids)
        f1, f2 = _half_split(strata, self._n_strata, np.random.default_rng([self._seed, 1]), where="fake",
                             values=None if self._pooled else self._values, condition=self.condition)
        state = self._metric.prepare(x, strata)
        a, b = self._split
        return self._summary(_average(self._metric.compare_fake(state, a, f1),
                                      self._metric.compare_fake(state, b, f2)))

    def verdict(self, values: dict[str, float]) -> str:
        """One line, e.g. ``"KL 0.012 (floor 0.010) — at floor"`` or ``"… — 8.0x floor: train longer"``."""
        v, f = float(values["score"]), self.floor["score"]
        head = f"{self.name} {v:.3g} (floor {f:.3g})"
        if not math.isfinite(v):
            return f"{head} — not finite: the samples contain NaN/Inf"
        if v <= self.threshold:
            return f"{head} — at floor"
        if f <= 0:
            return f"{head} — above a zero floor: train longer"
        ratio = v / f
        return f"{head} — {ratio:.1f}x floor: train longer" if ratio < 10 else \
            f"{head} — {ratio:.0f}x floor: train longer"

    def remarks(self, values: dict[str, float]) -> str | None:
        """A second line beside :meth:`verdict` where the metric has one (spins: the errors of C and χ
        against their floors), else None."""
        remarks = getattr(self._metric, "remarks", None)
        return remarks(values, self.floor) if remarks is not None and values else None

    def _summary(self, base: dict[str, np.ndarray]) -> dict[str, float]:
        named = self.condition is not None and not self._pooled and len(self._values) <= MAX_NAMED
        return self._metric.summarise(base, self._values if named else None, self.condition)

    def _check_fake(self, fake: Dataset) -> None:
        if fake.kind != self.kind:
            raise UserError(f"fake: kind {fake.kind!r} does not match the held-out kind {self.kind!r}")
        if tuple(fake.shape) != self.shape:
            raise UserError(f"fake: sample shape {tuple(fake.shape)} does not match the held-out {self.shape}")


# ----------------------------------------------------------------------------------------- rows and splits

def _condition_keys(ds: Dataset, condition: str | None, where: str) -> np.ndarray | None:
    """``(N,)`` float condition value per row (None when unconditioned)."""
    if condition is None:
        return None
    if condition == "labels":
        if ds.labels is None:
            raise UserError(f"{where}: has no /labels but the run is conditioned on labels")
        return np.asarray(ds.labels, np.float64)
    if condition not in ds.conditions:
        raise UserError(f"{where}: has no /conditions/{condition} but the run is conditioned on it")
    return np.asarray(ds.conditions[condition], np.float64)


def _too_small(n: int, detail: str = "") -> UserError:
    return UserError(f"data.val_fraction: leaves {n} held-out samples{detail}, need >= 2 "
                     "(raise data.val_fraction or use more data)")


def _reference_rows(keys, max_samples: int, rng: np.random.Generator, n: int):
    """Distinct values ``(G,)``, value id ``(n_ref,)`` and held-out row ``(n_ref,)`` of the reference.

    Up to MAX_GROUPS values, values with fewer than 2 held-out rows are dropped (they cannot be halved)
    and above ``max_samples`` each value keeps a share proportional to its count (largest remainder);
    beyond, a uniform random subset of ``max_samples`` rows is kept.
    """
    if n < 2:
        raise _too_small(n)
    values, inverse = (np.zeros(1), np.zeros(n, np.int64)) if keys is None else np.unique(keys, return_inverse=True)
    if len(values) > MAX_GROUPS:
        rows = np.sort(rng.permutation(n)[:max_samples])
        return values, inverse[rows], rows
    counts = np.bincount(inverse, minlength=len(values))
    quota = _quotas(counts, max_samples)
    keep = quota >= 2
    if not keep.any():
        raise _too_small(n, f" with at most {int(counts.max())} at any condition value")
    rows, ids = [], []
    for new, g in enumerate(np.flatnonzero(keep)):
        members = rng.permutation(np.flatnonzero(inverse == g))[:quota[g]]
        rows.append(np.sort(members))
        ids.append(np.full(len(members), new))
    return values[keep], np.concatenate(ids), np.concatenate(rows)


def _quotas(counts: np.ndarray, total: int) -> np.ndarray:
    """Counts scaled to sum to ``total`` (largest remainder), or unchanged when they already fit."""
    if counts.sum() <= total:
        return counts
    share = counts * (total / counts.sum())
    quota = np.floor(share).astype(np.int64)
    quota[np.argsort(quota - share)[:total - quota.sum()]] += 1
    return quota


def _half_split(groups: np.ndarray, n_groups: int, rng: np.random.Generator, *, where: str = "held-out set",
                values=None, condition=None) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint halves (row indices) of rows with group ids ``groups``, halved within every group."""
    a, b = [], []
    for g in range(n_groups):
        members = rng.permutation(np.flatnonzero(groups == g))
        if len(members) < 2:
            at = f" at {condition}={values[g]:g}" if values is not None and condition is not None else ""
            raise UserError(f"{where}: has {len(members)} samples{at}, need >= 2 "
                            "(draw them as QualityProbe.requests() says)")
        a.append(members[:len(members) // 2])
        b.append(members[len(members) // 2:])
    return np.concatenate(a), np.concatenate(b)


def _match_values(keys, values: np.ndarray, condition, n: int) -> np.ndarray:
    """Value id ``(n,)`` of every fake row (its condition value matched to the held-out values)."""
    if keys is None:
        return np.zeros(n, np.int64)
    idx = np.clip(np.searchsorted(values, keys), 0, len(values) - 1)
    lower = np.clip(idx - 1, 0, len(values) - 1)
    idx = np.where(np.abs(values[lower] - keys) < np.abs(values[idx] - keys), lower, idx)
    bad = ~np.isclose(values[idx], keys, rtol=1e-6, atol=1e-9)
    if bad.any():
        raise UserError(f"fake: {condition}={keys[bad][0]:g} is not a held-out value "
                        "(draw at the values QualityProbe.requests() gives)")
    return idx


def _average(x: dict[str, np.ndarray], y: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: 0.5 * (np.asarray(x[k], np.float64) + np.asarray(y[k], np.float64)) for k in x}


def _make_metric(heldout: Dataset, rows, strata, n_strata, seed):
    """The metric of the data kind, on held-out rows ``rows`` with stratum ids ``strata``."""
    x = np.asarray(heldout.samples)[rows]
    if heldout.kind == "continuous":
        return _Tabular(x, heldout.feature_names)
    if heldout.kind == "spins" and x.ndim == 3 and x.shape[1] == x.shape[2]:
        return _Spins(x, strata, n_strata, float(heldout.attrs.get("J", 1.0)), float(heldout.attrs.get("h", 0.0)))
    return _MMD(x, strata if n_strata > 1 else None, seed)


# ----------------------------------------------------------------------------------------- metrics by kind

class _Tabular:
    """Per-feature KL(held-out ‖ other) on held-out quantile bins and W1 in held-out standard deviations."""

    name = "KL"

    def __init__(self, x: np.ndarray, names: list[str] | None):
        from physgen.metrics.divergences import feature_bins

        self._x = np.asarray(x, np.float64).reshape(len(x), -1)
        d = self._x.shape[1]
        bins = int(np.clip(len(self._x) // 2 // 50, 5, 20))
        self._edges = [_quantile_edges(col, bins) for col in self._x.T]
        self._bins = feature_bins(self._x, self._edges)
        sd = self._x.std(axis=0)
        self._sd = np.where(sd > 0, sd, 1.0)
        self._names = list(names) if names is not None and len(names) == d else [f"x{j}" for j in range(d)]

    def prepare(self, x: np.ndarray, groups: np.ndarray):
        from physgen.metrics.divergences import feature_bins

        x = np.asarray(x, np.float64).reshape(len(x), -1)
        return x, feature_bins(x, self._edges)

    def compare_ref(self, a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
        return self._compare(self._x[a], self._bins[a], self._x[b], self._bins[b])

    def compare_fake(self, state, a: np.ndarray, f: np.ndarray) -> dict[str, np.ndarray]:
        x, bins = state
        return self._compare(self._x[a], self._bins[a], x[f], bins[f])

    def _compare(self, xr, br, xo, bo) -> dict[str, np.ndarray]:
        from physgen.metrics.divergences import kl_js_from_counts
        from physgen.metrics.wasserstein import wasserstein

        kl = [kl_js_from_counts(np.bincount(br[:, j], minlength=len(e) + 1),
                                np.bincount(bo[:, j], minlength=len(e) + 1))[0] for j, e in enumerate(self._edges)]
        return {"kl": np.asarray(kl, np.float64), "w1": wasserstein(xr, xo) / self._sd}

    def summarise(self, base, values, condition) -> dict[str, float]:
        kl, w1 = base["kl"], base["w1"]
        out = {"score": float(kl.mean()), "kl": float(kl.mean()), "w1": float(w1.mean())}
        if len(kl) <= MAX_NAMED:
            out.update({f"kl[{n}]": float(v) for n, v in zip(self._names, kl)})
            out.update({f"w1[{n}]": float(v) for n, v in zip(self._names, w1)})
        return out


def _quantile_edges(col: np.ndarray, bins: int) -> np.ndarray:
    """Edges ``(≤ bins + 1,)`` at the 0, 1/B, …, 1 quantiles of ``col`` (ties merged)."""
    edges = np.unique(np.quantile(col, np.linspace(0.0, 1.0, bins + 1)))
    return edges if len(edges) > 1 else np.array([edges[0] - 0.5, edges[0] + 0.5])


class _Spins:
    """Relative errors of ⟨e⟩, ⟨|m|⟩, C and χ per condition value, for ``(N, L, L)`` ±1 lattices (the
    headline is the means' error; C and χ, through the variances of e and |m|, are reported beside it)."""

    name = "e/|m| rel err"

    def __init__(self, x: np.ndarray, groups: np.ndarray, n_groups: int, J: float, h: float):
        self._J, self._h, self._n_groups = J, h, n_groups
        self._feat, self._groups = self._features(x), groups
        self._resolution = np.array([1.0, 1.0, 1.0 / (x.shape[1] * x.shape[2]), 1.0 / (x.shape[1] * x.shape[2])]) \
            / (x.shape[1] * x.shape[2])

    def _features(self, x: np.ndarray) -> np.ndarray:
        from physgen.metrics.observables import spin_features

        return spin_features(x, J=self._J, h=self._h)

    def _moments(self, feat: np.ndarray, groups: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """``(G, 4)`` [⟨e⟩, ⟨|m|⟩, var e, var |m|] over rows ``idx`` per group: C = N_s var(e)/T² and
        χ = N_s var(|m|)/T, so their relative errors at one T are those of the variances."""
        g = groups[idx]
        n = np.bincount(g, minlength=self._n_groups)[:, None]
        sums = np.stack([np.bincount(g, feat[idx, k], minlength=self._n_groups) for k in range(2)], axis=1)
        means = sums / n
        dev = feat[idx, :2] - means[g]
        var = np.stack([np.bincount(g, dev[:, k] ** 2, minlength=self._n_groups) for k in range(2)], axis=1)
        return np.concatenate([means, var / np.maximum(n - 1, 1)], axis=1)

    def _errors(self, ref: np.ndarray, other: np.ndarray) -> dict[str, np.ndarray]:
        return {"err": np.abs(other - ref) / np.maximum(np.abs(ref), self._resolution)}

    def prepare(self, x: np.ndarray, groups: np.ndarray):
        return self._features(x), groups

    def compare_ref(self, a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
        return self._errors(self._moments(self._feat, self._groups, a), self._moments(self._feat, self._groups, b))

    def compare_fake(self, state, a: np.ndarray, f: np.ndarray) -> dict[str, np.ndarray]:
        feat, groups = state
        return self._errors(self._moments(self._feat, self._groups, a), self._moments(feat, groups, f))

    def summarise(self, base, values, condition) -> dict[str, float]:
        err = base["err"]
        e_err, m_err, c_err, chi_err = (float(err[:, k].max()) for k in range(4))
        out = {"score": max(e_err, m_err), "e_err": e_err, "m_err": m_err, "c_err": c_err, "chi_err": chi_err}
        if values is not None:
            for v, (e, m, _, _) in zip(values, err):
                out[f"e_err[{condition}={v:g}]"] = float(e)
                out[f"m_err[{condition}={v:g}]"] = float(m)
        return out

    @staticmethod
    def remarks(values: dict[str, float], floor: dict[str, float]) -> str | None:
        """``fluctuations: C 8.1% (floor 6.0%), χ 14% (floor 11%)``: the largest relative errors over T of
        the specific heat and the susceptibility beside their real-vs-real floors."""
        if "c_err" not in values or "c_err" not in floor:
            return None
        def percent(x: float) -> str:
            return f"{100 * x:.0f}%" if 100 * x >= 10 or not math.isfinite(x) else f"{100 * x:.1f}%"
        parts = [f"{label} {percent(values[key])} (floor {percent(floor[key])})"
                 for label, key in (("C", "c_err"), ("χ", "chi_err"))]
        return "fluctuations: " + ", ".join(parts)


class _MMD:
    """V-statistic Gaussian MMD (median-heuristic bandwidth), optionally matching the condition.

    With group ids the kernel is ``k(x, y)·[g_x = g_y]``, so only same-group blocks are evaluated.  The
    held-out blocks are kept (``Σ_g n_g²`` float32 entries, 16 MB for 2,000 rows in one group) for the
    floor; kernels are evaluated in float32 (relative error ~1e-6 on the sums) and summed in float64.
    """

    name = "MMD"

    def __init__(self, x: np.ndarray, groups: np.ndarray | None, seed: int):
        from physgen.metrics.mmd import Kernel, median_distance

        x = np.asarray(x, np.float64).reshape(len(x), -1)
        self._mu = x.mean(axis=0)
        self._x = x - self._mu
        self._masked = groups is not None
        self._groups = groups if self._masked else np.zeros(len(x), np.int64)
        self._members = [np.flatnonzero(self._groups == g) for g in range(int(self._groups.max()) + 1)]
        self._kernel = Kernel("gaussian", (median_distance(self._x, rng=seed),))
        self._krr = [self._gram(self._x[m], self._x[m]).numpy() for m in self._members]

    def _gram(self, x: np.ndarray, y: np.ndarray):
        """Kernel matrix ``(len(x), len(y))`` as a float32 tensor."""
        import torch

        tx, ty = torch.from_numpy(x).float(), torch.from_numpy(y).float()
        sq = torch.addmm((tx * tx).sum(1)[:, None], tx, ty.T, alpha=-2.0).add_((ty * ty).sum(1)[None, :])
        return self._kernel(sq.clamp_min_(0.0), None)

    def _weights(self, idx: np.ndarray) -> np.ndarray:
        w = np.zeros(len(self._x))
        w[idx] = 1.0 / len(idx)
        return w

    def _ref_forms(self, wa: np.ndarray, wb: np.ndarray) -> tuple[float, float, float]:
        """``(wa K wa, wb K wb, wa K wb)`` over the held-out blocks."""
        out = np.zeros(3)
        for m, k in zip(self._members, self._krr):
            ka, kb = (k @ w[m].astype(np.float32) for w in (wa, wb))
            out += (wa[m] @ ka, wb[m] @ kb, wa[m] @ kb)
        return tuple(out)

    def prepare(self, x: np.ndarray, groups: np.ndarray):
        y = np.asarray(x, np.float64).reshape(len(x), -1) - self._mu
        return y, (groups if self._masked else np.zeros(len(y), np.int64))

    def compare_ref(self, a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
        kaa, kbb, kab = self._ref_forms(self._weights(a), self._weights(b))
        return {"mmd": np.asarray(math.sqrt(max(0.0, kaa + kbb - 2.0 * kab)))}

    def compare_fake(self, state, a: np.ndarray, f: np.ndarray) -> dict[str, np.ndarray]:
        import torch

        y, gy = state
        wa = self._weights(a)
        kaa = self._ref_forms(wa, wa)[0]
        kff = kaf = 0.0
        for g in range(len(self._members)):
            ia, jf = a[self._groups[a] == g], f[gy[f] == g]
            if len(jf):
                kff += float(self._gram(y[jf], y[jf]).sum(dtype=torch.float64))
                kaf += float(self._gram(self._x[ia], y[jf]).sum(dtype=torch.float64)) if len(ia) else 0.0
        value = kaa + kff / len(f) ** 2 - 2.0 * kaf / (len(a) * len(f))
        return {"mmd": np.asarray(math.sqrt(max(0.0, value)))}

    def summarise(self, base, values, condition) -> dict[str, float]:
        return {"score": float(base["mmd"]), "mmd": float(base["mmd"])}
