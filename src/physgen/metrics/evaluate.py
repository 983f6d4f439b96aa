"""``evaluate(real, fake)``: every metric with its error, its real-data floor and its protocol.

The result is the content of ``metrics.json`` (schema in docs/metrics.md): one entry per metric name —
``kl``, ``kl_2d``, ``js``, ``js_2d``, ``mmd``, ``mmd2_median``, ``mmd2_multiscale``, ``kpd``, ``w1``,
``sliced_w1``, ``fpd``, ``c2st_auc``, ``observables`` — plus ``_meta`` (inputs, seed, split sizes,
warnings).  Every entry carries ``value``, ``error``, ``ci_low``/``ci_high``, ``floor`` (the same metric
between two disjoint real halves at the same size, :mod:`physgen.metrics.floors`), ``per_feature`` where
it applies, and ``protocol``.

What the metrics see, by dataset kind:

* ``continuous``: the tabular features for all metrics; MMD on features standardised by the real
  reference half (mean, std).
* ``spins``: KL/JS/W1/FPD on the physics features [energy per spin, |m|]; MMD and C2ST on the flattened
  ±1 configurations; ``observables`` per temperature.
* ``binary`` / ``image``: every pixel is a feature (flattened); FPD only on request (a Gaussian fit of
  raw pixels is slow and rarely meaningful).
* ``pointcloud`` (jets): JetNet's metrics ``w1m``, ``w1p``, ``w1efp``, ``fpd``, ``kpd`` on the particles and
  their energy-flow polynomials (:mod:`physgen.metrics.jetnet`).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from physgen.data import Dataset
from physgen.errors import UserError
from physgen.eval_config import EvalConfig  # noqa: F401  (re-exported: part of this module's API)
from physgen.metrics import floors
from physgen.metrics.floors import Split

METRICS = ("kl", "js", "mmd", "w1", "fpd", "c2st", "observables")
DEFAULT_METRICS = {"continuous": ("kl", "js", "mmd", "w1", "fpd", "c2st"),
                   "spins": METRICS,
                   "categorical": METRICS,
                   "binary": ("kl", "js", "mmd", "w1", "c2st"),
                   "image": ("kl", "js", "mmd", "w1", "c2st"),
                   "field": ("kl", "js", "mmd", "w1", "c2st", "observables"),
                   "pointcloud": ("w1m", "w1p", "w1efp", "fpd", "kpd")}


def parse_metrics(metrics: str | list[str] | tuple[str, ...] | None, kind: str) -> list[str]:
    """Metric names (comma list or sequence; ``None`` -> the kind's defaults); unknown -> UserError."""
    if metrics is None:
        return list(DEFAULT_METRICS[kind])
    names = [m.strip() for m in (metrics.split(",") if isinstance(metrics, str) else metrics) if m.strip()]
    names = ["c2st" if n == "c2st_auc" else n for n in names]
    allowed = DEFAULT_METRICS["pointcloud"] if kind == "pointcloud" else METRICS
    unknown = [n for n in names if n not in allowed]
    if unknown or not names:
        raise UserError(f"unknown metric {', '.join(map(repr, unknown)) or '(none given)'} "
                        f"(choose from {','.join(allowed)}{' for point clouds' if kind == 'pointcloud' else ''})",
                        key="metrics")
    if "observables" in names and kind not in ("spins", "categorical", "field"):
        raise UserError(f"'observables' needs lattice data (spins, q states or a field), the files are of kind {kind!r}",
                        key="metrics")
    return list(dict.fromkeys(names))


@dataclass
class Context:
    """Everything the metric functions share: data views, the split, config and seeded generators."""

    real: Dataset
    fake: Dataset
    split: Split
    tab_real: np.ndarray
    tab_fake: np.ndarray
    names: list[str]
    cfg: EvalConfig
    seed: int
    temperatures: list[float] | None
    warn: Callable[[str], None]
    skipped: dict = field(default_factory=dict)
    cache: dict = field(default_factory=dict)

    def rng(self, tag: int) -> np.random.Generator:
        """Independent generator per metric, so selecting metrics never changes another's numbers."""
        return np.random.default_rng([self.seed, tag])

    def tab(self, split: Split | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s = split or self.split
        return self.tab_real[s.a], self.tab_real[s.b], self.tab_fake[s.f]

    def conf(self, split: Split) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        flat = lambda ds, i: np.asarray(ds.samples[i], np.float64).reshape(len(i), -1)  # noqa: E731
        return flat(self.real, split.a), flat(self.real, split.b), flat(self.fake, split.f)


def tabular_view(ds: Dataset, model=None) -> tuple[np.ndarray, list[str]]:
    """``(N, d)`` features the per-feature metrics use, and their names (see module docstring); lattice energies
    of the :mod:`physgen.lattice` ``model`` (:func:`physgen.lattice.registry.model_of`; the Ising model with
    J = 1, h = 0 where None)."""
    if ds.kind == "categorical" and model is None:
        raise UserError("q-state lattices: the file records no lattice model (attribute hamiltonian) to judge them by")
    if ds.kind in ("spins", "categorical"):
        from physgen.metrics.observables import spin_features
        return spin_features(ds.samples, model=model), ["energy", "abs_magnetization"]
    if ds.kind == "pointcloud":   # per-particle-slot features, padding included
        names = ds.feature_names or [f"f{j}" for j in range(ds.shape[1])]
        return (np.asarray(ds.samples, np.float64).reshape(len(ds), -1),
                [f"{n}_{p}" for p in range(ds.shape[0]) for n in names])
    x = np.asarray(ds.samples, np.float64).reshape(len(ds), -1)
    names = ds.feature_names if ds.kind == "continuous" and ds.feature_names else None
    return x, names or ([f"x{j}" for j in range(x.shape[1])] if ds.kind == "continuous"
                        else [f"pixel{j}" for j in range(x.shape[1])])


def evaluate(real: Dataset, fake: Dataset, metrics=None, seed: int = 0, n_boot: int = 200, *,
             names: tuple[str, str] = ("real", "fake"), config: EvalConfig | None = None,
             warn: Callable[[str], None] | None = None, log: Callable[[str], None] | None = None) -> dict:
    """Compare ``fake`` with ``real``; returns the ``metrics.json`` dict (JSON-safe: no NaN/Inf).

    ``metrics``: names from :data:`METRICS` (default: by kind); ``seed`` fixes the split, bootstraps,
    projections and classifier; ``n_boot`` bootstrap resamples; ``names`` label the inputs in messages.
    Bad input raises :class:`~physgen.errors.UserError`; tiny samples run but call ``warn``.
    """
    from physgen.metrics import compute, jetnet

    cfg = config or EvalConfig(n_boot=n_boot)
    warn = warn or (lambda msg: warnings.warn(msg, UserWarning, stacklevel=3))
    log = log or (lambda msg: None)
    floors.check_pair(real, fake, names)
    chosen = parse_metrics(metrics, real.kind)
    temps = floors.temperature_pairs(real, fake, names)
    from physgen.lattice.registry import model_of

    model = model_of(real)
    tab_real, feat_names = tabular_view(real, model)
    tab_fake, _ = tabular_view(fake, model)
    split = floors.make_split(real, fake, np.random.default_rng([seed, 0]), temps)
    messages: list[str] = []

    def warn_once(msg: str) -> None:
        messages.append(msg)
        warn(msg)

    if split.n < floors.TINY:
        warn_once(f"only {split.n} samples per side after the real/real split: intervals are unreliable")
    ctx = Context(real, fake, split, tab_real, tab_fake, feat_names, cfg, seed, temps, warn_once)
    out: dict = {"_meta": _meta(real, fake, names, ctx, chosen)}
    functions = jetnet.METRIC_FUNCTIONS if real.kind == "pointcloud" else compute.METRIC_FUNCTIONS
    for name in chosen:
        log(f"computing {name}")
        out.update(functions[name](ctx))
    out["_meta"]["warnings"] = messages
    return _json_safe(out)


def evaluate_arrays(real, fake, metrics=None, seed: int = 0, n_boot: int = 200, **kwargs) -> dict:
    """:func:`evaluate` for tabular arrays ``(N, d)`` and ``(M, d)`` (kind ``continuous``)."""
    wrap = lambda x: Dataset(np.asarray(x, np.float64).reshape(len(x), -1), "continuous")  # noqa: E731
    return evaluate(wrap(real), wrap(fake), metrics, seed, n_boot, **kwargs)


def _meta(real: Dataset, fake: Dataset, names, ctx: Context, chosen: list[str]) -> dict:
    from physgen import __version__

    describe = lambda ds, name: {"name": str(name), "n": len(ds), "kind": ds.kind,  # noqa: E731
                                 "shape": list(ds.shape), "source": str(ds.attrs.get("source", "unknown"))}
    return {"schema_version": 1, "physgen_version": __version__, "real": describe(real, names[0]),
            "fake": describe(fake, names[1]), "metrics": chosen, "seed": ctx.seed,
            "n_per_side": ctx.split.n, "features": ctx.names[:64] + (["..."] if len(ctx.names) > 64 else []),
            "temperatures": ctx.temperatures, "config": asdict(ctx.cfg)}


def _json_safe(obj):
    """Replace NaN/Inf by None and numpy scalars by Python numbers, recursively."""
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.ndarray):
        return _json_safe(obj.tolist())
    return obj
