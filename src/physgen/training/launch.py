"""``physgen train``: resolve the config, prepare data, build the model, train, and record the run.

Everything that can fail on user input (config, data file, model options, data/model mismatch, an
existing output directory) is checked before anything is written, so a refused command leaves no
half-made run directory.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Callable, Sequence

from physgen import config as C
from physgen.atomic import write_json, write_text
from physgen.data import Dataset, load, save
from physgen.data.lazy import peek
from physgen.data.memory import resolve_max_memory
from physgen.data.transforms import fit_transform, transform_from_json
from physgen.errors import UserError
from physgen.models import registry
from physgen.models.base import DataSpec, all_finite
from physgen.paths import as_path
from physgen.runlock import LOCK_NAME, RunLock
from physgen.train_options import named_as_given
from physgen.training import augment as augmentation
from physgen.training import distributed as dist
from physgen.training import hooks
from physgen.training import rundir as R
from physgen.training.data import split, to_tensor_data, unconditioned_warning
from physgen.training.stream_plan import plan, prepare
from physgen.training.run_config import fresh_config, resolved, resume_config
from physgen.training.trainer import Trainer, TrainingDiverged

@dataclasses.dataclass(frozen=True)
class Launch:
    """One invocation of a run, decided before anything is trained: the family ``cls``, the run config ``cfg``
    (resolved for the data once they are read), the run directory ``out``, the data file ``data_path``, the
    previous ``summary.json`` of a resumed run (``prev``, empty for a new one), the ``resume`` / ``overwrite``
    choices, the distributed context and device, and the user's ``callbacks``."""

    cls: type
    cfg: C.RunConfig
    out: Path
    data_path: Path
    prev: dict
    resume: bool
    overwrite: bool
    ctx: dist.DistContext
    device: Any
    callbacks: Sequence[tuple[str, Callable[[Trainer], None]]] = ()


@dataclasses.dataclass(frozen=True)
class Prepared:
    """What the trainer is built on: the ``model``, the data's ``spec`` and ``transform``, the training tensors
    ``tdata``, the held-out rows ``val_ds`` (None: nothing held out), the data ``constants`` and, for a streamed
    file, the stream's ``streamed`` record."""

    model: Any
    spec: DataSpec
    transform: Any
    tdata: Any
    val_ds: Dataset | None
    constants: dict
    streamed: dict | None = None


def train(model_name: str, *, data: str | Path | None = None, out: str | Path, config_file: str | Path | None = None,
          sets: Sequence[str] = (), resume: bool = False, overwrite: bool = False,
          callbacks: Sequence[tuple[str, Callable[[Trainer], None]]] = (), hamiltonian=None,
          **flags: Any) -> dict[str, Any]:
    """Train (or resume) a run; returns ``summary.json``'s content.  ``flags``: the named options of
    :data:`physgen.train_options.TRAIN` as keywords (``steps=500``, ``max_time=60``, ``progress=False``, ...).

    ``hamiltonian`` (:class:`physgen.training.hamiltonian.HamiltonianTraining`), instead of ``data``: a new run of a
    family that trains on the Hamiltonian alone; its rows (the temperatures) are saved as ``RUN/hamiltonian.h5``.

    ``callbacks``: ``(event, fn)`` pairs registered on the trainer (:data:`physgen.training.trainer.EVENTS`),
    e.g. ``("on_quality", fn)`` reading ``trainer.last_quality``; ``fn`` may set ``trainer.stop_requested = True``
    (and ``trainer.status``, e.g. ``"pruned"``) to end the run cleanly with a checkpoint.

    ``out`` is locked for the call (:class:`physgen.runlock.RunLock`): a second writer is refused naming this one."""
    out = as_path(out)
    if hamiltonian is not None:
        data, sets, flags = _hamiltonian_run(model_name, hamiltonian, data, resume, sets, flags)
    main = os.environ.get("RANK", "0") == "0"  # under torchrun rank 0 writes
    lock = RunLock(out, create=not resume) if main else nullcontext()
    with lock, named_as_given(**flags):
        return _train(model_name, data, out, config_file, sets, resume, overwrite, callbacks, flags)


