"""Every verb declares its arguments once, as rows of physgen.cli.options.Arg, and one function makes the argparse
arguments: ranges are constraints, a row keyed to an options dataclass takes the dataclass's default, choices and
range, and the dataclass is built from the parsed rows."""
from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

import pytest

from physgen.cli import build_parser
from physgen.cli.common import ArgumentParser
from physgen.cli.options import Arg, add, keyed, values
from physgen.constraints import POSITIVE_INT, Interval

CLI = Path(__file__).resolve().parents[1] / "src" / "physgen" / "cli"
DEVELOPING = Path(__file__).resolve().parents[1] / "docs" / "DEVELOPING.md"


def test_only_the_table_calls_argparse():
    """Outside physgen.cli.options, the one structural argument is the top parser's --version."""
    calls = {path.name: len(re.findall(r"\.add_argument\(", path.read_text())) for path in CLI.glob("*.py")}
    assert {name: n for name, n in calls.items() if n and name != "options.py"} == {"__init__.py": 1}


def _parse(rows, argv):
    return add(ArgumentParser(prog="t"), rows).parse_args(argv)


def test_a_range_is_refused_in_the_constraints_words(capsys):
    rows = (Arg("--n", "count", range=POSITIVE_INT, default=3),
            Arg("--p", "a probability", range=Interval(float, 0, 1, closed="neither")))
    assert _parse(rows, []).n == 3 and _parse(rows, ["--n", "7", "--p", "0.5"]).p == 0.5
    for argv, need in ((["--n", "0"], "'0' must be >= 1"), (["--p", "1"], "'1' must be in (0, 1)"),
                       (["--p", "nan"], "'nan' is not finite")):
        with pytest.raises(SystemExit) as exc:
            _parse(rows, argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert need in err and err.count("\n") == 1


def test_exclusive_rows_form_one_group_required_when_a_row_says_so(capsys):
    rows = (Arg("--a", exclusive="x", required=True), Arg("--b", exclusive="x"), Arg("--c", group="more"))
    assert _parse(rows, ["--b", "1"]).b == "1"
    for argv in ([], ["--a", "1", "--b", "2"]):
        with pytest.raises(SystemExit):
            _parse(rows, argv)
    parser = add(ArgumentParser(prog="t"), rows)
    assert [g.title for g in parser._action_groups][-1] == "more"


@dataclass(frozen=True)
class Settings:
    size: int = 8
    mode: Literal["fast", "exact"] = "fast"
    periodic: bool = True
    scale: float | None = None

    constraints: ClassVar[dict] = {"size": POSITIVE_INT}


def test_a_keyed_row_takes_the_dataclass_declaration(capsys):
    rows = (keyed(Settings, "size", "--size", "lattice size (default {default})"), keyed(Settings, "mode", "--mode", "how"),
            keyed(Settings, "periodic", "--periodic", "boundaries"), keyed(Settings, "scale", "--scale", "a scale"))
    assert values(Settings, rows, _parse(rows, [])) == Settings() and rows[0].help == "lattice size (default 8)"
    parsed = _parse(rows, ["--size", "4", "--mode", "exact", "--no-periodic", "--scale", "2"])
    assert values(Settings, rows, parsed) == Settings(4, "exact", False, 2.0)
    for argv, need in ((["--size", "0"], "must be >= 1"), (["--mode", "slow"], "invalid choice")):
        with pytest.raises(SystemExit):
            _parse(rows, argv)
        assert need in capsys.readouterr().err


def test_the_quantum_verbs_defaults_are_their_configs():
    """physgen nqs and physgen vmc with only the required flags give the configs' own defaults."""
    from physgen.cli import nqs, vmc
    from physgen.quantum.nqs import NQSConfig
    from physgen.quantum.vmc import VMCConfig

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    args = sub.choices["nqs"].parse_args(["--size", "6", "--out", "o"])
    assert nqs.config_from_args(args) == NQSConfig(size=6)
    args = sub.choices["vmc"].parse_args(["--particles", "2", "--dim", "2", "--out", "o"])
    assert vmc.config_from_args(args) == VMCConfig(particles=2, dim=2)


def test_the_developer_guide_example_registers_a_verb():
    block = DEVELOPING.read_text().split("```python\n")
    code = next(b.split("```")[0] for b in block[1:] if "cli.options import" in b)
    code = "\n".join(line[2:] for line in code.splitlines())   # (the block is indented under its list item)
    namespace: dict = {}
    exec(code, namespace)
    parser = ArgumentParser(prog="physgen")
    sub = parser.add_subparsers(dest="verb", parser_class=ArgumentParser)
    namespace["run"] = lambda args: 0
    namespace["register"](sub)
    args = parser.parse_args(["toy", "ring", "--n", "5", "--out", "r.h5"])
    assert (args.name, args.n, args.out, args.seed, args.overwrite) == ("ring", 5, "r.h5", 0, False)


def test_evaluate_rows_are_evalconfig_fields():
    """physgen evaluate's --n-boot and --max-samples rows take their defaults and ranges from EvalConfig (a module
    of its own, which loads no torch; physgen.metrics re-exports it)."""
    from physgen.cli.evaluate import protocol_rows
    from physgen.fields import declaration
    from physgen.metrics.evaluate import EvalConfig

    for row in protocol_rows():
        d = declaration(EvalConfig, row.dest)
        assert (row.default, row.range) == (d.default, d.range), row.flag


def test_building_every_parser_loads_no_torch():
    """Registering the verbs (what `physgen --help` does) reads the tables without loading torch or scikit-learn."""
    import subprocess
    import sys

    code = ("import sys; from physgen.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('torch', 'sklearn') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
