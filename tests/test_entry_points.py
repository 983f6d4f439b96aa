"""Families are found by entry points: physgen's own through the ``physgen.models`` group of its pyproject.toml,
and a family from another installed package the same way — a throwaway package in a temporary directory, put
on the path with its distribution metadata as pip would install it, trains from the command line."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import numpy as np
import pytest

from physgen.data import Dataset, save
from physgen.errors import UserError
from physgen.models import registry

ROOT = Path(__file__).resolve().parents[1]

PLUGIN = '''
"""A family outside physgen: a diagonal Gaussian fitted by maximum likelihood."""
import math
from dataclasses import dataclass

import torch
from torch import nn

from physgen.models.base import GenerativeModel, budget


@dataclass
class PlugConfig:
    init_log_sigma: float = 0.0


class PlugGauss(GenerativeModel):
    name = "plug-gauss"
    description = "diagonal Gaussian from an installed plug-in package"
    config_class = PlugConfig
    kinds = ("continuous",)
    defaults_by_kind = {"continuous": budget(200)}

    def __init__(self, config, spec):
        super().__init__(config, spec)
        self.mu = nn.Parameter(torch.zeros(spec.shape))
        self.log_sigma = nn.Parameter(torch.full(spec.shape, config.init_log_sigma))

    def loss(self, batch, *, generator):
        z = (batch["x"] - self.mu) / self.log_sigma.exp()
        nll = (0.5 * z**2 + self.log_sigma + 0.5 * math.log(2 * math.pi)).flatten(1).sum(1).mean()
        return nll, {}

    @torch.no_grad()
    def sample(self, n, *, generator, condition=None):
        eps = torch.randn((n, *self.spec.shape), generator=generator, device=self.mu.device)
        return self.mu + self.log_sigma.exp() * eps
'''


def test_a_source_tree_never_installed_reads_its_families_from_pyproject(monkeypatch):
    """Without physgen's distribution metadata (a source tree on sys.path), the families are the entry points of
    the tree's pyproject.toml, each loading to the class it names; with the metadata, none are added."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    table = project["project"]["entry-points"][registry.GROUP]

    def absent(name):
        raise registry.metadata.PackageNotFoundError(name)

    registry.source_tree_families.cache_clear()
    monkeypatch.setattr(registry.metadata, "distribution", absent)
    try:
        assert registry.source_tree_families() == table and set(table) <= set(registry.names())
        for name, target in table.items():
            cls = registry.get(name)
            assert f"{cls.__module__}:{cls.__qualname__}" == target
    finally:
        registry.source_tree_families.cache_clear()
    monkeypatch.undo()
    assert registry.source_tree_families() == {}


def test_an_unknown_or_broken_family_is_one_clear_error():
    with pytest.raises(UserError, match=r"unknown model 'nope' \(available: .*rbm"):
        registry.get("nope")
    with pytest.raises(UserError, match=r"model 'x': its entry point 'physgen.nothing:X' cannot be loaded"):
        registry._load("x", "physgen.nothing:X")


def _install_plugin(site: Path) -> None:
    """The package ``plugfam`` and its ``.dist-info`` (METADATA, entry_points.txt) as pip lays them out."""
    (site / "plugfam").mkdir(parents=True)
    (site / "plugfam" / "__init__.py").write_text(textwrap.dedent(PLUGIN))
    info = site / "plugfam-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: plugfam\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[physgen.models]\nplug-gauss = plugfam:PlugGauss\n")


def test_an_installed_out_of_tree_family_trains_from_the_cli(tmp_path):
    site = tmp_path / "site"
    _install_plugin(site)
    x = np.random.default_rng(0).normal([1.0, -2.0], [0.5, 2.0], (500, 2)).astype(np.float32)
    data = save(Dataset(x, "continuous"), tmp_path / "g.h5")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT / "src")]), "OMP_NUM_THREADS": "1"}

    def physgen(*args):
        return subprocess.run([sys.executable, "-m", "physgen", *map(str, args)], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)

    listed = physgen("models")
    assert listed.returncode == 0, listed.stderr
    assert any(line.startswith("plug-gauss ") and "200" in line for line in listed.stdout.splitlines())
    trained = physgen("train", "plug-gauss", "--data", data, "--out", "run", "--no-progress", "--set", "train.lr=0.05")
    assert trained.returncode == 0, trained.stderr
    assert trained.stdout.startswith("completed: plug-gauss at step 200/200")
    sampled = physgen("sample", "run", "--n", "1000", "--out", "s.h5")
    assert sampled.returncode == 0, sampled.stderr
    from physgen.data import load

    fake = load(tmp_path / "s.h5").samples
    assert np.allclose(fake.mean(0), [1.0, -2.0], atol=0.3)