def _hamiltonian_run(model_name, hamiltonian, data, resume: bool, sets, flags):
    """``(data, sets, flags)`` of a run trained on ``hamiltonian`` (:mod:`physgen.training.hamiltonian`): its
    rows in memory, the settings it fixes; UserError for what cannot go with it."""
    from physgen.training import hamiltonian as H

    if data is not None:
        raise UserError("give one: a run trains on a data file or on a Hamiltonian", key="data/hamiltonian")
    if resume:
        raise UserError(f"the run records its Hamiltonian ({R.HAMILTONIAN}); resume without it", key="hamiltonian")
    H.check(registry.get(model_name), hamiltonian, sets, flags.get("condition"))
    return hamiltonian.dataset(), [*sets, *hamiltonian.sets()], flags


def _train(model_name, data, out: Path, config_file, sets, resume: bool, overwrite: bool, callbacks, flags):
    cls = registry.get(model_name)
    ds = None  # the dataset, read once
    if resume:
        cfg, data_path, prev = resume_config(model_name, cls, out, data, config_file, sets, flags)
    else:
        _check_fresh(out, overwrite)
        if data is None:
            raise UserError("required when starting a new run", key="data")
        if isinstance(data, Dataset):   # rows made in memory (a Hamiltonian run): saved in the run directory
            data_path, prev, ds = out / R.HAMILTONIAN, {}, data
        else:
            data_path, prev = as_path(data), {}
            ds = peek(data_path)   # the header and per-row arrays; the samples are read by _run (or streamed)
        cfg = fresh_config(model_name, cls, ds, config_file, sets, flags, hamiltonian=isinstance(ds, Dataset))
        note = unconditioned_warning(ds, cfg.data.condition) if os.environ.get("RANK", "0") == "0" else None
        if note:   # said once the run starts: bad input still gets its one line
            callbacks = [*callbacks, ("on_train_start", lambda trainer: print(note, file=sys.stderr))]
    device = dist.resolve_device(cfg.train.device, int(os.environ.get("LOCAL_RANK", "0")))
    ctx = dist.init(device)
    launch = Launch(cls, cfg, out, data_path, prev, resume, overwrite, ctx, device, tuple(callbacks))
    clean = False
    try:
        with _seeded_globals(cfg.train.seed, device):
            summary = _run(launch, ds)
        clean = True
        return summary
    finally:
        dist.shutdown(ctx, clean=clean)


def _run(launch: Launch, ds=None) -> dict[str, Any]:
    cfg = launch.cfg
    source = peek(launch.data_path) if ds is None else ds
    inline = source if isinstance(source, Dataset) else None   # rows made in memory, written with the run
    if inline is None:
        path = plan(source, resolve_max_memory(cfg.data.max_memory), cfg.train.batch_size, cfg.train.dtype)
        if path.streamed:
            return _run_streamed(launch, source, path)
    ds = inline if inline is not None else load(launch.data_path)
    spec = DataSpec.from_dataset(ds, cfg.data.condition)
    train_ds, val_ds = split(ds, cfg.data.val_fraction, cfg.train.seed)
    if launch.resume:
        transform = _saved_transform(launch.out)
        spec = _check_same_data(launch.out, launch.data_path, spec, launch.prev)
    else:
        transform = fit_transform(cfg.data.transform, train_ds.samples, ds.kind)
    launch = dataclasses.replace(launch, cfg=resolved(launch.cls, cfg, spec))
    cfg = launch.cfg
    tdata = to_tensor_data(train_ds, transform, cfg.data.condition)
    model = _checked_model(launch, spec, tdata)
    constants = R.data_constants(ds, cfg.data.condition)
    return _fit(launch, Prepared(model, spec, transform, tdata, val_ds, constants), inline=inline)


