"""Every verb that writes, under every fault: the table below is the coverage of the ``faults`` suite
(this module, ``test_faults.py`` and ``test_faults_writes.py``).  Each case ends in one line on stderr and exit
code 2 (or a clean success), with no partial output under the user's name and no input changed.

Faults: *full* (ENOSPC), *denied* (EACCES, and EROFS for a read-only file system), *damaged* (a truncated or
mutated input file), *concurrent* (two writers of one output), *killed* (``kill -9`` of the writer, then the
same command again).  A verb that reads no file has no *damaged* column (—).

=====================  =======  =======  ===========================  ===========================  ==================
verb                   full     denied   damaged                      concurrent                   killed
=====================  =======  =======  ===========================  ===========================  ==================
data ising             W        W        —                            A                            K, O
data import            W        W, P     D (npy, npz, csv, root)      A                            A
data digits            W        W        —                            A                            A
data mnist             W        W        D (IDX)                      A                            A
data toy               W        W, R     —                            A                            A
data pythia            W        W        —                            A                            A, O
data merge             W        W        D (h5, shard attributes)     A                            A
train                  W        W        T, F (run files), S, G, D    L                            L, S
sample (h5, root)      W        W        T, F, C (checkpoints)        A                            A
score                  W        W        T, F                         A                            A
evaluate (real/fake)   W        W        T, D (attributes)            L                            A
evaluate RUN           W        W        D (data), C                  L                            A
analyze (4 methods)    W        W        D (h5, attributes)           L                            A
vmc                    W        W        —                            L                            A
tune                   W        W        D (data, study database), M  L                            L, U
demo                   W        W        D (stage results)            L                            K (stages resume)
=====================  =======  =======  ===========================  ===========================  ==================

W  :func:`test_a_failed_write_is_one_line` (injected in :mod:`physgen.atomic`; every verb, every errno) and
   ``test_faults_writes.test_every_writing_verb_reports_a_failed_write_on_one_line``
R  ``test_faults_writes.test_real_full_and_read_only_file_systems`` (a real tmpfs and a read-only mount) and
   ``test_read_only_directory_by_permissions``;  P  :func:`test_an_unreadable_input_is_one_line`
A  the atomic writer: one writer's complete file, never a mix (``test_faults_writes.
   test_concurrent_writers_of_one_output_leave_one_complete_file``), and :func:`test_a_killed_writer_leaves_no_output`
K  :func:`test_a_killed_writer_leaves_no_output` (``data ising``; the next writer deletes the killed one's
   temporary file: :func:`test_only_temporaries_of_ended_processes_on_this_host_are_swept`) and
   :func:`test_a_killed_demo_resumes_its_stages`
O  ``--workers``: the worker processes end with their killed parent (:func:`test_workers_end_with_their_killed_parent`)
L  the run lock: ``test_faults_writes.test_second_writer_is_refused_and_kill_9_then_resume_takes_the_lock_over``,
   ``test_tune_takes_the_lock_of_its_directory``, :func:`test_a_second_demo_into_one_directory_is_refused`,
   :func:`test_a_second_writer_of_an_output_directory_is_refused` (``evaluate``, ``analyze``, ``vmc``)
T  ``test_faults_writes.test_truncated_inputs_are_one_line``
D  :func:`test_damaged_inputs_are_one_line`, :func:`test_mutated_physical_attributes_are_one_line`,
   :func:`test_mutated_shard_attributes_are_one_line`, :func:`test_damaged_demo_stage_results_are_run_again`
F  Hypothesis mutations of every run file (``test_faults.test_mutated_json_files_load_cleanly_or_are_one_line``)
M  damaged split files made again (:func:`test_damaged_tune_split_files_are_made_again`);  U  trials left running by
   a killed study are marked failed on the next run (``test_tune.test_study_continues_in_sqlite_and_refuses_other_settings``)
G  a damaged ``metrics.csv`` on resume (``test_faults.test_resume_with_a_damaged_metrics_csv``)
C  damaged checkpoints skipped for the newest one that loads (``test_faults.test_sample_skips_a_damaged_checkpoint``,
   ``test_resume_skips_a_damaged_newest_checkpoint``);  S  final statuses (``test_faults.test_status_*``)
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import trainer_toy  # noqa: F401  (registers toy-gauss)

from physgen import atomic
from physgen.data import Dataset, load, save
from physgen.demo.runner import Stage, run_stages
from physgen.runlock import RunLock

pytestmark = pytest.mark.faults

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
Q = ["--no-progress", "--device", "cpu", "--set", "data.val_fraction=0"]
ERRNOS = (errno.ENOSPC, errno.EACCES, errno.EROFS)


def _env() -> dict[str, str]:
    return dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join([str(SRC), str(HERE)]))


def _one_error_line(code: int, err: str, *needles: str) -> str:
    lines = [line for line in err.strip().splitlines() if not line.startswith(("physgen: warning: ", "[demo]"))]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("physgen: error: "), (code, err)
    assert "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def _temporaries(directory: Path) -> list[Path]:
    return [p for p in Path(directory).rglob("*") if p.name.endswith(".tmp")]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """Small inputs, made once: a continuous table, spins at two temperatures, IDX digits, a trained toy run."""
    from physgen.cli import main
    from physgen.data.idx import write_idx

    d = tmp_path_factory.mktemp("verbs")
    rng = np.random.default_rng(0)
    cont = save(Dataset(rng.normal(size=(60, 3)).astype(np.float32), "continuous",
                        attrs={"feature_names": ["a", "b", "c"]}), d / "cont.h5")
    spins = np.where(rng.random((40, 4, 4)) < 0.5, -1, 1).astype(np.int8)
    ising = save(Dataset(spins, "spins", {"temperature": np.repeat([1.5, 3.5], 20)}, attrs={"J": 1.0, "size": 4}),
                 d / "ising.h5")
    (d / "idx").mkdir()
    write_idx(d / "idx" / "train-images-idx3-ubyte", rng.integers(0, 256, (6, 28, 28), dtype=np.uint8))
    write_idx(d / "idx" / "train-labels-idx1-ubyte", rng.integers(0, 10, 6, dtype=np.uint8))
    np.save(d / "table.npy", np.ones((10, 2), dtype=np.float32))
    assert main(["train", "toy-gauss", "--data", str(cont), "--out", str(d / "run"), "--steps", "4", *Q]) == 0
    return {"dir": d, "cont": cont, "ising": ising, "idx": d / "idx", "npy": d / "table.npy", "run": d / "run"}


def _verbs(i: dict[str, Path], out: Path) -> dict[str, tuple[list, Path]]:
    """Each writing verb: its arguments and the path its failed write must name."""
    h5 = out / "x.h5"
    return {
        "data ising": (["data", "ising", "--size", "4", "--temperatures", "2.0", "--samples", "10", "--device", "cpu",
                        "--out", h5], h5),
        "data import": (["data", "import", i["npy"], "--out", h5], h5),
        "data digits": (["data", "digits", "--out", h5], h5),
        "data mnist": (["data", "mnist", "--idx-dir", i["idx"], "--out", h5], h5),
        "data toy": (["data", "toy", "ring", "--n", "50", "--out", h5], h5),
        "data pythia": (["data", "pythia", "--process", "ttbar", "--ecm", "13000", "--n", "5", "--out", h5], h5),
        "data merge": (["data", "merge", i["cont"], i["cont"], "--out", h5], h5),
        "train": (["train", "toy-gauss", "--data", i["cont"], "--out", out / "run", "--steps", "3", *Q], out / "run"),
        "sample": (["sample", i["run"], "--n", "5", "--out", h5], h5),
        "sample --format root": (["sample", i["run"], "--n", "5", "--format", "root", "--out", out / "x.root"],
                                 out / "x.root"),
        "score": (["score", i["run"], "--data", i["cont"], "--out", h5], h5),
        "evaluate": (["evaluate", "--real", i["cont"], "--fake", i["cont"], "--out", out / "ev", "--no-plots",
                      "--n-boot", "2", "--metrics", "kl"], out / "ev"),
        "evaluate RUN": (["evaluate", i["run"], "--data", i["cont"], "--out", out / "ev", "--no-plots", "--n-boot",
                          "2", "--metrics", "kl"], out / "ev"),
        "analyze pca": (["analyze", "pca", i["cont"], "--out", out / "an", "--components", "2"], out / "an"),
        "analyze kmeans": (["analyze", "kmeans", i["cont"], "--out", out / "an", "--k", "2"], out / "an"),
        "analyze hierarchical": (["analyze", "hierarchical", i["cont"], "--out", out / "an", "--linkage", "ward",
                                  "--k", "2"], out / "an"),
        "analyze forest": (["analyze", "forest", i["ising"], "--out", out / "an", "--target", "phase",
                            "--estimators", "20"], out / "an"),
        "vmc": (["vmc", "--particles", "1", "--dim", "1", "--iterations", "2", "--samples", "100", "--walkers", "10",
                 "--quiet", "--out", out / "vmc"], out / "vmc"),
        "nqs": (["nqs", "--size", "4", "--iterations", "2", "--samples", "100", "--walkers", "10", "--quiet", "--out",
                 out / "nqs"], out / "nqs"),
        "tune": (["tune", "toy-gauss", "--data", i["cont"], "--out", out / "tune", "--trials", "1", "--trial-time",
                  "0.5"], out / "tune"),
        "demo": (["demo", "--out", out / "demo", "--stages", "fast"], out / "demo"),
    }


VERBS = list(_verbs({k: Path(k) for k in ("npy", "idx", "cont", "run", "ising")}, Path("out")))


def _fast_demo_stage(monkeypatch, seconds: float = 0.0) -> None:
    """``physgen demo`` with one stage that writes a file (the real stages take minutes)."""
    from physgen.demo import stages

    def fast(ctx):
        time.sleep(seconds)
        atomic.write_text(ctx.path("artifact.txt"), "x")
        ctx.report.text("fast stage ran")
        return {"answer": 1}
    monkeypatch.setattr(stages, "STAGES", [Stage("fast", "A fast stage", fast)])


@pytest.mark.parametrize("code", ERRNOS, ids=errno.errorcode.get)
@pytest.mark.parametrize("verb", VERBS)
def test_a_failed_write_is_one_line(cli, tmp_path, monkeypatch, inputs, verb, code):
    """Every writing verb, every errno at the rename of its first output: one line naming the user's path and
    the error, exit 2, no temporary file, the inputs unchanged."""
    if verb == "data pythia":
        pytest.importorskip("pythia8mc")
    if verb == "sample --format root":
        pytest.importorskip("uproot")
    _fast_demo_stage(monkeypatch)
    args, named = _verbs(inputs, tmp_path)[verb]
    before = {p: p.read_bytes() for p in inputs["dir"].rglob("*") if p.is_file()}

    def replace(src, dst, *a, **k):
        raise OSError(code, os.strerror(code), src)
    monkeypatch.setattr(atomic.os, "replace", replace)
    status, _, err = cli(*args)
    line = _one_error_line(status, err, str(named), os.strerror(code))
    assert ".tmp" not in line and _temporaries(tmp_path) == [], line
    assert not (tmp_path / "x.h5").exists() and not (tmp_path / "x.root").exists()
    assert {p: p.read_bytes() for p in inputs["dir"].rglob("*") if p.is_file()} == before


# --- damaged inputs -------------------------------------------------------------------------------------------
def _cut(src: Path, dst: Path) -> Path:
    dst.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    return dst


def test_damaged_inputs_are_one_line(cli, tmp_path, inputs):
    """Truncated inputs of the verbs that read files (text, NPY, NPZ, ROOT, HDF5, IDX): one line naming the
    file, exit 2, no output."""
    cut_h5 = _cut(inputs["cont"], tmp_path / "cut.h5")
    np.savez(tmp_path / "t.npz", samples=np.ones((50, 3)))
    np.save(tmp_path / "big.npy", np.ones((50, 3)))
    (tmp_path / "t.csv").write_text("a,b\n1,2\n3,4\n5,")
    idx = tmp_path / "idx"
    shutil.copytree(inputs["idx"], idx)
    _cut(idx / "train-images-idx3-ubyte", idx / "train-images-idx3-ubyte")
    out = tmp_path / "x.h5"
    cases = [(["data", "import", _cut(tmp_path / "big.npy", tmp_path / "cut.npy"), "--out", out], "cut.npy"),
             (["data", "import", _cut(tmp_path / "t.npz", tmp_path / "cut.npz"), "--out", out], "cut.npz"),
             (["data", "import", tmp_path / "t.csv", "--out", out], "t.csv"),
             (["data", "mnist", "--idx-dir", idx, "--out", out], "train-images"),
             (["data", "merge", inputs["cont"], cut_h5, "--out", out], "cut.h5"),
             (["evaluate", inputs["run"], "--data", cut_h5, "--out", tmp_path / "ev"], "cut.h5"),
             (["tune", "toy-gauss", "--data", cut_h5, "--out", tmp_path / "tune", "--trials", "1",
               "--trial-time", "1"], "cut.h5")]
    (tmp_path / "study").mkdir()
    (tmp_path / "study" / "study.db").write_bytes(b"not a database" * 20)
    cases.append((["tune", "toy-gauss", "--data", inputs["cont"], "--out", tmp_path / "study", "--trials", "1",
                   "--trial-time", "1"], "study.db"))
    cases += [(["analyze", method, cut_h5, "--out", tmp_path / "an", *more], "cut.h5") for method, more in
              (("pca", []), ("kmeans", ["--k", "2"]), ("hierarchical", ["--linkage", "ward", "--k", "2"]),
               ("forest", ["--target", "phase"]))]
    try:
        import uproot
    except ImportError:
        uproot = None
    if uproot is not None:
        with uproot.recreate(tmp_path / "t.root") as f:
            f["events"] = {"a": np.arange(1000.0)}
        cases.append((["data", "import", _cut(tmp_path / "t.root", tmp_path / "cut.root"), "--out", out], "cut.root"))
    for args, needle in cases:
        code, _, err = cli(*args)
        _one_error_line(code, err, needle)
    assert not out.exists() and not (tmp_path / "an").exists() and not (tmp_path / "tune").exists()


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads files without permission")
def test_an_unreadable_input_is_one_line(cli, tmp_path, inputs):
    locked = tmp_path / "locked.npy"
    shutil.copyfile(inputs["npy"], locked)
    locked.chmod(0)
    code, _, err = cli("data", "import", locked, "--out", tmp_path / "x.h5")
    _one_error_line(code, err, str(locked), "Permission denied")


def _demo_stages(calls: list[str], slow: float = 0.0):
    def first(ctx):
        calls.append("first")
        atomic.write_text(ctx.path("artifact.txt"), "x")
        return {"n": 1}

    def second(ctx):
        calls.append("second")
        time.sleep(slow)
        return {"n": 2}
    return [Stage("first", "First", first), Stage("second", "Second", second)]


@pytest.mark.parametrize("damage", [lambda p: p.write_bytes(p.read_bytes()[:9]), lambda p: p.write_text("[1, 2]"),
                                    lambda p: p.write_bytes(b"\xff\xfe"), lambda p: p.with_name("section.html").unlink()])
def test_damaged_demo_stage_results_are_run_again(tmp_path, damage):
    calls: list[str] = []
    run_stages(_demo_stages(calls), tmp_path, quick=True, seed=0, device=None, command="c")
    damage(tmp_path / "stages" / "first" / "result.json")
    calls.clear()
    html = run_stages(_demo_stages(calls), tmp_path, quick=True, seed=0, device=None, command="c").read_text()
    assert calls == ["first"] and "First" in html  # the damaged stage again, the intact one reused
    assert json.loads((tmp_path / "summary.json").read_text())["first"]["status"] == "ok"


# --- concurrent writers and killed processes --------------------------------------------------------------
def test_a_second_demo_into_one_directory_is_refused(cli, tmp_path, monkeypatch):
    _fast_demo_stage(monkeypatch)
    with RunLock(tmp_path / "demo"):
        code, _, err = cli("demo", "--out", tmp_path / "demo")
        _one_error_line(code, err, str(tmp_path / "demo"), f"pid {os.getpid()}")
    code, out, err = cli("demo", "--out", tmp_path / "demo")
    assert code == 0 and (tmp_path / "demo" / "report.html").is_file(), err


KILLED_DEMO = """
import sys, time
from pathlib import Path
from physgen.atomic import write_text
from physgen.demo.runner import Stage, run_stages
slow = float(sys.argv[2])
def first(ctx):
    write_text(ctx.path("first.txt"), "x")
    return {}
