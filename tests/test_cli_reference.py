"""docs/cli.md is the command-line reference generated from physgen's parsers (``physgen.cli.reference``): it is
regenerated here and must equal the committed page, so that an option added, renamed or re-documented in a
verb's parser fails this test until the page is regenerated.  The generator is checked on its own too: every
verb and sub-verb gets a section, every visible option a row, and nothing depends on the terminal."""
from __future__ import annotations

import argparse
from pathlib import Path

from physgen.cli import build_parser
from physgen.cli import reference

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "cli.md"


def test_committed_page_is_up_to_date():
    current = PAGE.read_text(encoding="utf-8") if PAGE.is_file() else ""
    assert current == reference.render(), \
        f"docs/cli.md is out of date: run `{reference.COMMAND}` from the repository root and commit docs/cli.md"


def test_every_command_and_option_is_documented():
    text = reference.render()
    for path, parser in reference.walk(build_parser()):
        heading = ("## " if len(path) <= 2 else "### ") + " ".join(path)
        assert f"\n{heading}\n" in text, heading
        section = text.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            name = action.option_strings[0] if action.option_strings else reference._metavar(action)
            assert f"| `{name}" in section or f"| <code>{name}" in section, f"{' '.join(path)}: no row for {name}"
        if parser.epilog and "Example:" in parser.epilog:
            assert "**Example**\n\n```bash\nphysgen" in section, f"{' '.join(path)}: no example"


def test_page_does_not_depend_on_the_terminal(monkeypatch):
    """A narrow or wide terminal gives the same page, wrapped at the fixed width."""
    monkeypatch.setenv("COLUMNS", "40")
    narrow = reference.render()
    monkeypatch.setenv("COLUMNS", "300")
    assert reference.render() == narrow
    usage_lines = [line for block in narrow.split("```text\n")[1:] for line in block.split("```", 1)[0].splitlines()]
    assert usage_lines and all(len(line) <= reference.WIDTH for line in usage_lines
                               if " " in line.strip()), max(usage_lines, key=len)


def test_usage_line_of_a_small_parser():
    parser = argparse.ArgumentParser(prog="physgen toy")
    parser.add_argument("name", choices=["ring", "moons"])
    parser.add_argument("--n", type=int, required=True, help="points")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--a", type=float)
    group.add_argument("--b", metavar="LO:HI")
    parser.add_argument("--flag", action="store_true", help="a switch")
    parser.add_argument("--pbc", action=argparse.BooleanOptionalAction, default=True)
    assert reference.usage(parser) == "usage: physgen toy --n N (--a A | --b LO:HI) [--flag] [--pbc | --no-pbc] {ring,moons}"
    rows = reference.section(("physgen", "toy"), parser)
    assert "| <code>--pbc &#124; --no-pbc</code> | `true` |  |" in rows
    assert "| `--flag` |  | a switch |" in rows
    assert "| `--a A` |  | (required unless `--b` is given) |" in rows


def test_check_mode_reports_a_stale_page(tmp_path, capsys):
    stale = tmp_path / "cli.md"
    stale.write_text("# old\n", encoding="utf-8")
    assert reference.main(["--check", "--out", str(stale)]) == 1
    assert reference.COMMAND in capsys.readouterr().err
    assert reference.main(["--out", str(stale)]) == 0
    assert reference.main(["--check", "--out", str(stale)]) == 0
