"""Time every notebook of notebooks/ in quick mode: wall time and the kernel's CPU time, one line each.

Each notebook runs as ``tests/test_notebooks.py`` runs it (jupytext → nbclient, a fresh ``python3`` kernel,
``PHYSGEN_QUICK=1``, one thread), with one extra cell appended that reads the kernel's CPU time (user + system,
its own and its children's) from ``resource.getrusage``.  On a shared machine the wall time depends on the
load; the CPU time is what one idle core would need.  Pin to one core with ``taskset -c N``.

    taskset -c 1 python benchmarks/notebooks_time.py [--out DIR] [NAME ...]
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CPU_CELL = ("import resource as _r\n_s, _c = _r.getrusage(_r.RUSAGE_SELF), _r.getrusage(_r.RUSAGE_CHILDREN)\n"
            "print('kernel_cpu_s', _s.ru_utime + _s.ru_stime + _c.ru_utime + _c.ru_stime)")


def time_notebook(path: Path, work: Path) -> dict:
    """Execute ``path`` in quick mode with its files under ``work``; its wall and kernel CPU seconds."""
    import jupytext
    import nbclient
    import nbformat

    nb = jupytext.read(path)
    nb.cells.append(nbformat.v4.new_code_cell(CPU_CELL))
    start = time.perf_counter()
    status = "ok"
    try:
        nbclient.NotebookClient(nb, timeout=1800, kernel_name="python3",
                                resources={"metadata": {"path": str(work)}}).execute()
    except Exception as exc:                               # report and go on with the next notebook
        status = f"error: {str(exc).strip().splitlines()[-1][:200]}"
    wall = time.perf_counter() - start
    text = "".join(o.get("text", "") for o in nb.cells[-1].get("outputs", []) if o.get("output_type") == "stream")
    cpu = float(text.split()[-1]) if "kernel_cpu_s" in text else None
    return {"notebook": path.stem, "status": status, "wall_s": round(wall, 1),
            "kernel_cpu_s": None if cpu is None else round(cpu, 1)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", help="notebook names (default: all), e.g. 00_tour")
    p.add_argument("--out", type=Path, default=None, help="folder for the runs (default: a temporary one)")
    args = p.parse_args(argv)
    paths = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
    if args.names:
        paths = [q for q in paths if q.stem in args.names]
    os.environ.update(PHYSGEN_QUICK="1", OMP_NUM_THREADS="1",
                      PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])))
    with tempfile.TemporaryDirectory() as tmp:
        work = args.out or Path(tmp)
        os.environ["PHYSGEN_NOTEBOOK_OUT"] = str(Path(work) / "runs")
        rows = []
        for path in paths:
            rows.append(time_notebook(path, Path(work)))
            print(json.dumps(rows[-1]), flush=True)
    cpu = [r["kernel_cpu_s"] for r in rows if r["kernel_cpu_s"] is not None]
    print(f"total: {len(rows)} notebooks, wall {sum(r['wall_s'] for r in rows):.1f} s, kernel CPU {sum(cpu):.1f} s; "
          f"failed: {[r['notebook'] for r in rows if r['status'] != 'ok']}")
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
