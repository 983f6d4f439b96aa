"""The model contract: the maths a family supplies is a short list and its description is its card; every
registered family declares its class attributes, its per-kind defaults build a
valid run config, ``physgen models`` shows the budgets, and the samplers import no model."""
from __future__ import annotations

import subprocess
import sys
import typing

import pytest
import torch

from physgen import config as C
from physgen.cli.models import EXAMPLES, budgets, example_spec
from physgen.models import registry
from physgen.models.base import DataSpec, GenerativeModel, budget, default_kinds, kind_of, overlay
from physgen.models.card import CAPABILITIES, capabilities_of

NAMES = [n for n in registry.names() if registry.get(n).__module__.startswith("physgen.")]  # not test toys
KINDS = tuple(EXAMPLES)
CONTRACT = ("name", "description", "config_class", "capabilities", "kinds", "default_spec", "checkpoint_version",
            "default_config", "defaults_by_kind")


def test_the_base_declares_every_contract_attribute_with_a_type():
    hints = typing.get_type_hints(GenerativeModel, include_extras=False)
    for attr in CONTRACT:
        assert attr in hints and typing.get_origin(hints[attr]) is typing.ClassVar, attr


MATHS = ("__init__", "loss", "gradients", "parameter_groups", "adversarial_step", "check_batch", "on_fit_start",
         "validate", "sample", "log_prob", "proposal", "device")


def test_the_maths_contract_is_short_and_the_description_is_the_card():
    from physgen.models.card import FamilyCard

    own = [k for k in vars(GenerativeModel) if not k.startswith("__") or k == "__init__"]
    assert own == list(MATHS) and len(own) <= 12
    described = set(vars(FamilyCard))
    assert set(CONTRACT) <= described
    assert {"defaults", "resolve", "check_given", "step_work", "sample_work", "networks", "preview"} <= described
    assert not described & set(MATHS)
    for name in NAMES:   # every family found through its entry point carries a card
        assert issubclass(registry.get(name), FamilyCard), name


def _card_constants() -> set[str]:
    from physgen.models.card import FamilyCard

    hints = typing.get_type_hints(FamilyCard, include_extras=False)
    return {k for k, v in hints.items() if typing.get_origin(v) is typing.ClassVar}


def _is_card_class(klass: type) -> bool:
    """A class of a card module (``physgen.models.rbm.card``, ``physgen.models.vae_card``, ...)."""
    leaf = klass.__module__.rpartition(".")[2]
    return leaf == "card" or leaf.endswith("_card")


@pytest.mark.parametrize("name", NAMES)
def test_every_family_keeps_its_constants_on_its_card(name):
    """A family's constants are declared in a card class of its own card module, never in the body of a model
    class (or a mixin) it inherits.  Only ``demo`` stays on the model class (the demo reads it from the class that
    declares it), and properties (answers that depend on the built model's options, e.g. the RBM's ``capabilities``)."""
    from physgen.models.card import FamilyCard

    cls = registry.get(name)
    constants = _card_constants() - {"demo"}
    assert {"name", "description", "config_class", "defaults_by_kind", "size_keys"} <= constants
    for klass in cls.__mro__:
        if klass is FamilyCard or _is_card_class(klass):
            continue
        stray = {k for k in constants & set(vars(klass)) if not isinstance(vars(klass)[k], property)}
        assert not stray, f"{name}: {klass.__qualname__} declares card constants {sorted(stray)} in its body"
    declares_name = next(k for k in cls.__mro__ if "name" in vars(k))
    assert _is_card_class(declares_name) and vars(declares_name)["name"] == name


@pytest.mark.parametrize("name", NAMES)
def test_every_family_declares_the_contract(name):
    cls = registry.get(name)
    assert cls.name == name and cls.description and cls.description != GenerativeModel.description
    assert cls.config_class is not object and callable(cls.config_class)
    assert capabilities_of(cls) <= set(CAPABILITIES) and isinstance(cls.checkpoint_version, int)
    assert set(cls.kinds) <= {"spins", "binary", "continuous", "image", "pointcloud", "categorical", "field"}
    assert isinstance(cls.default_spec, DataSpec) and cls.default_spec.kind in cls.kinds
    assert set(cls.defaults_by_kind) <= set(KINDS)
    # the hooks of the old contract are gone
    assert not hasattr(cls, "on_train_start") and not hasattr(cls, "attach_callbacks")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", KINDS)
def test_defaults_build_a_valid_config_and_model(name, kind):
    """Each family's overlay for each supported kind validates (model, train, data sections) and builds the
    model on that kind's example data; its budget is a number of steps (no time, no epochs)."""
    cls = registry.get(name)
    spec = example_spec(kind)
    if kind not in cls.kinds:
        pytest.skip(f"{name} does not model {kind} data")
    d = cls.defaults(spec)
    assert set(d) <= {"model", "train", "data"}
    train = dict(d.get("train", {}))
    if kind in cls.defaults_by_kind:
        assert isinstance(train.get("steps"), int) and train["steps"] > 0, "a budget in steps"
        assert train.get("max_time", "unset") is None and train.get("epochs", "unset") is None, "no time, no epochs"
    train.pop("epochs", None)
    cfg = C.build_config(name, cls.config_class, {**d, "train": train})
    model = cls(cfg.model, spec)
    assert model.spec == spec
    assert cls.defaults(spec) == d, "defaults() returns a fresh copy every call"
    d["train"] = {"lr": -1}
    assert cls.defaults(spec) != d


