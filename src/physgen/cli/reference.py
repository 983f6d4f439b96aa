"""The command-line reference, docs/cli.md, generated from physgen's argparse parsers.

One section per verb and sub-verb of :func:`physgen.cli.build_parser`: its usage line, description, sub-verbs,
every option (help text, default, choices) grouped as ``--help`` groups them, and its example. The page is a
function of the parsers alone: the usage lines are wrapped at a fixed :data:`WIDTH` (not the terminal's) and
written here rather than by argparse's formatter, whose layout differs between Python versions.

Run from the repository root after changing a verb's options (``tests/test_cli_reference.py`` fails until
then)::

    python -m physgen.cli.reference             # rewrites docs/cli.md
    python -m physgen.cli.reference --check     # exit 1 where docs/cli.md differs
"""
from __future__ import annotations

import argparse
import html
import sys
from pathlib import Path
from typing import Iterator, Sequence

from physgen.cli.options import Arg, add

WIDTH = 100
OUT = Path("docs") / "cli.md"
COMMAND = "python -m physgen.cli.reference"
HEADER = f"""# Command-line reference

Every verb and sub-verb of `physgen`, generated from the command's own parsers by `{COMMAND}`
(do not edit by hand: `tests/test_cli_reference.py` checks that this page is up to date). Each section gives
the usage line, what the command does, its options with their defaults and choices, and an example; every
command also takes `-h`/`--help`, which prints the same. What the commands write is described in
[data.md](data.md) (dataset files), [training.md](training.md#run-directory) (run directories) and
[metrics.md](metrics.md#metricsjson) (`metrics.json`).
"""
GROUP_TITLES = {"positional arguments": "Arguments", "options": "Options", "optional arguments": "Options"}


def walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ("physgen",)
         ) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every (command path, parser) of the tree, depth first, sub-verbs in the order they were registered."""
    yield path, parser
    for action in _subverbs(parser):
        for name, sub in action.choices.items():
            yield from walk(sub, path + (name,))


def _subverbs(parser: argparse.ArgumentParser) -> list[argparse._SubParsersAction]:
    return [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]


def _visible(action: argparse.Action) -> bool:
    return action.help is not argparse.SUPPRESS and not isinstance(action, argparse._HelpAction)


def _metavar(action: argparse.Action) -> str:
    """The value placeholder of ``action`` as argparse prints it: METAVAR, [M], [M ...], M [M ...], {a,b}."""
    if action.metavar is not None:
        name = action.metavar if isinstance(action.metavar, str) else " ".join(action.metavar)
    elif action.choices is not None and not isinstance(action, argparse._SubParsersAction):
        name = "{" + ",".join(map(str, action.choices)) + "}"
    else:
        name = action.dest.upper() if action.option_strings else action.dest
    nargs = action.nargs
    if nargs is None:
        return name
    if nargs == argparse.OPTIONAL:
        return f"[{name}]"
    if nargs == argparse.ZERO_OR_MORE:
        return f"[{name} ...]"
    if nargs == argparse.ONE_OR_MORE:
        return f"{name} [{name} ...]"
    if nargs == argparse.PARSER:
        return f"{name} ..."
    if isinstance(nargs, int):
        return " ".join([name] * nargs)
    return name


def _invocation(action: argparse.Action, *, first_only: bool = True) -> str:
    """How the action is written on the command line: ``--size SIZE``, ``--open``, ``--x | --no-x``, ``RUN_DIR``."""
    if not action.option_strings:
        return _metavar(action)
    if isinstance(action, argparse.BooleanOptionalAction):
        return " | ".join(action.option_strings)
    names = action.option_strings[:1] if first_only else action.option_strings
    if action.nargs == 0:
        return ", ".join(names)
    return ", ".join(f"{name} {_metavar(action)}" for name in names)


def _usage_parts(parser: argparse.ArgumentParser) -> list[str]:
    """The usage line's words: options first (required ones bare), then positionals; a mutually exclusive group
    as ``(a | b)`` when one is required, ``[a | b]`` otherwise."""
    group_of = {id(a): g for g in parser._mutually_exclusive_groups for a in g._group_actions}
    done, parts = set(), []
    actions = [a for a in parser._actions if a.option_strings] + [a for a in parser._actions if not a.option_strings]
    for action in actions:
        if not _visible(action):
            continue
        group = group_of.get(id(action))
        if group is None:
            text = _invocation(action)
            boolean = isinstance(action, argparse.BooleanOptionalAction)
            parts.append(text if (action.required or not action.option_strings) and not boolean else f"[{text}]")
        elif id(group) not in done:
            done.add(id(group))
            inner = " | ".join(_invocation(a) for a in group._group_actions if _visible(a))
            parts.append(f"({inner})" if group.required else f"[{inner}]")
    return parts


def usage(parser: argparse.ArgumentParser) -> str:
    """``usage: PROG PARTS``, wrapped at :data:`WIDTH` with the continuation lines under the first part."""
    head = f"usage: {parser.prog} "
    lines, line = [], head
    for part in _usage_parts(parser):
        if len(line) + len(part) > WIDTH and line.strip() != head.strip():
            lines.append(line.rstrip())
            line = " " * len(head)
        line += part + " "
    lines.append(line.rstrip())
    return "\n".join(lines)


def _cell(text: str) -> str:
    """Text for a Markdown table cell: one line, pipes escaped (a code span with a pipe as :func:`_code`)."""
    parts = " ".join(str(text).split()).split("`")
    if len(parts) % 2 == 0:           # an unmatched backtick: no code spans
        parts = ["`".join(parts)]
    return "".join((_code(part) if "|" in part else f"`{part}`") if i % 2 else part.replace("|", "\\|")
                   for i, part in enumerate(parts))


def _code(text: str) -> str:
    """Code in a table cell. A pipe inside backticks splits the cell on GitHub and shows its escape on the
    site, so code with a pipe is written as HTML with the pipe as an entity."""
    if "|" not in text:
        return f"`{text}`"
    return "<code>" + html.escape(text, quote=False).replace("|", "&#124;") + "</code>"


def _default(action: argparse.Action) -> str:
    value = action.default
    if value is None or value is argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
        return ""
    if action.nargs == 0 and not isinstance(action, argparse.BooleanOptionalAction):
        return ""                      # a flag: off unless given
    if isinstance(value, (list, tuple)) and not value:
        return ""
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def _help(action: argparse.Action, prog: str) -> str:
    """The help text as ``--help`` prints it: ``%(default)s``, ``%(prog)s``, ... filled in and ``%%`` as ``%``."""
    if not action.help:
        return ""
    params = {k: v for k, v in vars(action).items() if v is not argparse.SUPPRESS}
    params["prog"] = prog
    if params.get("choices") is not None:
        params["choices"] = ", ".join(map(str, params["choices"]))
    return action.help % params


def _row(action: argparse.Action, prog: str, group: argparse._MutuallyExclusiveGroup | None = None) -> str:
    text = _help(action, prog)
    if action.choices is not None and action.metavar is not None:
        text += f" (choices: {', '.join(f'`{c}`' for c in action.choices)})"
    if action.required and action.option_strings:
        text += " (required)"
    if group is not None:
        others = ", ".join(f"`{a.option_strings[0]}`" for a in group._group_actions if a is not action)
        text += f" (required unless {others} is given)" if group.required else f" (not with {others})"
    return f"| {_code(_invocation(action, first_only=False))} | {_cell(_default(action))} | {_cell(text)} |"


def _groups(parser: argparse.ArgumentParser) -> list[str]:
    """A table per argument group of ``--help`` (positional arguments, options, a verb's own groups)."""
    exclusive = {id(a): g for g in parser._mutually_exclusive_groups for a in g._group_actions}
    out = []
    for group in parser._action_groups:
        actions = [a for a in group._group_actions if _visible(a) and not isinstance(a, argparse._SubParsersAction)]
        if not actions:
            continue
        out += [f"**{GROUP_TITLES.get(group.title, group.title)}**", ""]
        if group.description:
            out += [" ".join(group.description.split()), ""]
        kind = "option" if any(a.option_strings for a in actions) else "argument"
        out += [f"| {kind} | default | description |", "|---|---|---|"]
        out += [_row(a, parser.prog, exclusive.get(id(a))) for a in actions] + [""]
    return out


def _example(epilog: str | None) -> list[str]:
    """The ``Example:`` of a verb's epilog as a bash block (its other text, if any, as a paragraph)."""
    if not epilog:
        return []
    text, _, example = epilog.partition("Example:")
    commands = [line.strip() for line in example.splitlines() if line.strip()]
    out = [" ".join(text.split()), ""] if text.strip() else []
    if commands:
        out += ["**Example**", "", "```bash", *commands, "```", ""]
    return out


def _anchor(path: tuple[str, ...]) -> str:
    return "-".join(path)


def section(path: tuple[str, ...], parser: argparse.ArgumentParser) -> list[str]:
    """The Markdown of one command: heading, usage, description, sub-verbs, option tables, example."""
    level = "##" if len(path) <= 2 else "###"
    lines = [f"{level} {' '.join(path)}", "", "```text", usage(parser), "```", ""]
    if parser.description:
        lines += [" ".join(parser.description.split()), ""]
    for action in _subverbs(parser):
        helps = {a.dest: _help(a, parser.prog) for a in action._choices_actions}
        lines += ["**Sub-verbs**", ""]
        lines += [f"- [`{name}`](#{_anchor(path + (name,))}): {' '.join((helps.get(name) or '').split())}"
                  for name in action.choices]
        lines += [""]
    return lines + _groups(parser) + _example(parser.epilog)


def render(parser: argparse.ArgumentParser | None = None) -> str:
    """The whole page for ``parser`` (default: physgen's)."""
    if parser is None:
        from physgen.cli import build_parser

        parser = build_parser()
    lines = [HEADER]
    for path, sub in walk(parser):
        lines += section(path, sub)
    return "\n".join(lines).rstrip() + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog=COMMAND, description="write the command-line reference (docs/cli.md) "
                                 "from physgen's parsers; run from the repository root")
    add(ap, (Arg("--out", f"the page to write (default {OUT.as_posix()})", type=Path, default=OUT),
             Arg("--check", "write nothing; exit 1 where --out differs", action="store_true")))
    args = ap.parse_args(argv)
    text = render()
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.is_file() else None
        if current != text:
            print(f"{args.out.as_posix()} is out of date: run {COMMAND}", file=sys.stderr)
            return 1
        return 0
    partial = args.out.with_name(args.out.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(args.out)
    print(f"wrote {args.out.as_posix()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
