"""Fault injection: full disks, denied permissions, read-only file systems, truncated files, concurrent writers,
killed processes, odd paths and outputs that are inputs.  Every case ends in one line on stderr and exit code 2
(or a clean success), with no temporary file left and no input changed.

Real full and read-only file systems come from a private mount namespace (``unshare -rm``: a small tmpfs and a
read-only bind mount); those tests skip where the kernel does not allow it.  Everything else injects the error
in :mod:`physgen.atomic`.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import trainer_toy  # noqa: F401  (registers toy-gauss)

from physgen import atomic
from physgen.data import Dataset, load, save
from physgen.errors import UserError
from physgen.runlock import LOCK_NAME, RunLock
from physgen.training.checkpoint import latest, steps

pytestmark = pytest.mark.faults

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
RUNNER = [sys.executable, str(HERE / "trainer_toy_cli.py")]
Q = ["--no-progress", "--device", "cpu", "--set", "data.val_fraction=0"]
ERRNOS = (errno.ENOSPC, errno.EACCES, errno.EROFS)


def _env() -> dict[str, str]:
    return dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join([str(SRC), str(HERE)]))


def _one_error_line(err: str, *needles: str) -> str:
    lines = [line for line in err.strip().splitlines() if not line.startswith("physgen: warning: ")]
    assert len(lines) == 1 and lines[0].startswith("physgen: error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def _sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _temporaries(directory: Path) -> list[Path]:
    return [p for p in Path(directory).rglob("*") if p.name.endswith(".tmp")]


@pytest.fixture
def cont(tmp_path) -> Path:
    x = np.random.default_rng(0).normal(size=(120, 3)).astype(np.float32)
    return save(Dataset(x, "continuous", attrs={"feature_names": ["a", "b", "c"]}), tmp_path / "cont.h5")


@pytest.fixture
def run_dir(cli, tmp_path, cont) -> Path:
    run = tmp_path / "run"
    code, _, err = cli("train", "toy-gauss", "--data", cont, "--out", run, "--steps", "20", *Q)
    assert code == 0, err
    return run


# --- disk full, permission denied, read-only: injected in the atomic writer --------------------------------
@pytest.mark.parametrize("code", ERRNOS)
@pytest.mark.parametrize("where", ["mkstemp", "write", "replace"])
def test_atomic_writer_names_the_users_path_and_leaves_no_temporary(tmp_path, monkeypatch, code, where):
    target = tmp_path / "out.json"
    target.write_text("old\n")

    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code), str(tmp_path / ".out.json.x.tmp"))

    if where == "mkstemp":
        monkeypatch.setattr(atomic.tempfile, "mkstemp", fail)
    elif where == "write":
        monkeypatch.setattr(atomic, "open", fail, raising=False)
    else:
        monkeypatch.setattr(atomic.os, "replace", fail)
    with pytest.raises(OSError) as info:
        atomic.write_json(target, {"a": 1})
    assert info.value.errno == code and info.value.filename == str(target)
    assert target.read_text() == "old\n" and _temporaries(tmp_path) == []


def test_free_space_is_checked_before_writing(tmp_path, monkeypatch):
    class Full:
        f_bavail = f_bfree = 1
        f_frsize = 4096

    monkeypatch.setattr(atomic.os, "statvfs", lambda path: Full())
    with pytest.raises(OSError) as info:
        atomic.write_bytes(tmp_path / "big.bin", b"x" * 10_000)
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(tmp_path / "big.bin")
    assert "10,000 bytes" in info.value.strerror and not list(tmp_path.iterdir())


def test_new_files_get_ordinary_permissions_and_replaced_files_keep_theirs(tmp_path):
    new = atomic.write_text(tmp_path / "new.txt", "x")
    assert new.stat().st_mode & 0o777 == 0o666 & ~atomic._UMASK
    old = tmp_path / "old.txt"
    old.write_text("y")
    old.chmod(0o640)
    atomic.write_text(old, "z")
    assert old.stat().st_mode & 0o777 == 0o640


def test_metrics_appends_that_fail_name_the_csv_file(tmp_path, monkeypatch):
    from physgen.training import logbook as L

    book = L.Logbook(tmp_path)
    book.log({"step": 1, "epoch": 0, "loss": 1.0})  # the first row writes the header (atomically)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(L, "open", full, raising=False)
    book.log({"step": 2, "epoch": 0, "loss": 0.5})
    with pytest.raises(OSError) as info:
        book.flush()
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(tmp_path / "metrics.csv")


def test_concurrent_writers_of_one_output_leave_one_complete_file(tmp_path):
    """Two processes replacing the same output at once (e.g. two ``sample --overwrite``): the file is always
    one writer's complete content, never a mix, and no temporary file stays behind."""
    target = tmp_path / "out.bin"
    script = ("import sys\nfrom physgen.atomic import write_bytes\n"
              "for _ in range(200):\n    write_bytes(sys.argv[1], sys.argv[2].encode() * 100_000)")
    procs = [subprocess.Popen([sys.executable, "-c", script, str(target), tag], env=_env()) for tag in "ab"]
    seen = set()
    while any(p.poll() is None for p in procs):
        try:
            seen.add(target.read_bytes())
        except FileNotFoundError:
            pass
    assert [p.returncode for p in procs] == [0, 0]
    seen.add(target.read_bytes())
    assert seen <= {b"a" * 100_000, b"b" * 100_000} and _temporaries(tmp_path) == []


