"""Hostile inputs and interrupted runs: sizes checked before allocating, every file physgen reads back validated
field by field (Hypothesis mutates each file of a tiny trained run), resume from the newest *valid* checkpoint
with the run directory untouched until the resume is accepted, and a final ``summary.json`` status on every exit
path.  The test-only toy model (``tests/trainer_toy.py``) keeps the runs to a fraction of a second."""
from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
from pathlib import Path

import h5py
import numpy as np
import pytest
import trainer_toy  # noqa: F401  (registers toy-gauss)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from physgen import memory_guard
from physgen.config import dumps_toml, load_toml
from physgen.data import Dataset, load, save
from physgen.errors import UserError
from physgen.training import train
from physgen.training.checkpoint import copy, latest, steps

pytestmark = pytest.mark.faults

Q = ["--no-progress", "--device", "cpu", "--set", "data.val_fraction=0"]
QUIET = ["train.progress=false", "train.device=cpu", "data.val_fraction=0"]
FUZZ = settings(max_examples=12, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _one_error_line(code: int, err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("physgen: error: "), (code, err)
    for n in needles:
        assert n in lines[0], (n, lines[0])


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def data_file(tmp_path_factory) -> Path:
    """240 rows of 3 continuous features, a constant condition and a physical attribute (both go to data.json)."""
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(240, 3)) * [1.0, 2.0, 0.5] + [1.0, -1.0, 3.0]).astype(np.float32)
    ds = Dataset(x, "continuous", {"temperature": np.full(240, 2.0)}, attrs={"feature_names": ["s", "t", "y"], "J": 1.0})
    return save(ds, tmp_path_factory.mktemp("faults") / "cont.h5")


@pytest.fixture(scope="module")
def tiny_run(data_file) -> Path:
    """A toy run of 8 steps with checkpoints at 0, 4 and 8, made once per module (copy it before changing it)."""
    out = data_file.parent / "run"
    train("toy-gauss", data=data_file, out=out, steps=8, sets=[*QUIET, "train.checkpoint_every=4", "train.keep_last=3"])
    assert [s for s, _ in steps(out / "checkpoints")] == [0, 4, 8]
    return out


@pytest.fixture
def run_copy(tiny_run, tmp_path) -> Path:
    dst = tmp_path / "run"
    shutil.copytree(tiny_run, dst)
    return dst


# --- 1. sizes checked before allocating ---------------------------------------------------------------------
def test_require_names_bytes_limit_and_remedy():
    memory_guard.require(10, what="x", reduce="less", limit=10)
    with pytest.raises(UserError, match=r"^n=5: needs 4,096 bytes \(4.0 KiB\) of memory, more than the 1,024 bytes "
                                        r"\(1.0 KiB\) available; lower n$"):
        memory_guard.require(4096, key="n", value=5, reduce="lower n", limit=1024)


def test_available_memory_is_read_or_the_check_is_skipped(monkeypatch, tmp_path):
    got = memory_guard.available()
    assert got is None or got > 0
    monkeypatch.setattr(memory_guard, "MEMINFO", tmp_path / "absent")
    monkeypatch.setitem(__import__("sys").modules, "psutil", None)   # as if psutil were not installed
    assert memory_guard.available() is None
    memory_guard.require(1 << 60, what="x", reduce="less")                  # unknown memory: no refusal


def test_hdf5_declaring_terabytes_is_refused_before_reading(cli, tmp_path):
    """A 6 kB file whose chunked, compressed /samples declares 2^40 spins values."""
    bomb = tmp_path / "bomb.h5"
    with h5py.File(bomb, "w") as f:
        f.create_dataset("samples", shape=(1 << 32, 16, 16), dtype="int8", chunks=(1, 16, 16), compression="gzip")
        f.attrs["kind"] = "spins"
    assert bomb.stat().st_size < 100_000
    code, _, err = cli("data", "info", bomb)
    _one_error_line(code, err, str(bomb), "bytes", "available", "fewer samples")
    code, _, err = cli("train", "toy-gauss", "--data", bomb, "--out", tmp_path / "r", "--steps", "1", *Q)
    _one_error_line(code, err, "bytes")
    assert not (tmp_path / "r").exists()


