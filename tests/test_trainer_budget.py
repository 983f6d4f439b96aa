"""The defaults as a product: time budgets, the learning-rate schedule under a time budget, the quality
probe (cadence, ``best`` by its score, convergence, ``on_quality``), ``data.transform = "auto"`` and the
validation split, through the trainer, ``physgen.training.train`` and the CLI.

The quality probe is the test-only :class:`quality_toy.MeanProbe` (the trainer's bookkeeping, not a metric,
is under test here)."""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import trainer_toy  # (also registers the test-only model "toy-gauss")
from quality_toy import MeanProbe

from physgen.budget import FALLBACK_EPOCHS
from physgen.config import TrainConfig, load_toml
from physgen.data import Dataset, save
from physgen.data.transforms import Transform, resolve_transform
from physgen.errors import UserError
from physgen.models.base import DataSpec
from physgen.training import Trainer, launch, load_run, train
from physgen.training.checkpoint import load
from physgen.training.data import TensorData, split
from physgen.train_options import layer
from physgen.training.probe import Cadence, StepCadence, Validator
from physgen.training.span import Span


def load_checkpoint(path):
    return load(path, model="toy-gauss")


QUIET = ["train.progress=false", "train.batch_size=32", "train.device=cpu"]


@pytest.fixture
def cont(tmp_path):
    x = (np.random.default_rng(0).normal(size=(200, 3)) * [1.0, 2.0, 0.5] + [1.0, -1.0, 3.0]).astype(np.float32)
    return save(Dataset(x, "continuous"), tmp_path / "cont.h5")


@pytest.fixture
def fake_probe(monkeypatch):
    """``physgen train`` with :class:`MeanProbe` as its quality probe; yields the probes made."""
    made = []

    def make(heldout, spec, transform, constants, cfg):
        probe = MeanProbe(heldout, condition=cfg.data.condition, seed=cfg.train.seed)
        made.append(probe)
        return Validator(probe, spec, transform, constants)
    monkeypatch.setattr(launch, "_probe", make)
    return made


def _trainer(tmp_path, cfg, *, probe=None, n=96, noise=0.0, init_mean=2.0):
    from trainer_toy import ToyGauss, ToyGaussConfig

    spec = DataSpec("continuous", (2,))
    x = np.random.default_rng(1).normal(size=(n, 2)).astype(np.float32)
    model = ToyGauss(ToyGaussConfig(init_mean=init_mean, noise=noise), spec)
    validator = None
    if probe is not None:
        validator = Validator(probe(Dataset(x[:32], "continuous")), spec, Transform())
    cfg = dataclasses.replace(cfg, device="cpu", progress=False)
    return Trainer(model, cfg, TensorData(torch.from_numpy(x)), run_dir=tmp_path / "t", probe=validator)


def test_a_time_budget_trains_for_its_seconds():
    """max_time alone is the budget: the run lasts >= 0.9 S (it has no step cap) and ends ``completed``."""
    trainer = _trainer(Path("/nonexistent"), TrainConfig(max_time=1.5, batch_size=16, log_every=50))
    trainer.run_dir = None
    summary = trainer.fit()
    assert summary["status"] == "completed" and summary["total_steps"] is None
    assert summary["wall_time_s"] >= 0.9 * 1.5 and summary["step"] > 50


def test_budget_resolution_from_flags_and_layers():
    """--max-time caps the step budget below it (family defaults, a saved run) and leaves it in place; --epochs
    or --steps replace it; a config with no budget at all falls back to FALLBACK_EPOCHS epochs."""
    from physgen import config as C

    family = {"train": {"epochs": 7, "steps": 100}}
    cfg = C.resolve("toy-gauss", trainer_toy.ToyGaussConfig, base=family, extra=layer(max_time=30))
    assert (cfg.train.epochs, cfg.train.steps, cfg.train.max_time) == (7, 100, 30)
    cfg = C.resolve("toy-gauss", trainer_toy.ToyGaussConfig, base=family, sets=["train.max_time=30"])
    assert (cfg.train.epochs, cfg.train.steps) == (7, 100)
    cfg = C.resolve("toy-gauss", trainer_toy.ToyGaussConfig, base=family,
                    extra=layer(max_time=30, epochs=2))
    assert (cfg.train.epochs, cfg.train.steps, cfg.train.max_time) == (2, None, 30)
    assert TrainConfig().epochs == FALLBACK_EPOCHS and TrainConfig(max_time=5).epochs is None
    assert TrainConfig(steps=3).epochs is None


