"""Checkpoints that never execute code: safetensors for tensors, JSON for everything else.

A checkpoint ``TAG`` in ``RUN/checkpoints/`` is two files, written atomically in this order:

``TAG.safetensors``  every tensor: ``model.*`` (parameters and persistent buffers, e.g. PCD chains),
                     ``optim.<group>.<param index>.<key>`` (optimizer moments), ``ema.*``, ``rng.torch``
``TAG.json``         ``format``, ``format_version``, ``model``, ``model_version``, the SHA-256 of the
                     tensor file, and the JSON state: step, epoch, position in the epoch, optimizer
                     hyper-parameters, schedule state, numpy/python RNG states, best metric, ...

The JSON file is the commit marker: a checkpoint exists once its JSON exists and the hash of its tensor
file matches, so a process killed with ``kill -9`` mid-write leaves the previous checkpoint intact.
The trainer hands the writing to a :class:`BackgroundWriter` (one thread, one checkpoint in flight), so
training continues while the files are written; ``best`` is a hard link to the step's tensor file.
Loading uses ``safetensors.torch.load`` (on the file's bytes) and ``json.loads`` only — no pickle, no ``torch.load`` —
so a crafted file cannot run code; anything malformed is a :class:`~physgen.errors.UserError`.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch

from physgen.atomic import atomic_path, write_bytes, write_json
from physgen.errors import UserError

FORMAT = "physgen-checkpoint"
FORMAT_VERSION = 1
_STEP = re.compile(r"^step-(\d{8,})\.json$")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def step_tag(step: int) -> str:
    return f"step-{step:08d}"


def save(directory: str | Path, tag: str, tensors: dict[str, torch.Tensor], state: dict[str, Any], *,
         model: str, model_version: int = 1) -> Path:
    """Write checkpoint ``tag`` (tensor file first, then the JSON commit marker); return the JSON path."""
    from safetensors.torch import save as serialize

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cpu = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    data = serialize(cpu, metadata={"format": FORMAT, "model": model})
    write_bytes(directory / f"{tag}.safetensors", data)
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "model": model, "model_version": model_version,
            "tensors": f"{tag}.safetensors", "sha256": hashlib.sha256(data).hexdigest(), "state": state}
    return write_json(directory / f"{tag}.json", meta)


def copy(directory: str | Path, source: str, tag: str) -> Path:
    """Make checkpoint ``tag`` a copy of checkpoint ``source`` in ``directory`` (the tensor file is
    hard-linked where the file system allows it, else copied); return the new JSON path."""
    directory = Path(directory)
    meta = json.loads((directory / f"{source}.json").read_text(encoding="utf-8"))
    with atomic_path(directory / f"{tag}.safetensors") as tmp:
        tmp.unlink()
        try:
            os.link(directory / meta["tensors"], tmp)
        except OSError:
            shutil.copyfile(directory / meta["tensors"], tmp)
    return write_json(directory / f"{tag}.json", {**meta, "tensors": f"{tag}.safetensors"})


class BackgroundWriter:
    """Runs checkpoint writes on one background thread, at most one in flight: :meth:`submit` first
    waits for the previous write (re-raising its error), :meth:`close` waits for the last one."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="physgen-checkpoint")
        self._pending: Future | None = None

    def submit(self, fn, *args, **kwargs) -> None:
        self.wait()
        self._pending = self._pool.submit(fn, *args, **kwargs)

    def wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self._pool.shutdown(wait=True)


