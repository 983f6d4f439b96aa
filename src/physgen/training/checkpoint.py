"""Checkpoints that never execute code: safetensors for tensors, JSON for everything else.

A checkpoint ``TAG`` in ``RUN/checkpoints/`` is two files, written atomically in this order:

``TAG.safetensors``  every tensor: ``model.*`` (parameters and persistent buffers, e.g. PCD chains),
                     ``optim.<group>.<param index>.<key>`` (optimizer moments), ``ema.*``, ``rng.torch``
``TAG.json``         ``format``, ``format_version``, ``model``, ``model_version``, the SHA-256 of the
                     tensor file, and the JSON state: step, epoch, position in the epoch, optimizer
                     hyper-parameters, schedule state, numpy/python RNG states, best metric, ...

Under ``torchrun`` every process keeps state of its own: model buffers that evolve per rank (persistent
chains, replay buffers), parameters a model set from its rank's share of the data, and its RNG states.
Rank 0's copies are the ``model.*`` and ``rng.torch`` tensors above; rank ``r >= 1``'s copy of a tensor that
differs from rank 0's is ``rank.<r>.<key>`` (e.g. ``rank.1.model.chains``), and ``state["rank_rng"]`` lists
every rank's numpy/python RNG states.  Resuming with the same number of processes gives each rank its own
state back (:func:`for_rank`).

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
from typing import Any, Callable

import numpy as np
import torch

from physgen.atomic import atomic_path, write_bytes, write_json
from physgen.errors import UserError, note
from physgen.schemas import check_checkpoint, loads

FORMAT = "physgen-checkpoint"
FORMAT_VERSION = 1
_STEP = re.compile(r"^step-(\d{8,})\.json$")
_RANK = re.compile(r"^rank\.(\d+)\.(.+)$")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def canonical_header(data: bytes) -> bytes:
    """safetensors bytes with the ``__metadata__`` entries of the JSON header in sorted key order, the header's
    length and every tensor unchanged.  The writer keeps the metadata in a hash map, whose order varies from
    process to process, so equal tensors and metadata could give files of different SHA-256."""
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    meta = header.get("__metadata__")
    if not meta or len(meta) < 2:
        return data
    header["__metadata__"] = dict(sorted(meta.items()))
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if len(text) > n:
        return data
    return data[:8] + text + b" " * (n - len(text)) + data[8 + n:]


def step_tag(step: int) -> str:
    return f"step-{step:08d}"


def save(directory: str | Path, tag: str, tensors: dict[str, torch.Tensor], state: dict[str, Any], *,
         model: str, model_version: int = 1) -> Path:
    """Write checkpoint ``tag`` (tensor file first, then the JSON commit marker); return the JSON path."""
    from safetensors.torch import save as serialize

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cpu = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    data = canonical_header(serialize(cpu, metadata={"format": FORMAT, "model": model}))
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


def load(json_path: str | Path, *, model: str, model_version: int = 1, trainer: bool = False
         ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read and verify one checkpoint; return ``(tensors on CPU, state)``.

    Raises UserError for a missing/truncated/corrupted file, a foreign format, a malformed field
    (:func:`physgen.schemas.check_checkpoint`; ``trainer``: the state must be a trainer's), or a checkpoint of
    another model or model version.
    """
    json_path = Path(json_path)
    meta = _read_meta(json_path, trainer)
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