@pytest.mark.parametrize("key,value", [("max_time", 0.0), ("max_time", -1.0), ("max_time", math.inf),
                                       ("patience", 0.0), ("patience", -2.0)])
def test_bad_budgets_are_refused(key, value):
    with pytest.raises(UserError, match=f"train.{key}"):
        TrainConfig(**{key: value})


def test_a_split_with_fewer_than_two_held_out_samples_is_refused():
    ds = Dataset(np.zeros((10, 2), np.float32), "continuous")
    with pytest.raises(UserError, match=r"data.val_fraction=0.1: holds out 1 of 10 samples, need >= 2"):
        split(ds, 0.1, seed=0)
    assert split(ds, 0.0, seed=0)[1] is None and len(split(ds, 0.2, seed=0)[1]) == 2


def test_cadence_keeps_probes_under_five_percent():
    """Probes that each cost c are due at elapsed >= max(1 s, spent / 0.05, 1.1 x the last)."""
    c = Cadence()
    assert not c.due(0.99) and c.due(1.0)
    c.record(1.0, 0.2)
    assert c.next_at() == pytest.approx(4.0) and not c.due(3.9) and c.due(4.0)
    c.record(4.0, 0.001)
    assert c.next_at() == pytest.approx(4.4)


def test_best_is_chosen_by_the_validation_score_not_the_loss(tmp_path):
    """Scripted scores 3, 1, 2, 5, 4 (probes at every step): best is step 2's state although the loss keeps
    falling; on_quality fires with trainer.last_quality; metrics.csv has the val_* columns; the summary records
    the best and final values with the floor."""
    trainer = _trainer(tmp_path, TrainConfig(steps=5, batch_size=16, log_every=1, lr=0.05),
                       probe=lambda ds: MeanProbe(ds, scores=[3.0, 1.0, 2.0, 5.0, 4.0]))
    trainer.checks.cadence = StepCadence(5, 5)   # a probe at every step, whatever the clock
    seen = []
    trainer.add_callback("on_quality", lambda t: seen.append((t.step, t.last_quality["score"])))
    summary = trainer.fit()
    assert seen == [(1, 3.0), (2, 1.0), (3, 2.0), (4, 5.0), (5, 4.0)]
    tensors, state = load_checkpoint(tmp_path / "t" / "checkpoints" / "best.json")
    assert state["step"] == 2 and state["best"] == 1.0
    losses = [row for row in (tmp_path / "t" / "metrics.csv").read_text().splitlines()]
    assert "val_score" in losses[0] and "val_err" in losses[0]
    v = summary["validation"]
    assert v["best"]["score"] == 1.0 and v["best_step"] == 2 and v["final"]["score"] == 4.0
    assert set(v["floor"]) == {"score"} and v["verdict"].startswith("mean err 1 (floor")


def test_best_is_the_latest_score_within_the_probe_noise_of_the_lowest(tmp_path):
    """The one-standard-error rule: with floor_noise 0.5, scripted scores 3, 1, 1.3, 5, 1.4, 2 make step 5
    ``best`` (1.4 <= 1 + 0.5, the latest such); the lowest score (1) stays the trainer's ``best`` value, which
    patience and resume count from, and the summary records the tolerance."""
    trainer = _trainer(tmp_path, TrainConfig(steps=6, batch_size=16, log_every=1, lr=0.05),
                       probe=lambda ds: MeanProbe(ds, scores=[3.0, 1.0, 1.3, 5.0, 1.4, 2.0], floor_noise=0.5))
    trainer.checks.cadence = StepCadence(6, 6)   # a probe at every step, whatever the clock
    summary = trainer.fit()
    tensors, state = load_checkpoint(tmp_path / "t" / "checkpoints" / "best.json")
    assert state["step"] == 5 and state["best"] == 1.0 and state["quality"]["best"]["score"] == 1.4
    v = summary["validation"]
    assert v["best_step"] == 5 and v["best"]["score"] == 1.4 and v["tolerance"] == 0.5
    assert v["final"]["score"] == 2.0