def test_npy_header_declaring_terabytes_is_refused(cli, tmp_path):
    path = tmp_path / "bomb.npy"
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": (1 << 40, 3)})
        f.write(b"\0" * 64)
    code, _, err = cli("data", "import", path, "--out", tmp_path / "x.h5")
    _one_error_line(code, err, "bytes", "available")
    assert not (tmp_path / "x.h5").exists()


def _memory_limit(monkeypatch, limit: int) -> None:
    monkeypatch.setattr(memory_guard, "available", lambda: limit)


@pytest.mark.parametrize("ext", ["csv", "txt"])
def test_text_needing_more_memory_than_available_is_refused(cli, tmp_path, monkeypatch, ext):
    """A 20 000-row table needs about 9 MB to parse (Python strings per field): refused under a 4 MB limit,
    read under a 64 MB one."""
    path = tmp_path / f"table.{ext}"
    rows = np.random.default_rng(0).normal(size=(20_000, 3))
    np.savetxt(path, rows, delimiter="," if ext == "csv" else " ", header="a b c")
    _memory_limit(monkeypatch, 4 << 20)
    code, _, err = cli("data", "import", path, "--out", tmp_path / "x.h5")
    _one_error_line(code, err, str(path), "bytes", "available", "split it")
    assert not (tmp_path / "x.h5").exists()
    _memory_limit(monkeypatch, 64 << 20)
    assert cli("data", "import", path, "--out", tmp_path / "x.h5")[0] == 0


def test_root_tree_needing_more_memory_than_available_is_refused(cli, tmp_path, monkeypatch):
    uproot = pytest.importorskip("uproot")
    path = tmp_path / "events.root"
    with uproot.recreate(path) as f:
        f["events"] = {"a": np.arange(50_000.0), "v": np.zeros((50_000, 4))}
    _memory_limit(monkeypatch, 1 << 20)   # 5 features × 50 000 entries × 20 bytes = 5 MB
    code, _, err = cli("data", "import", path, "--out", tmp_path / "x.h5")
    _one_error_line(code, err, str(path), "tree 'events' with 50,000 entries and 5 features", "fewer --branches")
    assert not (tmp_path / "x.h5").exists()
    _memory_limit(monkeypatch, 64 << 20)
    assert cli("data", "import", path, "--out", tmp_path / "x.h5")[0] == 0


def test_npz_and_npy_needing_more_memory_than_available_are_refused(cli, tmp_path, monkeypatch):
    np.save(tmp_path / "t.npy", np.zeros((50_000, 4)))
    np.savez(tmp_path / "t.npz", samples=np.zeros((50_000, 4)))
    _memory_limit(monkeypatch, 1 << 20)
    for name in ("t.npy", "t.npz"):
        code, _, err = cli("data", "import", tmp_path / name, "--out", tmp_path / "x.h5")
        _one_error_line(code, err, str(tmp_path / name), "bytes", "available")
    assert not (tmp_path / "x.h5").exists()


def test_ising_too_large_is_refused_before_simulating(cli, tmp_path):
    code, _, err = cli("data", "ising", "--size", "1024", "--temperatures", "2.0", "--samples", "100000000",
                       "--out", tmp_path / "x.h5")
    _one_error_line(code, err, "--size 1024", "--samples 100000000", "bytes", "lower --samples")
    assert not (tmp_path / "x.h5").exists()


def test_sample_too_many_is_refused_before_sampling(cli, tiny_run, tmp_path):
    code, _, err = cli("sample", tiny_run, "--n", "100000000000", "--checkpoint", "latest", "--out", tmp_path / "s.h5")
    _one_error_line(code, err, "--n 100000000000", "bytes", "lower --n")
    assert not (tmp_path / "s.h5").exists()


@pytest.mark.parametrize("family,size", [("rbm", "model.n_hidden=1000000000"),
                                         ("vae", "model.hidden=100000000,100000000")])
def test_network_too_large_is_refused_before_building(cli, data_file, tmp_path, family, size):
    """The model is sized on the meta device first: a network that cannot fit is one line, and no run
    directory is left behind."""
    code, _, err = cli("train", family, "--data", data_file, "--out", tmp_path / "run", "--steps", "1",
                       "--set", size, *[a for s in QUIET for a in ("--set", s)])
    _one_error_line(code, err, f"model {family}", "bytes", "smaller network")
    assert not (tmp_path / "run").exists()