def second(ctx):
    time.sleep(slow)
    return {}
run_stages([Stage("first", "First", first), Stage("second", "Second", second)], Path(sys.argv[1]), quick=True,
           seed=0, device=None, command="c")
"""


def test_a_killed_demo_resumes_its_stages(tmp_path):
    """``kill -9`` during the second stage; the next run reuses the first stage and finishes the second."""
    out = tmp_path / "demo"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_DEMO, str(out), "60"], env=_env(),
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (out / "stages" / "first" / "result.json").exists():
            time.sleep(0.02)
        time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert (out / "stages" / "first" / "result.json").exists() and not (out / "report.html").exists()
    res = subprocess.run([sys.executable, "-c", KILLED_DEMO, str(out), "0"], env=_env(), capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0 and "first: finished earlier, reused" in res.stderr, res.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert [summary[s]["status"] for s in ("first", "second")] == ["ok", "ok"]


KILLED_WRITER = """
import sys, time
from physgen import atomic
real = atomic.os.replace
def slow_replace(src, dst):
    print("renaming", flush=True)
    time.sleep(60)
    real(src, dst)
atomic.os.replace = slow_replace
from physgen.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_killed_writer_leaves_no_output(cli, tmp_path):
    """``kill -9`` of ``data ising`` with its file complete but not yet renamed: nothing under the user's name,
    the old file intact; the same command then succeeds and deletes the killed writer's temporary file."""
    out = tmp_path / "x.h5"
    out.write_bytes(b"old")
    args = ["data", "ising", "--size", "4", "--temperatures", "2.0", "--samples", "10", "--device", "cpu",
            "--out", str(out), "--overwrite"]
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, *args], env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "renaming", proc.stderr.read()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert out.read_bytes() == b"old" and len(_temporaries(tmp_path)) == 1   # the killed writer's
    code, _, err = cli(*args)
    assert code == 0, err
    assert len(load(out)) == 10 and _temporaries(tmp_path) == []            # swept by the next writer