def test_a_model_scores_spread_widens_the_tie_for_best(tmp_path):
    """A biased model's score spreads wider than one at the floor: with floor_noise 0.1 and the probes'
    score_noise 0.8, 0.2, 0.2 (pooled: σ = sqrt(0.72/3) = 0.49), scripted scores 3, 1, 2.3 make step 3 ``best``
    (2.3 <= 1 + 2·√2·σ = 2.39: not two standard deviations of a difference worse) where the floor's noise alone
    would keep step 2; the summary records the tolerance used and a checkpoint keeps the squared noises for
    resume."""
    trainer = _trainer(tmp_path, TrainConfig(steps=3, batch_size=16, log_every=1, lr=0.05),
                       probe=lambda ds: MeanProbe(ds, scores=[3.0, 1.0, 2.3], floor_noise=0.1,
                                                  score_noise=[0.8, 0.2, 0.2]))
    trainer.checks.cadence = StepCadence(3, 3)
    summary = trainer.fit()
    tensors, state = load_checkpoint(tmp_path / "t" / "checkpoints" / "best.json")
    assert state["step"] == 3 and state["quality"]["noise_sq"] == pytest.approx([0.64, 0.04, 0.04])
    v = summary["validation"]
    assert v["best_step"] == 3 and v["tolerance"] == pytest.approx(2 * 2 ** 0.5 * (0.72 / 3) ** 0.5)


def _probe_with_floor(ds, scores, floor, noise):
    probe = MeanProbe(ds, scores=scores, floor_noise=noise)
    probe.floor = {"score": floor}
    return probe


def test_a_lowest_score_below_the_floor_ties_with_every_state_near_the_floor(tmp_path):
    """Floor 2, floor_noise 0.5, scripted scores 3, 0.5, 2.4, 5, 2.6: the lucky 0.5 does not keep step 2 as
    ``best``; step 3 (2.4 <= max(0.5, 2) + 0.5) is the latest tie, step 5 (2.6) is not."""
    trainer = _trainer(tmp_path, TrainConfig(steps=5, batch_size=16, log_every=1, lr=0.05),
                       probe=lambda ds: _probe_with_floor(ds, [3.0, 0.5, 2.4, 5.0, 2.6], 2.0, 0.5))
    trainer.checks.cadence = StepCadence(5, 5)   # a probe at every step, whatever the clock
    v = trainer.fit()["validation"]
    assert v["best_step"] == 3 and v["best"]["score"] == 2.4 and trainer.best == 0.5


def test_converged_when_the_score_stops_improving_for_patience(tmp_path):
    """A constant score after the first probe: the run stops ``converged`` after ~patience seconds of its
    60 s budget."""
    trainer = _trainer(tmp_path, TrainConfig(max_time=60, patience=0.5, batch_size=16, log_every=20),
                       probe=lambda ds: MeanProbe(ds, scores=[1.0]))
    trainer.checks.cadence = Cadence(first=0.1)
    summary = trainer.fit()
    assert summary["status"] == "converged" and summary["wall_time_s"] < 10


def test_a_callback_prunes_a_run_on_quality(tmp_path, cont, fake_probe):
    """train(..., callbacks=[("on_quality", fn)]): fn may stop the run cleanly with its own status."""
    def prune(t):
        t.stop_requested, t.status = True, "pruned"
    summary = train("toy-gauss", data=cont, out=tmp_path / "r", max_time=30, sets=QUIET,
                    callbacks=[("on_quality", prune)])
    assert summary["status"] == "pruned" and summary["wall_time_s"] < 10
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["status"] == "pruned"