def test_allocation_failure_while_building_is_one_line(monkeypatch):
    from physgen.models import registry
    from physgen.models.base import DataSpec

    cls = registry.get("rbm")
    monkeypatch.setattr(registry, "model_bytes", lambda *a: None)   # no estimate: the build itself fails

    def boom(self, config, spec):
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 10 bytes")
    monkeypatch.setattr(cls, "__init__", boom)
    with pytest.raises(UserError, match="model rbm: DefaultCPUAllocator"):
        registry.instantiate(cls, None, DataSpec("binary", (4,)))


def test_loading_a_run_sizes_the_model_from_its_checkpoint(tiny_run, monkeypatch):
    """load_run checks memory with the checkpoint's tensor bytes; it never builds on the meta device (whose
    kernels import much of torch: about a second of every sample or evaluate command)."""
    from physgen.models import registry
    from physgen.training import load_run

    seen = []
    monkeypatch.setattr(registry, "model_bytes", lambda *a: pytest.fail("meta build"))
    monkeypatch.setattr(registry.memory_guard, "require", lambda nbytes, **kw: seen.append(nbytes))
    load_run(tiny_run, device="cpu")
    assert len(seen) == 1 and seen[0] > 0


def test_toy_too_many_points_is_refused(cli, tmp_path):
    code, _, err = cli("data", "toy", "ring", "--n", str(10 ** 15), "--out", tmp_path / "x.h5")
    _one_error_line(code, err, "--n", "bytes", "lower --n")


def test_vmc_too_many_samples_is_refused(cli, tmp_path):
    code, _, err = cli("vmc", "--particles", "2", "--dim", "2", "--samples", str(10 ** 15), "--out", tmp_path / "v")
    _one_error_line(code, err, "--samples", "bytes", "lower --samples")
    assert not (tmp_path / "v").exists()


def test_nqs_too_many_samples_is_refused(cli, tmp_path):
    code, _, err = cli("nqs", "--size", "8", "--samples", str(10 ** 15), "--out", tmp_path / "n")
    _one_error_line(code, err, "--samples", "bytes", "lower --samples")
    assert not (tmp_path / "n").exists()


def test_pythia_too_many_events_is_refused_before_generating(cli, tmp_path):
    pytest.importorskip("pythia8mc")
    code, _, err = cli("data", "pythia", "--process", "ttbar", "--ecm", "13000", "--n", str(10 ** 13),
                       "--out", tmp_path / "x.h5")
    _one_error_line(code, err, "--n", "bytes", "lower --n")


# --- 2. schemas of the files physgen reads back ----------------------------------------------------------------
def _edit_checkpoint(run: Path, edit) -> Path:
    """Apply ``edit(meta)`` to every step checkpoint's JSON (so that a resume has none to fall back on)."""
    for _, path in steps(run / "checkpoints"):
        meta = json.loads(path.read_text())
        edit(meta)
        path.write_text(json.dumps(meta))
    for best in (run / "checkpoints").glob("best.*"):
        best.unlink()
    return latest(run / "checkpoints")


@pytest.mark.parametrize("edit,field", [
    (lambda m: m["state"].__setitem__("step", "8"), "field state.step must be an integer"),
    (lambda m: m["state"]["rng"].__setitem__("numpy", ["MT19937", [1, 2], 0, 0, 0.0]), "field state.rng.numpy[1]"),
    (lambda m: m["state"]["rng"].__setitem__("python", "garbage"), "field state.rng.python must be a list"),
    (lambda m: m["state"]["config"].__setitem__("model", [1, 2]), "field state.config.model must be an object"),
    (lambda m: m["state"].__setitem__("optimizers", {"main": {"param_groups": [{"lr": "x", "params": [0]}]}}),
     "field state.optimizers.main.param_groups[0].lr"),
    (lambda m: m.__setitem__("sha256", 42), "field sha256 must be a string"),
])
def test_malformed_checkpoint_fields_are_one_line(cli, run_copy, tmp_path, edit, field):
    ck = _edit_checkpoint(run_copy, edit)
    before = _snapshot(run_copy)
    for args in (("train", "toy-gauss", "--out", run_copy, "--resume", "--steps", "12", *Q),
                 ("sample", run_copy, "--n", "3", "--checkpoint", "latest", "--out", tmp_path / "s.h5")):
        code, _, err = cli(*args)
        _one_error_line(code, err, field)
        assert ck.name in err or "step-" in err
    assert _snapshot(run_copy) == before and not (tmp_path / "s.h5").exists()


