"""A plain-text table of an evaluation: each metric beside its real-vs-real floor.

``result`` is what :func:`physgen.metrics.evaluate` returns (the ``metrics.json`` content), or any dict of
the same shape: ``{name: {"value", "error", "floor", "floor_error"}}`` with ``error`` and the floor entries
optional.  A value within a few errors of its floor is as close to the real data as a second real sample
of the same size (docs/metrics.md).
"""
from __future__ import annotations

from typing import Any, Mapping


def floor_table(result: Mapping[str, Any], *, title: str | None = None,
                floor_label: str = "floor (real vs real)") -> str:
    """One line per metric: ``name  value ± error  floor ± error  value/floor``; keys starting with ``_``
    and entries without a value are skipped.  ``floor_label`` heads the floor column (e.g. "exact" where the
    reference is an exact value)."""
    entries = {name: e for name, e in result.items()
               if not name.startswith("_") and isinstance(e, Mapping) and e.get("value") is not None}
    width = max([len("metric"), *map(len, entries)])
    fw = max(len(floor_label), 20)
    lines = [title] if title else []
    lines.append(f"{'metric':<{width}}  {'value':>20}  {floor_label:>{fw}}  {'value/floor':>11}")
    for name, e in entries.items():
        value, floor = e["value"], e.get("floor")
        ratio = f"{value / floor:.3g}" if floor is not None and floor > 0 else "—"
        lines.append(f"{name:<{width}}  {_pm(value, e.get('error')):>20}  {_pm(floor, e.get('floor_error')):>{fw}}"
                     f"  {ratio:>11}")
    return "\n".join(lines)


def _pm(value, error) -> str:
    if value is None:
        return "—"
    return f"{value:.4g}" + (f" ± {error:.2g}" if error is not None else "")