def _read_meta(json_path: Path, trainer: bool = False) -> dict[str, Any]:
    if not json_path.is_file():
        raise UserError(f"{json_path}: no such checkpoint")
    try:
        meta = loads(json_path.read_text(encoding="utf-8"), str(json_path), "checkpoint metadata")
    except UnicodeDecodeError as exc:
        raise UserError(f"{json_path}: corrupted checkpoint metadata ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise UserError(f"{json_path}: not a physgen checkpoint")
    if meta.get("format_version") != FORMAT_VERSION:
        raise UserError(f"{json_path}: checkpoint format version {meta.get('format_version')!r}, "
                        f"this physgen reads version {FORMAT_VERSION}")
    if not isinstance(meta.get("state"), dict):
        raise UserError(f"{json_path}: checkpoint metadata has no state")
    return check_checkpoint(meta, str(json_path), trainer=trainer)


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


def load_newest_valid(directory: str | Path, *, model: str, model_version: int = 1
                      ) -> tuple[Path, dict[str, torch.Tensor], dict[str, Any], list[tuple[Path, str]]]:
    """The newest step checkpoint in ``directory`` that loads (:func:`load`): ``(json path, tensors, state,
    skipped)``, ``skipped`` listing ``(json path, reason)`` of the newer ones that did not (truncated, corrupted,
    malformed).  Reads only.  UserError when none loads (the newest one's reason) or there is none."""
    candidates = [path for _, path in reversed(steps(directory))]
    if not candidates:
        raise UserError(f"{directory}: no checkpoint to resume from")
    return load_first_valid(candidates, model=model, model_version=model_version)


def load_first_valid(candidates: list[Path], *, model: str, model_version: int = 1
                     ) -> tuple[Path, dict[str, torch.Tensor], dict[str, Any], list[tuple[Path, str]]]:
    """The first of ``candidates`` (JSON paths, in order of preference) that loads (:func:`load`, a trainer's
    state): ``(json path, tensors, state, skipped)`` with ``skipped`` the ``(json path, reason)`` of those before
    it that did not.  UserError when none loads: the first one's reason and how many others failed too."""
    skipped: list[tuple[Path, str]] = []
    for path in candidates:
        try:
            tensors, state = load(path, model=model, model_version=model_version, trainer=True)
        except UserError as exc:
            skipped.append((path, str(exc)))
            continue
        return path, tensors, state, skipped
    raise UserError(skipped[0][1] + (f" (and {len(skipped) - 1} older checkpoint(s) do not load either)"
                                     if len(skipped) > 1 else ""))


def skipped_line(skipped: list[tuple[Path, str]], used: Path, *, key: str = "resume", value: Any = None,
                 action: str = "resuming from", prefix: str = "physgen: ") -> str:
    """One line: which checkpoints the parameter ``key`` (= ``value``) skipped and why, and which one it uses
    instead (the key shown by :func:`physgen.errors.note`)."""
    why = "; ".join(f"{p.stem} ({reason.removeprefix(str(p) + ': ')})" for p, reason in skipped)
    return prefix + note(f"skipped {why}; {action} {used.stem}", key=key, value=value)


def prune(directory: str | Path, keep_last: int) -> None:
    """Delete all but the newest ``keep_last`` step checkpoints (``best`` is kept separately)."""
    for _, json_path in steps(directory)[:-keep_last]:
        json_path.unlink(missing_ok=True)  # marker first: a half-deleted checkpoint is invisible
        json_path.with_suffix(".safetensors").unlink(missing_ok=True)


def check_model_config(state: dict[str, Any], model_config: Any,
                       resolve: Callable[[Any], Any] | None = None) -> None:
    """Refuse a checkpoint whose recorded ``[model]`` config differs from ``model_config``.  An option the
    checkpoint does not record (it predates the option) matches when ``model_config`` has the value the older
    code used: the config class's ``predating`` value, else its default.  ``resolve`` (the family's
    :meth:`~physgen.models.base.GenerativeModel.resolve` for the run's data) is applied to both sides, so a
    choice recorded as ``"auto"`` matches its resolution."""
    from physgen.config import from_dict, renamed, to_dict

    saved = (state.get("config") or {}).get("model")
    if saved is None:
        return
    saved = renamed(type(model_config), saved, note=False)
    resolve = resolve or (lambda config: config)
    current = json.loads(json.dumps(to_dict(resolve(model_config))))
    defaults = {**json.loads(json.dumps(to_dict(type(model_config)()))), **getattr(model_config, "predating", {})}
    saved = {**{k: v for k, v in defaults.items() if k not in saved}, **saved}
    if saved != current and "auto" in saved.values():
        saved = json.loads(json.dumps(to_dict(resolve(from_dict(type(model_config), saved, "model")))))
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
    """Restore the global RNG states (:func:`rng_state`); UserError for a state the generators refuse."""
    try:
        if "rng.torch" in tensors:
            torch.set_rng_state(tensors["rng.torch"].to(torch.uint8))
        if "numpy" in state:
            name, keys, pos, has_gauss, cached = state["numpy"]
            np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
        if "python" in state:
            version, internal, gauss = state["python"]
            random.setstate((version, tuple(internal), gauss))
    except (RuntimeError, ValueError, TypeError, OverflowError) as exc:
        raise UserError(f"checkpoint: invalid random-number generator state ({str(exc).splitlines()[0][:120]})") from None


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
    try:
        for key, value in tensors.items():
            if key.startswith(prefix):
                idx, field = key[len(prefix):].split(".", 1)
                entries.setdefault(int(idx), {})[field] = value
        for idx, values in state.get("scalars", {}).items():
            entries.setdefault(int(idx), {}).update(values)
        groups = [{k: tuple(v) if k == "betas" else v for k, v in g.items()} for g in state["param_groups"]]
        _check_group_kinds(opt.param_groups, groups)
        opt.load_state_dict({"state": entries, "param_groups": groups})
    except (ValueError, KeyError, RuntimeError, TypeError, IndexError) as exc:
        raise UserError(f"checkpoint: optimizer {name!r} state does not match this model ({exc})") from None


# --- per-process state under torchrun ------------------------------------------------------------
def add_rank_states(tensors: dict[str, torch.Tensor], state: dict[str, Any],
                    ranked: list[dict[str, torch.Tensor]], rank_rng: list[Any]) -> None:
    """Store every rank's per-process tensors ``ranked[r]`` (keys as in ``tensors``, rank 0's already
    there) as ``rank.<r>.<key>`` where they differ from rank 0's (compared byte for byte, NaN included),
    and every rank's JSON RNG states as ``state["rank_rng"]``."""
    for r, own in enumerate(ranked[1:], start=1):
        for key, value in own.items():
            if not _same_bytes(value, ranked[0][key]):
                tensors[f"rank.{r}.{key}"] = value
    state["rank_rng"] = list(rank_rng)


def digest(t: torch.Tensor) -> str:
    """SHA-256 of a tensor's dtype, shape and bytes (equal digests: equal tensors, NaN included)."""
    h = hashlib.sha256(f"{t.dtype}{tuple(t.shape)}".encode())
    h.update(t.detach().to("cpu").contiguous().reshape(-1).view(torch.uint8).numpy())
    return h.hexdigest()


def _same_bytes(a: torch.Tensor, b: torch.Tensor) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    return torch.equal(a.contiguous().reshape(-1).view(torch.uint8), b.contiguous().reshape(-1).view(torch.uint8))


def for_rank(tensors: dict[str, torch.Tensor], state: dict[str, Any], rank: int, world_size: int,
             source: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The checkpoint as rank ``rank`` of ``world_size`` processes resumes it: its own ``rank.<rank>.*``
    tensors in place of rank 0's, other ranks' dropped, its own RNG states.

    A checkpoint with per-process model state (``rank.<r>.model.*``: persistent chains, replay buffers)
    resumes only with the number of processes that wrote it (UserError naming both); one without such
    state resumes with any number (every rank then starts from rank 0's buffers and RNG states)."""
    saved = int(state.get("world_size") or 1)
    own, per_rank = {}, False
    for key, value in tensors.items():
        m = _RANK.match(key)
        if m is None:
            continue
        per_rank = per_rank or m.group(2).startswith("model.")
        if int(m.group(1)) == rank:
            own[m.group(2)] = value
    if per_rank and saved != world_size:
        raise UserError(f"{source}: written by {saved} processes, each with its own state (persistent chains, "
                        f"replay buffers); this run has {world_size} (resume with torchrun --nproc_per_node={saved})")
    out = {k: v for k, v in tensors.items() if _RANK.match(k) is None}
    if saved != world_size:
        return out, state
    out.update(own)
    rank_rng = state.get("rank_rng")
    if isinstance(rank_rng, list) and rank < len(rank_rng):
        state = {**state, "rng": rank_rng[rank]}
    return out, state


def _kind(value: Any) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return type(value).__name__
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, (list, tuple)):
        return f"sequence of {len(value)}"
    return type(value).__name__


def _check_group_kinds(current: list[dict[str, Any]], saved: list[dict[str, Any]]) -> None:
    """Each saved hyper-parameter has the kind (number, bool, string, None, sequence of n) of this optimizer's
    own value: a checkpoint cannot hand the optimizer a value that fails at its first step."""
    if len(current) != len(saved):
        raise ValueError(f"{len(saved)} parameter groups, this optimizer has {len(current)}")
    for i, (cur, old) in enumerate(zip(current, saved)):
        for key, value in cur.items():
            if key == "params" or key not in old:
                continue
            optional_flag = {_kind(old[key]), _kind(value)} == {"NoneType", "bool"}  # e.g. foreach: None | bool
            if _kind(old[key]) != _kind(value) and not optional_flag:
                raise ValueError(f"param_groups[{i}].{key} is a {_kind(old[key])}, expected a {_kind(value)}")
