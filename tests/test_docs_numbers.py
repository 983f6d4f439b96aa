"""The measured figures that README.md and docs/*.md quote from benchmark records are the records' figures.

How a figure is tied to its record: the text that quotes it links the record, ``[…](../benchmarks/records/X.md)``
(a link to docs/scoreboard.md counts as a link to ``benchmarks/records/acceptance/results.json``, from which
that page is generated).  The pages are read as units — a paragraph, a list item, a table row — and in a unit
that links one or more records every figure must be found in one of them.  The rows of a table also carry the
links of its caption: the paragraph right before the table, when it ends with a colon.

A figure is a decimal number with at least three significant digits (230.2, 0.0858, −25.48933, 1.85 × 10⁻⁴,
20,000.5), or a whole number with at least three significant digits followed by a unit of time (364 s,
2,173 s).  Numbers in code spans and link targets are commands and settings, not figures, and are skipped.
Found means that some number of the record, rounded (half up or half even) to the figure's last digit, has
the figure's magnitude (a record's −25.489327 is quoted as −25.48933 or −25.4893; signs are not compared,
since a record may write a signed deviation as a range or in a signed column).  Formats are normalised on
both sides: ',' between digit groups separates thousands (20,000); ``× 10⁻⁵``, ``×10⁻⁵`` and ``e-05`` are
exponents; a dash after a digit is a range (1.31-1.41, 0.529–0.551); a dotted version (3.23.0) is no number.

``NOT_FIGURES`` names the numbers of linking units that are not measurements (a version, a setting, a
constant), ``UNRECORDED`` the measured figures that a page quotes beside a record link although no record
holds them, each with its reason; both lists must stay minimal (an entry that no longer fails fails).
A record named by its path in prose or in a code span instead of a link would escape the check: that fails
too.  How a measured figure enters the docs: docs/DEVELOPING.md.
"""
from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RECORDS = ROOT / "benchmarks" / "records"
LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")
CODE = re.compile(r"`[^`]*`")
NUMBER = re.compile(
    r"(?<![\w.])(?P<mant>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?:[eE](?P<e>[-+]?\d+)|\s?[×x]\s?10(?P<sup>[⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+))?"
    r"(?![\w]|\.\d|,\d)")
TIME_UNIT = re.compile(r"\s?(?:s|ms|min|h)(?![\w])")
SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
GENERATED_FROM = {"docs/scoreboard.md": "benchmarks/records/acceptance/results.json"}

NOT_FIGURES = {
    ("docs/diffusion.md", "0.999"): "the EMA decay, a setting",
    ("docs/training.md", "2.13"): "the torch version",
    ("docs/training.md", "2.94"): "logit(0.95), the edge of the logit transform",
}
UNRECORDED: dict[tuple[str, str], str] = {}


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def figures(text: str) -> list[tuple[str, Decimal]]:
    """Every number of ``text`` as ``(as written, value)``, the sign read from the character before it."""
    out = []
    for m in NUMBER.finditer(text):
        mantissa = m["mant"].replace(",", "")
        exponent = m["e"] or (m["sup"].translate(SUPERSCRIPTS) if m["sup"] else "0")
        before = text[max(0, m.start() - 2):m.start()]
        negative = before[-1:] in ("-", "−") and not (len(before) == 2 and before[0].isalnum())
        out.append((m.group(0), Decimal(("-" if negative else "") + mantissa + "e" + exponent)))
    return out


def significant(written: str) -> int:
    mantissa = re.split(r"[eE×x]", written.replace(",", ""))[0].strip()
    if "." in mantissa:
        return len(mantissa.replace(".", "").lstrip("0"))
    return len(mantissa.lstrip("0").rstrip("0"))


def is_figure(written: str, text_after: str) -> bool:
    """A decimal with three or more significant digits, or such a whole number followed by a unit of time."""
    if significant(written) < 3:
        return False
    return "." in written.split("e")[0].split("E")[0] or bool(TIME_UNIT.match(text_after))


def found(value: Decimal, pool: set[Decimal]) -> bool:
    """Some number of ``pool`` rounds (half up or half even) to ``value`` at the figure's last digit."""
    quantum = Decimal(1).scaleb(value.as_tuple().exponent)
    for r in pool:
        for rounding in (ROUND_HALF_UP, ROUND_HALF_EVEN):
            try:
                if r.quantize(quantum, rounding=rounding) == value:
                    return True
            except InvalidOperation:  # far too many digits at this quantum: cannot be equal
                continue
    return False


def units(text: str) -> list[tuple[str, str]]:
    """``(unit, caption)`` for every paragraph, list item and table row outside code blocks; ``caption`` is the
    paragraph before a table when it ends with a colon (empty otherwise)."""
    out: list[tuple[str, str]] = []
    current: list[str] = []
    last, fenced, in_table, caption = "", False, False, ""

    def flush():
        nonlocal current, last
        if current:
            last = "\n".join(current)
            out.append((last, ""))
            current = []

    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            flush()
            fenced, last = not fenced, ""
            continue
        if fenced:
            continue
        if stripped.startswith("|"):
            if not in_table:
                flush()
                caption = last if last.rstrip().endswith(":") else ""
                in_table = True
            out.append((stripped, caption))
            continue
        if in_table:
            in_table, last = False, ""
        if not stripped or stripped.startswith("#"):
            flush()
            if stripped:
                last = ""
            continue
        if re.match(r"([-*+]|\d+\.)\s", stripped):
            flush()
        current.append(stripped)
    flush()
    return out


