"""The command line's exit: the objects left when the interpreter exits are frozen (``gc.freeze``) after the
command's own exit handlers, so the final collections skip them; output and the exit status are unchanged."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")

SCRIPT = """
import atexit, gc
atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0))  # runs after handlers registered later
from physgen.cli import main
print("frozen before exit:", gc.get_freeze_count() > 0)
raise SystemExit(main(["--version"] if {version} else ["train", "nosuchmodel", "--out", "unused"]))
"""


def _run(version: bool) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-c", SCRIPT.format(version=version)], capture_output=True, text=True,
                          env=env, timeout=120)


def test_objects_are_frozen_only_at_exit_and_the_output_and_status_stay():
    out = _run(version=True)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "frozen before exit: False" and lines[1].startswith("physgen ")
    assert lines[2:] == ["frozen at exit: True"]


def test_an_error_exit_keeps_its_message_and_status():
    out = _run(version=False)
    assert out.returncode == 2 and "unknown model 'nosuchmodel'" in out.stderr
    assert out.stdout.splitlines() == ["frozen before exit: False", "frozen at exit: True"]
