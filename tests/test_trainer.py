"""The model-agnostic trainer: learning, exact resume, time budget, divergence guard, callbacks, EMA."""
from __future__ import annotations

import csv
import dataclasses
import math

import numpy as np
import pytest
import torch
import trainer_toy  # (also registers the test-only model "toy-gauss")
from safetensors.torch import load_file

from physgen.config import TrainConfig
from physgen.data import Dataset, load, save
from physgen.errors import UserError
from physgen.models.base import DataSpec
from physgen.training import EVENTS, Trainer, TrainingDiverged, load_run, train
from physgen.training.data import TensorData
from physgen.training.optim import schedule_factor

MEAN, STD = np.array([1.0, -1.0, 3.0]), np.array([1.0, 2.0, 0.5])


@pytest.fixture
def cont(tmp_path):
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(256, 3)) * STD + MEAN).astype(np.float32)
    return save(Dataset(x, "continuous", attrs={"feature_names": ["a", "b", "c"]}), tmp_path / "cont.h5")


def _weights(run_dir):
    from physgen.training.checkpoint import latest
    return load_file(str(latest(run_dir / "checkpoints").with_suffix(".safetensors")))


def _assert_same(a, b, skip=("rng.torch",)):
    assert set(a) == set(b)
    different = [k for k in a if k not in skip and not torch.equal(a[k], b[k])]
    assert not different, different


QUIET = ["train.progress=false", "train.batch_size=32", "train.device=cpu", "data.transform=none", "data.val_fraction=0"]


def test_learns_the_maximum_likelihood_gaussian(tmp_path, cont):
    """The toy model's MLE is the sample mean/std; Adam must get there (an analytic truth)."""
    summary = train("toy-gauss", data=cont, out=tmp_path / "r", steps=600, sets=QUIET + ["train.lr=0.05"])
    assert summary["status"] == "completed" and summary["steps"] == 600
    run = load_run(tmp_path / "r", device="cpu")
    x = np.asarray(load(cont).samples, dtype=np.float64)
    np.testing.assert_allclose(run.model.mu.detach().numpy(), x.mean(0), atol=0.05)
    np.testing.assert_allclose(np.exp(run.model.log_std.detach().numpy()), x.std(0), rtol=0.05)


@pytest.mark.parametrize("crash,every", [(23, 7), (10, 8)])  # mid-epoch; exactly at an epoch end (8 batches)
def test_resume_reproduces_an_uninterrupted_run_exactly(tmp_path, cont, monkeypatch, crash, every):
    sets = QUIET + ["model.noise=0.1", "train.ema=0.9", "train.schedule=cosine", "train.warmup_steps=5",
                    f"train.checkpoint_every={every}", "train.grad_clip=1.0", "data.val_fraction=0.0"]
    train("toy-gauss", data=cont, out=tmp_path / "a", steps=40, sets=sets)
    original = Trainer._one_step

    def crashing(self):  # like a kill: no final checkpoint
        if self.step == crash:
            raise _Crash()
        original(self)
    monkeypatch.setattr(Trainer, "_one_step", crashing)
    with pytest.raises(_Crash):
        train("toy-gauss", data=cont, out=tmp_path / "b", steps=40, sets=sets)
    monkeypatch.undo()
    summary = train("toy-gauss", data=None, out=tmp_path / "b", resume=True)
    assert summary["steps"] == 40
    _assert_same(_weights(tmp_path / "a"), _weights(tmp_path / "b"))
    rows_a = list(csv.DictReader(open(tmp_path / "a" / "metrics.csv")))
    rows_b = list(csv.DictReader(open(tmp_path / "b" / "metrics.csv")))
    assert [r["loss"] for r in rows_a] == [r["loss"] for r in rows_b]  # truncated and continued, no duplicates


class _Crash(Exception):
    pass


