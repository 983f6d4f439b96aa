"""A fast held-out quality probe for training: one headline number beside its real-data floor.

The trainer builds one :class:`QualityProbe` from the held-out (validation) rows, asks it what to generate
(:meth:`QualityProbe.requests`), scores the generated samples (:meth:`QualityProbe.score`, lower is better)
and prints :meth:`QualityProbe.verdict`.  Everything the probe needs from the held-out set (binning, kernel
bandwidth and matrix, observables, the floor) is computed once, so a call to ``score`` repeats none of that
work (its time: benchmarks/records/training.md).

Metric by data kind (samples in data space, ``(N, *shape)``; the metrics are in :mod:`physgen.metrics.quality_metrics`):

* ``continuous`` (tabular features ``(N, d)``): per feature j, the histogram ``KL_j(held-out ‖ fake)`` in
  nats (:func:`physgen.metrics.divergences.kl_js_from_counts`: pseudo-count ½ per bin) on equal-mass bins
  cut at held-out quantiles, ``B = clip(n_half // 50, 5, 20)`` bins plus under- and overflow (quantile
  bins resolve heavy-tailed physics spectra where equal-width bins would put most events in one bin),
  and ``W1_j / sd_j``, the 1-D Wasserstein-1 distance (:func:`physgen.metrics.wasserstein.wasserstein`)
  in units of the held-out standard deviation (Kansal et al. 2023, Phys. Rev. D 107, 076017,
  arXiv:2211.10295, recommend per-feature W1 beside a real-vs-real floor).  Components ``kl`` and
  ``w1`` (means over features) and ``kl[name]``, ``w1[name]`` per feature (up to 16 features);
  headline = ``kl``.  A conditioned run draws at the held-out condition values; the histograms pool them.
* ``spins`` (lattices ``(N, L, L)`` of ±1): per condition value T, the energy per spin ``e = E/L²`` of the
  lattice model the held-out file records (:func:`physgen.lattice.registry.model_of`; the Ising model
  ``E = −J Σ_<ij> s_i s_j − h Σ_i s_i`` with J = 1, h = 0 where it records none)
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
otherwise ``"{score/floor}x floor: train longer"``; a relative-error metric (spins) whose floor is above 50%
cannot resolve its quantity, and says so instead of "at floor" (``not resolved by the probe``, in the verdict
and the fluctuations remark: ``physgen evaluate`` judges it).  The generated counts must follow :meth:`requests`
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
from physgen.metrics.quality_metrics import MAX_NAMED, make_metric

N_SPLITS = 16
"""Random half-splits of the reference for the floor (averaged in consecutive pairs)."""
AT_FLOOR_RATIO = 1.5
NOISE_SIGMAS = 2.0
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
        """The data kind's metric on the reference rows (:func:`physgen.metrics.quality_metrics.make_metric`)."""
        heldout, rows, strata = self._reference
        self._reference = None
        return make_metric(heldout, rows, strata, self._n_strata, self._seed)

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

        Returns ``{"score": headline, <components>, "score_noise": σ̂}``, every value lower-is-better but
        ``score_noise``, all ``inf`` (and ``nonfinite_fraction``) when the samples contain NaN/Inf.
        ``score_noise = |h₁ − h₂| / 2``, with ``h₁ = m(A, F₁)`` and ``h₂ = m(B, F₂)`` the headlines of the two
        halves, estimates the standard deviation of ``score = (h₁ + h₂)/2`` for this model's samples
        (E[(h₁ − h₂)²]/4 = Var(score) for independent halves).  It can far exceed ``floor_noise``: a biased
        model's headline is ``|bias + noise|``, whose spread is the noise's, where a headline at the floor is
        a folded ``|noise|`` with a smaller spread.
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
        first, second = self._metric.compare_fake(state, a, f1), self._metric.compare_fake(state, b, f2)
        values = self._summary(_average(first, second))
        values["score_noise"] = 0.5 * abs(self._summary(first)["score"] - self._summary(second)["score"])
        return values

    def verdict(self, values: dict[str, float]) -> str:
        """One line, e.g. ``"KL 0.012 (floor 0.010) — at floor"`` or ``"… — 8.0x floor: train longer"``; a score
        within the threshold of a floor above the metric's ``resolved_below`` (spins: a relative error of 50%)
        is ``"… — not resolved by the probe (floor above 50%): judge with physgen evaluate"``, since such a
        probe would call a model off by a factor 2 "at floor"."""
        v, f = float(values["score"]), self.floor["score"]
        head = f"{self.name} {v:.3g} (floor {f:.3g})"
        if not math.isfinite(v):
            return f"{head} — not finite: the samples contain NaN/Inf"
        limit = getattr(self._metric, "resolved_below", None)
        if v <= self.threshold and limit is not None and not f <= limit:
            return f"{head} — not resolved by the probe (floor above {limit:.0%}): judge with physgen evaluate"
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
