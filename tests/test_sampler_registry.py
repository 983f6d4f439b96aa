"""Samplers are chosen by name from one registry (:mod:`physgen.samplers.registry`): physgen's own are the
``physgen.samplers`` entry points of its pyproject.toml, and a sampler from another installed package joins the
same way and is used by every family with its field, from ``sample(sampler=...)`` and from ``model.sampler``."""
from __future__ import annotations

import dataclasses
import sys
import textwrap
import tomllib
from pathlib import Path

import numpy as np
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


def _ddim(**more):
    torch.manual_seed(0)
    return build("ddpm", {**TINY, "timesteps": 20, "sampler": "ddim", "steps": 5, **more},
                 DataSpec("continuous", (2,))).eval()


def test_a_samplers_option_replaces_the_family_setting_for_one_call():
    """``eta=`` (as ``--set sampler.eta`` gives it, text) draws what a run trained with that ``model.ddim_eta``
    draws, bit for bit, and leaves the run's own setting as it was."""
    plain, other = _ddim(), _ddim(ddim_eta=0.7)
    draw = lambda model, **o: model.sample(6, generator=torch.Generator().manual_seed(1), **o)  # noqa: E731
    assert torch.equal(draw(plain, eta="0.7"), draw(other))
    assert not torch.equal(draw(plain, eta=0.7), draw(plain))
    assert plain.config.ddim_eta == 0.0
    assert torch.equal(draw(plain, sampler="dpm-solver++", spacing="time"),
                       draw(_ddim(solver_spacing="time"), sampler="dpm-solver++"))


@pytest.mark.parametrize("options,message", [
    ({"foo": 1}, r"^sampler\.foo: the ddim sampler takes eta, variance$"),
    ({"eta": -1}, r"^sampler\.eta=-1: must be a number >= 0$"),
    ({"variance": "wide"}, r"^sampler\.variance: 'wide' is not one of posterior \| beta$"),
    ({"sampler": "ddpm", "eta": 0.5}, r"^sampler\.eta: the ddpm sampler takes variance$"),
])
def test_a_wrong_sampler_option_is_one_error_naming_it(options, message):
    with pytest.raises(UserError, match=message):
        _ddim().sample(2, generator=torch.Generator().manual_seed(0), **options)


def test_every_sampler_option_names_a_setting_of_each_family_with_its_field():
    """An option reads a key of the family's config, for every family whose card declares that field (and whose
    config's sampler choice, where it has one, is of the same field); the table in docs/models.md is the
    registry's."""
    from physgen.models.registry import get, names

    families: dict = {}
    for family in names():
        cls = get(family)
        if cls.__module__.startswith("physgen.") and cls.sampler_field is not None:
            families.setdefault(cls.sampler_field, []).append(family)
            for f in dataclasses.fields(cls.config_class):
                assert f.metadata.get("sampler_field", cls.sampler_field) == cls.sampler_field, family
    assert families == {"vp-eps": ["ddpm"], "ve-score": ["score-sde"], "velocity": ["epic-fm", "flow-matching"],
                        "bipartite": ["rbm"], "energy": ["ebm"]}

    for field_name, owners in families.items():
        for name in registry.names(field_name):
            for owner in owners:
                keys = {f.name for f in dataclasses.fields(get(owner).config_class)}
                assert set(registry.get(field_name, name).options.values()) <= keys, (owner, name)
    for name in registry.names("boltzmann"):   # their settings are their own
        sampler = registry.get("boltzmann", name)
        assert set(sampler.options.values()) <= {f.name for f in dataclasses.fields(sampler.settings)}
    assert registry.options_table() in (ROOT / "docs" / "models.md").read_text(encoding="utf-8")


def test_physgen_sample_takes_sampler_options_by_set(cli, tmp_path):
    """``--set sampler.KEY=V``: a named sampler's option (ddpm) or a keyword of the family's own sampler
    (rbm's ``burn_in``), coerced from text; a key neither takes, a malformed item and a key that a flag also
    sets are one line and exit 2, writing nothing."""
    from physgen.data import Dataset, load, save

    rng = np.random.default_rng(0)
    cont = save(Dataset(rng.normal(size=(200, 2)).astype(np.float32), "continuous"), tmp_path / "cont.h5")
    spins = save(Dataset((2 * rng.integers(0, 2, size=(60, 3, 3)) - 1).astype(np.int8), "spins"), tmp_path / "spins.h5")
    q = ("--no-progress", "--device", "cpu", "--steps", "2")
    assert cli("train", "ddpm", "--data", cont, "--out", tmp_path / "d", *q, "--set", "model.timesteps=20",
               "--set", "model.width=16", "--set", "model.blocks=1")[0] == 0
    assert cli("train", "rbm", "--data", spins, "--out", tmp_path / "r", *q)[0] == 0
    out = lambda name: ("--out", tmp_path / f"{name}.h5")  # noqa: E731
    base = ("sample", tmp_path / "d", "--n", "5", "--sampler", "ddim", "--steps", "4")
    assert cli(*base, *out("a"), "--set", "sampler.eta=0.5")[0] == 0
    assert cli(*base, *out("b"), "--set", "sampler.eta=0.5")[0] == 0
    assert cli(*base, *out("c"))[0] == 0
    a, b, c = (load(tmp_path / f"{k}.h5").samples for k in "abc")
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert cli("sample", tmp_path / "r", "--n", "4", *out("r"), "--set", "sampler.burn_in=3",
               "--set", "sampler.flip=false")[0] == 0
    for run, sets, needle in [
            ("d", ("--sampler", "ddim", "--set", "sampler.eta=-2"), "sampler.eta=-2: must be a number >= 0"),
            ("d", ("--set", "eta=1"), "--set eta=1: expected sampler.KEY=VALUE"),
            ("d", ("--set", "sampler.steps=3"), "--set sampler.steps=3: set it with --steps"),
            ("r", ("--set", "sampler.eta=1"), "sampler.eta: model 'rbm' takes sampler.burn_in"),
            ("r", ("--set", "sampler.burn_in=x"), "sampler.burn_in: 'x' is not an integer")]:
        code, _, err = cli(*base[:1], tmp_path / run, "--n", "3", "--steps", "2", *out("bad"), *sets)
        assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, err
        assert not (tmp_path / "bad.h5").exists()