def _run_streamed(launch: Launch, source, path) -> dict[str, Any]:
    """A file larger than ``data.max_memory``: streamed in shuffled chunks (:mod:`physgen.training.stream`)."""
    cfg = launch.cfg
    spec = DataSpec.from_dataset(source, cfg.data.condition)
    transform = None
    if launch.resume:
        transform = _saved_transform(launch.out)
        spec = _check_same_data(launch.out, launch.data_path, spec, launch.prev)
    launch = dataclasses.replace(launch, cfg=resolved(launch.cls, cfg, spec))
    cfg = launch.cfg
    prep = prepare(source, path, transform_name=cfg.data.transform, condition=cfg.data.condition,
                   val_fraction=cfg.data.val_fraction, seed=cfg.train.seed, batch_size=cfg.train.batch_size,
                   transform=transform)
    model = _checked_model(launch, spec, prep.data)
    constants = R.data_constants(source, cfg.data.condition)
    return _fit(launch, Prepared(model, spec, prep.transform, prep.data, prep.val, constants, prep.info))


def _saved_transform(out: Path):
    """The data transform a resumed run was trained with (``RUN/transform.json``)."""
    return transform_from_json(R.read_json(out / R.TRANSFORM), str(out / R.TRANSFORM))


def _checked_model(launch: Launch, spec: DataSpec, tdata):
    """The family's model for ``spec``, after checking that the training tensors are finite and a batch it takes."""
    cfg = launch.cfg
    model = registry.instantiate(launch.cls, cfg.model, spec)
    if not all_finite(tdata.x):
        raise UserError(f"data.transform={cfg.data.transform}: produced NaN/Inf values from {launch.data_path}; "
                        f"use another transform")
    model.check_batch(tdata.all())
    return model


def _fit(launch: Launch, prepared: Prepared, inline: Dataset | None = None) -> dict[str, Any]:
    """Build the trainer on the prepared data, write the run directory (fresh runs; with ``inline``, rows made in
    memory, first those rows as ``data_path``), train, write the summary."""
    cfg, out, data_path, prev, resume, ctx = (launch.cfg, launch.out, launch.data_path, launch.prev, launch.resume,
                                              launch.ctx)
    model, spec, transform, tdata, val_ds, constants = (prepared.model, prepared.spec, prepared.transform,
                                                        prepared.tdata, prepared.val_ds, prepared.constants)
    if cfg.train.until == "floor" and val_ds is None:
        raise UserError("stops at the held-out probe's floor, and this run holds nothing out "
                        "(data.val_fraction = 0): hold some out, or train the planned steps", key="train.until",
                        value="floor")
    vdata = to_tensor_data(val_ds, transform, cfg.data.condition) if val_ds is not None else None
    probe = _probe(val_ds, spec, transform, constants, cfg) if val_ds is not None and ctx.is_main else None
    augment = augmentation.resolve(cfg.data.augment, spec.kind, spec.shape, constants.get("attrs", {}))
    augmentation.check_flip_symmetric(cfg.model, constants.get("attrs", {}))
    trainer = Trainer(model, cfg.train, tdata, run_dir=out, val_data=vdata, ctx=ctx, device=launch.device,
                      probe=probe, augment=augment)
    if ctx.is_main and not resume:  # every check passed: only now write
        _write_new_run(out, cfg, spec, transform, data_path, launch.overwrite, inline)
    accepted = [not resume]   # a resume changes the run directory once its checkpoint is restored
    started = time.time()
    try:  # from here on, whatever ends the run (setup included) leaves a final status in summary.json
        if ctx.is_main and not resume:
            write_json(out / R.DATA, constants)
        if ctx.is_main and resume:
            trainer.add_callback("on_train_start", lambda t: _accept_resume(out, cfg, prev, accepted))
        dist.barrier(ctx)
        hooks.attach(trainer, model)  # the model's run hooks (e.g. GAN diagnostics), given a read-only context
        for event, fn in launch.callbacks:
            trainer.add_callback(event, fn)
        result = trainer.fit(resume=resume)
    except BaseException as exc:
        if ctx.is_main and accepted[0]:
            _write_final_status(launch, trainer, exc, model, started)
        raise
    summary = _summary(launch, result, model, started)
    if result.get("validation") is not None:
        summary["validation"] = {**result["validation"], "val_fraction": cfg.data.val_fraction,
                                 "n_heldout": len(val_ds), "split_seed": cfg.train.seed}
    if prepared.streamed is not None:
        summary["streamed"] = prepared.streamed
    if "f_q" in summary["last_metrics"]:   # a run on a Hamiltonian: its F_q/N beside the exact F/N
        from physgen.training.hamiltonian import exact_free_energies

        exact = exact_free_energies(constants.get("attrs", {}), spec.condition_values.get("temperature", ()),
                                    summary["last_metrics"])
        if exact:
            summary["free_energy"] = exact
    if ctx.is_main:
        write_json(out / R.SUMMARY, summary)
    return summary


