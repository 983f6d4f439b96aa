"""The data importers' error contract: every bad input is exit 2, one line on stderr naming the file or
option and the problem, no traceback, and no output file left behind."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import h5py
import numpy as np
import pytest

from physgen.data import Dataset, load, save
from physgen.data.idx import write_idx


def _fails(cli, args, out, *fragments):
    """Run ``physgen ARGS``; check exit 2, one stderr line holding every fragment, and no ``out``."""
    code, stdout, err = cli(*args)
    assert code == 2, (code, stdout, err)
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    if out is not None:
        assert not out.exists()
        assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]  # no temp files
    return err


def _import_fails(cli, tmp_path, text, *fragments, kind=None, columns=None, name="in.csv"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    args = ["data", "import", path, "--out", tmp_path / "out.h5"]
    args += ["--kind", kind] if kind else []
    args += ["--columns", *columns] if columns else []
    return _fails(cli, args, tmp_path / "out.h5", str(path), *fragments)


# ------------------------------------------------------------------------------------- import
def test_nan_and_inf_say_how_many_and_where(cli, tmp_path):
    _import_fails(cli, tmp_path, "# s t y\n1 2 3\n4 nan 6\n\n7 8 inf\n-inf 1 1\n",
                  "3 NaN/Inf values in 3 rows", "line 3, column 2 (t)", "line 5, column 3 (y)",
                  "line 6, column 1 (s)")


def test_nan_in_npy_names_row_and_column(cli, tmp_path):
    x = np.zeros((4, 3))
    x[2, 1] = np.nan
    np.save(tmp_path / "x.npy", x)
    _fails(cli, ["data", "import", tmp_path / "x.npy", "--out", tmp_path / "o.h5"], tmp_path / "o.h5",
           "x.npy: 1 NaN/Inf value in 1 row (at row 2, column 2 (x1))")


def test_ragged_rows_name_the_line(cli, tmp_path):
    _import_fails(cli, tmp_path, "# a b c\n1 2 3\n4 5 6\n7 8\n", "line 4 has 2 fields, expected 3 (as on line 2)")
    _import_fails(cli, tmp_path, "1,2\n3,4,5\n", "line 2 has 3 fields, expected 2")


def test_non_numeric_fields_name_line_and_column(cli, tmp_path):
    _import_fails(cli, tmp_path, "# s t y\n1 2 3\n4 abc 6\n", "line 3, column 2 (t): 'abc' is not a number")
    _import_fails(cli, tmp_path, "1,2,3\n4,,6\n", "line 2, column 2: empty field")
    _import_fails(cli, tmp_path, "1,2,x\n4,5,6\n", "line 1, column 3: 'x' is not a number")


def test_empty_files(cli, tmp_path):
    _import_fails(cli, tmp_path, "", "is empty")
    _import_fails(cli, tmp_path, "# s t y\n# nothing else\n\n", "has no data rows")
    _import_fails(cli, tmp_path, "s,t,y\n", "has a header row but no data rows")


def test_unknown_columns(cli, tmp_path):
    _import_fails(cli, tmp_path, "# s t y\n1 2 3\n", "--columns: unknown column 'q'", "(columns: s, t, y)",
                  columns=["s", "q"])
    _import_fails(cli, tmp_path, "# s t y\n1 2 3\n", "--columns: index 3 out of range", columns=["3"])
    _import_fails(cli, tmp_path, "# s t y\n1 2 3\n", "--columns: column 's' of", "selected more than once",
                  columns=["s,0"])


def test_unknown_kind(cli, tmp_path):
    (tmp_path / "a.txt").write_text("1 2\n")
    _fails(cli, ["data", "import", tmp_path / "a.txt", "--out", tmp_path / "o.h5", "--kind", "ternary"],
           tmp_path / "o.h5", "--kind", "invalid choice: 'ternary'")
    from physgen.data.tabular import import_file
    from physgen.errors import UserError
    with pytest.raises(UserError, match="^kind: unknown kind 'ternary'"):
        import_file(tmp_path / "a.txt", kind="ternary")


def test_spins_and_binary_values_are_checked(cli, tmp_path):
    _import_fails(cli, tmp_path, "1 -1\n1 0\n1 2\n", "--kind spins needs values -1 and 1 only",
                  "2 other values (first 0 at line 2, column 2 (x1))", kind="spins")
    _import_fails(cli, tmp_path, "0 1\n1 -1\n", "--kind binary needs values 0 and 1 only",
                  "1 other value (first -1 at line 2, column 2 (x1))", kind="binary")
    _import_fails(cli, tmp_path, "0 1\n1 nan\n", "--kind binary", "first nan at line 2", kind="binary")


def test_unreadable_inputs(cli, tmp_path):
    out = tmp_path / "o.h5"
    _fails(cli, ["data", "import", tmp_path / "missing.csv", "--out", out], out, "missing.csv: no such file")
    _fails(cli, ["data", "import", tmp_path, "--out", out], out, "is a directory")
    save(Dataset(np.ones((2, 2), np.float32), "continuous"), tmp_path / "d.h5")
    _fails(cli, ["data", "import", tmp_path / "d.h5", "--out", out], out, "d.h5: an HDF5 file without JetNet's",
           "a physgen dataset file")
    (tmp_path / "b.dat").write_bytes(bytes(range(256)))
    _fails(cli, ["data", "import", tmp_path / "b.dat", "--out", out], out, "b.dat: not a UTF-8 text file")
    np.save(tmp_path / "x.npy", np.ones((100, 3)))
    (tmp_path / "x.npy").write_bytes((tmp_path / "x.npy").read_bytes()[:300])
    _fails(cli, ["data", "import", tmp_path / "x.npy", "--out", out], out, "x.npy: not a readable .npy file")
    np.save(tmp_path / "s.npy", np.array(["a", "b"]).reshape(2, 1))
    _fails(cli, ["data", "import", tmp_path / "s.npy", "--out", out], out, "s.npy: dtype <U1 is not a real number")
    np.save(tmp_path / "v.npy", np.ones(5))
    _fails(cli, ["data", "import", tmp_path / "v.npy", "--out", out], out, "v.npy: shape (5,), expected (N, ...)")


# ------------------------------------------------------------------------------- mnist, digits, toy
def _idx_dir(tmp_path, n_images=3, n_labels=3):
    folder = tmp_path / "idx"
    folder.mkdir()
    write_idx(folder / "train-images-idx3-ubyte", np.zeros((n_images, 28, 28), np.uint8))
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(n_labels, np.uint8))
    return folder


def _mnist_fails(cli, tmp_path, folder, *fragments):
    out = tmp_path / "m.h5"
    return _fails(cli, ["data", "mnist", "--idx-dir", folder, "--out", out], out, *fragments)


def test_mnist_bad_files(cli, tmp_path):
    folder = _idx_dir(tmp_path)
    images = folder / "train-images-idx3-ubyte"
    good = images.read_bytes()
    images.write_bytes(bytes([0, 0, 8, 1]) + good[4:])
    _mnist_fails(cli, tmp_path, folder, "train-images-idx3-ubyte: wrong magic number 0x00000801, expected 0x00000803")
    images.write_bytes(good[:-100])
    _mnist_fails(cli, tmp_path, folder, "train-images-idx3-ubyte: truncated: header says 3x28x28")
    images.write_bytes(good + b"\0")
    _mnist_fails(cli, tmp_path, folder, "size does not match header 3x28x28: 1 extra bytes")
    write_idx(images, np.zeros((4, 28, 28), np.uint8))
    _mnist_fails(cli, tmp_path, folder, "train-labels-idx1-ubyte.gz: 3 labels for 4 images")


def test_mnist_missing_dir_and_files(cli, tmp_path):
    _mnist_fails(cli, tmp_path, tmp_path / "nope", "--idx-dir", "nope: no such directory")
    folder = _idx_dir(tmp_path)
    (folder / "train-labels-idx1-ubyte.gz").unlink()
    _mnist_fails(cli, tmp_path, folder, "no labels file train-labels-idx1-ubyte[.gz]")
    out = tmp_path / "m.h5"
    _fails(cli, ["data", "mnist", "--idx-dir", folder, "--out", out, "--split", "valid"], out,
           "--split", "invalid choice: 'valid'")


def test_digits_and_toy_bad_options(cli, tmp_path):
    out = tmp_path / "o.h5"
    _fails(cli, ["data", "digits", "--out", out, "--binarize", "1.5"], out, "--binarize: threshold 1.5 must be in [0, 1)")
    _fails(cli, ["data", "digits", "--out", out, "--binarize", "nan"], out, "--binarize", "not finite")
    _fails(cli, ["data", "toy", "banana", "--n", "5", "--out", out], out, "invalid choice: 'banana'", "ring")
    _fails(cli, ["data", "toy", "ring", "--n", "0", "--out", out], out, "--n", "'0' must be >= 1")
    _fails(cli, ["data", "toy", "ring", "--n", "-3", "--out", out], out, "--n")
    _fails(cli, ["data", "toy", "ring", "--n", "5", "--noise", "-1", "--out", out], out, "--noise: -1.0 must be")
    _fails(cli, ["data", "toy", "checkerboard", "--n", "5", "--noise", "0.1", "--out", out], out,
           "--noise: toy 'checkerboard'")


# --------------------------------------------------------------------------------- existing output
@pytest.mark.parametrize("verb", [["toy", "moons", "--n", "20"], ["digits"], ["import", "IN"],
                                  ["mnist", "--idx-dir", "IDX"]])
def test_existing_output_is_refused_unless_overwrite(cli, tmp_path, verb):
    (tmp_path / "in.txt").write_text("1 2\n3 4\n")
    folder = _idx_dir(tmp_path)
    args = ["data"] + [str(tmp_path / "in.txt") if a == "IN" else str(folder) if a == "IDX" else a for a in verb]
    out = tmp_path / "out.h5"
    out.write_bytes(b"precious")
    code, _, err = cli(*args, "--out", out)
    assert code == 2 and err.count("\n") == 1 and "out.h5: output already exists (pass --overwrite" in err
    assert out.read_bytes() == b"precious"
    code, _, err = cli(*args, "--out", out, "--overwrite")
    assert code == 0, err
    assert len(load(out)) >= 2


# --------------------------------------------------------------------------------------- data info
def test_data_info_bad_files(cli, tmp_path):
    path = save(Dataset(np.ones((300, 8, 8), np.int8), "spins"), tmp_path / "a.h5")
    data = path.read_bytes()
    (tmp_path / "trunc.h5").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.h5").write_text("hello\n")
    (tmp_path / "empty.h5").write_bytes(b"")
    with h5py.File(tmp_path / "nosamples.h5", "w") as f:
        f.attrs["kind"] = "spins"
    with h5py.File(tmp_path / "badkind.h5", "w") as f:
        f["samples"] = np.ones((2, 2), np.float32)
        f.attrs["kind"] = "quarks"
    cases = {"missing.h5": "no such file", "trunc.h5": "not a readable HDF5", "text.h5": "not a readable HDF5",
             "empty.h5": "not a readable HDF5", "nosamples.h5": "missing dataset /samples",
             "badkind.h5": "attribute 'kind' is 'quarks'"}
    for name, message in cases.items():
        _fails(cli, ["data", "info", tmp_path / name], None, f"{name}: {message}")
    _fails(cli, ["data", "info", tmp_path], None, "is a directory")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read files without permission")
def test_data_info_unreadable_file(cli, tmp_path):
    path = save(Dataset(np.ones((2, 2), np.int8), "spins"), tmp_path / "a.h5")
    path.chmod(0)
    try:
        _fails(cli, ["data", "info", path], None, "a.h5")
    finally:
        path.chmod(0o600)


def test_permission_denied_is_reported_even_as_root(cli, tmp_path, monkeypatch):
    """Root reads files whatever their mode, so the refusal is simulated where the file is opened."""
    path = save(Dataset(np.ones((2, 2), np.int8), "spins"), tmp_path / "a.h5")
    (tmp_path / "in.txt").write_text("1 2\n")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(h5py, "File", denied)
    _fails(cli, ["data", "info", path], None, "a.h5: not a readable HDF5 dataset file", "Permission denied")
    monkeypatch.setattr("physgen.data.tabular.open", denied, raising=False)
    out = tmp_path / "o.h5"
    _fails(cli, ["data", "import", tmp_path / "in.txt", "--out", out], out, "in.txt: cannot read (Permission denied)")


# ------------------------------------------------------------------------------------ atomic writes
KILL_SCRIPT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import h5py
    original = h5py.Group.create_dataset
    def stalled(self, name, *args, **kwargs):  # write /samples, then hang mid-file until killed
        dataset = original(self, name, *args, **kwargs)
        if name == "samples":
            self.file.flush()
            Path(sys.argv[1]).write_text("ready")
            time.sleep(120)
        return dataset
    h5py.Group.create_dataset = stalled
    from physgen.cli import main
    sys.exit(main(sys.argv[2:]))
""")


def test_import_killed_mid_write_leaves_no_output(tmp_path):
    np.save(tmp_path / "big.npy", np.random.default_rng(0).normal(size=(200_000, 4)))
    out, ready = tmp_path / "out.h5", tmp_path / "ready"
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(ready), "data", "import",
                             str(tmp_path / "big.npy"), "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), proc.stderr.read() if proc.poll() is not None else "timed out"
        partial = [p for p in tmp_path.iterdir() if p.name.startswith(".out.h5.")]
        assert partial == []  # the HDF5 image is built in memory: nothing is on disk until it is complete
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()


def test_import_failing_mid_write_leaves_nothing(cli, tmp_path, monkeypatch):
    (tmp_path / "in.txt").write_text("1 2\n3 4\n")

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(h5py.Group, "create_group", disk_full)
    code, _, err = cli("data", "import", tmp_path / "in.txt", "--out", tmp_path / "out.h5")
    assert code == 2 and "No space left on device" in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]
