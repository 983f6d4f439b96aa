"""Input checks and the real-data floor split.

The floor of a metric is its value between two disjoint halves A and B of the real sample.  To make the
floor and the real-vs-generated value comparable they are computed at the *same* sample size n per side:
``value = metric(A, F)`` and ``floor = metric(A, B)``, where A, B are disjoint random halves of the real
rows and F is a random subset of the generated rows, ``n = min(N_real // 2, N_fake)``.  When both files
carry a temperature condition the split is stratified: each temperature contributes
``n_T = min(N_real,T // 2, N_fake,T)`` rows to A, B and F.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from physgen.data import Dataset
from physgen.errors import UserError

TEMPERATURE = "temperature"
TINY = 100
"""Below this many rows per side, intervals are flagged as unreliable."""


@dataclass
class Split:
    """Row indices: ``a``, ``b`` into the real dataset, ``f`` into the fake one (equal lengths)."""

    a: np.ndarray
    b: np.ndarray
    f: np.ndarray

    @property
    def n(self) -> int:
        return int(len(self.a))


def check_pair(real: Dataset, fake: Dataset, names: tuple[str, str] = ("real", "fake")) -> None:
    """Raise UserError unless the two datasets can be compared (kinds, shapes, sizes, values)."""
    rname, fname = names
    if fake.kind != real.kind:
        raise UserError(f"{fname}: kind {fake.kind!r} does not match {rname} kind {real.kind!r}")
    if fake.shape != real.shape:
        raise UserError(f"{fname}: sample shape {fake.shape} does not match {rname} sample shape {real.shape}")
    for ds, name in ((real, rname), (fake, fname)):
        if len(ds) < 2:
            raise UserError(f"{name}: has {len(ds)} sample(s); evaluation needs at least 2")
        check_finite(ds, name)
    temperature_pairs(real, fake, names)


def check_finite(ds: Dataset, name: str) -> None:
    """NaN/Inf anywhere in /samples -> UserError saying how many, in how many rows, and where first."""
    x = np.asarray(ds.samples)
    if x.dtype.kind not in "fc":
        return
    bad = ~np.isfinite(x.reshape(len(x), -1))
    if bad.any():
        rows, cols = np.nonzero(bad)
        names = ds.feature_names
        col = names[cols[0]] if names is not None and cols[0] < len(names) else f"feature {int(cols[0])}"
        raise UserError(f"{name}: /samples has {int(bad.sum())} NaN/Inf values in {len(np.unique(rows))} rows "
                        f"(first at row {int(rows[0])}, {col})")


def _temps(ds: Dataset) -> np.ndarray | None:
    return ds.conditions.get(TEMPERATURE)


def temperature_pairs(real: Dataset, fake: Dataset, names=("real", "fake")) -> list[float] | None:
    """Distinct temperatures shared by both files (None when neither has any); mismatch -> UserError.

    A fake file without temperatures is accepted only when the real file has a single temperature.
    """
    tr, tf = _temps(real), _temps(fake)
    if tr is None and tf is None:
        return None
    if tf is None:
        ur = np.unique(tr)
        if len(ur) == 1:
            return [float(ur[0])]
        raise UserError(f"{names[1]}: has no /conditions/temperature but {names[0]} has {len(ur)} temperatures")
    if tr is None:
        raise UserError(f"{names[1]}: has /conditions/temperature but {names[0]} has none")
    ur, uf = np.unique(tr), np.unique(tf)
    only_r = [t for t in ur if not np.any(np.isclose(uf, t, rtol=1e-6, atol=1e-9))]
    only_f = [t for t in uf if not np.any(np.isclose(ur, t, rtol=1e-6, atol=1e-9))]
    if only_r or only_f:
        fmt = lambda ts: ",".join(f"{t:g}" for t in ts) or "none"  # noqa: E731
        raise UserError(f"{names[1]}: temperatures differ from {names[0]} "
                        f"(only in {names[0]}: {fmt(only_r)}; only in {names[1]}: {fmt(only_f)})")
    return [float(t) for t in ur]


def rows_at(ds: Dataset, t: float) -> np.ndarray:
    """Indices of rows at temperature ``t`` (all rows when the file has no temperature condition)."""
    temps = _temps(ds)
    if temps is None:
        return np.arange(len(ds))
    return np.flatnonzero(np.isclose(temps, t, rtol=1e-6, atol=1e-9))


def make_split(real: Dataset, fake: Dataset, rng: np.random.Generator,
               temperatures: list[float] | None = None) -> Split:
    """Disjoint halves A, B of the real rows and a subset F of the fake rows, equal sizes (stratified by T)."""
    groups = temperatures if temperatures else [math.nan]
    a, b, f = [], [], []
    for t in groups:
        ir = rng.permutation(rows_at(real, t) if temperatures else np.arange(len(real)))
        jf = rng.permutation(rows_at(fake, t) if temperatures else np.arange(len(fake)))
        n = min(len(ir) // 2, len(jf))
        a.append(ir[:n]), b.append(ir[n:2 * n]), f.append(jf[:n])
    split = Split(*(rng.permutation(np.concatenate(p)) for p in (a, b, f)))
    if split.n < 1:
        raise UserError("real and fake share no temperature with at least 2 real and 1 fake samples")
    return split


def subsample(split: Split, max_rows: int | None) -> Split:
    """The first ``max_rows`` rows of each part (rows are already in random order)."""
    if max_rows is None or split.n <= max_rows:
        return split
    return Split(split.a[:max_rows], split.b[:max_rows], split.f[:max_rows])
