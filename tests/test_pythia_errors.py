"""``physgen data pythia`` on bad input: one line on stderr, exit code 2, no output file."""
from __future__ import annotations

import sys

import pytest

BASE = ("data", "pythia", "--process", "ttbar", "--ecm", "13000", "--n", "5")


def _refused(cli, tmp_path, *args, needs_pythia: bool = True, expect: str = ""):
    if needs_pythia:
        pytest.importorskip("pythia8mc")
    out = tmp_path / "x.h5"
    code, stdout, err = cli(*args, "--out", out)
    assert code == 2, err
    assert stdout == "" and err.strip().count("\n") == 0 and expect in err, err
    assert not out.exists() and list(tmp_path.iterdir()) == []
    return err


@pytest.mark.parametrize("args, expect", [
    (("data", "pythia", "--process", "higgs", "--ecm", "13000", "--n", "5"), "--process"),
    (("data", "pythia", "--process", "ttbar", "--ecm", "0", "--n", "5"), "--ecm"),
    (("data", "pythia", "--process", "ttbar", "--ecm", "-13000", "--n", "5"), "--ecm"),
    (("data", "pythia", "--process", "ttbar", "--ecm", "nan", "--n", "5"), "--ecm"),
    (("data", "pythia", "--process", "ttbar", "--ecm", "13000", "--n", "0"), "--n"),
    ((*BASE, "--workers", "0"), "--workers"),
    ((*BASE, "--pthat-min", "-1"), "--pthat-min"),
])
def test_argument_errors(cli, tmp_path, args, expect):
    _refused(cli, tmp_path, *args, needs_pythia=False, expect=expect)


@pytest.mark.parametrize("setting", ["Foo:bar = 1", "SigmaProcess:renormScale2 = abc", "PhaseSpace:pTHatMin = lots",
                                     "nonsense"])
def test_pythia_rejects_setting(cli, tmp_path, setting):
    err = _refused(cli, tmp_path, *BASE, "--pythia", setting, expect="--pythia")
    assert setting in err and "PYTHIA" not in err


@pytest.mark.parametrize("setting, expect", [("Beams:eCM = 14000", "--ecm"), ("Random:seed = 5", "--seed"),
                                             ("beams:idB = -2212", "--ecm")])
def test_settings_physgen_controls(cli, tmp_path, setting, expect):
    err = _refused(cli, tmp_path, *BASE, "--pythia", setting, expect="--pythia")
    assert expect in err


def test_below_threshold(cli, tmp_path):
    _refused(cli, tmp_path, "data", "pythia", "--process", "ttbar", "--ecm", "100", "--n", "5", expect="--ecm")


def test_unknown_feature_and_too_many_workers(cli, tmp_path):
    _refused(cli, tmp_path, *BASE, "--features", "s,t,q", expect="--features")
    _refused(cli, tmp_path, *BASE, "--workers", "6", expect="--workers")


def test_existing_output_is_kept(cli, tmp_path):
    pytest.importorskip("pythia8mc")
    out = tmp_path / "x.h5"
    out.write_bytes(b"keep")
    code, _, err = cli(*BASE, "--out", out)
    assert code == 2 and "--overwrite" in err and out.read_bytes() == b"keep"


def test_without_the_extra_says_how_to_install(cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pythia8mc", None)  # import fails as if not installed
    err = _refused(cli, tmp_path, *BASE, needs_pythia=False, expect="pip install 'physgen[hep]'")
    assert err.startswith("physgen: error:")