def test_max_time_stops_with_a_resumable_checkpoint(tmp_path, cont, monkeypatch):
    import physgen.training.trainer as T

    clock = {"t": 0.0}
    monkeypatch.setattr(T.time, "monotonic", lambda: clock.__setitem__("t", clock["t"] + 1.0) or clock["t"])
    sets = QUIET + ["model.noise=0.05"]
    s1 = train("toy-gauss", data=cont, out=tmp_path / "b", steps=30, max_time=12.0, sets=sets)
    assert s1["status"] == "max-time" and 0 < s1["steps"] < 30
    monkeypatch.undo()
    s2 = train("toy-gauss", data=None, out=tmp_path / "b", resume=True, steps=30, max_time=1e6)
    assert s2["status"] == "completed" and s2["steps"] == 30
    train("toy-gauss", data=cont, out=tmp_path / "a", steps=30, sets=sets)
    _assert_same(_weights(tmp_path / "a"), _weights(tmp_path / "b"))


def test_nan_loss_stops_naming_the_step_and_restores_the_last_good_checkpoint(tmp_path, cont):
    sets = QUIET + ["model.nan_at_call=13", "train.checkpoint_every=5"]
    with pytest.raises(TrainingDiverged, match=r"^training diverged at step 13 \(loss is nan\); restored the "
                                               r"checkpoint of step 10; rerun with on_divergence retry"):
        train("toy-gauss", data=cont, out=tmp_path / "r", steps=40, sets=sets)
    w = _weights(tmp_path / "r")
    assert all(torch.isfinite(t).all() for k, t in w.items() if t.dtype.is_floating_point)
    from physgen.training.checkpoint import latest
    assert latest(tmp_path / "r" / "checkpoints").name == "step-00000010.json"


def test_retry_lowers_the_learning_rate_and_finishes(tmp_path, cont, capsys):
    sets = QUIET + ["model.nan_at_call=13", "train.checkpoint_every=5", "train.lr=0.01", "train.log_every=1"]
    summary = train("toy-gauss", data=cont, out=tmp_path / "r", steps=30, sets=sets, on_divergence="retry")
    assert summary["status"] == "completed" and summary["retries"] == 1 and summary["lr_scale"] == pytest.approx(0.1)
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["physgen: training diverged at step 13 (loss is nan); restored the checkpoint of step 10; "
                   "retrying with the learning rate x0.1 (retry 1/3)"]
    rows = list(csv.DictReader(open(tmp_path / "r" / "metrics.csv")))
    lrs = {int(r["step"]): float(r["lr"]) for r in rows}
    assert lrs[10] == pytest.approx(0.01) and lrs[11] == pytest.approx(0.001) and lrs[30] == pytest.approx(0.001)
    assert sorted(lrs) == list(range(1, 31))  # rolled-back rows were dropped


def test_step_seeds_are_pinned_and_the_trainer_seeds_its_generators_with_them(tmp_path):
    """step_seed values are part of the reproducibility contract (a run must give the same numbers after a
    refactor); the trainer's generators are seeded with them."""
    from physgen.streams import step_seed

    assert step_seed(7, 1, 123) == 5193538374400866649
    assert step_seed(0, 0, 0, "start") == 1387458751269772157
    assert step_seed(2**63 - 1, 3, 10**9, "preview") == 7592698283372121931
    trainer, _ = _trainer(tmp_path, TrainConfig(steps=1, seed=7, progress=False))
    g5 = trainer._generator(5)
    expected = torch.rand(4, generator=torch.Generator().manual_seed(step_seed(7, 0, 5)))
    assert torch.equal(torch.rand(4, generator=g5), expected)
    assert trainer._generator(6).initial_seed() == step_seed(7, 0, 6)
    assert trainer._generator(6, "validate").initial_seed() == step_seed(7, 0, 6, "validate")


def _poison(trainer, step: int, name: str, index: int, value: float = math.nan) -> None:
    """Set ``model.<name>[index] = value`` after the update of ``step`` (an on_batch_end callback)."""
    def poison(t):
        if t.step == step:
            with torch.no_grad():
                getattr(t.model, name)[index] = value
    trainer.add_callback("on_batch_end", poison)