def _accept_resume(out: Path, cfg: C.RunConfig, prev: dict, accepted: list) -> None:
    """The resume is accepted (its checkpoint restored): record its budgets and mark the run as running."""
    write_text(out / R.CONFIG, cfg.to_toml())  # budgets may have changed on resume
    write_json(out / R.SUMMARY, {**prev, "status": "running"})
    accepted[0] = True


def _write_final_status(launch: Launch, trainer: Trainer, exc: BaseException, model, started: float) -> None:
    """``summary.json`` of a run that ended with ``exc``: status ``diverged``, ``terminated``
    (Ctrl-C) or ``failed``, and the error's one-line message.  Best effort: the original error is the one raised."""
    status = ("diverged" if isinstance(exc, TrainingDiverged) else
              "terminated" if isinstance(exc, KeyboardInterrupt) else "failed")
    error = " ".join(str(exc).split())[:500] or type(exc).__name__
    try:
        summary = _summary(launch, {**trainer.result(), "status": status}, model, started)
    except Exception:  # e.g. the data file is gone: the summary written so far, with the final status
        summary = _previous_summary(launch.out, launch.prev)
        summary["status"] = status
    try:
        write_json(launch.out / R.SUMMARY, {**summary, "error": error})
    except Exception:  # e.g. the disk is full: the original error is the one to report
        pass


def _previous_summary(out: Path, prev: dict) -> dict[str, Any]:
    """``summary.json`` as last written (``prev`` where it cannot be read)."""
    try:
        return dict(R.read_json(out / R.SUMMARY))
    except (UserError, OSError):
        return dict(prev)


PROBE_SAMPLES = 2000   # the probe's reference: at most this many held-out rows


def _probe(heldout, spec: DataSpec, transform, constants: dict, cfg: C.RunConfig):
    """The trainer's quality probe on the held-out split (:class:`physgen.training.probe.Validator`), on at most
    ``PROBE_SAMPLES`` held-out rows, or fewer where the family says so
    (:meth:`~physgen.models.base.GenerativeModel.probe_samples`)."""
    from physgen.metrics.quality import QualityProbe
    from physgen.training.probe import Validator

    size = min(PROBE_SAMPLES, registry.get(cfg.model_name).probe_samples(spec) or PROBE_SAMPLES)

    def probe(max_samples: int = size) -> QualityProbe:
        return QualityProbe(heldout, condition=cfg.data.condition, seed=cfg.train.seed, max_samples=max_samples)

    return Validator(probe(), spec, transform, constants, resize=probe)


@contextlib.contextmanager
def _seeded_globals(seed: int, device):
    """The global generators (Python's, NumPy's, torch's) seeded with the run's seed for the duration of a run,
    for the libraries whose layers draw their initial weights from them, and given back to the caller as they
    were afterwards: physgen's own draws pass explicit generators (:mod:`physgen.streams`)."""
    import random

    import numpy as np
    import torch

    py_state, np_state = random.getstate(), np.random.get_state()
    cuda = [device.index or 0] if getattr(device, "type", None) == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)