def test_spec_without_shape_is_one_line(cli, run_copy, tmp_path):
    spec = json.loads((run_copy / "spec.json").read_text())
    del spec["shape"]
    (run_copy / "spec.json").write_text(json.dumps(spec))
    before = _snapshot(run_copy)
    code, _, err = cli("sample", run_copy, "--n", "3", "--checkpoint", "latest", "--out", tmp_path / "s.h5")
    _one_error_line(code, err, "spec.json: field shape is missing")
    code, _, err = cli("train", "toy-gauss", "--out", run_copy, "--resume", "--steps", "12", *Q)
    _one_error_line(code, err, "spec.json: field shape is missing")
    assert _snapshot(run_copy) == before


def test_transform_for_another_width_is_one_line(cli, run_copy, tmp_path):
    t = json.loads((run_copy / "transform.json").read_text())
    assert t["name"] == "quantile"  # data.transform=auto on continuous data
    t["quantiles"] = [row[:2] for row in t["quantiles"]]
    (run_copy / "transform.json").write_text(json.dumps(t))
    before = _snapshot(run_copy)
    code, _, err = cli("sample", run_copy, "--n", "3", "--checkpoint", "latest", "--out", tmp_path / "s.h5")
    _one_error_line(code, err, "transform.json: parameters for [2] features, the data has 3")
    code, _, err = cli("train", "toy-gauss", "--out", run_copy, "--resume", "--steps", "12", *Q)
    _one_error_line(code, err, "transform.json")
    assert _snapshot(run_copy) == before


def test_schema_kinds_are_the_dataset_kinds():
    from physgen import schemas
    from physgen.data.io import KINDS

    assert schemas.KINDS == KINDS


_JSON = st.recursive(st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.floats() | st.text(max_size=4),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                     max_leaves=6)


def _mutate_tree(data, doc):
    """A copy of ``doc`` with one node replaced by a random JSON value, or one object field deleted."""
    doc = json.loads(json.dumps(doc))
    parent, key, node = None, None, doc
    while isinstance(node, (dict, list)) and node and data.draw(st.integers(0, 4), label="descend") > 0:
        parent, key = node, data.draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
        node = node[key]
    if parent is None:
        return data.draw(_JSON, label="new document")
    if isinstance(parent, dict) and data.draw(st.booleans(), label="delete"):
        del parent[key]
    else:
        parent[key] = data.draw(_JSON, label="new value")
    return doc


def _mutated_bytes(data, raw: bytes, parse, dump) -> bytes:
    """``raw`` truncated, overwritten with random bytes, or parsed, changed at one node and written back."""
    how = data.draw(st.sampled_from(["tree", "tree", "tree", "truncate", "bytes"]), label="how")
    if how == "truncate":
        return raw[:data.draw(st.integers(0, len(raw) - 1), label="cut")]
    if how == "bytes":
        return data.draw(st.binary(max_size=64), label="bytes")
    return dump(_mutate_tree(data, parse(raw)))


def _json_dump(doc) -> bytes:
    return json.dumps(doc).encode()


def _toml_dump(doc) -> bytes:
    try:
        return dumps_toml(doc if isinstance(doc, dict) else {"value": doc}).encode()
    except (TypeError, AttributeError):
        return b"= broken"


def _check_verbs(cli, run: Path, out: Path) -> None:
    """``sample`` and ``train --resume`` on ``run``: a clean run or one error line (exit 2) and no file changed."""
    before = _snapshot(run)
    code, _, err = cli("sample", run, "--n", "4", "--checkpoint", "latest", "--out", out, "--overwrite")
    assert "Traceback" not in err
    if code != 0:
        _one_error_line(code, err)
    assert _snapshot(run) == before
    code, _, err = cli("train", "toy-gauss", "--out", run, "--resume", "--steps", "10", *Q)
    assert "Traceback" not in err
    if code != 0:
        _one_error_line(code, err)
        assert _snapshot(run) == before


