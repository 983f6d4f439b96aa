"""The source tree's shape: small modules with one job, and no module reaching into another package's private
helpers (a name with a leading underscore is its package's own business)."""
from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "physgen"
MAX_LINES = 400


def _modules():
    return sorted(SRC.rglob("*.py"))


def test_no_module_is_longer_than_the_limit():
    long = {str(p.relative_to(SRC)): n for p in _modules() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split each into modules of one job): {long}"


def _package(path: Path) -> str:
    return ".".join(path.relative_to(SRC.parent).parts[:-1])   # (a package's __init__ belongs to it)


def test_no_module_imports_another_packages_private_names():
    found = []
    for path in _modules():
        own = _package(path)
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("physgen"):
                continue
            target = node.module if (SRC.parent / (node.module.replace(".", "/"))).is_dir() else \
                node.module.rpartition(".")[0]
            private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
            if private and target != own:
                found.append(f"{path.relative_to(SRC)}: from {node.module} import {', '.join(private)}")
    assert not found, "private names imported across packages:\n" + "\n".join(found)
