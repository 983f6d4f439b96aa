"""The run directory: file names, and reading/writing its small JSON/TOML files.

``RUN/config.toml``     full resolved config (:class:`physgen.config.RunConfig`)
``RUN/spec.json``       :class:`physgen.models.base.DataSpec` of the training data
``RUN/transform.json``  the fitted data transform (:mod:`physgen.data.transforms`)
``RUN/summary.json``    model, data file and its SHA-256, seed, versions, status, steps, wall time
``RUN/data.json``       physical constants of the training file carried to samples (J, h, size, and
                        conditions that are constant in the file, e.g. a single temperature)
``RUN/metrics.csv``     one row per logging step;  ``RUN/checkpoints/``;  ``RUN/previews/``
``RUN/hamiltonian.h5``  a run trained on a Hamiltonian alone: its rows, the temperatures
                        (:mod:`physgen.training.hamiltonian`)
"""
from __future__ import annotations

import hashlib
import platform
from pathlib import Path
from typing import Any

from physgen.errors import UserError
from physgen.paths import as_path, refuse_unreachable, shown

CONFIG, SPEC, TRANSFORM, SUMMARY = "config.toml", "spec.json", "transform.json", "summary.json"
CHECKPOINTS = "checkpoints"
DATA = "data.json"
HAMILTONIAN = "hamiltonian.h5"
CARRIED_ATTRS = ("J", "h", "size", "boundary", "hamiltonian", "disorder", "disorder_seed", "n_states")
# (and every ``hamiltonian_<key>``: the scalar couplings of a lattice model, physgen.lattice)


def is_run_dir(path: Path) -> bool:
    return (path / CONFIG).is_file() and (path / SPEC).is_file()


def require_run_dir(path: str | Path) -> Path:
    """``path`` as a Path if it is a physgen run directory, else UserError."""
    path = as_path(path)
    if not path.exists():
        refuse_unreachable(path, shown(path))  # a symlink loop or a denied permission, named
        raise UserError(f"{shown(path)}: no such run directory")
    if not path.is_dir():
        raise UserError(f"{path}: is a file, expected a run directory")
    if not is_run_dir(path):
        raise UserError(f"{path}: not a physgen run directory (no {CONFIG} and {SPEC})")
    return path


def run_files(path: str | Path) -> list[Path]:
    """The files a run consists of (its JSON/TOML/CSV files and checkpoints), not other files a user put there."""
    path = as_path(path)
    files = [path / name for name in (CONFIG, SPEC, TRANSFORM, SUMMARY, DATA, "metrics.csv", HAMILTONIAN)]
    return files + [path / CHECKPOINTS]


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; the run directory's own files (``spec.json``, ``transform.json``,
    ``summary.json``, ``data.json``) are validated field by field (:mod:`physgen.schemas`).  Anything malformed
    is a UserError naming the file (and the field)."""
    from physgen.schemas import loads

    try:
        value = loads(path.read_text(encoding="utf-8"), str(path))
    except FileNotFoundError:
        raise UserError(f"{path}: missing") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: corrupted JSON ({exc})") from None
    if not isinstance(value, dict):
        raise UserError(f"{path}: expected a JSON object")
    return _validate(path.name, value, str(path))


def _validate(name: str, value: dict[str, Any], where: str) -> dict[str, Any]:
    from physgen import schemas as S

    checks = {SPEC: S.check_spec, TRANSFORM: S.check_transform, SUMMARY: lambda v, w: S.check(v, S.SUMMARY, w),
              DATA: lambda v, w: S.check(v, S.DATA, w)}
    if name in checks:
        checks[name](value, where)
    return value


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def versions() -> dict[str, str]:
    import numpy
    import torch

    from physgen import __version__

    return {"physgen": __version__, "torch": torch.__version__, "numpy": numpy.__version__,
            "python": platform.python_version()}


MAX_LEVELS = 256   # an image's pixel values form a grid (quantised intensities) up to this many values


def data_constants(ds, condition: str | None) -> dict[str, Any]:
    """What samples should inherit from the training file: physical attributes, constant conditions and,
    for images whose pixels take at most :data:`MAX_LEVELS` values (e.g. the 17 grey levels of the 8×8
    digits), those values (``levels``): samples are put on the same grid."""
    import numpy as np

    keys = [*CARRIED_ATTRS, *(k for k in ds.attrs if k.startswith("hamiltonian_"))]
    attrs = {k: ds.attrs[k] for k in keys if isinstance(ds.attrs.get(k), (int, float, str))}
    if attrs.get("hamiltonian") == "ising":   # the default Hamiltonian of spin data, left implicit
        del attrs["hamiltonian"]
    conds = {name: float(v[0]) for name, v in ds.conditions.items()
             if name != condition and len(v) and np.all(v == v[0])}
    out = {"attrs": attrs, "conditions": conds}
    samples = getattr(ds, "samples", None)
    if ds.kind == "image" and isinstance(samples, np.ndarray):
        levels = np.unique(samples)
        if len(levels) <= MAX_LEVELS:
            out["levels"] = [float(v) for v in levels]
    return out