def test_resume_is_exact_under_the_time_budget_schedule(tmp_path):
    """A cosine schedule over a time budget: the step count estimated after the timing warm-up is frozen in
    the checkpoints, so a run resumed from one (here with the uninterrupted run's step count as its cap)
    reproduces the uninterrupted run bit for bit."""
    cfg = TrainConfig(max_time=1.5, batch_size=16, log_every=5, schedule="cosine", lr=0.05, checkpoint_every=5,
                      keep_last=10**6)
    a = _trainer(tmp_path / "a", cfg, noise=0.1)
    summary = a.fit()
    directory = tmp_path / "a" / "t" / "checkpoints"
    states = sorted((load_checkpoint(p)[1] for p in directory.glob("step-*.json")), key=lambda s: s["step"])
    planned = [s for s in states if s["schedule"].get("horizon") is not None]
    assert len(planned) >= 3
    horizon = planned[-1]["schedule"]["horizon"]
    assert horizon > 10 and planned[0]["schedule"]["horizon"] == horizon
    # a checkpoint inside the frozen span: the estimate is made on the first steps, which run slower, so the run
    # may pass its horizon, and a resume past it starts a new span by design (test_the_schedule_span_after_a_resume)
    inside = [s["step"] for s in planned if s["step"] < horizon]
    middle = inside[len(inside) // 2]
    for p in directory.glob("step-*"):
        if int(p.name.split("-")[1].split(".")[0]) > middle:
            p.unlink()
    b = _trainer(tmp_path / "a", dataclasses.replace(cfg, max_time=None, steps=summary["step"]), noise=0.1)
    b.fit(resume=True)
    assert b.step == a.step
    for (name, p), q in zip(a.model.named_parameters(), b.model.parameters()):
        assert torch.equal(p, q), name
    assert a.optimizers["model"].param_groups[0]["lr"] == b.optimizers["model"].param_groups[0]["lr"]


@pytest.mark.parametrize("kind,features,expected", [
    ("continuous", 3, "quantile"), ("continuous", 64, "quantile"), ("continuous", 65, "standardize"),
    ("continuous", 1024, "standardize"), ("spins", 256, "none"), ("binary", 64, "none"), ("image", 64, "none")])
def test_auto_transform_per_kind_and_width(kind, features, expected):
    assert resolve_transform("auto", kind, features) == expected
    assert resolve_transform("minmax", kind, features) == "minmax"


def test_the_defaults_transform_hold_out_and_pick_best(tmp_path, cont, fake_probe):
    """Plain ``physgen train``: config.toml records transform = quantile (auto on continuous data) and
    val_fraction = 0.1, the probe sees the 20 held-out rows, summary.json has ``validation``, load_run/sample
    take ``best``."""
    summary = train("toy-gauss", data=cont, out=tmp_path / "r", steps=30, sets=QUIET + ["train.lr=0.05"])
    saved = load_toml(tmp_path / "r" / "config.toml")
    assert saved["data"]["transform"] == "quantile" and saved["data"]["val_fraction"] == 0.1
    assert fake_probe[0].n == 20 and summary["validation"]["n_heldout"] == 20
    assert summary["validation"]["best_step"] is not None
    assert load_run(tmp_path / "r", device="cpu").checkpoint == "best"


def test_cli_prints_the_validation_line_and_samples_best(tmp_path, cont, fake_probe, capsys):
    from physgen.cli import main

    run = tmp_path / "r"
    assert main(["train", "toy-gauss", "--data", str(cont), "--out", str(run), "--steps", "5", "--no-progress",
                 "--device", "cpu", "--set", "train.lr=1e-4"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("validation: mean err ") and "floor" in out[-1]
    assert ("train longer (physgen train toy-gauss --out " in out[-1]) == ("train longer" in out[-1])
    assert main(["sample", str(run), "--n", "10", "--out", str(tmp_path / "s.h5"), "--device", "cpu"]) == 0
    (run / "checkpoints" / "best.json").unlink()
    assert main(["sample", str(run), "--n", "10", "--out", str(tmp_path / "s2.h5"), "--device", "cpu"]) == 0
    assert "no best checkpoint; using the latest" in capsys.readouterr().err


def test_cli_refuses_bad_budgets_in_one_line(tmp_path, cont, capsys):
    from physgen.cli import main

    for extra in (["--max-time", "0"], ["--max-time", "inf"], ["--set", "train.patience=0"],
                  ["--set", "data.val_fraction=0.001"]):
        try:
            code = main(["train", "toy-gauss", "--data", str(cont), "--out", str(tmp_path / "r"), "--no-progress",
                         *extra])
        except SystemExit as exc:   # argparse's own refusal (usage line + error line)
            code = exc.code
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and "Traceback" not in err[0], (extra, err)
        assert not (tmp_path / "r").exists()


def test_a_time_budget_through_train_probes_within_five_percent(tmp_path, cont, fake_probe):
    """``train(max_time=S)`` with the default split: >= 0.9 S of training, status completed, several probes
    whose measured cost stays within 5% of the elapsed time (plus the one probe that crosses it)."""
    summary = train("toy-gauss", data=cont, out=tmp_path / "r", max_time=2.0, sets=QUIET)
    v = summary["validation"]
    assert summary["status"] == "completed" and summary["wall_time_s"] >= 0.9 * 2.0
    assert v["probes"] >= 2 and v["probe_time_s"] <= 0.05 * summary["wall_time_s"] + v["probe_time_s"] / v["probes"]
    assert summary["total_steps"] is None and summary["steps"] > 0


@pytest.mark.parametrize("saved,cap,expected", [
    ({"timed": True, "start": 0, "horizon": 50}, None, {"start": 0, "horizon": 50, "timed": True}),     # mid-span
    ({"timed": True, "start": 0, "horizon": 50}, 80, {"start": 0, "horizon": 50, "timed": True}),       # + a cap
    ({"timed": True, "start": 0, "horizon": 20}, None, {"start": 30, "horizon": None, "timed": True}),  # restart
    ({"timed": True, "start": 0, "horizon": 50, "ended": True}, None,                               # extend a
     {"start": 30, "horizon": None, "timed": True}),                                                  # spent budget
    ({"timed": True, "start": 0, "horizon": 20}, 80, {"start": 30, "horizon": 80, "timed": False}),
    ({"timed": False, "start": 0, "horizon": 40}, 80, {"start": 0, "horizon": 80, "timed": False}),     # steps run
])
def test_the_schedule_span_after_a_resume(tmp_path, saved, cap, expected):
    """A time budget's frozen span is kept while it lasts (exact resume); a resume past it with a time budget
    starts a new span from the current step (a warm restart, its length estimated again)."""
    assert Span.resumed(saved, 30, cap).to_json() == expected


def test_a_slow_sampler_gets_a_smaller_probe_that_fits_the_share(tmp_path):
    """A model drawing 5 ms per sample, a 96-row reference and a 1.2 s budget: a full probe (0.48 s) alone
    would be 40% of the run.  The timed draw before the first step shrinks the reference to the 8-row minimum
    (share · S / 3 = 0.02 s a probe would allow 4) and the first probe waits until its cost fits the share."""
    import time as clock

    from physgen.training.probe import PROBES_PER_BUDGET

    trainer = _trainer(tmp_path, TrainConfig(max_time=1.2, batch_size=16, log_every=50), n=200,
                       probe=lambda heldout: MeanProbe(heldout))
    made = []

    def resize(max_samples):
        made.append(MeanProbe(Dataset(np.zeros((96, 2), np.float32), "continuous"), max_samples=max_samples))
        return made[-1]
    trainer.probe.probe, trainer.probe.resize = resize(2000), resize
    sample = trainer.model.sample

    def slow(n, **kw):
        clock.sleep(0.005 * n)
        return sample(n, **kw)
    trainer.model.sample = slow
    summary = trainer.fit()
    v = summary["validation"]
    assert PROBES_PER_BUDGET == 3 and v["probe_samples"] == 8 and made[-1].n == 8 and len(made) == 2
    assert v["probe_time_s"] <= 0.05 * summary["wall_time_s"] + 0.005 * 16 + 0.02   # (+ the timed draw)
    assert summary["wall_time_s"] >= 0.9 * 1.2


def test_cadence_waits_for_an_expected_cost():
    """``expect(cost)``: the first probe is due once cost <= share · elapsed; the timed draw counts as spent."""
    cadence = Cadence(share=0.05, first=1.0)
    cadence.expect(2.0, spent=0.5)
    assert cadence.next_at() == pytest.approx(40.0) and not cadence.due(39.9) and cadence.due(40.0)
    cheap = Cadence(share=0.05, first=1.0)
    cheap.expect(0.01)
    assert cheap.next_at() == 1.0


def test_every_layer_replaces_the_plan_below_it_whole(tmp_path):
    """The budget rule is the same for a config file, --set items and the flags (physgen.budget): epochs
    given without steps replace the steps below, whichever layer gives them."""
    from physgen import config as C
    from physgen.budget import Budget

    family = {"train": {"epochs": None, "steps": 100, "max_time": 60.0}}
    for kwargs in ({"sets": ["train.epochs=2"]}, {"extra": layer(epochs=2)}):
        cfg = C.resolve("toy-gauss", trainer_toy.ToyGaussConfig, base=family, **kwargs)
        assert Budget.of(cfg.train) == Budget(None, 2, None), kwargs
    toml = tmp_path / "c.toml"
    toml.write_text("[train]\nsteps = 50\n")
    cfg = C.resolve("toy-gauss", trainer_toy.ToyGaussConfig, base=family, config_file=toml, extra=layer(epochs=3))
    assert Budget.of(cfg.train) == Budget(None, 3, None)
    cfg = C.resolve("toy-gauss", trainer_toy.ToyGaussConfig, base=family, config_file=toml, sets=["train.max_time=9"])
    assert Budget.of(cfg.train) == Budget(50, None, 9.0)
    assert Budget(steps=5, max_time=1.0).resumed({"train": {"steps": 5, "max_time": 1.0}}) == {
        "train": {"steps": 5, "max_time": None}}
    assert Budget(max_time=1.0).resumed({"train": {"max_time": 1.0}}) == {"train": {"max_time": 1.0}}
    assert Budget(epochs=2).total_steps(7) == 14 and Budget(max_time=3.0).total_steps(7) is None
    with pytest.raises(UserError, match="no budget"):
        Budget().total_steps(7)
