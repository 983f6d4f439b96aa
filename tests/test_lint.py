"""The tree passes the project's ruff configuration (``[tool.ruff]`` in pyproject.toml: pycodestyle errors and
warnings, pyflakes; 125 columns)."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_ruff_passes():
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed (pip install 'physgen[test]')")
    proc = subprocess.run([ruff, "check", "src", "tests", "benchmarks", "examples", "notebooks"], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:]


def _attributes_set_outside_init(path: Path) -> list[str]:
    """``Class.attr (method)`` for each ``self.attr = ...`` in a method of a class with an ``__init__`` that
    neither ``__init__`` nor the class body sets."""
    import ast

    found = []
    for cls in (n for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(n, ast.ClassDef)):
        methods = [n for n in cls.body if isinstance(n, ast.FunctionDef)]
        if not any(m.name == "__init__" for m in methods):
            continue
        declared = {t.id for n in cls.body if isinstance(n, (ast.Assign, ast.AnnAssign))
                    for t in (n.targets if isinstance(n, ast.Assign) else [n.target]) if isinstance(t, ast.Name)}
        where: dict[str, set[str]] = {}
        for method in methods:
            for node in ast.walk(method):
                targets = node.targets if isinstance(node, ast.Assign) else \
                    [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else []
                for target in targets:
                    for e in target.elts if isinstance(target, ast.Tuple) else [target]:
                        if isinstance(e, ast.Attribute) and isinstance(e.value, ast.Name) and e.value.id == "self":
                            where.setdefault(e.attr, set()).add(method.name)
        found += [f"{cls.name}.{a} ({', '.join(sorted(m))})" for a, m in where.items()
                  if "__init__" not in m and a not in declared]
    return found


def test_training_objects_set_every_attribute_in_init():
    """Every attribute of the training package's classes exists from construction on (no ``getattr`` guards)."""
    bad = [f"{p.name}: {a}" for p in sorted((REPO / "src" / "physgen" / "training").glob("*.py"))
           for a in _attributes_set_outside_init(p)]
    assert not bad, bad