@pytest.mark.parametrize("damage", ["truncate", "delete", "old record"])
def test_damaged_tune_split_files_are_made_again(tmp_path, inputs, damage):
    """A study's ``data/train.h5`` truncated or deleted (or damaged under a record without hashes): made again
    with the same rows, one warning line; the record is unchanged."""
    from physgen.tune import split

    record = split.make_split(inputs["ising"], tmp_path / "data", seed=3, condition="temperature")
    train = tmp_path / "data" / split.TRAIN
    rows = load(train).samples.copy()
    if damage == "old record":
        atomic.write_json(tmp_path / "data" / split.RECORD,
                          {k: v for k, v in record.items() if k not in ("train_sha256", "heldout_sha256")})
    if damage == "delete":
        train.unlink()
    else:
        _cut(train, train)
    warnings: list[str] = []
    again = split.make_split(inputs["ising"], tmp_path / "data", seed=3, condition="temperature", warn=warnings.append)
    assert len(warnings) == 1 and str(train) in warnings[0] and "made again" in warnings[0], warnings
    np.testing.assert_array_equal(load(train).samples, rows)
    assert {k: v for k, v in again.items() if "sha256" not in k} == {k: v for k, v in record.items() if "sha256" not in k}
    warnings.clear()
    split.make_split(inputs["ising"], tmp_path / "data", seed=3, condition="temperature", warn=warnings.append)
    assert warnings == []  # intact now