def _fuzz(cli, tiny_run, data, name: str, parse, dump) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        shutil.copytree(tiny_run, run)
        target = run / name if name != "CHECKPOINT" else latest(run / "checkpoints")
        if name == "CHECKPOINT":   # the sample reads the latest checkpoint, the resume falls back to none
            for p in [*(run / "checkpoints").glob("best.*"), *[q for _, q in steps(run / "checkpoints")[:-1]]]:
                p.unlink()
        target.write_bytes(_mutated_bytes(data, target.read_bytes(), parse, dump))
        _check_verbs(cli, run, Path(tmp) / "s.h5")


@pytest.mark.parametrize("name", ["spec.json", "transform.json", "summary.json", "data.json", "CHECKPOINT"])
@FUZZ
@given(data=st.data())
def test_mutated_json_files_load_cleanly_or_are_one_line(cli, tiny_run, name, data):
    _fuzz(cli, tiny_run, data, name, json.loads, _json_dump)


@FUZZ
@given(data=st.data())
def test_mutated_config_toml_loads_cleanly_or_is_one_line(cli, tiny_run, data):
    import tomllib

    _fuzz(cli, tiny_run, data, "config.toml", lambda raw: tomllib.loads(raw.decode()), _toml_dump)


# --- 3. resume from the newest valid checkpoint -------------------------------------------------------------
@pytest.mark.parametrize("damage,why", [
    (lambda ck: ck.with_suffix(".safetensors").write_bytes(ck.with_suffix(".safetensors").read_bytes()[:-7]),
     "corrupted or truncated"),
    (lambda ck: ck.write_bytes(ck.read_bytes()[:40]), "corrupted checkpoint metadata"),
    (lambda ck: ck.with_suffix(".safetensors").unlink(), "is missing"),
])
def test_resume_skips_a_damaged_newest_checkpoint(cli, run_copy, damage, why):
    damage(run_copy / "checkpoints" / "step-00000008.json")
    code, out, err = cli("train", "toy-gauss", "--out", run_copy, "--resume", "--steps", "12", *Q)
    assert code == 0 and out.startswith("completed: toy-gauss at step 12/12"), (code, out, err)
    notes = [line for line in err.splitlines() if "skipped" in line]
    assert len(notes) == 1 and "skipped step-00000008 (" in notes[0] and why in notes[0]
    assert notes[0].endswith("resuming from step-00000004")
    assert json.loads((run_copy / "summary.json").read_text())["status"] == "completed"


def test_refused_resume_changes_nothing(cli, run_copy):
    """Every checkpoint damaged: the resume is refused and config.toml still records the old budget."""
    for _, ck in steps(run_copy / "checkpoints"):
        ck.with_suffix(".safetensors").write_bytes(b"\0" * 10)
    before = _snapshot(run_copy)
    code, _, err = cli("train", "toy-gauss", "--out", run_copy, "--resume", "--steps", "40", *Q)
    _one_error_line(code, err, "step-00000008", "corrupted or truncated", "2 older checkpoint(s) do not load either")
    assert _snapshot(run_copy) == before
    assert load_toml(run_copy / "config.toml")["train"]["steps"] == 8


@pytest.mark.parametrize("which,damage,skipped,used", [
    ("latest", lambda d: _cut(d / "step-00000008.safetensors"), "step-00000008 (", "step-00000004"),
    ("latest", lambda d: _cut(d / "step-00000008.json", 40), "step-00000008 (corrupted checkpoint metadata",
     "step-00000004"),
    ("best", lambda d: _cut(d / "best.json", 40), "best (corrupted checkpoint metadata", "step-00000008"),
    ("best", lambda d: _cut(d / "best.safetensors"), "best (", "step-00000004"),  # a hard link: step 8's file too
])
def test_sample_skips_a_damaged_checkpoint(cli, run_copy, tmp_path, which, damage, skipped, used):
    """``sample`` with a damaged chosen checkpoint uses the newest one that loads, saying so on one line."""
    copy(run_copy / "checkpoints", "step-00000008", "best")
    damage(run_copy / "checkpoints")
    before = _snapshot(run_copy)
    code, out, err = cli("sample", run_copy, "--n", "3", "--checkpoint", which, "--out", tmp_path / "s.h5")
    assert code == 0 and "Traceback" not in err, (code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"physgen: warning: --checkpoint {which}: skipped "), err
    assert skipped in lines[0] and lines[0].endswith(f"; using {used}"), lines[0]
    assert load(tmp_path / "s.h5").attrs["checkpoint_step"] == int(used[-1])
    assert _snapshot(run_copy) == before


