"""GAN diagnostics: the discriminator-wins and mode-collapse warnings, plots; VAE latent tools."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from physgen.models import registry
from physgen.models.base import DataSpec
from physgen.models.contract import RunContext
from physgen.models.diagnostics import (GANDiagnostics, latent_grid, latent_scatter, latent_traversal,
                                        loss_figure, samples_figure)
from physgen.training.hooks import write_report


class FakeRun:
    """What a model's hooks see of a run (a :class:`RunContext` per event), recording what they report."""

    def __init__(self, run_dir: Path | None = None):
        self.said, self.step, self.epoch, self.position, self.run_dir = [], 0, 0, 0, run_dir
        self.last_logs, self.rows, self.stopped = {}, [], False

    def ctx(self) -> RunContext:
        def report(name, data):
            if self.run_dir is not None:
                write_report(self.run_dir, name, data)
        return RunContext(event="test", step=self.step, epoch=self.epoch, position=self.position, rank=0,
                          is_main=True, run_dir=self.run_dir, logs=dict(self.last_logs), history=list(self.rows),
                          report=report, say=self.said.append, request_stop=lambda: setattr(self, "stopped", True))


def make(spec=DataSpec("image", (8, 8)), **cfg):
    torch.manual_seed(0)
    m = registry.build("gan", cfg, spec)
    real = torch.rand(300, *spec.shape, generator=torch.Generator().manual_seed(1))
    return m, real


@pytest.mark.parametrize("d_fake, slope, warns", [(0.01, 0.05, True), (0.01, -0.05, False), (0.3, 0.05, False)])
def test_discriminator_wins_warning(d_fake, slope, warns):
    m, real = make()
    diag, tr = GANDiagnostics(m, real, window=10), FakeRun()
    for i in range(12):
        tr.step, tr.last_logs = i, {"d_fake": d_fake, "g_loss": 3.0 + slope * i, "d_real": 0.99, "d_loss": 0.1}
        diag.on_log(tr.ctx())
    assert (len(diag.warnings) == 1 and "discriminator wins" in tr.said[0]) == warns
    assert len(tr.said) == (1 if warns else 0)


def test_mode_collapse_warning_when_diversity_is_lost():
    m, real = make()
    diag, tr = GANDiagnostics(m, real), FakeRun()
    diag.snapshot(1, tr.ctx())                # untrained G: some diversity
    first = diag.diversity[1]
    with torch.no_grad():                     # collapse: G ignores z
        m.gen.body.fc_g0.weight.zero_()
    diag.snapshot(2, tr.ctx())
    assert first > 0.05 and diag.diversity[2] < 1e-6
    assert [w["kind"] for w in diag.warnings] == ["mode-collapse"] and "mode collapse at epoch 2" in tr.said[0]


def test_no_collapse_warning_before_any_diversity():
    """A generator that has produced no diversity yet (one output for every z from the start) has not
    collapsed: the warning needs diversity that was there and was lost."""
    m, real = make()
    with torch.no_grad():
        m.gen.body.fc_g0.weight.zero_()
    diag, tr = GANDiagnostics(m, real), FakeRun()
    diag.snapshot(1, tr.ctx())
    diag.snapshot(2, tr.ctx())
    assert diag.diversity[1] < 1e-6 and diag.warnings == [] and tr.said == []


def test_diagnostics_files_are_written(tmp_path):
    m, real = make(DataSpec("continuous", (3,), ("s", "t", "y")), output="linear")
    diag = GANDiagnostics(m, torch.randn(100, 3), epochs=(1,))
    tr = FakeRun(tmp_path)
    tr.epoch = 1
    diag.on_epoch_end(tr.ctx())
    rows = [{"step": str(s), "g_loss": str(1.0 + s), "d_loss": "1.2", "d_real": "0.6", "d_fake": "0.4"} for s in range(5)]
    tr.rows = rows
    diag.on_train_end(tr.ctx())   # (epoch 1 was sampled: no new snapshot)
    for name in ("losses.png", "samples.png", "diagnostics.json"):
        assert (tmp_path / "diagnostics" / name).read_bytes()[:4] in (b"\x89PNG", b"{\n  ")
    assert sorted(diag.files([])) == ["diagnostics/diagnostics.json", "diagnostics/samples.png"]
    fig = loss_figure(rows)
    (a, b) = fig.axes
    assert [l.get_label() for l in a.lines] == ["Generator loss", "Discriminator loss/2"]
    np.testing.assert_allclose(a.lines[1].get_ydata(), 0.6)
    samples_figure({1: np.zeros((8, 8, 8))}, DataSpec("image", (8, 8)), np.zeros((8, 8, 8)))


def test_vae_latent_tools_shapes():
    torch.manual_seed(0)
    vae = registry.build("vae", {"latent": 2, "hidden": (16,)}, DataSpec("binary", (8, 8), n_labels=10))
    grid = latent_grid(vae, n=5, condition={"labels": 3})
    assert grid.shape == (40, 40) and grid.min() >= 0 and grid.max() <= 1
    trav = latent_traversal(vae, dim=1, n=7, condition={"labels": 0})
    assert trav.shape == (7, 8, 8)
    x = torch.bernoulli(torch.full((50, 8, 8), 0.3))
    fig = latent_scatter(vae, x, np.arange(50) % 10, labels=torch.arange(50) % 10)
    assert len(fig.axes[0].collections[0].get_offsets()) == 50
