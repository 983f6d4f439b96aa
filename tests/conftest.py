"""Shared fixtures: a CLI runner that captures exit code and output, and the shared data path."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from physgen.cli import main

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TTBAR = SHARED_DATA / "ttbar_sty_10k.txt"


@pytest.fixture(autouse=True, scope="session")
def _quiet_threads():
    os.environ.setdefault("MPLBACKEND", "Agg")
    yield


@pytest.fixture
def cli(capsys):
    """Run ``physgen ARGS...`` in-process; returns (exit_code, stdout, stderr)."""
    def run(*args: str) -> tuple[int, str, str]:
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse errors and --help
            code = exc.code if isinstance(exc.code, int) else 1
        out = capsys.readouterr()
        return code, out.out, out.err
    return run


@pytest.fixture
def ttbar_path() -> Path:
    if not TTBAR.exists():
        pytest.skip(f"{TTBAR} not present")
    return TTBAR