def test_the_markov_samplers_take_their_options_the_same_way():
    """rbm: ``thin=3`` draws what a run with ``model.thin=3`` draws (two chains, so thinning matters), for Gibbs
    and for tempering; ebm: ``step=0.3`` what ``model.discrete_step=0.3`` draws; an option of the other
    sampler is refused."""
    spec, seed = DataSpec("spins", (3, 3)), lambda: torch.Generator().manual_seed(0)  # noqa: E731

    def made(family, **config):
        torch.manual_seed(0)
        return build(family, config, spec)

    rbm, thin3 = made("rbm", n_hidden=4, burn_in=5, thin=1), made("rbm", n_hidden=4, burn_in=5, thin=3)
    for sampler in ("gibbs", "pt"):
        ours = rbm.sample(8, generator=seed(), chains=2, sampler=sampler, thin=3)
        assert torch.equal(ours, thin3.sample(8, generator=seed(), chains=2, sampler=sampler))
        assert not torch.equal(ours, rbm.sample(8, generator=seed(), chains=2, sampler=sampler))
    ebm, step = made("ebm", hidden=[8]), made("ebm", hidden=[8], discrete_step=0.3)
    ours = ebm.sample(6, generator=seed(), init="noise", steps=5, step=0.3)
    assert torch.equal(ours, step.sample(6, generator=seed(), init="noise", steps=5))
    assert not torch.equal(ours, ebm.sample(6, generator=seed(), init="noise", steps=5))
    with pytest.raises(UserError, match=r"^sampler\.step_size: the discrete sampler takes mh, step$"):
        ebm.sample(2, generator=seed(), init="noise", steps=1, step_size=1.0)


def test_the_quantum_walkers_are_registry_entries_chosen_by_name(cli, tmp_path, monkeypatch):
    """``run(problem, steps)`` is ``steps`` sweeps of the kernel; a walker registered from outside is taken by
    ``physgen vmc --sampler NAME``, and an unknown name is one line, exit 2."""
    from physgen.quantum.samplers import Metropolis, Walk, start
    from physgen.quantum.wavefunctions import RBMWaveFunction

    wf = RBMWaveFunction.random(2, 2, 2, sigma=1.0, rng=np.random.default_rng(0), scale=0.1)
    a, b = start(wf, 20, np.random.default_rng(1)), start(wf, 20, np.random.default_rng(1))
    walker = registry.get("psi-particles", "metropolis")
    problem = registry.Problem(wf, (20,), np.random.default_rng(2), "cpu", Walk(1.5), x0=a)
    acc = walker.run(problem, 4)
    rng, kernel = np.random.default_rng(2), Metropolis(1.5)
    want = sum(float(np.mean(kernel.sweep(wf, b, rng))) for _ in range(4)) / 4
    assert acc == want and np.array_equal(a.x, b.x)
    assert registry.names("psi-spins") == ["exchange", "flip"]
    wide = registry.Sampler("wide", "psi-particles", walker.run, "Metropolis at twice the step",
                            settings=Walk, kernel=lambda w: Metropolis(2 * w.step))
    monkeypatch.setitem(registry._REGISTRY, ("psi-particles", "wide"), wide)
    monkeypatch.setattr(registry, "_entries", lambda: {})
    base = ("vmc", "--particles", "1", "--dim", "1", "--iterations", "1", "--samples", "100", "--walkers", "10")
    code, _, err = cli(*base, "--sampler", "wide", "--out", tmp_path / "w")
    assert code == 0, err
    code, _, err = cli(*base, "--sampler", "nope", "--out", tmp_path / "n")
    assert code == 2 and "--sampler" in err and "wide" in err and len(err.strip().splitlines()) == 1, err
