"""The demo runner: named stages, each isolated, resumable and timed, assembled into one report.

A stage is a function ``stage(ctx) -> dict`` that writes its files into ``ctx.stage_dir``, adds
its section to ``ctx.report`` and returns a JSON summary.  The runner stores the summary and the
section's HTML under ``OUT/stages/<name>/``; re-running with the same ``--out`` and the same settings
(``--quick``, ``--max-time``) reuses finished stages, a model stage interrupted mid-training resumes from
its checkpoint, and a stage that raises is reported as failed while the others still run.
"""
from __future__ import annotations

import json
import platform
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from physgen.atomic import write_json, write_text
from physgen.report import Report


@dataclass
class StageContext:
    """What a stage may use: where to write, the shared settings, and its report section."""

    out_dir: Path
    stage_dir: Path
    quick: bool
    seed: int
    device: str | None
    report: Report
    results: dict[str, dict[str, Any]]  # summaries of the stages already run
    max_time: float | None = None  # training budget of each model stage in seconds (None: the stage's default)

    def path(self, name: str) -> Path:
        return self.stage_dir / name


@dataclass(frozen=True)
class Stage:
    name: str
    title: str
    func: Callable[[StageContext], dict[str, Any]]
    needs: tuple[str, ...] = field(default=())
    notebook: str | None = None  # file name under the repository's notebooks/ that walks through this stage


NOTEBOOKS_DIR = Path(__file__).resolve().parents[3] / "notebooks"  # in a clone of the repository


def notebook_link(name: str, out_dir: Path, root: Path = NOTEBOOKS_DIR) -> str:
    """HTML paragraph linking ``notebooks/<name>`` of the repository physgen runs from (relative to the report,
    so that it opens from ``OUT/report.html``); ``notebooks/README.md`` where that file is absent, and the
    name alone where physgen is not run from a clone."""
    import html
    import os

    target = root / name if (root / name).is_file() else root / "README.md"
    label = f"notebooks/{target.name}"
    if not target.is_file():
        return f"<p>Notebook: {html.escape(f'notebooks/{name}')} in the physgen repository.</p>"
    href = os.path.relpath(target, out_dir.resolve()).replace(os.sep, "/")
    return f'<p>Notebook: <a href="{html.escape(href)}">{html.escape(label)}</a></p>'


def _log(message: str) -> None:
    print(f"[demo] {message}", file=sys.stderr, flush=True)


def _run_stage(stage: Stage, ctx: StageContext) -> dict[str, Any]:
    missing = [n for n in stage.needs if ctx.results.get(n, {}).get("status") != "ok"]
    if missing:
        ctx.report.text(f"Skipped: needs stage(s) {', '.join(missing)}, which did not finish.", cls="fail")
        return {"status": "skipped", "reason": f"needs {', '.join(missing)}", "seconds": 0.0, "cpu_seconds": 0.0}
    start, cpu = time.perf_counter(), time.process_time()
    try:
        summary = stage.func(ctx)
        return {"status": "ok", "seconds": time.perf_counter() - start,
                "cpu_seconds": time.process_time() - cpu, "summary": summary}
    except Exception as exc:  # one stage failing must not stop the demo
        ctx.report.text(f"This stage failed: {type(exc).__name__}: {exc}", cls="fail")
        ctx.report.code(traceback.format_exc(limit=8))
        return {"status": "failed", "seconds": time.perf_counter() - start,
                "cpu_seconds": time.process_time() - cpu, "error": f"{type(exc).__name__}: {exc}"}


def run_stages(stages: list[Stage], out_dir: Path, *, quick: bool, seed: int, device: str | None,
               command: str, max_time: float | None = None, intro: str | None = None) -> Path:
    """Run (or reuse) every stage and write ``out_dir/report.html``; returns its path.

    ``max_time``: seconds of training per model stage (None: each stage's default); ``intro``: a paragraph
    placed first in the report."""
    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Any]] = {}
    sections: list[str] = []
    for i, stage in enumerate(stages, 1):
        stage_dir = out_dir / "stages" / stage.name
        done = stage_dir / "result.json"
        cached, section = _finished(stage_dir)
        if (cached and cached.get("status") == "ok" and cached.get("quick") == quick
                and cached.get("max_time") == max_time):
            _log(f"[{i}/{len(stages)}] {stage.name}: finished earlier, reused")
            results[stage.name] = cached
            sections.append(section)
            continue
        _log(f"[{i}/{len(stages)}] {stage.name}: {stage.title} ...")
        stage_dir.mkdir(parents=True, exist_ok=True)
        report = Report(stage.title).section(stage.title, anchor=stage.name)
        if stage.notebook:
            report.raw(notebook_link(stage.notebook, out_dir))
        ctx = StageContext(out_dir, stage_dir, quick, seed, device, report, results, max_time)
        result = {**_run_stage(stage, ctx), "quick": quick, "max_time": max_time}
        results[stage.name] = result
        html = "\n".join(report.blocks)
        write_text(stage_dir / "section.html", html)
        write_json(done, result)
        sections.append(html)
        _log(f"[{i}/{len(stages)}] {stage.name}: {result['status']} in {result['seconds']:.1f} s "
             f"({result['cpu_seconds']:.1f} s CPU)")
    return _write_report(out_dir, stages, results, sections, command, intro)


def _finished(stage_dir: Path) -> tuple[dict[str, Any] | None, str]:
    """A stage's stored result and report section, or ``(None, "")`` where either is missing, truncated or
    malformed (the stage then runs again)."""
    try:
        cached = json.loads((stage_dir / "result.json").read_text(encoding="utf-8"))
        section = (stage_dir / "section.html").read_text(encoding="utf-8")
    except (OSError, ValueError):  # ValueError: bad JSON or bytes that are not UTF-8
        return None, ""
    if not isinstance(cached, dict) or not isinstance(cached.get("seconds"), (int, float)):
        return None, ""
    return cached, section


def _versions() -> str:
    import numpy
    import torch

    from physgen import __version__
    return (f"physgen {__version__}, Python {platform.python_version()}, torch {torch.__version__}, "
            f"numpy {numpy.__version__}, {platform.platform()}")


def _write_report(out_dir: Path, stages: list[Stage], results: dict[str, dict[str, Any]],
                  sections: list[str], command: str, intro: str | None = None) -> Path:
    report = Report("physgen demo")
    if intro:
        report.text(intro)
    report.text("Data generated, models trained and samples judged against Monte Carlo and exact results.")
    report.section("Run", anchor="run").code(f"{command}\n{_versions()}")
    rows = [(s.title, results[s.name]["status"], f"{results[s.name]['seconds']:.1f}",
             f"{results[s.name].get('cpu_seconds', float('nan')):.1f}") for s in stages]
    report.table(["stage", "status", "seconds", "CPU seconds"], rows)
    for html in sections:
        report.raw(html)
    write_json(out_dir / "summary.json", {s.name: results[s.name] for s in stages})
    return report.write(out_dir / "report.html")