def linked_records(page: Path, text: str) -> set[Path]:
    records = set()
    for _, target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue
        path = (page.parent / target.split("#", 1)[0]).resolve()
        if not path.is_relative_to(ROOT):
            continue
        rel = path.relative_to(ROOT).as_posix()
        rel = GENERATED_FROM.get(rel, rel)
        if rel.startswith("benchmarks/records/") and rel != "benchmarks/records/README.md" and (ROOT / rel).is_file():
            records.add(ROOT / rel)
    return records


_POOLS: dict[Path, set[Decimal]] = {}


def pool(record: Path) -> set[Decimal]:
    if record not in _POOLS:
        _POOLS[record] = {abs(v) for _, v in figures(record.read_text(encoding="utf-8"))}
    return _POOLS[record]


def quoted(page: Path):
    """``(figure as written, value, records, unit)`` for every figure of a unit that links a record."""
    for unit, caption in units(page.read_text(encoding="utf-8")):
        records = linked_records(page, unit + "\n" + caption)
        if not records:
            continue
        body = LINK.sub(lambda m: m.group(1), unit)
        body = CODE.sub(" ", body)
        for m in NUMBER.finditer(body):
            written = m.group(0)
            if is_figure(written, body[m.end():m.end() + 6]):
                yield written, figures(written)[0][1], records, unit


def mismatches(page: Path) -> list[tuple[str, str]]:
    out = []
    for written, value, records, unit in quoted(page):
        if not found(abs(value), set().union(*(pool(r) for r in records))):
            names = ", ".join(sorted(r.relative_to(ROOT).as_posix() for r in records))
            out.append((written, f"{written} is in none of {names}: {unit[:160]!r}"))
    return out


def _key(written: str) -> str:
    return written.lstrip("+±−-")


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_quoted_figures_are_in_the_linked_records(page):
    name = page.relative_to(ROOT).as_posix()
    allowed = {fig for (doc, fig) in {**NOT_FIGURES, **UNRECORDED} if doc == name}
    found_wrong = mismatches(page)
    wrong = [message for written, message in found_wrong if _key(written) not in allowed]
    assert not wrong, f"{name}: figures not in the records they cite:\n" + "\n".join(wrong)
    stale = allowed - {_key(written) for written, _ in found_wrong}
    assert not stale, f"{name}: NOT_FIGURES/UNRECORDED entries that no longer fail (remove them): {sorted(stale)}"


def test_records_are_cited_by_links():
    """A record file named in prose or a code span (not inside a command) is written as a link instead."""
    bare = re.compile(r"benchmarks/records/[\w./-]+\.md")
    offenders = []
    for page in pages():
        for unit, _ in units(page.read_text(encoding="utf-8")):
            for path in bare.findall(LINK.sub(" ", unit)):
                if (ROOT / path).is_file():
                    offenders.append(f"{page.relative_to(ROOT)}: {path}")
    assert not offenders, "cite records with a link, [..](../benchmarks/records/X.md): " + "; ".join(offenders)


def test_the_check_sees_the_quoted_figures():
    """Guards the tests above: every record but the index is cited by some page, and the nqs page's lattice
    table is checked against benchmarks/records/nqs.md."""
    cited = set()
    for page in pages():
        cited |= linked_records(page, page.read_text(encoding="utf-8"))
    checked = {(w, r) for w, _, recs, _ in quoted(ROOT / "docs" / "nqs.md") for r in recs}
    assert RECORDS / "nqs.md" in {r for _, r in checked}
    assert len(checked) >= 10
    assert len(cited) >= 15


@pytest.mark.parametrize("text, expected", [
    ("E = −25.48933 ± 0.00104", [("25.48933", Decimal("-25.48933")), ("0.00104", Decimal("0.00104"))]),
    ("1.31-1.41 and 0.529–0.551", [("1.31", Decimal("1.31")), ("1.41", Decimal("1.41")),
                                  ("0.529", Decimal("0.529")), ("0.551", Decimal("0.551"))]),
    ("6.52 × 10⁻⁵, 1.85×10⁻⁴, 6.52e-05", [("6.52 × 10⁻⁵", Decimal("6.52e-5")), ("1.85×10⁻⁴", Decimal("1.85e-4")),
                                         ("6.52e-05", Decimal("6.52e-5"))]),
    ("20,000 samples, 2,173 s, NetKet 3.23.0, commit f8c06dc, x-1.5", [
        ("20,000", Decimal("20000")), ("2,173", Decimal("2173")), ("1.5", Decimal("1.5"))]),
])
def test_figure_parser(text, expected):
    assert [(w.lstrip("−-"), v) for w, v in figures(text)] == expected


def test_figure_rules():
    assert [is_figure(w, a) for w, a in [("0.0858", ""), ("0.05", ""), ("364", " s,"), ("400", " iterations"),
                                         ("20,000", " s"), ("1.8×10⁻⁴", ""), ("1.85×10⁻⁴", "")]] == \
        [True, False, True, False, False, False, True]
    assert found(Decimal("25.48933"), {Decimal("25.489327")})
    assert found(Decimal("1.48"), {Decimal("1.4849216932")})
    assert not found(Decimal("25.4894"), {Decimal("25.489327")})
    assert found(Decimal("1.85e-4"), {Decimal("0.000185")})
    assert found(Decimal("3.00039"), {Decimal("3.000385")})          # half up; half even would give 3.00038