@pytest.mark.parametrize("key,value,needle", [
    ("shard_count", "abc", "attribute shard_count is 'abc', expected an integer"),
    ("shard_count", np.array([1, 2]), "attribute shard_count is [1, 2]"),
    ("shard_index", 1.5, "attribute shard_index is 1.5"),
    ("shard_index", np.nan, "attribute shard_index is nan"),
    ("shard_index", True, "attribute shard_index is True"),
    ("shard_count", 0, "attribute shard_count is 0, expected at least 1"),
    ("shard_count", np.int64(2 ** 62), "shards of different sets"),
])
def test_mutated_shard_attributes_are_one_line(cli, tmp_path, key, value, needle):
    import h5py

    x = np.zeros((4, 2), dtype=np.float32)
    a = save(Dataset(x, "continuous", attrs={"shard_index": 0, "shard_count": 2}), tmp_path / "a.h5")
    b = save(Dataset(x, "continuous", attrs={"shard_index": 1, "shard_count": 2}), tmp_path / "b.h5")
    with h5py.File(b, "a") as f:
        f.attrs[key] = value
    code, _, err = cli("data", "merge", a, b, "--out", tmp_path / "m.h5")
    _one_error_line(code, err, needle)
    assert not (tmp_path / "m.h5").exists()


def test_a_shard_set_with_a_huge_count_is_refused_at_once(cli, tmp_path):
    x = np.zeros((4, 2), dtype=np.float32)
    paths = [save(Dataset(x, "continuous", attrs={"shard_index": i, "shard_count": 2 ** 62}), tmp_path / f"{i}.h5")
             for i in range(2)]
    code, _, err = cli("data", "merge", *paths, "--out", tmp_path / "m.h5")
    _one_error_line(code, err, "missing shard 2, 3, 4", ", ... of 4611686018427387904")