def _failing_replace(code):
    def replace(src, dst, *args, **kwargs):
        raise OSError(code, os.strerror(code), src)
    return replace


@pytest.mark.parametrize("code", ERRNOS)
def test_every_writing_verb_reports_a_failed_write_on_one_line(cli, tmp_path, monkeypatch, cont, run_dir, code):
    """data (toy, import, ising), sample, score, evaluate, analyze, train, vmc and tune: the user's path, exit 2,
    no temporaries, the existing output intact (every verb with ENOSPC; the first three with EACCES and EROFS)."""
    np.save(tmp_path / "table.npy", np.ones((10, 2), dtype=np.float32))
    old = tmp_path / "old.h5"
    shutil.copyfile(cont, old)
    before = _sha(old)
    commands = [
        (["data", "toy", "ring", "--n", "50", "--out", old, "--overwrite"], old),
        (["data", "import", tmp_path / "table.npy", "--out", old, "--overwrite"], old),
        (["sample", run_dir, "--n", "10", "--out", old, "--overwrite"], old),
        (["score", run_dir, "--data", cont, "--out", old, "--overwrite"], old),
        (["evaluate", "--real", cont, "--fake", cont, "--out", tmp_path / "ev", "--no-plots", "--n-boot", "2",
          "--metrics", "kl"], tmp_path / "ev" / "metrics.json"),
        (["analyze", "pca", cont, "--out", tmp_path / "pca", "--components", "2"], tmp_path / "pca"),
        (["train", "toy-gauss", "--data", cont, "--out", tmp_path / "new-run", "--steps", "5", *Q],
         tmp_path / "new-run"),
        (["data", "ising", "--size", "4", "--temperatures", "2.0", "--samples", "10", "--device", "cpu", "--out",
          tmp_path / "is.h5"], tmp_path / "is.h5"),
        (["vmc", "--particles", "1", "--dim", "1", "--iterations", "2", "--samples", "100", "--walkers", "10",
          "--quiet", "--out", tmp_path / "vmc"], tmp_path / "vmc"),
        (["tune", "toy-gauss", "--data", cont, "--out", tmp_path / "tune", "--trials", "1", "--trial-time", "1"],
         tmp_path / "tune"),
    ]
    monkeypatch.setattr(atomic.os, "replace", _failing_replace(code))
    for args, named in commands if code == errno.ENOSPC else commands[:3]:
        status, _, err = cli(*args)
        assert status == 2, (args, err)
        line = _one_error_line(err, str(named), os.strerror(code))
        assert ".tmp" not in line, line
        assert _temporaries(tmp_path) == [], args
    assert _sha(old) == before


def _namespace_ok() -> bool:
    """Whether ``unshare -rm`` may mount a tmpfs and a read-only bind mount here."""
    if shutil.which("unshare") is None:
        return False
    with tempfile.TemporaryDirectory() as d:
        script = f"mount -t tmpfs -o size=64k tmpfs {d} && mount --bind {d} {d} && mount -o remount,ro,bind {d}"
        try:
            res = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return False
    return res.returncode == 0


namespace = pytest.mark.skipif(not _namespace_ok(), reason="needs unshare -rm with tmpfs mounts (user namespaces)")


NAMESPACE_SCRIPT = """
import json, os, sys
from physgen.cli import main
from physgen.data import load
full, ro = sys.argv[1:3]
codes = [main(["data", "toy", "ring", "--n", "500", "--out", full + "/x.h5"]),
         main(["data", "toy", "ring", "--n", "200000", "--out", full + "/x.h5", "--overwrite"]),
         main(["data", "toy", "ring", "--n", "500", "--out", ro + "/x.h5"])]
print(json.dumps({"codes": codes, "full": sorted(os.listdir(full)), "ro": os.listdir(ro),
                  "n": len(load(full + "/x.h5"))}))
"""


