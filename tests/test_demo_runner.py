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


def test_a_different_budget_reruns_finished_stages(tmp_path):
    calls = []
    run_stages(_stages(calls), tmp_path, quick=True, seed=0, device=None, command="c", max_time=5.0)
    calls.clear()
    run_stages(_stages(calls), tmp_path, quick=True, seed=0, device=None, command="c", max_time=5.0)
    assert calls == ["bad"]  # same budget: reused
    calls.clear()
    run_stages(_stages(calls), tmp_path, quick=True, seed=0, device=None, command="c", max_time=9.0)
    assert calls == ["good", "bad", "after"]  # another budget: run again


def test_model_stage_budgets(tmp_path):
    """Quick mode: each family's step budget and settings, under the safety cap; full demo: the family's
    defaults and default budget; --max-time: a time budget instead of either."""
    from physgen.demo.model_stage import SAFETY_CAP_S, ModelPlan, QuickPlan, budget, train_command
    from physgen.demo.runner import StageContext
    from physgen.demo.stages import MODEL_PLANS

    plan = ModelPlan("ddpm", QuickPlan(700, ("model.steps=20",)))
    quick = StageContext(tmp_path, tmp_path / "s", True, 3, None, None, {})
    assert budget(plan, quick).steps == 700 and budget(plan, quick).describe() == "700 steps"
    assert train_command(plan, quick, "d.h5") == (
        f"physgen train ddpm --data d.h5 --out {tmp_path / 's' / 'run'} --condition temperature --steps 700 "
        f"--max-time {SAFETY_CAP_S:g} --set data.val_fraction=0 --set model.steps=20 --seed 3 --no-progress")
    full = StageContext(tmp_path, tmp_path / "s", False, 3, None, None, {})
    assert train_command(plan, full, "d.h5") == (
        f"physgen train ddpm --data d.h5 --out {tmp_path / 's' / 'run'} --condition temperature --seed 3 --no-progress")
    timed = StageContext(tmp_path, tmp_path / "s", False, 3, None, None, {}, max_time=7.5)
    assert budget(plan, timed).describe() == "7.5 s" and "--max-time 7.5 --seed" in train_command(plan, timed, "d")
    assert all(plan.quick.steps >= 100 for _, plan, _ in MODEL_PLANS.values())  # a step budget for every family


def test_demo_cli_rejects_a_bad_budget(cli, tmp_path):
    code, _, err = cli("demo", "--out", tmp_path / "d", "--max-time", "0")
    assert code == 2 and "--max-time" in err and not (tmp_path / "d").exists()


def test_notebook_links(tmp_path):
    """A section links its notebook relative to the report, notebooks/README.md where the file is absent,
    and names it where the repository has no notebooks/."""
    from physgen.demo.runner import notebook_link

    root, out = tmp_path / "repo" / "notebooks", tmp_path / "repo" / "demo-out"
    assert "notebooks/04_rbm_ising.py in the physgen repository" in notebook_link("04_rbm_ising.py", out, root)
    root.mkdir(parents=True)
    (root / "README.md").write_text("# notebooks")
    assert 'href="../notebooks/README.md"' in notebook_link("04_rbm_ising.py", out, root)
    (root / "04_rbm_ising.py").write_text("# %%")
    assert 'href="../notebooks/04_rbm_ising.py">notebooks/04_rbm_ising.py</a>' in notebook_link("04_rbm_ising.py", out, root)
