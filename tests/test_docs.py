"""The user documentation stays true: doctests of docs/api.md and docs/data.md, an example in every
``--help``, and no dead relative links in README.md and docs/*.md."""
from __future__ import annotations

import argparse
import doctest
import functools
import re
import unicodedata
from pathlib import Path

import pytest

from physgen.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCTEST_FILES = ("docs/api.md", "docs/data.md")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


@pytest.mark.parametrize("name", DOCTEST_FILES)
def test_doc_examples_run(name, tmp_path, monkeypatch):
    """Every ``>>>`` example of the page gives the output shown (run in a fresh working directory)."""
    import torch

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = doctest.testfile(str(ROOT / name), module_relative=False, report=True,
                                  optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    finally:
        torch.set_num_threads(threads)
    assert result.attempted > 10, f"{name}: only {result.attempted} examples found"
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed (see output above)"


def _parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ("physgen",)):
    """Every (command path, parser) of the CLI tree, sub-verbs included."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, path + (name,))


def test_every_verb_help_has_an_example():
    """``physgen VERB [SUBVERB] --help`` ends with an "Example:" whose command starts with that verb."""
    tree = list(_parsers(build_parser()))
    verbs = {path[1] for path, _ in tree if len(path) > 1}
    assert {"data", "train", "sample", "score", "evaluate", "analyze", "models", "demo"} <= verbs
    assert {("physgen", "data", v) for v in ("ising", "import", "digits", "mnist", "toy", "info")} <= \
        {path for path, _ in tree}
    missing = []
    for path, parser in tree[1:]:
        text = parser.format_help()
        if "Example" not in text or " ".join(path) not in text.split("Example", 1)[1]:
            missing.append(" ".join(path))
    assert not missing, f"--help without an example: {', '.join(missing)}"


def _markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_relative_links_point_to_existing_files():
    """Links like ``[x](docs/metrics.md)`` or ``[y](../README.md#anchor)`` resolve to files inside the repo."""
    dead = []
    for md in _markdown_files():
        for target in LINK.findall(md.read_text(encoding="utf-8")):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                continue  # http(s):, mailto:, in-page anchors
            path = (md.parent / target.split("#", 1)[0]).resolve()
            if not path.exists() or not path.is_relative_to(ROOT):
                dead.append(f"{md.relative_to(ROOT)} -> {target}")
    assert not dead, "dead links: " + "; ".join(dead)


@functools.cache
def heading_anchors(md: Path) -> frozenset[str]:
    """The anchors MkDocs gives ``md``: Python-Markdown's toc slug of each heading's text (inline code, emphasis
    and link targets dropped; non-ASCII letters such as χ dropped, as its ``slugify`` does), with ``_1``, ``_2`` …
    for repeats, and the ids set by hand (``<a id="…">``, ``{#…}``)."""
    source = md.read_text(encoding="utf-8")
    seen: set[str] = set()
    fenced = False
    for line in source.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        if fenced or not re.match(r"#{1,6} ", line):
            continue
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line.lstrip("#").strip()).replace("\\|", "|")
        text = unicodedata.normalize("NFKD", re.sub(r"[`*]", "", text)).encode("ascii", "ignore").decode()
        slug = re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", text).strip().lower())
        anchor, k = slug, 0
        while anchor in seen:
            k += 1
            anchor = f"{slug}_{k}"
        seen.add(anchor)
    return frozenset(seen | set(re.findall(r'\bid="([^"]+)"', source)) | set(re.findall(r"\{#([\w-]+)\}", source)))


def test_anchors_of_links_exist():
    """A link ``[x](records/van.md#a-heading)`` names an anchor that MkDocs gives one of that file's headings (the
    strict site build fails on a missing one; this finds it without building the site)."""
    missing = []
    for md in [*_markdown_files(), *sorted((ROOT / "benchmarks" / "records").glob("*.md"))]:
        for target in LINK.findall(md.read_text(encoding="utf-8")):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target) or "#" not in target:
                continue
            name, anchor = target.split("#", 1)
            path = (md.parent / name).resolve() if name else md
            if path.suffix == ".md" and path.exists() and anchor not in heading_anchors(path):
                missing.append(f"{md.relative_to(ROOT)} -> {target}")
    assert not missing, "links to missing anchors: " + "; ".join(missing)


def test_link_checker_sees_links():
    """The link pattern really finds the README's documentation links (guards the test above)."""
    targets = LINK.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    assert "docs/api.md" in targets and "docs/data.md" in targets


# Words that date a text or point outside the repository: numbered issues and work sessions, the team's
# design notes, machine paths, and the removed results log (history lives in the git log).
HISTORY = re.compile(r"[Ss]essions?[ -]\d|[Ii]ssues? \d|DESIGN\.md|RESULTS\.md|/work/|/home/|/root/")
SCANNED = ("src", "docs", "examples", "benchmarks", "tests")
SKIPPED_DIRS = {".git", ".venv", "__pycache__"}


def _scanned_files() -> list[Path]:
    files = [ROOT / "README.md"]
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_file() and path.suffix in {".py", ".md", ".toml", ".txt", ".json"} \
                    and not SKIPPED_DIRS & set(path.relative_to(ROOT).parts):
                files.append(path)
    return files


def test_no_history_or_machine_paths():
    """Code, docs and tests describe the present: no "issue 2", "session 7", design notes or /work/ paths."""
    me = Path(__file__).resolve()
    hits = []
    for path in _scanned_files():
        if path.resolve() == me:
            continue  # this file names the words it forbids
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if HISTORY.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:100]}")
    assert not hits, "history or machine paths:\n" + "\n".join(hits)


def test_history_pattern_matches():
    """The pattern above catches the forms it is meant to (guards the test against a silent regex)."""
    for text in ("issue 2 §4", "Session 7", "sessions 1-3", "the session-6 run", "../shared/DESIGN.md",
                 "/work/shared/data", "benchmarks/RESULTS.md"):
        assert HISTORY.search(text), text
    assert not HISTORY.search("a ThinningWarning is issued when thin < 2 tau")


def test_readme_needs_no_file_outside_the_repository():
    """The README names no path above the repository root (users bring their own files)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "../" not in text and "shared/data" not in text


def test_readme_is_at_most_150_lines():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 150


def test_records_index_lists_every_record():
    """benchmarks/records/README.md links every record file (and the acceptance results)."""
    records = ROOT / "benchmarks" / "records"
    index = set(LINK.findall((records / "README.md").read_text(encoding="utf-8")))
    files = {p.name for p in records.glob("*.md") if p.name != "README.md"} | {"acceptance/results.json"}
    assert not files - index, f"records missing from the index: {sorted(files - index)}"


def test_gallery_table_lists_every_example():
    """examples/README.md's table has a row for every example script."""
    text = (ROOT / "examples" / "README.md").read_text(encoding="utf-8")
    scripts = {p.name for p in (ROOT / "examples").glob("*.py") if not p.name.startswith("_")}
    missing = [s for s in sorted(scripts) if f"| `{s}` |" not in text]
    assert not missing, f"examples missing from the gallery table: {missing}"