def test_sample_with_no_loadable_checkpoint_is_one_line(cli, run_copy, tmp_path):
    copy(run_copy / "checkpoints", "step-00000008", "best")
    for _, ck in steps(run_copy / "checkpoints"):
        _cut(ck.with_suffix(".safetensors"))
    code, _, err = cli("sample", run_copy, "--n", "3", "--out", tmp_path / "s.h5")
    _one_error_line(code, err, "best.safetensors", "corrupted or truncated", "3 older checkpoint(s) do not load either")
    assert not (tmp_path / "s.h5").exists()


def _cut(path: Path, keep: int | None = None) -> None:
    raw = path.read_bytes()
    path.write_bytes(raw[:keep if keep is not None else len(raw) - 7])


@pytest.mark.parametrize("content,refused", [
    (b"\xff\xfe\x00garbage\n1,2\n", "not a readable metrics table"),
    (b"a,b\n1,2\n", "its header starts with 'a', not 'step'"),
    (b"step,epoch,loss\nx,0,1\n1e400,0,1\n4,0,", None),     # rows without a finite step or cut short: dropped
    (b"", None),
])
def test_resume_with_a_damaged_metrics_csv(cli, run_copy, content, refused):
    """A damaged ``metrics.csv``: one line naming it, the run unchanged; rows that cannot be read are dropped."""
    (run_copy / "metrics.csv").write_bytes(content)
    before = _snapshot(run_copy)
    code, out, err = cli("train", "toy-gauss", "--out", run_copy, "--resume", "--steps", "12", *Q)
    if refused:
        _one_error_line(code, err, str(run_copy / "metrics.csv"), refused, "move it away")
        assert _snapshot(run_copy) == before
    else:
        assert code == 0 and "Traceback" not in err, err
        assert (run_copy / "metrics.csv").read_text().startswith("step,epoch")


# --- 5. final states are final --------------------------------------------------------------------------------
def _status(run: Path) -> dict:
    return json.loads((run / "summary.json").read_text())


def test_status_completed_and_max_time(tmp_path, data_file):
    assert train("toy-gauss", data=data_file, out=tmp_path / "a", steps=3, sets=QUIET)["status"] == "completed"
    assert _status(tmp_path / "a")["status"] == "completed"
    train("toy-gauss", data=data_file, out=tmp_path / "b", steps=10 ** 6, max_time=0.3,
          sets=[*QUIET, "model.sleep=0.01"])
    assert _status(tmp_path / "b")["status"] == "max-time"


def test_status_terminated_by_sigterm_and_by_ctrl_c(tmp_path, data_file):
    def sigterm(t):
        if t.step == 3:
            os.kill(os.getpid(), signal.SIGTERM)
    train("toy-gauss", data=data_file, out=tmp_path / "a", steps=50, sets=QUIET, callbacks=[("on_batch_end", sigterm)])
    assert _status(tmp_path / "a")["status"] == "terminated"

    def ctrl_c(t):
        if t.step == 3:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        train("toy-gauss", data=data_file, out=tmp_path / "b", steps=50, sets=QUIET, callbacks=[("on_batch_end", ctrl_c)])
    summary = _status(tmp_path / "b")
    assert summary["status"] == "terminated" and summary["steps"] == 3


def test_status_diverged_with_on_divergence_stop(cli, tmp_path, data_file):
    code, _, err = cli("train", "toy-gauss", "--data", data_file, "--out", tmp_path / "r", "--steps", "20", *Q,
                       "--set", "model.nan_at_call=9", "--set", "train.checkpoint_every=4", "--on-divergence", "stop")
    _one_error_line(code, err, "diverged at step 9")
    summary = _status(tmp_path / "r")
    assert summary["status"] == "diverged" and summary["steps"] == 8 and "diverged at step 9" in summary["error"]
    assert latest(tmp_path / "r" / "checkpoints").name == "step-00000008.json"


