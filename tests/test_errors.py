"""Errors name what the caller passed: the parameter (or config key) from Python, its option on the command line."""
import ast
import pickle
import re
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


def _starts_with_option(node: ast.AST | None) -> bool:
    """Whether ``node`` is a string (or f-string) that starts with ``--`` or with ``vmc.``/``nqs.`` (the
    prefixes parameters had before ``key=``)."""
    if isinstance(node, ast.JoinedStr) and node.values:
        node = node.values[0]
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and re.match(
        r"--[a-z]|vmc\.|nqs\.", node.value) is not None


def _option_first_messages(path: Path) -> list[str]:
    """``file:line`` of each ``UserError("--...")`` in ``path``, and of each call passing a helper an option to
    put at the start of its message (``what="--n"``, ``where="--features"``, ``flag="--resume"``, ...)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        first = node.args[0] if node.args and getattr(node.func, "id", None) == "UserError" else None
        if _starts_with_option(first) or any(_starts_with_option(kw.value) for kw in node.keywords):
            found.append(f"{path.relative_to(SRC)}:{node.lineno}")
        found += [f"{path.relative_to(SRC)}:{node.lineno}" for arg in node.args[1:] if _starts_with_option(arg)]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):  # defaults: ``def f(what="--out")``
        if isinstance(node, ast.arguments):
            found += [f"{path.relative_to(SRC)}:{d.lineno}" for d in [*node.defaults, *node.kw_defaults]
                      if _starts_with_option(d)]
    return found


def test_library_errors_do_not_start_with_an_option():
    """Outside ``physgen.cli`` a UserError names the parameter (``key=``), never the option: the CLI maps it.
    Helpers are not handed an option to start their message with, and their defaults are not options."""
    bad = [hit for p in sorted(SRC.rglob("*.py")) if "cli" not in p.relative_to(SRC).parts[:1]
           and str(p.relative_to(SRC)) not in OPTION_TABLES for hit in _option_first_messages(p)]
    assert not bad, bad


#: modules that are tables of command-line options (their rows name the flags the CLI is made from)
OPTION_TABLES = {"train_options.py"}


#: ``(module, option)`` pairs a library message may still spell as an option, each with the reason.
CLI_TEXT = {
    ("atomic.py", "--overwrite"): "the CLI's own way to replace an output (Python passes overwrite=True)",
    ("paths.py", "--overwrite"): "the CLI's check that no output replaces one of its inputs",
    ("training/launch.py", "--resume"): "how to continue a run from the command line",
    ("training/launch.py", "--overwrite"): "the CLI's own way to replace an output",
    ("training/checkpoint.py", "--nproc_per_node"): "torchrun's option, not physgen's",
    ("training/distributed.py", "--nproc_per_node"): "torchrun's option, not physgen's",
    ("config.py", "--set"): "the `SECTION.KEY=VALUE` items are --set text from Python too",
    ("data/transforms.py", "--set"): "generic advice: a config override, not a parameter",
    ("training/stream_plan.py", "--set"): "generic advice: a config override, not a parameter",
}
MESSAGE_CALLS = {"UserError", "require", "note"}   # a UserError, a memory refusal's hint, a warning line


def _options_in_messages(path: Path) -> list[str]:
    """``file:line option`` of each ``--option`` in a string literal inside a :data:`MESSAGE_CALLS` call."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        name = getattr(node, "func", None)
        if not isinstance(node, ast.Call) or (getattr(name, "id", None) or getattr(name, "attr", None)) not in \
                MESSAGE_CALLS:
            continue
        for sub in ast.walk(node):
            if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                found += [f"{path.relative_to(SRC).as_posix()}:{sub.lineno} {flag}"
                          for flag in re.findall(r"--[a-z][a-z_-]*", sub.value)]
    return found


def test_library_messages_name_options_through_as_written():
    """Outside ``physgen.cli`` a message that mentions another parameter writes ``as_written(key)`` (the key from
    Python, its option from the CLI), never ``--option``; :data:`CLI_TEXT` lists the few that describe the command
    line itself, and each of them is still there."""
    hits = [hit for p in sorted(SRC.rglob("*.py")) if "cli" not in p.relative_to(SRC).parts[:1]
            for hit in _options_in_messages(p)]
    allowed = [h for h in hits if (h.split(":")[0], h.split()[1]) in CLI_TEXT]
    assert not set(hits) - set(allowed), sorted(set(hits) - set(allowed))
    assert {(h.split(":")[0], h.split()[1]) for h in allowed} == set(CLI_TEXT)


def test_worker_processes_name_keys_as_their_parent():
    """:func:`physgen.data.shards.run_processes` hands the CLI's naming on to its workers."""
    from physgen.cli.flags import OptionNames
    from physgen.data.shards import run_processes
    from physgen.errors import as_written, naming

    with naming(OptionNames({"pt": "--pt"})):
        assert run_processes(as_written, [("pt",), ("n",)]) == ["--pt", "n"]
    assert run_processes(as_written, [("pt",)]) == ["pt"]


def test_a_notice_names_the_key_as_the_caller_wrote_it():
    """Warning lines and hints: the key from Python, the option inside the CLI's :func:`naming`."""
    from physgen.errors import as_written, naming, note

    assert (note("skipped", key="which", value="best"), as_written("n")) == ("which=best: skipped", "n")
    with naming(lambda k: {"which": "--checkpoint"}.get(k, k)):
        assert (note("skipped", key="which", value="best"), as_written("which")) == (
            "--checkpoint best: skipped", "--checkpoint")
    assert as_written("which") == "which"