def load(json_path: str | Path, *, model: str, model_version: int = 1
         ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read and verify one checkpoint; return ``(tensors on CPU, state)``.

    Raises UserError for a missing/truncated/corrupted file, a foreign format, or a checkpoint of
    another model or model version.
    """
    json_path = Path(json_path)
    meta = _read_meta(json_path)
    if meta.get("model") != model:
        raise UserError(f"{json_path}: checkpoint of model {meta.get('model')!r}, expected {model!r}")
    if meta.get("model_version") != model_version:
        raise UserError(f"{json_path}: checkpoint of {model!r} version {meta.get('model_version')!r}, "
                        f"this physgen reads version {model_version}")
    tensor_path = json_path.parent / str(meta.get("tensors", ""))
    if not tensor_path.is_file() or tensor_path.parent != json_path.parent:
        raise UserError(f"{json_path}: its tensor file {meta.get('tensors')!r} is missing")
    if _sha256(tensor_path) != meta.get("sha256"):
        raise UserError(f"{tensor_path}: corrupted or truncated (SHA-256 does not match {json_path.name})")
    return _read_tensors(tensor_path), meta["state"]


def _read_meta(json_path: Path) -> dict[str, Any]:
    if not json_path.is_file():
        raise UserError(f"{json_path}: no such checkpoint")
    try:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{json_path}: corrupted checkpoint metadata ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise UserError(f"{json_path}: not a physgen checkpoint")
    if meta.get("format_version") != FORMAT_VERSION:
        raise UserError(f"{json_path}: checkpoint format version {meta.get('format_version')!r}, "
                        f"this physgen reads version {FORMAT_VERSION}")
    if not isinstance(meta.get("state"), dict):
        raise UserError(f"{json_path}: checkpoint metadata has no state")
    return meta


def _read_tensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load

    try:  # the bytes, not the name: safetensors takes only UTF-8 names, a path may be any bytes
        return load(path.read_bytes())  # parses a JSON header + raw buffers; never unpickles
    except Exception as exc:  # SafetensorError, OSError, ...: all mean "not a valid tensor file"
        raise UserError(f"{path}: not a valid safetensors file ({str(exc).splitlines()[0][:120]})") from None


def steps(directory: str | Path) -> list[tuple[int, Path]]:
    """``[(step, json path), ...]`` of the step checkpoints in ``directory``, oldest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := _STEP.match(p.name))]
    return sorted(found)


def latest(directory: str | Path) -> Path | None:
    """JSON path of the newest step checkpoint, or None."""
    found = steps(directory)
    return found[-1][1] if found else None


def prune(directory: str | Path, keep_last: int) -> None:
    """Delete all but the newest ``keep_last`` step checkpoints (``best`` is kept separately)."""
    for _, json_path in steps(directory)[:-keep_last]:
        json_path.unlink(missing_ok=True)  # marker first: a half-deleted checkpoint is invisible
        json_path.with_suffix(".safetensors").unlink(missing_ok=True)


def check_model_config(state: dict[str, Any], model_config: Any) -> None:
    """Refuse a checkpoint whose recorded ``[model]`` config differs from ``model_config``.  An option the
    checkpoint does not record (it predates the option) matches when ``model_config`` has its default, which
    is what the older code did."""
    from physgen.config import to_dict

    saved = (state.get("config") or {}).get("model")
    if saved is None:
        return
    current = json.loads(json.dumps(to_dict(model_config)))
    defaults = json.loads(json.dumps(to_dict(type(model_config)())))
    saved = {**{k: v for k, v in defaults.items() if k not in saved}, **saved}
    diff = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
    if diff:
        k = diff[0]
        raise UserError(f"checkpoint was made with a different model config (model.{k} = {saved.get(k)!r}, "
                        f"this run has {current.get(k)!r})")


# --- RNG states ------------------------------------------------------------------------------------
def rng_state() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Global torch/numpy/python RNG states as (tensors, JSON)."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    return ({"rng.torch": torch.get_rng_state()},
            {"numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
             "python": [version, list(internal), gauss]})


def set_rng_state(tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
    if "rng.torch" in tensors:
        torch.set_rng_state(tensors["rng.torch"].to(torch.uint8))
    if "numpy" in state:
        name, keys, pos, has_gauss, cached = state["numpy"]
        np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    if "python" in state:
        version, internal, gauss = state["python"]
        random.setstate((version, tuple(internal), gauss))


# --- optimizer state -------------------------------------------------------------------------------
def optimizer_state(name: str, opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split ``opt.state_dict()`` into tensors (``optim.<name>.<i>.<key>``) and JSON."""
    sd = opt.state_dict()
    tensors, scalars = {}, {}
    for idx, entry in sd["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{name}.{idx}.{key}"] = value
            else:
                scalars.setdefault(str(idx), {})[key] = value
    groups = [{k: list(v) if isinstance(v, tuple) else v for k, v in g.items()} for g in sd["param_groups"]]
    return tensors, {"param_groups": groups, "scalars": scalars}


def load_optimizer_state(name: str, opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor],
                         state: dict[str, Any]) -> None:
    prefix = f"optim.{name}."
    entries: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith(prefix):
            idx, field = key[len(prefix):].split(".", 1)
            entries.setdefault(int(idx), {})[field] = value
    for idx, values in state.get("scalars", {}).items():
        entries.setdefault(int(idx), {}).update(values)
    groups = [{k: tuple(v) if k == "betas" else v for k, v in g.items()} for g in state["param_groups"]]
    try:
        opt.load_state_dict({"state": entries, "param_groups": groups})
    except (ValueError, KeyError, RuntimeError) as exc:
        raise UserError(f"checkpoint: optimizer {name!r} state does not match this model ({exc})") from None