@pytest.mark.parametrize("key,value,needle", [
    ("J", "abc", "attribute J is 'abc', expected a finite number"),
    ("J", np.array([1.0, 2.0]), "attribute J is [1.0, 2.0]"),
    ("h", np.nan, "attribute h is nan"),
    ("J", np.inf, "attribute J is inf"),
    ("size", 2.5, "attribute size is 2.5, expected a positive integer"),
    ("size", 0, "attribute size is 0"),
])
def test_mutated_physical_attributes_are_one_line(cli, tmp_path, inputs, key, value, needle):
    """``J``, ``h`` and ``size`` of an Ising file feed observables, metrics and the trainer's probe."""
    import h5py

    bad = tmp_path / "bad.h5"
    shutil.copyfile(inputs["ising"], bad)
    with h5py.File(bad, "a") as f:
        f.attrs[key] = value
    for args in (["data", "info", bad], ["analyze", "forest", bad, "--out", tmp_path / "fo", "--target", "phase"],
                 ["evaluate", "--real", bad, "--fake", inputs["ising"], "--out", tmp_path / "ev", "--no-plots"],
                 ["train", "toy-gauss", "--data", bad, "--out", tmp_path / "r", "--steps", "2", *Q]):
        code, _, err = cli(*args)
        _one_error_line(code, err, str(bad), needle)
    assert not any((tmp_path / name).exists() for name in ("fo", "ev", "r"))


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from ``/proc``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_workers_end_with_their_killed_parent():
    """``kill -9`` of a command running worker processes (``data ising --workers``, ``data pythia --workers``):
    the workers notice within a second and end, instead of computing on for nobody."""
    script = ("import time\nfrom physgen.data.shards import run_processes\n"
              "print('start', flush=True)\nrun_processes(time.sleep, [(60,), (60,)])")
    proc = subprocess.Popen([sys.executable, "-c", script], env=_env(), stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "start"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(_children(proc.pid)) < 3:   # two workers and a resource tracker
            time.sleep(0.05)
        workers = _children(proc.pid)
        assert len(workers) >= 2, workers
        time.sleep(0.5)   # the workers' start-up (and their watch on the parent) is done
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.05)
    left = [w for w in workers if _alive(w)]
    for w in left:   # (only if the test fails: do not leave them running)
        os.kill(w, signal.SIGKILL)
    assert left == []


