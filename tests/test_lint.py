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
