"""Samplers are chosen by name from one registry (:mod:`physgen.samplers.registry`): physgen's own are the
``physgen.samplers`` entry points of its pyproject.toml, and a sampler from another installed package joins the
same way and is used by every family with its field, from ``sample(sampler=...)`` and from ``model.sampler``."""
from __future__ import annotations

import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
import torch

from physgen.errors import UserError
from physgen.models.base import DataSpec
from physgen.models.registry import build
from physgen.samplers import registry

ROOT = Path(__file__).resolve().parents[1]
TINY = {"width": 16, "blocks": 1, "emb_dim": 8}

PLUGIN = '''
"""A sampler outside physgen: Euler's method on the velocity, counting its calls."""
from physgen.samplers.registry import Sampler

CALLS = []


def run(problem, steps):
    x = problem.x0
    n = int(steps or problem.settings.steps)
    h = 1.0 / n
    for i in range(n):
        x = x + h * problem.field(x, torch_full(len(x), i * h, x))
        CALLS.append(i)
    return x


def torch_full(b, value, like):
    import torch
    return torch.full((b,), value, dtype=like.dtype, device=like.device)


PLAIN_EULER = Sampler("plain-euler", "velocity", run, "Euler's method, from a plug-in")
'''


def test_the_built_in_samplers_are_the_entry_points_of_pyproject():
    table = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["entry-points"][registry.GROUP]
    for key, target in table.items():
        field, name = key.split(".", 1)
        sampler = registry.get(field, name)
        assert (sampler.field, sampler.name) == (field, name) and sampler.description
    assert registry.names("vp-eps") == ["ddim", "ddpm", "dpm-solver++", "sde-dpm-solver++"]
    assert registry.names("ve-score") == ["dpm-solver++", "euler-maruyama", "sde-dpm-solver++"]
    assert registry.get("vp-eps", "ancestral") is registry.get("vp-eps", "ddpm")


def test_an_unknown_sampler_is_one_error_naming_what_the_family_supports():
    spec = DataSpec("continuous", (2,))
    model = build("flow-matching", {**TINY, "steps": 2}, spec)
    with pytest.raises(UserError, match=r"sampler=nope: model 'flow-matching' supports euler, heun, midpoint, rk45, sde"):
        model.sample(3, generator=torch.Generator().manual_seed(0), sampler="nope")
    with pytest.raises(UserError, match=r"model\.sampler: 'ddim' is not one of .*heun"):
        build("flow-matching", {**TINY, "sampler": "ddim"}, spec)
    with pytest.raises(UserError, match=r"model\.sampler: 'heun' is not one of ddim \| ddpm"):
        build("ddpm", {**TINY, "sampler": "heun"}, spec)


def test_a_sampler_from_an_installed_package_serves_every_family_with_its_field(tmp_path, monkeypatch):
    """A throwaway package with its ``.dist-info`` (as pip lays it out) declares ``velocity.plain-euler``; the
    flow-matching family then samples with it by name and accepts it as ``model.sampler``, and with the same
    noise it gives what the built-in Euler sampler gives."""
    (tmp_path / "plugsamp").mkdir()
    (tmp_path / "plugsamp" / "__init__.py").write_text(textwrap.dedent(PLUGIN))
    info = tmp_path / "plugsamp-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: plugsamp\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[physgen.samplers]\nvelocity.plain-euler = plugsamp:PLAIN_EULER\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry._entries.cache_clear()
    try:
        assert "plain-euler" in registry.names("velocity")
        spec = DataSpec("continuous", (2,))
        torch.manual_seed(0)
        model = build("flow-matching", {**TINY, "steps": 3, "sampler": "plain-euler"}, spec).eval()
        ours = model.sample(5, generator=torch.Generator().manual_seed(1))
        euler = model.sample(5, generator=torch.Generator().manual_seed(1), sampler="euler")
        assert torch.equal(ours, euler)
        assert sys.modules["plugsamp"].CALLS == [0, 1, 2]
    finally:
        registry._entries.cache_clear()
        for key in [k for k in registry._REGISTRY if k[1] == "plain-euler"]:
            del registry._REGISTRY[key]