@namespace
def test_real_full_and_read_only_file_systems(tmp_path):
    """A 256 kB tmpfs: a 200000-sample dataset does not fit (the old file survives); a read-only bind mount:
    EROFS.  Each is one line naming the user's path, exit 2, no crash and no temporary file."""
    full, ro = tmp_path / "full", tmp_path / "ro"
    full.mkdir()
    ro.mkdir()
    mounts = (f"mount -t tmpfs -o size=256k tmpfs {full} && mount --bind {ro} {ro} && "
              f"mount -o remount,ro,bind {ro} && exec \"$0\" -c \"$1\" {full} {ro}")
    res = subprocess.run(["unshare", "-rm", "sh", "-c", mounts, sys.executable, NAMESPACE_SCRIPT],
                         capture_output=True, text=True, env=_env(), timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    result = json.loads(res.stdout.strip().splitlines()[-1])
    assert result == {"codes": [0, 2, 2], "full": ["x.h5"], "ro": [], "n": 500}, result  # no temporaries
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 2 and "Traceback" not in res.stderr, res.stderr
    assert lines[0].startswith(f"physgen: error: {full}/x.h5: No space left on device"), lines[0]
    assert lines[1].startswith(f"physgen: error: {ro}/x.h5: Read-only file system"), lines[1]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="chmod does not deny root")
def test_read_only_directory_by_permissions(cli, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        code, _, err = cli("data", "toy", "ring", "--n", "20", "--out", locked / "x.h5")
        assert code == 2
        _one_error_line(err, str(locked / "x.h5"), "Permission denied")
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)


