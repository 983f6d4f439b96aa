"""Shared fixtures: a CLI runner that captures exit code and output; tt̄ events made by Pythia 8 once per
session; the optional MadGraph tt̄ file of the thesis (tests that read it skip when it is absent)."""
from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import numpy as np

import pytest

from physgen.cli import main

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TTBAR = SHARED_DATA / "ttbar_sty_10k.txt"


@pytest.fixture(autouse=True, scope="session")
def _quiet_threads():
    os.environ.setdefault("MPLBACKEND", "Agg")
    yield


def pytest_configure(config):
    """Under pytest-xdist, each of W workers computes on cores // W threads (torch's intra-op pool and the BLAS
    pools through threadpoolctl), unless OMP_NUM_THREADS is set: W workers of all-core pools on the same cores
    wait for one another's threads at every small operation.  Subprocesses keep the environment as it is, so a
    ``physgen`` command a test runs chooses its threads as a user's does (physgen.threads)."""
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if not workers or os.environ.get("OMP_NUM_THREADS", "").strip():
        return
    import torch
    from threadpoolctl import threadpool_limits

    per_worker = max(1, len(os.sched_getaffinity(0)) // int(workers))
    torch.set_num_threads(per_worker)
    BLAS_LIMITS.append(threadpool_limits(per_worker))   # kept for the worker's life


BLAS_LIMITS: list = []


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


PYTHIA_TTBAR_ARGS = ("data", "pythia", "--process", "ttbar", "--ecm", "13000", "--n", "10000", "--features",
                     "s,t,y", "--seed", "1")


@pytest.fixture
def ttbar_path() -> Path:
    """The MadGraph LO tt̄ file (s, t, y rescaled into [−1, 1]): an optional cross-check, skipped when absent."""
    if not TTBAR.exists():
        pytest.skip(f"optional cross-check: the MadGraph tt̄ file {TTBAR.name} is not present next to the repository")
    return TTBAR


@pytest.fixture(scope="session")
def pythia_ttbar_file(tmp_path_factory) -> Path:
    """10⁴ pp → tt̄ events at √s = 13 TeV from ``physgen data pythia`` (hard level, features s and t in GeV²
    and the rapidity y, the thesis' conventions; seed 1), made once per session (≈ 2 s); skipped without Pythia 8."""
    pytest.importorskip("pythia8mc", reason="tt̄ events come from Pythia 8: pip install 'physgen[hep]'")
    out = tmp_path_factory.mktemp("pythia") / "ttbar_sty.h5"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main([*PYTHIA_TTBAR_ARGS, "--out", str(out)])
    if code != 0:
        pytest.fail(f"physgen {' '.join(PYTHIA_TTBAR_ARGS)} failed: {stderr.getvalue().strip()}")
    return out


@pytest.fixture(scope="session")
def pythia_ttbar(pythia_ttbar_file) -> np.ndarray:
    """The session's Pythia tt̄ events: a read-only float32 ``(10000, 3)`` array of (s, t, y)."""
    from physgen.data import load

    ds = load(pythia_ttbar_file)
    assert ds.feature_names == ["s", "t", "y"]
    x = np.array(ds.samples)
    x.flags.writeable = False
    return x