def _check_fresh(out: Path, overwrite: bool) -> None:
    if not out.exists():
        return
    if not out.is_dir():
        raise UserError("is a file, expected a run directory", key="out", value=out)
    if not any(p.name != LOCK_NAME for p in out.iterdir()):
        return
    if not overwrite:
        raise UserError("already exists (pass --resume to continue it or --overwrite to replace it)", key="out", value=out)
    if not R.is_run_dir(out):
        raise UserError("not a physgen run directory; refusing to replace it", key="out", value=out)


def _write_new_run(out: Path, cfg: C.RunConfig, spec: DataSpec, transform, data_path: Path, overwrite: bool,
                   inline: Dataset | None = None) -> None:
    if overwrite and out.exists() and R.is_run_dir(out):
        for child in out.iterdir():  # all but the lock this process holds
            if child.name == LOCK_NAME:
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    out.mkdir(parents=True, exist_ok=True)
    files = [(data_path.name, lambda p: save(inline, p, overwrite=True))] if inline is not None else []
    files += [(R.CONFIG, lambda p: write_text(p, cfg.to_toml())), (R.SPEC, lambda p: write_json(p, spec.to_json())),
             (R.TRANSFORM, lambda p: write_json(p, transform.to_json())),
             (R.SUMMARY, lambda p: write_json(p, {
                 "model": cfg.model_name, "status": "running", "data": str(data_path.resolve()),
                 "data_sha256": R.file_sha256(data_path), "seed": cfg.train.seed,
                 "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}))]
    try:
        for name, write in files:
            write(out / name)
    except BaseException:  # e.g. the disk filled up: no half-made run directory stays behind
        for name, _ in files:
            try:
                (out / name).unlink(missing_ok=True)
            except OSError:  # e.g. a read-only file system: the original error is the one to report
                pass
        raise


def _check_same_data(out: Path, data_path: Path, spec: DataSpec, prev: dict) -> DataSpec:
    """The run's saved spec, after checking that ``data_path`` is the data it was trained on (a spec saved
    before specs recorded the grey-level grid matches the data's spec without it)."""
    if prev.get("data_sha256") and R.file_sha256(data_path) != prev["data_sha256"]:
        raise UserError(f"differs from the file this run was trained on ({prev.get('data')})", key="data", value=data_path)
    saved = DataSpec.from_json(R.read_json(out / R.SPEC))
    if saved != (dataclasses.replace(spec, levels=None) if saved.levels is None else spec):
        raise UserError(f"its shape/kind/conditions differ from the run's {R.SPEC}", key="data", value=data_path)
    return saved


def _summary(launch: Launch, result: dict, model, started: float) -> dict[str, Any]:
    cfg, data_path, prev = launch.cfg, launch.data_path, launch.prev
    wall = float(prev.get("wall_time_s", 0.0)) + result["wall_time_s"]
    checks = float(prev.get("checks_s", 0.0)) + float(result.get("checks_s", 0.0))
    return {"model": cfg.model_name, "status": result["status"], "data": str(data_path.resolve()),
            "data_sha256": prev.get("data_sha256") or R.file_sha256(data_path), "seed": cfg.train.seed,
            "condition": cfg.data.condition, "steps": result["step"], "epoch": result["epoch"],
            "total_steps": result["total_steps"], "planned_steps": result.get("planned_steps"),
            "stopped_by": result.get("stopped_by"), "wall_time_s": wall, "loop_s": max(wall - checks, 0.0),
            "checks_s": checks, "lr_scale": result["lr_scale"],
            "retries": result["retries"], "n_parameters": sum(p.numel() for p in model.parameters()),
            "device": str(launch.device), "world_size": launch.ctx.world_size, "last_metrics": result["last"],
            "started": prev.get("started", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started))),
            "versions": R.versions()}
