"""Memory sizes: ``data.max_memory`` parsing, its ``auto`` default, and a dataset's in-memory footprint.

``data.max_memory`` is a byte count with an optional unit: ``"512MiB"``, ``"4GB"``, ``"1.5 GiB"``, ``1073741824``
(K, M, G, T are powers of 1000; Ki, Mi, Gi, Ti powers of 1024).  ``auto`` is :data:`AUTO_FRACTION` of the
memory the kernel reports available (``MemAvailable`` in ``/proc/meminfo``; ``MemTotal`` where that line is
missing; :data:`FALLBACK` where the file is missing); ``physgen train`` writes the resolved value to
``config.toml``.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from physgen.errors import UserError

AUTO_FRACTION = 0.5
FALLBACK = 4 * 2**30
_UNITS = {"": 1, "b": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12,
          "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}
_PATTERN = re.compile(r"^\s*((?:\d+(?:\.\d*)?|\.\d+)(?:[eE]\d+)?)\s*(?:([kmgt]i?)b?|b)?\s*$", re.IGNORECASE)


def parse_bytes(value, key: str = "data.max_memory") -> int:
    """``"512MiB"`` -> 536870912; a UserError naming ``key`` for text that is not a positive size."""
    m = _PATTERN.match(str(value))
    if not m:
        raise UserError(f"{key}: {value!r} is not a memory size (e.g. 512MiB, 4GB, auto)")
    number = float(m.group(1))
    size = int(number * _UNITS[(m.group(2) or "").lower()])
    if size < 1:
        raise UserError(f"{key}: {value!r} must be at least one byte")
    return size


def available_memory(meminfo: str | Path = "/proc/meminfo") -> int:
    """Bytes the kernel reports available (``MemAvailable``, else ``MemTotal``, else :data:`FALLBACK`)."""
    try:
        fields = dict(line.split(":", 1) for line in Path(meminfo).read_text().splitlines() if ":" in line)
    except OSError:
        return FALLBACK
    for name in ("MemAvailable", "MemTotal"):
        if name in fields:
            return int(fields[name].split()[0]) * 1024
    return FALLBACK


def resolve_max_memory(value: str, key: str = "data.max_memory") -> str:
    """``auto`` -> :data:`AUTO_FRACTION` of :func:`available_memory` written in MiB (what ``config.toml`` shows);
    any other value is returned as given (after checking it parses; errors name ``key``)."""
    if str(value).strip().lower() == "auto":
        return f"{int(AUTO_FRACTION * available_memory()) // 2**20}MiB"
    parse_bytes(value, key)
    return str(value)


def row_bytes(shape: tuple[int, ...], dtype, model_dtype_bytes: int = 4) -> int:
    """Bytes one row costs in training: the stored row plus its model-space float32 (or float64) copy."""
    features = int(np.prod(shape))
    return features * (np.dtype(dtype).itemsize + model_dtype_bytes)


def in_memory_bytes(n: int, shape: tuple[int, ...], dtype, kind: str, model_dtype_bytes: int = 4) -> int:
    """Estimated peak bytes of loading ``n`` rows for in-memory training: the file's samples and the training
    split's copy (2 x stored bytes), the model-space tensors, and for continuous/image data the float64
    temporaries of the transform (16 bytes per value)."""
    features = int(np.prod(shape))
    temps = 16 if kind in ("continuous", "image") else 0
    return n * features * (2 * np.dtype(dtype).itemsize + model_dtype_bytes + temps)


def human(size: int) -> str:
    """``1610612736`` -> ``'1.5 GiB'``."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} B"