def test_conditioned_lattices_get_the_projection_critic():
    spec = DataSpec("spins", (16, 16), None, ("temperature",), {"temperature": (2.0, 2.5, 3.0)})
    cls = registry.get("wgan-gp")
    assert cls.defaults(spec)["model"]["projection"] is True
    assert "projection" not in cls.defaults(example_spec("spins"))["model"]


def test_recorded_choices_are_the_defaults():
    """Spot checks of the measured settings (benchmarks/compare.py and the model guides)."""
    d = lambda name, kind: registry.get(name).defaults(example_spec(kind))  # noqa: E731
    assert "transform" not in d("rbm", "continuous").get("data", {}) and d("rbm", "spins")["model"]["filters"] == 2
    assert d("ddpm", "spins")["train"]["batch_size"] == 32
    assert d("vae", "continuous")["model"]["latent"] == 3 and d("vae", "spins")["model"]["latent"] == 8
    assert d("ddpm", "spins")["model"]["channels"] == [16, 32] and d("ddpm", "continuous")["model"]["steps"] == 100
    assert d("ebm", "spins")["model"]["k_steps"] == 20
    assert d("wgan-gp", "continuous")["model"]["output"] == "linear" and d("wgan-gp", "spins")["model"]["arch"] == "conv"


def test_image_data_share_the_binary_defaults_then_take_their_own():
    assert kind_of(DataSpec("image", (8, 8))) == "binary" and kind_of(DataSpec("spins", (4, 4))) == "spins"
    assert default_kinds(DataSpec("image", (8, 8))) == ("binary", "image")
    vae_grey, vae_binary = (registry.get("vae").defaults(example_spec(k)) for k in ("image", "binary"))
    assert vae_grey["model"] == vae_binary["model"] and vae_grey["train"]["steps"] == 70_000
    grey, binary = (registry.get("ddpm").defaults(example_spec(k)) for k in ("image", "binary"))
    assert grey["data"]["transform"] == "logit" and "transform" not in binary.get("data", {})
    assert grey["model"]["channels"] == [32, 64] and grey["model"]["steps"] == 100
    ebm = registry.get("ebm").defaults(example_spec("image"))
    assert ebm["data"]["transform"] == "logit" and ebm["model"]["noise"] == ebm["model"]["real_noise"] == 0.03
    wgan = registry.get("wgan-gp").defaults(example_spec("image"))
    assert wgan["data"]["transform"] == "logit" and wgan["model"]["output"] == "clip"


def test_overlay_and_budget():
    a = {"train": {"lr": 1.0, "betas": [0.5, 0.9]}}
    assert budget(5_000) == {"train": {"steps": 5000, "epochs": None, "max_time": None}}
    out = overlay(a, {"train": {"lr": 2.0}, "model": {"k": 1}}, budget(60))
    assert out == {"train": {"lr": 2.0, "betas": [0.5, 0.9], "max_time": None, "epochs": None, "steps": 60},
                   "model": {"k": 1}}
    for bad in (0, -3, 2.5, None):
        with pytest.raises(ValueError, match="is not a number of steps"):
            budget(bad)
    out["train"]["betas"].append(1)
    assert a["train"]["betas"] == [0.5, 0.9]


def test_models_lists_the_budget_per_kind(cli):
    code, out, err = cli("models")
    assert code == 0, err
    lines = {line.split()[0]: line.split() for line in out.strip().splitlines()}
    for name in NAMES:
        shown = lines[name][2].split("/")
        want = budgets(registry.get(name))
        assert shown == ["—" if v is None else f"{v:,}" for v in want.values()]
    assert lines["ddpm"][2] == "10,000/8,000/55,000/3,500/—/—/—" and lines["thesis-dcgan"][2] == "—/—/2,000/—/—/—/—"
    assert lines["dcgan"][2].split("/")[3] == lines["dcgan"][2].split("/")[1]  # grey images inherit the binary budget


def test_models_defaults_prints_the_overlay_as_toml(cli, tmp_path):
    code, out, err = cli("models", "defaults", "ddpm", "--kind", "spins")
    assert code == 0, err
    assert 'on spins data of shape (16, 16)' in out and "channels = [16, 32]" in out and "steps = 10000" in out
    code, out, err = cli("models", "defaults", "conv-vae", "--kind", "continuous")
    assert code == 2 and "cannot model data of kind 'continuous'" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("name", NAMES)
def test_networks_name_modules_and_run(name):
    cls = registry.get(name)
    model = cls(C.from_dict(cls.config_class, cls.defaults(cls.default_spec).get("model", {}), "model"),
                cls.default_spec)
    nets = model.networks()
    assert nets and all(isinstance(m, torch.nn.Module) for mods, _ in nets.values() for m in mods)
    with torch.no_grad():
        for _, forward in nets.values():
            if forward is not None:
                forward()


def test_samplers_import_no_model():
    code = ("import sys, importlib, pkgutil, physgen.samplers as s\n"
            "for m in pkgutil.iter_modules(s.__path__): importlib.import_module('physgen.samplers.' + m.name)\n"
            "bad = sorted(k for k in sys.modules if k.startswith('physgen.models'))\n"
            "print(bad); sys.exit(1 if bad else 0)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_the_rbm_energy_is_a_bipartite_energy():
    from physgen.models.rbm.energy import RBMEnergy
    from physgen.samplers.energy import BipartiteEnergy

    e = RBMEnergy("spin", torch.zeros(4, 3), torch.zeros(4), torch.zeros(3))
    assert isinstance(e, BipartiteEnergy) and isinstance(e.tempered(0.5), BipartiteEnergy)
