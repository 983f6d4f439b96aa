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


def _attributes_set_outside_init(paths: list[Path]) -> list[str]:
    """``file: Class.attr (method)`` for each ``self.attr = ...`` in a method of a class with an ``__init__`` that
    neither ``__init__``, the class body (names and tuples of names), nor a base class among ``paths`` sets
    (a base's ``__init__`` runs first through ``super().__init__``)."""
    import ast

    classes = {}
    for path in paths:
        for cls in (n for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(n, ast.ClassDef)):
            classes[cls.name] = (path, cls)

    def names(target):
        return [e for e in (target.elts if isinstance(target, ast.Tuple) else [target])]

    def sets(cls) -> tuple[set[str], dict[str, set[str]]]:
        """(names the class body and ``__init__`` set, attribute -> the other methods that set it)."""
        declared = {e.id for n in cls.body if isinstance(n, (ast.Assign, ast.AnnAssign))
                    for t in (n.targets if isinstance(n, ast.Assign) else [n.target]) for e in names(t)
                    if isinstance(e, ast.Name)}
        where: dict[str, set[str]] = {}
        for method in (n for n in cls.body if isinstance(n, ast.FunctionDef)):
            for node in ast.walk(method):
                targets = node.targets if isinstance(node, ast.Assign) else \
                    [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else []
                for e in (e for t in targets for e in names(t)):
                    if isinstance(e, ast.Attribute) and isinstance(e.value, ast.Name) and e.value.id == "self":
                        (declared.add(e.attr) if method.name == "__init__" else
                         where.setdefault(e.attr, set()).add(method.name))
        for base in (b.id for b in cls.bases if isinstance(b, ast.Name) and b.id in classes):
            declared |= sets(classes[base][1])[0]
        return declared, where

    found = []
    for path, cls in classes.values():
        if not any(isinstance(n, ast.FunctionDef) and n.name == "__init__" for n in cls.body):
            continue
        declared, where = sets(cls)
        found += [f"{path.name}: {cls.name}.{a} ({', '.join(sorted(m))})" for a, m in where.items()
                  if a not in declared]
    return found


def test_training_objects_set_every_attribute_in_init():
    """Every attribute of the training package's classes exists from construction on (no ``getattr`` guards)."""
    bad = _attributes_set_outside_init(sorted((REPO / "src" / "physgen" / "training").glob("*.py")))
    assert not bad, bad
