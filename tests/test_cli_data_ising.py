"""`physgen data ising`: end-to-end on tiny lattices, and every bad input is exit 2 with one stderr line."""
import numpy as np
import pytest

from physgen.data import load


def _fails(cli, args, out, *fragments):
    code, stdout, err = cli(*args)
    assert code == 2, (code, stdout, err)
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    if out is not None and not out.exists():
        assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
    return err


def _base(out, **overrides):
    opts = {"--size": "4", "--temperatures": "2.0,3.0", "--samples": "6", "--chains": "3", "--burn-in": "5",
            "--thin": "2", "--out": out} | overrides
    args = ["data", "ising"]
    for key, value in opts.items():
        if value is not None:
            args += [key, value]
    return args


def test_writes_a_valid_dataset(cli, tmp_path):
    out = tmp_path / "i.h5"
    code, stdout, err = cli(*_base(out, **{"--seed": "4", "--J": "1.0", "--h": "0.1"}))
    assert code == 0, err
    assert "wrote" in stdout and str(out) in stdout
    ds = load(out)
    assert ds.kind == "spins" and ds.samples.shape == (12, 4, 4) and ds.samples.dtype == np.int8
    np.testing.assert_array_equal(np.unique(ds.conditions["temperature"]), [2.0, 3.0])
    assert ds.attrs["seed"] == 4 and ds.attrs["h"] == 0.1 and ds.attrs["algorithm"] == "metropolis"
    assert len(ds.attrs["tau_int_abs_m"]) == 2 and len(ds.attrs["tau_int_energy"]) == 2


def test_t_range_wolff_and_overwrite(cli, tmp_path):
    out = tmp_path / "w.h5"
    out.write_text("old")
    args = _base(out, **{"--temperatures": None, "--t-range": "1.5:3.5:3", "--algorithm": "wolff",
                         "--size": "5"}) + ["--overwrite"]
    code, stdout, err = cli(*args)
    assert code == 0, err
    ds = load(out)
    np.testing.assert_allclose(np.unique(ds.conditions["temperature"]), [1.5, 2.5, 3.5])
    assert ds.attrs["algorithm"] == "wolff" and ds.shape == (5, 5)


def test_short_thinning_warns_on_one_stderr_line(cli, tmp_path):
    out = tmp_path / "tc.h5"
    code, _, err = cli(*_base(out, **{"--size": "16", "--temperatures": "2.269", "--samples": "64",
                                      "--chains": "8", "--burn-in": "200", "--thin": "1"}))
    assert code == 0 and out.exists()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("physgen: warning: thin=1") and "tau_int" in lines[0]


@pytest.mark.parametrize("overrides,fragments", [
    ({"--size": "1"}, ["--size", "must be >= 2"]),
    ({"--size": "0"}, ["--size"]),
    ({"--size": "four"}, ["--size", "not an integer"]),
    ({"--size": "5"}, ["--size", "even size"]),
    ({"--temperatures": "2.0,0"}, ["--temperatures", "> 0"]),
    ({"--temperatures": "-1.5"}, ["--temperatures", "> 0"]),
    ({"--temperatures": "2.0,nan"}, ["--temperatures", "not finite"]),
    ({"--temperatures": ","}, ["--temperatures", "at least one"]),
    ({"--temperatures": None, "--t-range": "0:3:4"}, ["--t-range", "> 0"]),
    ({"--temperatures": None, "--t-range": "1:3"}, ["--t-range", "LOW:HIGH:COUNT"]),
    ({"--temperatures": None, "--t-range": "1:3:0"}, ["--t-range"]),
    ({"--samples": "0"}, ["--samples", ">= 1"]),
    ({"--thin": "0"}, ["--thin", ">= 1"]),
    ({"--chains": "0"}, ["--chains"]),
    ({"--burn-in": "-1"}, ["--burn-in"]),
    ({"--algorithm": "glauber"}, ["--algorithm", "glauber"]),
    ({"--algorithm": "wolff", "--h": "0.2"}, ["--h", "h = 0"]),
    ({"--h": "inf"}, ["--h", "not finite"]),
    ({"--device": "nonsense"}, ["--device", "nonsense"]),
])
def test_bad_input_is_one_line_and_exit_2(cli, tmp_path, overrides, fragments):
    out = tmp_path / "bad.h5"
    _fails(cli, _base(out, **overrides), out, *fragments)
    assert not out.exists()


def test_missing_temperatures_is_refused(cli, tmp_path):
    _fails(cli, _base(tmp_path / "x.h5", **{"--temperatures": None}), tmp_path / "x.h5", "--temperatures")


def test_existing_output_is_refused_without_overwrite(cli, tmp_path):
    out = tmp_path / "exists.h5"
    out.write_text("keep me")
    _fails(cli, _base(out), out, str(out), "already exists", "--overwrite")
    assert out.read_text() == "keep me"


def test_help_has_an_example(cli):
    code, stdout, _ = cli("data", "ising", "--help")
    assert code == 0 and "Example:" in stdout and "physgen data ising --size" in stdout
