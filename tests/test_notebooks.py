"""Every notebook of notebooks/ runs, in quick mode, top to bottom on a fresh kernel without an error.

Each ``notebooks/NN_name.py`` (jupytext percent format) is converted in memory with jupytext and executed
by nbclient on the ``python3`` kernel of the running interpreter (ipykernel), with ``PHYSGEN_QUICK=1``, one
thread and its outputs under ``tmp_path``.  One test per notebook, ``slow`` (each takes up to a minute on
one core), so that pytest-xdist spreads them over its workers.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
CELL_TIMEOUT = 600  # seconds for any one cell (quick mode: each notebook ≤ 60 s on one idle core)


def test_notebooks_are_found_and_listed():
    """The tour comes first, the numbering has no duplicate, and notebooks/README.md lists every notebook."""
    names = [p.stem for p in NOTEBOOKS]
    assert names and names[0] == "00_tour", names
    assert len({n[:2] for n in names}) == len(names), names
    readme = (ROOT / "notebooks" / "README.md").read_text(encoding="utf-8")
    assert all(f"{n}.py" in readme for n in names), [n for n in names if f"{n}.py" not in readme]


def test_notebooks_have_quick_switch_and_final_evaluation():
    """Each has ``QUICK`` set from PHYSGEN_QUICK in its first code cell and ends with a code cell that prints
    its evaluation, and none runs the command line through ``!``."""
    jupytext = pytest.importorskip("jupytext")
    for path in NOTEBOOKS:
        nb = jupytext.read(path)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert nb.cells[0].cell_type == "markdown", path.name
        assert "QUICK = " in code[0].source and "PHYSGEN_QUICK" in code[0].source, path.name
        assert nb.cells[-1].cell_type == "code" and "print(" in nb.cells[-1].source, path.name
        assert not any(line.lstrip().startswith("!") for c in code for line in c.source.splitlines()), path.name


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_quick_mode(path, tmp_path, monkeypatch):
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("PHYSGEN_QUICK", "1")
    monkeypatch.setenv("PHYSGEN_NOTEBOOK_OUT", str(tmp_path / "runs"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    src = os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH")) if p)
    monkeypatch.setenv("PYTHONPATH", src)            # the kernel imports this checkout's physgen
    nb = jupytext.read(path)
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()                                 # raises CellExecutionError on any error
    last = nb.cells[-1]
    text = "".join(o.get("text", "") for o in last.get("outputs", []) if o.get("output_type") == "stream")
    assert text.strip(), f"{path.name}: the final cell printed nothing"
    assert any(o.get("output_type") == "display_data" and "image/png" in o.get("data", {})
               for c in nb.cells for o in c.get("outputs", [])), f"{path.name}: no inline figure"
