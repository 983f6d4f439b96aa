"""Errors name what the caller passed: the parameter (or config key) from Python, its option on the command line."""
import ast
import pickle
from pathlib import Path

import pytest

from physgen.data.hep.jets import JetSpec
from physgen.data.idx import find_idx_files
from physgen.errors import UserError

SRC = Path(__file__).resolve().parents[1] / "src" / "physgen"


def test_python_errors_start_with_the_parameter(tmp_path):
    with pytest.raises(UserError) as exc:
        JetSpec("top", r=3.0).check()
    assert str(exc.value) == "r: must be in (0, 2], got 3.0" and exc.value.key == "r"
    with pytest.raises(UserError, match=r"^idx_dir=\S*nowhere: no such directory$"):
        find_idx_files(tmp_path / "nowhere")


def test_the_cli_shows_the_option_that_sets_the_parameter(cli, tmp_path):
    code, out, err = cli("data", "jets", "--type", "top", "--n", "5", "--jet-r", "3", "--out", tmp_path / "j.h5")
    assert (code, out) == (2, "") and err == "physgen: error: --jet-r: must be in (0, 2], got 3.0\n", err
    code, out, err = cli("data", "mnist", "--idx-dir", tmp_path / "nowhere", "--out", tmp_path / "m.h5")
    assert (code, out) == (2, "") and err == f"physgen: error: --idx-dir {tmp_path / 'nowhere'}: no such directory\n"


def test_key_and_value_survive_pickling():
    """Errors raised in worker processes reach the CLI through pickle."""
    err = pickle.loads(pickle.dumps(UserError("must be >= 1", key="n", value=0)))
    assert (str(err), err.key, err.value, err.render(lambda k: f"--{k}")) == ("n=0: must be >= 1", "n", "0",
                                                                            "--n 0: must be >= 1")


def _flag_first_errors(path: Path) -> list[str]:
    """``file:line`` of each ``UserError("--...")`` in ``path``: a message that starts with a CLI option."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "UserError" and node.args:
            first = node.args[0]
            if isinstance(first, ast.JoinedStr) and first.values:
                first = first.values[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value.startswith("--"):
                found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    return found


def test_library_errors_do_not_start_with_an_option():
    """Outside ``physgen.cli`` a UserError names the parameter (``key=``), never the option: the CLI maps it."""
    bad = [hit for p in sorted(SRC.rglob("*.py")) if "cli" not in p.relative_to(SRC).parts[:1]
           for hit in _flag_first_errors(p)]
    assert not bad, bad
