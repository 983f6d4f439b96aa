"""A plain-text table of an evaluation: each metric beside its real-vs-real floor.

``result`` is what :func:`physgen.metrics.evaluate` returns (the ``metrics.json`` content), or any dict of
the same shape: ``{name: {"value", "error", "floor", "floor_error"}}`` with ``error`` and the floor entries
optional.  A value within a few errors of its floor is as close to the real data as a second real sample
of the same size (docs/metrics.md).
"""
from __future__ import annotations

from typing import Any, Mapping


def floor_table(result: Mapping[str, Any], *, title: str | None = None) -> str:
    """One line per metric: ``name  value ± error  floor ± error  value/floor``; keys starting with ``_``
    and entries without a value are skipped."""
    lines = [title] if title else []
    lines.append(f"{'metric':<22} {'value':>20} {'floor (real vs real)':>22} {'value/floor':>12}")
    for name, e in result.items():
        if name.startswith("_") or not isinstance(e, Mapping) or e.get("value") is None:
            continue
        value, floor = e["value"], e.get("floor")
        ratio = f"{value / floor:.3g}" if floor not in (None, 0) else "—"
        lines.append(f"{name:<22} {_pm(value, e.get('error')):>20} {_pm(floor, e.get('floor_error')):>22} {ratio:>12}")
    return "\n".join(lines)


def _pm(value, error) -> str:
    if value is None:
        return "—"
    return f"{value:.4g}" + (f" ± {error:.2g}" if error is not None else "")
