"""The standard files of a released package: the MIT licence pyproject names, a valid CITATION.cff (CFF 1.2.0:
its required keys, types and the package version), a Keep-a-Changelog CHANGELOG.md, and ``physgen --version``
equal to the installed package's version."""
from __future__ import annotations

import datetime
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_licence_file_is_the_mit_text_pyproject_names():
    text = (ROOT / "LICENSE").read_text()
    assert project()["license"] == "MIT"
    assert text.startswith("MIT License") and re.search(r"^Copyright \(c\) \d{4} \S", text, re.M)
    assert "Permission is hereby granted, free of charge" in text and 'THE SOFTWARE IS PROVIDED "AS IS"' in text


def test_citation_file_is_valid_cff_1_2_with_the_package_version():
    """CFF 1.2.0 (citation-file-format.github.io): required ``cff-version``, ``message``, ``title``, ``authors``
    (each a person with ``family-names`` or an entity with ``name``); optional keys typed as the schema says."""
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0"
    assert isinstance(cff["message"], str) and cff["message"] and isinstance(cff["title"], str)
    assert cff["authors"] and all(isinstance(a, dict) and ("name" in a or "family-names" in a) for a in cff["authors"])
    assert cff.get("type", "software") in ("software", "dataset")
    assert str(cff["version"]) == project()["version"]
    assert cff["license"] == project()["license"]
    datetime.date.fromisoformat(str(cff["date-released"]))
    allowed = {"cff-version", "message", "title", "authors", "abstract", "type", "version", "date-released",
               "license", "keywords", "repository-code", "url", "doi", "identifiers", "preferred-citation",
               "references", "contact", "commit", "license-url", "repository", "repository-artifact"}
    assert set(cff) <= allowed, set(cff) - allowed


def test_changelog_keeps_a_changelog_with_an_unreleased_section_and_the_version():
    text = (ROOT / "CHANGELOG.md").read_text()
    assert text.startswith("# Changelog") and "keepachangelog.com" in text
    assert "## [Unreleased]" in text and f"## [{project()['version']}]" in text


def test_version_flag_prints_the_package_version(cli):
    from importlib.metadata import version

    import physgen

    code, out, _ = cli("--version")
    assert code == 0 and out.strip() == f"physgen {version('physgen')}" == f"physgen {physgen.__version__}"
    assert version("physgen") == project()["version"]