def test_only_temporaries_of_ended_processes_on_this_host_are_swept(tmp_path):
    target = tmp_path / "x.json"
    host = atomic._HOST
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".x.json.{host}~{int(dead.stdout)}~abc.tmp"
    live = tmp_path / f".x.json.{host}~{os.getpid()}~def.tmp"         # a writer still running
    remote = tmp_path / f".x.json.elsewhere~{int(dead.stdout)}~ghi.tmp"  # another host's writer
    other = tmp_path / f".y.json.{host}~{int(dead.stdout)}~jkl.tmp"      # another file's
    for p in (stale, live, remote, other):
        p.write_text("partial")
    atomic.write_json(target, {"a": 1})
    assert sorted(p.name for p in _temporaries(tmp_path)) == sorted(p.name for p in (live, remote, other))
    long = tmp_path / ("n" * 230)   # no room for host and pid in its temporary name: written all the same
    atomic.write_text(long, "x")
    assert long.read_text() == "x"


@pytest.mark.parametrize("verb", ["evaluate", "analyze pca", "vmc", "nqs"])
def test_a_second_writer_of_an_output_directory_is_refused(cli, tmp_path, inputs, verb):
    """``evaluate``, ``analyze`` and ``vmc`` write several files into ``--out``: one writer at a time (the lock
    of ``train``), so two commands never leave a mix of their files; the directory the lock made is removed."""
    args, out = _verbs(inputs, tmp_path)[verb]
    with RunLock(out):
        code, _, err = cli(*args)
        _one_error_line(code, err, str(out), f"pid {os.getpid()}", "another physgen process")
    assert not out.exists()
    code, _, err = cli(*args)
    assert code == 0, err
    assert not (out / ".physgen.lock").exists()


@pytest.mark.parametrize("verb", ["sample", "data toy", "data ising", "analyze pca", "train", "evaluate", "vmc",
                                  "nqs"])
def test_seeds_out_of_range_are_refused_by_the_parser(cli, tmp_path, inputs, verb):
    """``--seed`` above the generators' range (2**63; 2**32 for scikit-learn's) is a usage error, not a
    traceback from HDF5, torch or scikit-learn."""
    args, _ = _verbs(inputs, tmp_path)[verb]
    big = str(2 ** 32 if verb.startswith("analyze") else 2 ** 64)
    code, _, err = cli(*args, "--seed", big)
    assert code == 2 and "--seed" in err and big in err and "Traceback" not in err, err
