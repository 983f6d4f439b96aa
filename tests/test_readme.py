"""The README's commands work: every ``physgen ...`` line of its ```bash blocks runs, in order, with exit 0.

The commands are read from README.md itself (backslash continuations joined, trailing ``#`` comments
dropped) and run in-process in a fresh directory, with the budgets shrunk so the whole quick start takes
about 20 s on one core: ``--max-time`` 3 s, ``--samples`` 100, ``--n`` 200, ``--epochs``/``--steps`` at most 20. Files a
user brings (``events.txt``) get a small generated stand-in, so a documented command cannot drift from a
working one without this test failing.

The outputs the README prints under a command (its ``#   `` lines) are checked too: the data commands
(``physgen data ising``, ``physgen data info``) are deterministic for their default seed, so they run at the
documented size and their lines must appear verbatim (whitespace aside); the other commands' lines are
checked in the shrunk run with every number masked (their figures depend on the training length).
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
import pytest
from doc_commands import BASH_BLOCK, page_commands

ROOT = Path(__file__).resolve().parents[1]

# Budget flags and the value each is shrunk to (a callable gets the documented value).
SHRINK = {
    "--max-time": lambda v: "3",
    "--samples": lambda v: "100",
    "--n": lambda v: "200",
    "--epochs": lambda v: str(min(int(v), 20)),
    "--steps": lambda v: str(min(int(v), 20)),
    "--trials": lambda v: "2",
    "--trial-time": lambda v: "2",
}

# Commands not run, with the reason (none at present: every documented command runs).
SKIP: dict[str, str] = {}

# Printed lines not compared, by their first word, with the reason.
UNCHECKED = {"validation:": "the verdict against the floor depends on the training length",
             "fluctuations:": "the errors of C and χ depend on the training length (and need a probe)",
             "…": "an elision of the metric lines"}
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def readme_commands(text: str) -> list[list[str]]:
    """The ``physgen`` command lines of the ```bash blocks of ``text``, as argument lists (in order)."""
    commands = []
    for block in BASH_BLOCK.findall(text):
        joined = re.sub(r"\\\n", " ", block)
        for line in joined.splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0] == "physgen":
                commands.append(words[1:])
    return commands


def readme_outputs(text: str) -> list[tuple[list[str], list[str]]]:
    """(command, its printed lines) for every ``physgen`` line of the ```bash blocks that is followed by
    ``#   `` comment lines, the README's record of what the command prints."""
    return [(c, lines) for c, lines in page_commands(text) if lines]


def _flat(text: str) -> str:
    return " ".join(text.split())


def _masked(text: str) -> str:
    return NUMBER.sub("N", _flat(text))


def shrink(args: list[str]) -> list[str]:
    """``args`` with every budget flag of :data:`SHRINK` set to its small value; a ``train`` that trains its
    family's default steps (no --steps/--epochs) trains 20."""
    out = list(args)
    for i, word in enumerate(out[:-1]):
        if word in SHRINK:
            out[i + 1] = SHRINK[word](out[i + 1])
    if out[:1] == ["train"] and "--resume" not in out and not {"--steps", "--epochs"} & set(out):
        out += ["--steps", "20"]
    return out


def _events_stand_in(path: Path) -> None:
    """A small tt̄-like event table: a ``# s t y`` header and 300 rows in [-1, 1]."""
    rng = np.random.default_rng(0)
    x = np.tanh(rng.normal(size=(300, 3)) * [0.5, 0.8, 0.4])
    np.savetxt(path, x, delimiter="\t", header="s\tt\ty", comments="# ")


def test_readme_commands_are_found():
    """The parser sees the quick start (guards the test below against an empty list)."""
    commands = readme_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    verbs = [c[0] for c in commands]
    assert {"data", "train", "sample", "evaluate"} <= set(verbs), verbs
    assert shrink(["train", "rbm", "--max-time", "60", "--n", "5000"]) == \
        ["train", "rbm", "--max-time", "3", "--n", "200", "--steps", "20"]
    assert shrink(["train", "rbm", "--steps", "500"]) == ["train", "rbm", "--steps", "20"]


def test_joins_continuations_and_drops_comments():
    text = "```bash\nphysgen data ising --size 8 \\\n    --out a.h5   # note\nls\n```\n"
    assert readme_commands(text) == [["data", "ising", "--size", "8", "--out", "a.h5"]]


def test_readme_outputs_are_found():
    """The parser sees the quick start's printed lines (guards the tests below against an empty list)."""
    outputs = dict((" ".join(c[:2]), lines) for c, lines in readme_outputs((ROOT / "README.md").read_text()))
    assert {"data ising", "data info", "train rbm", "sample runs/rbm", "evaluate --real"} <= set(outputs)
    assert _masked("kl   0.03243 ± 0.00864 (floor 0.024)") == _masked("kl -1.5 ± 2e-3 (floor 7)") == "kl N ± N (floor N)"


def test_readme_data_outputs_are_printed_verbatim(cli, tmp_path, monkeypatch):
    """``physgen data ising`` and ``physgen data info`` at the documented size print the README's lines, the
    numbers included (the Metropolis chains are seeded; about 5 s of one core)."""
    from physgen.data.ising import multispin

    if not multispin.AVAILABLE:
        pytest.skip("the README's τ_int figures are the multispin engine's (the torch engine draws other chains)")
    monkeypatch.chdir(tmp_path)
    for args, lines in readme_outputs((ROOT / "README.md").read_text(encoding="utf-8")):
        if args[0] != "data":
            continue
        code, out, err = cli(*args)
        assert code == 0, err
        assert _flat(" ".join(lines)) in _flat(err + "\n" + out), f"physgen {' '.join(args)}:\n{err}{out}"


def test_readme_commands_run(cli, tmp_path, monkeypatch):
    """Every README ``physgen`` command, budgets shrunk, exits 0 (run in order in a fresh directory)."""
    import torch

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    _events_stand_in(tmp_path / "events.txt")
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    printed = {tuple(c): lines for c, lines in readme_outputs(text) if c[0] != "data"}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for args in readme_commands(text):
            line = " ".join(["physgen", *args])
            if line in SKIP:
                continue
            code, out, err = cli(*shrink(args))
            assert code == 0, f"{line}\n(run as: physgen {' '.join(shrink(args))})\n{out}\n{err}"
            for want in printed.get(tuple(args), []):     # the documented lines, numbers masked
                if want.split()[0] not in UNCHECKED:
                    assert _masked(want) in _masked(out + "\n" + err), f"{line}: no line like {want!r}\n{out}{err}"
    finally:
        torch.set_num_threads(threads)