# --- truncated and damaged inputs ---------------------------------------------------------------------------
def test_truncated_inputs_are_one_line(cli, tmp_path, cont, run_dir):
    cut = tmp_path / "cut.h5"
    cut.write_bytes(cont.read_bytes()[: cont.stat().st_size // 2])
    for args in (["data", "info", cut], ["score", run_dir, "--data", cut, "--out", tmp_path / "s.h5"],
                 ["evaluate", "--real", cont, "--fake", cut, "--out", tmp_path / "ev"],
                 ["train", "toy-gauss", "--data", cut, "--out", tmp_path / "r", *Q]):
        code, _, err = cli(*args)
        assert code == 2, args
        _one_error_line(err, str(cut))
    for _, ck in steps(run_dir / "checkpoints"):  # every checkpoint truncated: nothing to fall back on
        tensors = ck.with_suffix(".safetensors")
        tensors.write_bytes(tensors.read_bytes()[:-7])
    code, _, err = cli("sample", run_dir, "--n", "5", "--out", tmp_path / "s.h5", "--checkpoint", "latest")
    assert code == 2
    _one_error_line(err, "truncated")
    assert not (tmp_path / "r").exists() and not (tmp_path / "s.h5").exists()


def test_a_symlink_loop_is_named_as_such(cli, tmp_path):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    for args in (["data", "info", loop], ["sample", loop, "--n", "1", "--out", tmp_path / "s.h5"],
                 ["train", "toy-gauss", "--data", loop, "--out", tmp_path / "r", *Q],
                 ["train", "toy-gauss", "--data", loop, "--out", loop, *Q],
                 ["data", "import", loop, "--out", tmp_path / "x.h5"]):
        code, _, err = cli(*args)
        assert code == 2, args
        _one_error_line(err, "symlink loop")


# --- one writer per run directory; killed writers -----------------------------------------------------------
def test_lock_is_exclusive_and_a_stale_lock_is_taken_over(tmp_path):
    notes = []
    with RunLock(tmp_path / "d", note=notes.append) as held:
        record = json.loads(held.path.read_text())
        assert record["pid"] == os.getpid() and record["host"]
        with pytest.raises(UserError, match=rf"pid {os.getpid()} on host"):
            RunLock(tmp_path / "d").acquire()  # another open file description: refused, even in one process
    assert not (tmp_path / "d").exists() and notes == []  # made by the lock, released, removed
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / LOCK_NAME).write_text(json.dumps({"pid": 999999, "host": "elsewhere"}))  # holder died
    with RunLock(tmp_path / "e", note=notes.append) as lock:
        assert lock.previous == {"pid": 999999, "host": "elsewhere"}
    assert len(notes) == 1 and "pid 999999 on host elsewhere" in notes[0]
    assert list((tmp_path / "e").iterdir()) == []
    assert not (tmp_path / "missing").exists()
    with RunLock(tmp_path / "missing", create=False):
        assert not (tmp_path / "missing").exists()
    (tmp_path / "f").mkdir()
    (tmp_path / "precious").write_text("keep")
    (tmp_path / "f" / LOCK_NAME).symlink_to(tmp_path / "precious")  # a hostile lock file
    with pytest.raises(UserError, match="symbolic link"):
        RunLock(tmp_path / "f").acquire()
    assert (tmp_path / "precious").read_text() == "keep"


def test_second_writer_is_refused_and_kill_9_then_resume_takes_the_lock_over(cli, tmp_path, cont):
    run = tmp_path / "run"
    proc = subprocess.Popen(RUNNER + ["train", "toy-gauss", "--data", str(cont), "--out", str(run), "--steps", "400",
                                      *Q, "--set", "model.sleep=0.02", "--set", "train.checkpoint_every=5"],
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and latest(run / "checkpoints") is None:
            time.sleep(0.02)
        assert latest(run / "checkpoints") is not None, proc.stderr.read1().decode() if proc.poll() else ""
        needle = f"pid {proc.pid} on host"
        for args in (["train", "toy-gauss", "--out", run, "--resume", *Q],
                     ["train", "toy-gauss", "--data", cont, "--out", run, "--overwrite", "--steps", "5", *Q]):
            code, _, err = cli(*args)
            assert code == 2, err
            _one_error_line(err, needle, "another physgen process is writing")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert json.loads((run / LOCK_NAME).read_text())["pid"] == proc.pid  # left behind, but no longer locked
    code, out, err = cli("train", "toy-gauss", "--out", run, "--resume", "--steps", "40", *Q)
    assert code == 0, err
    assert out.startswith("completed: toy-gauss at step 40/40")
    assert "took over the lock" in err and f"pid {proc.pid}" in err
    assert not (run / LOCK_NAME).exists()


def test_tune_takes_the_lock_of_its_directory(cli, tmp_path, cont):
    pytest.importorskip("optuna")
    study = tmp_path / "study"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from physgen.runlock import RunLock\n"
                               "with RunLock(sys.argv[1]):\n    print('locked', flush=True); time.sleep(60)",
                               str(study)], env=_env(), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        code, _, err = cli("tune", "toy-gauss", "--data", cont, "--out", study, "--trials", "1", "--trial-time", "1")
        assert code == 2
        _one_error_line(err, f"pid {holder.pid} on host")
    finally:
        holder.kill()
        holder.wait()


def test_a_study_database_that_cannot_be_written_is_one_line(cli, tmp_path, cont, monkeypatch):
    pytest.importorskip("optuna")
    import sqlite3

    from physgen.tune import run as tune_run

    def full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(tune_run.S, "open_study", full)
    code, _, err = cli("tune", "toy-gauss", "--data", cont, "--out", tmp_path / "t", "--trials", "1",
                       "--trial-time", "1")
    assert code == 2
    _one_error_line(err, str(tmp_path / "t" / "study.db"), "database or disk is full")
    assert not (tmp_path / "t").exists()


# --- paths that are not UTF-8 -------------------------------------------------------------------------------
def _latin1_dir(tmp_path: Path) -> Path:
    try:
        d = Path(os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9"))
        d.mkdir()
    except (OSError, UnicodeError):
        pytest.skip("this file system refuses names that are not UTF-8")
    return d


def test_non_utf8_paths_work_end_to_end(cli, tmp_path):
    d = _latin1_dir(tmp_path)
    np.savetxt(d / "t.txt", np.random.default_rng(2).normal(size=(60, 2)), header="a b")
    steps = [["data", "import", d / "t.txt", "--out", d / "t.h5"],
             ["train", "toy-gauss", "--data", d / "t.h5", "--out", d / "run", "--steps", "10", *Q],
             ["train", "toy-gauss", "--out", d / "run", "--resume", "--steps", "20", *Q],
             ["sample", d / "run", "--n", "7", "--out", d / "s.h5"],
             ["score", d / "run", "--data", d / "t.h5", "--out", d / "sc.h5"],
             ["evaluate", "--real", d / "t.h5", "--fake", d / "s.h5", "--out", d / "ev", "--n-boot", "2",
              "--metrics", "kl"],
             ["data", "info", d / "s.h5"]]
    for args in steps:
        code, out, err = cli(*args)
        assert code == 0, (args, err)
        assert "caf\\xe9" in out or "caf\\udce9" in out or args[0] in ("evaluate",), out
    ds = load(os.fsencode(d / "s.h5"))  # bytes work as well as str
    assert len(ds) == 7 and ds.attrs["run"] == str((d / "run").resolve())  # the name round-trips
    assert json.loads((d / "run" / "summary.json").read_text())["data"] == str((d / "t.h5").resolve())
    code, _, err = cli("data", "info", d / "missing.h5")
    assert code == 2 and "caf\\xe9" in _one_error_line(err)


def test_the_python_api_takes_bytes_paths(tmp_path):
    from physgen.data.tabular import import_file
    from physgen.training import load_run, train

    d = os.fsencode(_latin1_dir(tmp_path))
    np.savetxt(os.fsdecode(d + b"/t.txt"), np.random.default_rng(3).normal(size=(40, 2)))
    save(import_file(d + b"/t.txt"), d + b"/t.h5")
    sets = ["train.progress=false", "data.val_fraction=0", "train.device=cpu"]
    assert train("toy-gauss", data=d + b"/t.h5", out=d + b"/run", steps=4, sets=sets)["status"] == "completed"
    assert train("toy-gauss", data=None, out=d + b"/run", resume=True, steps=8, sets=sets)["steps"] == 8
    assert len(load_run(d + b"/run").sample(3)) == 3


# --- no output replaces an input ----------------------------------------------------------------------------
def test_an_output_that_is_an_input_is_refused_with_or_without_overwrite(cli, tmp_path, cont, run_dir):
    hard = tmp_path / "hard.h5"
    os.link(cont, hard)
    sym = tmp_path / "sym.h5"
    sym.symlink_to(cont)
    np.save(tmp_path / "t.npy", np.ones((10, 2), dtype=np.float32))
    ev = tmp_path / "ev"
    ev.mkdir()
    os.link(cont, ev / "metrics.json")
    an = tmp_path / "an"
    an.mkdir()
    os.link(cont, an / "index.html")
    inside = tmp_path / "old-run"
    shutil.copytree(run_dir, inside)
    shutil.copyfile(cont, inside / "data.h5")
    best = latest(run_dir / "checkpoints").with_suffix(".safetensors")
    guarded = {p: _sha(p) for p in (cont, tmp_path / "t.npy", best, inside / "data.h5")}
    cases = [
        ["score", run_dir, "--data", cont, "--out", cont],
        ["score", run_dir, "--data", cont, "--out", hard],
        ["score", run_dir, "--data", cont, "--out", sym],
        ["score", run_dir, "--data", cont, "--out", best],
        ["sample", run_dir, "--n", "5", "--out", best],
        ["data", "import", tmp_path / "t.npy", "--out", tmp_path / "t.npy"],
        ["evaluate", "--real", cont, "--fake", cont, "--out", ev],
        ["analyze", "pca", cont, "--out", an],
        ["train", "toy-gauss", "--data", inside / "data.h5", "--out", inside, "--steps", "5", *Q, "--overwrite"],
    ]
    for args in cases:
        for extra in ([], ["--overwrite"]):
            code, _, err = cli(*args, *extra)
            assert code == 2, (args, extra, err)
            _one_error_line(err, "is the input", "never replaces an input")
    assert {p: _sha(p) for p in guarded} == guarded
    assert (inside / "data.h5").is_file() and (inside / "config.toml").is_file()
    for _ in range(2):  # the user's own files in a run directory are outputs like any other
        code, _, err = cli("sample", run_dir, "--n", "5", "--out", run_dir / "samples.h5", "--overwrite")
        assert code == 0, err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_odd_output_paths_are_one_line(cli, tmp_path):
    """A named pipe is never replaced; a file where a directory should be is named as such."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    code, _, err = cli("data", "toy", "ring", "--n", "10", "--out", fifo, "--overwrite")
    assert code == 2
    _one_error_line(err, str(fifo), "device, pipe or socket")
    assert fifo.is_fifo()
    (tmp_path / "file").write_text("x")
    code, _, err = cli("data", "toy", "ring", "--n", "10", "--out", tmp_path / "file" / "x.h5")
    assert code == 2
    _one_error_line(err, str(tmp_path / "file" / "x.h5"), "Not a directory")


def test_writers_refuse_a_protected_input_whatever_its_name(tmp_path, cont):
    from physgen.paths import forget_inputs, refuse_overwriting_inputs

    other = tmp_path / "other-name.h5"
    os.link(cont, other)
    refuse_overwriting_inputs({"--data": cont}, {"--out": tmp_path / "new.h5"})
    try:
        with pytest.raises(UserError, match="is the input --data"):
            atomic.write_bytes(other, b"x")
    finally:
        forget_inputs()
    atomic.write_bytes(tmp_path / "free.bin", b"x")