def test_status_failed_on_an_unexpected_error(tmp_path, data_file):
    def boom(t):
        if t.step == 2:
            raise RuntimeError("disk on fire")
    with pytest.raises(RuntimeError):
        train("toy-gauss", data=data_file, out=tmp_path / "r", steps=50, sets=QUIET, callbacks=[("on_batch_end", boom)])
    summary = _status(tmp_path / "r")
    assert summary["status"] == "failed" and summary["error"] == "disk on fire" and summary["steps"] == 2


def _full_disk_at(name: str, monkeypatch) -> None:
    """``launch.write_json`` raises ENOSPC's one-line error for the run file called ``name``."""
    from physgen.training import launch

    real = launch.write_json

    def write_json(path, value, *args, **kwargs):
        if Path(path).name == name:
            raise UserError(f"{path}: No space left on device")
        return real(path, value, *args, **kwargs)
    monkeypatch.setattr(launch, "write_json", write_json)


def _fails_in_setup(where: str, monkeypatch, data_path: Path):
    """Make a fresh toy run fail after its run directory is written, before or as training starts."""
    if where == "data.json":
        _full_disk_at("data.json", monkeypatch)
    elif where == "diagnostics":
        def run_hooks(self, x):
            raise UserError("model.diagnostics: cannot be attached")
        monkeypatch.setattr(trainer_toy.ToyGauss, "run_hooks", run_hooks)
    elif where == "on_fit_start":
        def start(self, data, *, resumed, generator):
            raise UserError("--data: found bad rows while setting up")
        monkeypatch.setattr(trainer_toy.ToyGauss, "on_fit_start", start)
    else:  # the data file disappears and the set-up fails: the summary cannot be recomputed from it
        def start(self, data, *, resumed, generator):
            data_path.unlink()
            raise UserError("--data: the file vanished during set-up")
        monkeypatch.setattr(trainer_toy.ToyGauss, "on_fit_start", start)


@pytest.mark.parametrize("where", ["data.json", "diagnostics", "on_fit_start", "data file gone"])
def test_status_failed_when_setup_fails_before_the_first_step(cli, tmp_path, data_file, monkeypatch, where):
    data = tmp_path / "data.h5"
    shutil.copyfile(data_file, data)
    _fails_in_setup(where, monkeypatch, data)
    code, _, err = cli("train", "toy-gauss", "--data", data, "--out", tmp_path / "r", "--steps", "5", *Q)
    _one_error_line(code, err)
    summary = _status(tmp_path / "r")
    assert summary["status"] == "failed" and summary["error"] == err.strip().removeprefix("physgen: error: ")


def test_a_fresh_run_that_cannot_write_its_files_leaves_no_run_directory(cli, tmp_path, data_file, monkeypatch):
    _full_disk_at("transform.json", monkeypatch)
    code, _, err = cli("train", "toy-gauss", "--data", data_file, "--out", tmp_path / "r", "--steps", "5", *Q)
    _one_error_line(code, err, "transform.json", "No space left on device")
    assert not (tmp_path / "r").exists()


def test_status_converged(tmp_path, data_file, monkeypatch):
    """A probe whose score never improves after the first: ``converged`` after ``patience`` seconds."""
    from quality_toy import MeanProbe

    from physgen.training import launch
    from physgen.training.probe import Validator

    monkeypatch.setattr(launch, "_probe", lambda heldout, spec, transform, constants, cfg: Validator(
        MeanProbe(heldout, scores=[1.0]), spec, transform, constants))
    sets = ["train.progress=false", "train.device=cpu", "train.patience=0.3", "model.sleep=0.002"]
    assert train("toy-gauss", data=data_file, out=tmp_path / "r", max_time=30, sets=sets)["status"] == "converged"
    assert _status(tmp_path / "r")["status"] == "converged"


def test_a_resume_marks_the_run_running_once_accepted(run_copy, data_file):
    def look(t):
        assert _status(run_copy)["status"] == "running"
    train("toy-gauss", data=None, out=run_copy, resume=True, steps=10, sets=QUIET, callbacks=[("on_train_start", look)])
    assert _status(run_copy)["status"] == "completed"
