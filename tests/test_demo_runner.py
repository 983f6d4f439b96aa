"""The demo runner: stage isolation, resume of finished stages, report assembly."""
import json

from physgen.demo.runner import Stage, run_stages


def _stages(calls):
    def good(ctx):
        calls.append("good")
        ctx.report.text("good stage ran")
        (ctx.stage_dir / "artifact.txt").write_text("x")
        return {"answer": 42}

    def bad(ctx):
        calls.append("bad")
        raise RuntimeError("boom")

    def after(ctx):
        calls.append("after")
        return {"seen": sorted(ctx.results)}

    return [Stage("good", "Good stage", good), Stage("bad", "Bad stage", bad),
            Stage("after", "After stage", after), Stage("needy", "Needs bad", after, needs=("bad",))]


def test_failure_is_isolated_and_reported(tmp_path):
    calls = []
    report = run_stages(_stages(calls), tmp_path, quick=True, seed=0, device=None, command="physgen demo")
    html = report.read_text()
    assert calls == ["good", "bad", "after"]
    assert "good stage ran" in html and "RuntimeError: boom" in html and "Skipped: needs stage(s) bad" in html
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [summary[k]["status"] for k in ("good", "bad", "after", "needy")] == ["ok", "failed", "ok", "skipped"]
    assert summary["good"]["summary"] == {"answer": 42}
    assert summary["after"]["summary"] == {"seen": ["bad", "good"]}


def test_rerun_reuses_finished_stages_and_retries_failed(tmp_path):
    calls = []
    run_stages(_stages(calls), tmp_path, quick=True, seed=0, device=None, command="c")
    calls.clear()
    html = run_stages(_stages(calls), tmp_path, quick=True, seed=0, device=None, command="c").read_text()
    assert calls == ["bad"]  # good and after reused, bad retried
    assert "good stage ran" in html  # reused section still in the report
    calls.clear()
    run_stages(_stages(calls), tmp_path, quick=False, seed=0, device=None, command="c")
    assert calls == ["good", "bad", "after"]  # a full run does not reuse quick results


def test_demo_cli_rejects_unknown_stage(cli, tmp_path):
    code, _, err = cli("demo", "--out", tmp_path / "d", "--stages", "nope")
    assert code == 2 and "unknown stage(s) nope" in err and err.count("\n") == 1
