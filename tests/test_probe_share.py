"""The bound on the quality checks' share of a step budget (physgen.training.probe.bound): computed from the
declared work alone, so a default-budget plan whose share is small stays as it was, and a short run of a costly
sampler gets fewer probes and a smaller reference.  Deterministic (no statistics, no timing)."""
from __future__ import annotations

import pytest

from physgen import config as C
from physgen.models import registry
from physgen.models.base import DataSpec
from physgen.models.rbm import RBM
from physgen.training.probe import CHECK_SHARE, PROBES_PER_RUN, STEP_OVERHEAD, bound

ISING = DataSpec("spins", (16, 16), condition_names=("temperature",),
                 condition_values={"temperature": (1.8, 2.27, 3.0)})


def _share(spec: DataSpec, requests: list[int], sets: tuple[str, ...] = (), steps: int | None = None):
    cfg = C.resolve("rbm", RBM.config_class, base=RBM.defaults(spec), sets=list(sets))
    model = registry.instantiate(RBM, cfg.model, spec)
    training = (steps or cfg.train.steps) * (model.step_work(cfg.train.batch_size) + STEP_OVERHEAD)
    return sum(model.sample_work(k) for k in requests), training


@pytest.mark.parametrize("spec, requests", [(DataSpec("continuous", (3,)), [1000]), (ISING, [100, 100, 100]),
                                             (DataSpec("binary", (8, 8)), [120])],
                         ids=["ttbar", "ising", "digits-binary"])
def test_default_budget_plans_unchanged(spec, requests):
    """The rbm's default budgets on tt̄ (10,000 events), L = 16 Ising (3 × 1,000) and binary 8×8 digits: the
    five probes of the held-out reference fit the share, so the plan is the one without the bound."""
    per_probe, training = _share(spec, requests)
    assert PROBES_PER_RUN * per_probe <= CHECK_SHARE * training
    assert bound(PROBES_PER_RUN, per_probe, training) == (PROBES_PER_RUN, per_probe)


def test_short_costly_run_bounded():
    """576 binary pixels, 500 hidden, 268 steps: one probe, on a reference shrunk to fit the share."""
    per_probe, training = _share(DataSpec("binary", (576,)), [1900], ("model.n_hidden=500",), steps=268)
    probes, allowed = bound(PROBES_PER_RUN, per_probe, training)
    assert probes == 1 and allowed == pytest.approx(CHECK_SHARE * training) and allowed < per_probe / 100


def test_bound_drops_probes_before_samples():
    assert bound(5, 3.0, 100.0) == (3, 3.0)
    assert bound(5, 30.0, 100.0) == (1, pytest.approx(10.0))
    assert bound(5, 1.0, 100.0) == (5, 1.0)


def test_trainer_records_share(tmp_path):
    """A short rbm run (20 steps: even the smallest reference is above the share) records its bounded plan and
    the seconds of loop and checks in summary.json."""
    import numpy as np

    from physgen.data import Dataset, save
    from physgen.training.launch import train

    x = (np.random.default_rng(0).random((400, 64)) < 0.3).astype(np.uint8)
    save(Dataset(x, "binary", attrs={"source": "test"}), tmp_path / "d.h5")
    s = train("rbm", data=str(tmp_path / "d.h5"), out=str(tmp_path / "run"), steps=20, seed=0,
              sets=["train.progress=false", "model.n_hidden=32"], device="cpu")
    v = s["validation"]
    assert v["probes"] == v["planned_probes"] == 1 and v["probe_samples"] == 8   # (the smallest reference)
    assert v["check_work_share"] > 0
    assert s["checks_s"] > 0 and s["loop_s"] >= 0 and s["loop_s"] + s["checks_s"] == pytest.approx(s["wall_time_s"])