def test_nan_parameter_is_caught_at_the_next_log_step(tmp_path):
    trainer, _ = _trainer(tmp_path, TrainConfig(steps=20, batch_size=8, log_every=4, checkpoint_every=4,
                                                progress=False, guard_every=1))

    _poison(trainer, 8, "mu", 1, math.inf)  # after the update of step 8, before its logging check
    with pytest.raises(TrainingDiverged, match=r"diverged at step 8 \(a parameter is NaN/Inf\); restored the "
                                               r"checkpoint of step 4"):
        trainer.fit()
    assert torch.isfinite(trainer.model.mu).all() and trainer.step == 4


def test_closed_form_models_log_the_value_of_the_step_that_ends_a_row(tmp_path):
    """An RBM's closed-form path (``gradients``) is asked for its value only on the steps that end a metrics row
    (and the last planned step); each row's loss is that step's value, so the column has no gap; the trained
    parameters equal those of a run that asks at every step (``log_every = 1``)."""
    from physgen.models.rbm import RBM, RBMConfig

    x = (torch.rand(64, 9, generator=torch.Generator().manual_seed(0)) < 0.5).float()
    runs = {}
    for every in (3, 1):
        torch.manual_seed(0)
        model = RBM(RBMConfig(n_hidden=4, method="pcd", n_chains=8, monitor_every=10**6), DataSpec("binary", (9,)))
        asked, values, inner = [], {}, model.gradients

        def spy(batch, *, generator, value=True, inner=inner, asked=asked, values=values):
            asked.append(value)
            out = inner(batch, generator=generator, value=value)
            values[len(asked)] = None if out[0] is None else float(out[0])
            return out
        model.gradients = spy
        cfg = TrainConfig(steps=10, batch_size=16, log_every=every, lr=0.05, progress=False, device="cpu")
        Trainer(model, cfg, TensorData(x), run_dir=tmp_path / f"r{every}").fit()
        with open(tmp_path / f"r{every}" / "metrics.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        runs[every] = (asked, values, rows, [p.detach().clone() for p in model.parameters()])
    asked, values, rows, params = runs[3]
    assert [i + 1 for i, v in enumerate(asked) if v] == [3, 6, 9, 10]
    assert [s for s, v in values.items() if v is not None] == [3, 6, 9, 10]   # the value is skipped elsewhere
    assert [int(r["step"]) for r in rows] == [3, 6, 9, 10]
    assert [float(r["loss"]) for r in rows] == pytest.approx([values[s] for s in (3, 6, 9, 10)], rel=1e-6)
    assert all(runs[1][0]) and all(torch.equal(a, b) for a, b in zip(params, runs[1][3]))
    assert [float(r["loss"]) for r in runs[1][2]][2::3] == pytest.approx([values[s] for s in (3, 6, 9)], rel=1e-6)


def test_closed_form_models_without_the_value_flag_are_asked_for_every_value(tmp_path):
    """A family whose ``gradients`` takes no ``value`` keyword (the signature before it) still trains: the
    closed-form step calls it as before, at every step, and every row averages its steps' values."""
    from physgen.models.rbm import RBM, RBMConfig

    x = (torch.rand(64, 9, generator=torch.Generator().manual_seed(0)) < 0.5).float()
    torch.manual_seed(0)
    model = RBM(RBMConfig(n_hidden=4, method="pcd", n_chains=8, monitor_every=10**6), DataSpec("binary", (9,)))
    values, inner = [], model.gradients

    def old_style(batch, *, generator):
        out = inner(batch, generator=generator)
        values.append(float(out[0]))
        return out
    model.gradients = old_style
    cfg = TrainConfig(steps=10, batch_size=16, log_every=3, lr=0.05, progress=False, device="cpu")
    Trainer(model, cfg, TensorData(x), run_dir=tmp_path / "r").fit()
    with open(tmp_path / "r" / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(values) == 10 and [int(r["step"]) for r in rows] == [3, 6, 9, 10]
    means = [sum(values[a:b]) / (b - a) for a, b in ((0, 3), (3, 6), (6, 9), (9, 10))]
    assert [float(r["loss"]) for r in rows] == pytest.approx(means, rel=1e-6)


def _trainer(tmp_path, cfg, n=64, d=2, **kw):
    from trainer_toy import ToyGauss, ToyGaussConfig

    spec = DataSpec("continuous", (d,))
    x = torch.from_numpy(np.random.default_rng(1).normal(size=(n, d)).astype(np.float32))
    model = ToyGauss(ToyGaussConfig(**kw), spec)
    cfg = dataclasses.replace(cfg, device="cpu")
    return Trainer(model, cfg, TensorData(x), run_dir=tmp_path / "t"), x


def test_callbacks_fire_by_event_name_and_can_stop(tmp_path):
    trainer, _ = _trainer(tmp_path, TrainConfig(epochs=3, batch_size=16, log_every=2, progress=False))
    seen = []
    for event in EVENTS:
        trainer.add_callback(event, lambda t, e=event: seen.append((e, t.step)))
    trainer.add_callback("on_batch_end", lambda t: setattr(t, "stop_requested", t.step == 6))
    with pytest.raises(ValueError, match="unknown trainer event"):
        trainer.add_callback("on_lunch", print)
    summary = trainer.fit()
    assert summary["step"] == 6 and summary["status"] == "stopped"
    events = [e for e, _ in seen]
    assert events[0] == "on_train_start" and events[-1] == "on_train_end"
    assert events.count("on_batch_end") == 6 and ("on_epoch_end", 4) in seen and ("on_log", 6) in seen


def test_ema_weights_are_used_for_sampling(tmp_path, cont):
    train("toy-gauss", data=cont, out=tmp_path / "r", steps=50, sets=QUIET + ["train.ema=0.8", "train.lr=0.05"])
    w = _weights(tmp_path / "r")
    run = load_run(tmp_path / "r", device="cpu")
    assert torch.equal(run.model.mu.detach(), w["ema.mu"]) and not torch.equal(w["ema.mu"], w["model.mu"])


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
def test_each_optimizer_decreases_the_loss(tmp_path, optimizer):
    cfg = TrainConfig(steps=60, batch_size=64, lr=0.05, optimizer=optimizer, momentum=0.5 if optimizer == "sgd" else 0,
                      progress=False, log_every=60)
    trainer, x = _trainer(tmp_path, cfg, init_mean=3.0)
    before = float(trainer.model.nll(x).mean().detach())
    trainer.fit()
    assert float(trainer.model.nll(x).mean().detach()) < before - 1.0


def test_gradient_clipping_bounds_the_sgd_update(tmp_path):
    cfg = TrainConfig(steps=1, batch_size=64, lr=1.0, optimizer="sgd", grad_clip=0.01, progress=False)
    trainer, _ = _trainer(tmp_path, cfg, init_mean=50.0)
    before = torch.cat([p.detach().clone().flatten() for p in trainer.model.parameters()])
    trainer.fit()
    after = torch.cat([p.detach().flatten() for p in trainer.model.parameters()])
    assert float((after - before).norm()) == pytest.approx(0.01, rel=1e-4)


def test_group_lr_of_unknown_group_is_refused(tmp_path):
    with pytest.raises(UserError, match=r"train.group_lr: unknown parameter group\(s\) disc \(this model has: model\)"):
        _trainer(tmp_path, TrainConfig(group_lr={"disc": 0.1}))


def test_float64_training(tmp_path):
    trainer, _ = _trainer(tmp_path, TrainConfig(steps=3, batch_size=8, dtype="float64", progress=False))
    trainer.fit()
    assert trainer.model.mu.dtype == torch.float64


def test_matmul_precision_holds_during_fit_and_is_restored(tmp_path):
    trainer, _ = _trainer(tmp_path, TrainConfig(steps=3, batch_size=8, matmul_precision="medium", progress=False))
    seen = []
    trainer.add_callback("on_batch_end", lambda t: seen.append(torch.get_float32_matmul_precision()))
    before = torch.get_float32_matmul_precision()
    trainer.fit()
    assert seen == ["medium"] * 3 and torch.get_float32_matmul_precision() == before == "highest"


def test_validation_is_logged_and_picks_the_best_checkpoint(tmp_path, cont):
    """With held-out data the loss validation runs with each quality probe (val_every = 0: here the final
    one, the run lasting < 1 s) or every val_every steps (4 epochs of 6 batches); best is always written."""
    sets = QUIET + ["data.val_fraction=0.25"]
    for out, extra, expected in (("r", [], None), ("e", ["train.val_every=6"], 4)):
        train("toy-gauss", data=cont, out=tmp_path / out, epochs=4, sets=sets + extra)
        rows = list(csv.DictReader(open(tmp_path / out / "metrics.csv")))
        val = [float(r["val_loss"]) for r in rows if r.get("val_loss")]
        scores = [float(r["val_score"]) for r in rows if r.get("val_score")]
        assert len(val) == (expected or len(scores)) and len(scores) >= 1
        assert all(math.isfinite(v) for v in val + scores)
        assert (tmp_path / out / "checkpoints" / "best.json").exists()


@pytest.mark.parametrize("schedule,warmup,step,total,expected", [
    ("constant", 0, 50, 100, 1.0), ("cosine", 10, 55, 100, 0.5), ("cosine", 10, 105, 100, 0.0),
    ("cosine", 10, 4, 100, 0.5), ("linear", 0, 30, 120, 0.75), ("step", 0, 250, None, 0.25),
    ("exponential", 0, 50, None, 0.5 ** 0.5), ("cosine", 0, 50, None, 1.0),
])
def test_schedules(schedule, warmup, step, total, expected):
    cfg = TrainConfig(schedule=schedule, warmup_steps=warmup, step_size=100, gamma=0.5)
    assert schedule_factor(cfg, step, total) == pytest.approx(expected)


def test_preview_png_for_two_dimensional_samples(tmp_path):
    x = (2 * np.random.default_rng(0).integers(0, 2, size=(32, 4, 4)) - 1).astype(np.int8)
    data = save(Dataset(x, "spins"), tmp_path / "s.h5")
    train("toy-gauss", data=data, out=tmp_path / "r", steps=4, sets=QUIET + ["train.preview_every=2"])
    import matplotlib.image
    pngs = sorted(p.name for p in (tmp_path / "r" / "previews").iterdir())
    assert pngs == ["step-00000002.png", "step-00000004.png"]
    assert matplotlib.image.imread(tmp_path / "r" / "previews" / pngs[0]).shape[:2] == (19, 19)


def test_adversarial_models_get_one_optimizer_per_group(tmp_path, cont):
    sets = QUIET + ["train.optimizer=sgd", "train.lr=0.1", "train.group_lr.critic=0.01"]
    summary = train("toy-adv", data=cont, out=tmp_path / "r", steps=5, sets=sets)
    assert summary["status"] == "completed" and set(summary["last_metrics"]) >= {"generator_loss", "critic_loss"}
    w = _weights(tmp_path / "r")
    assert {k for k in w if k.startswith("optim.")} == set()  # plain SGD keeps no state
    # SGD steps scale with each group's lr: compare with a run where the critic's lr is 10x larger
    train("toy-adv", data=cont, out=tmp_path / "q", steps=1, sets=sets)
    train("toy-adv", data=cont, out=tmp_path / "p", steps=1, sets=QUIET + ["train.optimizer=sgd", "train.lr=0.1"])
    q, p = _weights(tmp_path / "q"), _weights(tmp_path / "p")
    torch.testing.assert_close(q["model.log_std"] * 10, p["model.log_std"])


def test_adversarial_nan_logs_trigger_the_guard(tmp_path, cont):
    with pytest.raises(TrainingDiverged, match=r"diverged at step 3 \(loss is nan\)"):
        train("toy-adv", data=cont, out=tmp_path / "r", steps=10, sets=QUIET + ["model.nan_at_call=5"])


def test_tensorboard_without_the_package_warns_and_continues(tmp_path, cont):
    import importlib.util
    if importlib.util.find_spec("tensorboard") is not None:
        pytest.skip("tensorboard is installed")
    with pytest.warns(UserWarning, match="tensorboard package is not installed"):
        summary = train("toy-gauss", data=cont, out=tmp_path / "r", steps=3, sets=QUIET + ["train.tensorboard=true"])
    assert summary["status"] == "completed"


def test_logbook_drops_a_partial_last_line_left_by_a_kill(tmp_path):
    from physgen.training.logbook import Logbook

    (tmp_path / "metrics.csv").write_text("step,epoch,loss\n1,0.1,2.5\n2,0.2,2.4\n3,0.")
    book = Logbook(tmp_path)
    assert [r["step"] for r in book.rows] == ["1", "2"]
    book.truncate_after(1)
    book.log({"step": 2, "epoch": 0.2, "loss": 2.0, "val_loss": 1.0})  # a new column widens the header
    assert (tmp_path / "metrics.csv").read_text() == "step,epoch,loss,val_loss\n1,0.1,2.5,\n2,0.2,2.0,1.0\n"


def test_logbook_appends_in_batches_and_every_row_up_to_a_written_checkpoint_is_on_disk(tmp_path, monkeypatch):
    """Rows wait until FLUSH_SECONDS have passed (here: never) or a flush; the trainer flushes before each
    checkpoint it writes, so the file holds exactly the rows up to the newest checkpoint; close writes the rest."""
    from physgen.training import logbook

    book = logbook.Logbook(tmp_path)
    book.log({"step": 1, "loss": 2.5})   # the first row creates the file (header)
    monkeypatch.setattr(logbook, "FLUSH_SECONDS", math.inf)
    book.log({"step": 2, "loss": 2.25})
    assert (tmp_path / "metrics.csv").read_text() == "step,loss\n1,2.5\n"
    book.flush()
    book.log({"step": 3, "loss": 2.0})
    assert (tmp_path / "metrics.csv").read_text() == "step,loss\n1,2.5\n2,2.25\n"
    book.close()
    assert (tmp_path / "metrics.csv").read_text() == "step,loss\n1,2.5\n2,2.25\n3,2.0\n"

    trainer, _ = _trainer(tmp_path / "run", TrainConfig(steps=40, batch_size=8, log_every=2, checkpoint_every=10,
                                                        progress=False))
    on_disk = []

    def rows_at_checkpoint(t):
        with open(t.run_dir / "metrics.csv", newline="") as f:
            on_disk.append((t.step, [int(r["step"]) for r in csv.DictReader(f)]))
    trainer.add_callback("on_checkpoint", rows_at_checkpoint)
    trainer.fit()
    assert on_disk[:3] == [(s, list(range(2, s + 1, 2))) for s in (10, 20, 30)]


def test_load_run_best_and_missing_best(tmp_path, cont):
    """``load_run`` loads ``best`` by default and falls back to the latest checkpoint where there is none."""
    train("toy-gauss", data=cont, out=tmp_path / "r", steps=8, sets=QUIET)
    run = load_run(tmp_path / "r")
    assert run.checkpoint == "best" and run.step in range(0, 9)
    (tmp_path / "r" / "checkpoints" / "best.json").unlink()
    run = load_run(tmp_path / "r")
    assert run.checkpoint == "latest" and run.step == 8
    assert load_run(tmp_path / "r", which="latest").checkpoint == "latest"


@pytest.mark.parametrize("interval,expected", [(0.0, [0, 8, 16, 24]), (1e9, [0, 24])])
def test_epoch_end_checkpoints_are_written_at_most_every_checkpoint_interval(tmp_path, interval, expected):
    """Epoch ends (8 batches) snapshot the state in memory every time; disk writes are throttled to one
    per ``checkpoint_interval`` seconds, and the final step is always on disk."""
    trainer, _ = _trainer(tmp_path, TrainConfig(epochs=3, batch_size=8, keep_last=10, progress=False,
                                                checkpoint_interval=interval, guard_every=1))
    snapshots = []
    trainer.add_callback("on_epoch_end", lambda t: snapshots.append(t.checkpoints.good[1]["step"]))
    trainer.fit()
    steps = sorted(int(p.stem.split("-")[1]) for p in (tmp_path / "t" / "checkpoints").glob("step-*.json"))
    assert steps == expected and snapshots == [8, 16, 24]


class _Silent(trainer_toy.ToyGauss):
    """The toy with a parameter the loss does not use (a NaN there shows only in the parameter check)."""

    def __init__(self, config, spec):
        super().__init__(config, spec)
        self.unused = torch.nn.Parameter(torch.zeros(3))


@pytest.mark.parametrize("guard_every,caught,restored", [(100, 100, 0), (1, 32, 24)])
def test_guard_every_sets_the_parameter_check_and_snapshot_cadence(tmp_path, guard_every, caught, restored):
    """8-step epochs, rows every 4 steps, a NaN in a parameter outside the loss after step 30.  With the default
    guard_every = 100 the parameters are next checked at the row of step 100 and no epoch end before it is
    snapshotted (the rollback point is the start); with guard_every = 1 the row of step 32 catches it and the
    rollback point is the epoch end of step 24."""
    x = torch.from_numpy(np.random.default_rng(1).normal(size=(64, 2)).astype(np.float32))
    cfg = TrainConfig(epochs=20, batch_size=8, log_every=4, progress=False, checkpoint_interval=1e9,
                      guard_every=guard_every, device="cpu")
    trainer = Trainer(_Silent(trainer_toy.ToyGaussConfig(), DataSpec("continuous", (2,))), cfg,
                      TensorData(x), run_dir=tmp_path / "t")
    snapshots = []
    trainer.add_callback("on_epoch_end", lambda t: snapshots.append(t.checkpoints.good[1]["step"]))

    _poison(trainer, 30, "unused", 1)
    with pytest.raises(TrainingDiverged, match=rf"diverged at step {caught} \(a parameter is NaN/Inf\); "
                                               rf"restored the checkpoint of step {restored}"):
        trainer.fit()
    assert trainer.step == restored and torch.isfinite(trainer.model.unused).all()
    assert snapshots == ([0] * 12 if guard_every == 100 else [8, 16, 24])


def test_epoch_end_snapshots_wait_for_guard_every_steps_unless_a_disk_checkpoint_is_due(tmp_path):
    """8-step epochs, guard_every = 20: the epoch ends of steps 24, 48 and 72 are snapshotted, the others keep the
    previous snapshot; with checkpoint_interval = 0 every epoch end is written to disk, hence snapshotted."""
    for interval, expected in ((1e9, [0, 0, 24, 24, 24, 48, 48, 48, 72]), (0.0, [8, 16, 24, 32, 40, 48, 56, 64, 72])):
        trainer, _ = _trainer(tmp_path / str(interval), TrainConfig(epochs=9, batch_size=8, progress=False,
                                                                    keep_last=20, checkpoint_interval=interval,
                                                                    guard_every=20))
        seen = []
        trainer.add_callback("on_epoch_end", lambda t: seen.append(t.checkpoints.good[1]["step"]))
        trainer.fit()
        assert seen == expected


def test_checkpoint_interval_must_be_a_finite_nonnegative_number_and_guard_every_positive():
    for bad in (-1.0, float("inf"), float("nan")):
        with pytest.raises(UserError, match="train.checkpoint_interval"):
            TrainConfig(checkpoint_interval=bad)
    for bad in (0, -3, 2.5):
        with pytest.raises(UserError, match="train.guard_every"):
            TrainConfig(guard_every=bad)


def test_memory_snapshots_roll_back_exactly(tmp_path):
    """Epoch-end snapshots stay in memory (checkpoint_interval); a NaN parameter rolls back to exactly the
    values snapshotted at step 16."""
    trainer, _ = _trainer(tmp_path, TrainConfig(epochs=4, batch_size=8, log_every=4, progress=False,
                                                checkpoint_interval=1e9, guard_every=1))
    seen = []
    trainer.add_callback("on_epoch_end", lambda t: seen.append((t.step, None, t.checkpoints.good[0]["model.mu"].clone())))

    _poison(trainer, 22, "mu", 0)
    with pytest.raises(TrainingDiverged, match=r"restored the checkpoint of step 16"):
        trainer.fit()
    assert [s for s, _, _ in seen] == [8, 16]
    assert not torch.equal(seen[0][2], seen[1][2])
    assert torch.equal(trainer.model.mu.detach(), seen[1][2]) and trainer.step == 16
