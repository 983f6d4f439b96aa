"""Typed configs: TOML round trip, --set coercion, unknown keys and validation errors."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from typing import Literal

import pytest

from physgen import config as C
from physgen.budget import FALLBACK_EPOCHS
from physgen.errors import UserError


@dataclass
class ModelCfg:
    n_hidden: int = 16
    visible: Literal["bernoulli", "spin", "gaussian"] = "spin"
    sigma: float | None = None
    widths: tuple[int, ...] = (8, 8)
    learn_sigma: bool = False
    name: str = "x"

    def __post_init__(self):
        if self.n_hidden < 1:
            raise UserError(f"model.n_hidden: {self.n_hidden!r} must be >= 1")


def test_toml_round_trip_of_a_full_config():
    cfg = C.resolve("m", ModelCfg, sets=["model.sigma=0.5", "model.widths=4,5,6", "train.group_lr.disc=2e-4",
                                         "train.ema=0.99", "data.condition=temperature", "model.name=a \"q\" \\ b"])
    text = cfg.to_toml()
    back = C.build_config("m", ModelCfg, tomllib.loads(text))
    assert back == cfg
    assert back.model.widths == (4, 5, 6) and back.train.group_lr == {"disc": 2e-4}
    assert back.train.steps is None and back.train.max_time is None  # None survives as "none"
    assert back.model.name == 'a "q" \\ b'


def test_dumps_toml_is_read_back_by_tomllib():
    d = {"top": 1, "a": {"x": 1.5e-7, "b": True, "s": "line\nbreak\t\"q\"", "l": [1, 2.5, "z"],
                         "inner": {"k": -3, "deeper": {"e": []}}}, "weird key": {"v": 0.1}}
    assert tomllib.loads(C.dumps_toml(d)) == d


@pytest.mark.parametrize("item,section,key,value", [
    ("model.n_hidden=64", "model", "n_hidden", 64),
    ("model.n_hidden=1e2", "model", "n_hidden", 100),
    ("model.sigma=none", "model", "sigma", None),
    ("model.sigma=0.25", "model", "sigma", 0.25),
    ("model.learn_sigma=true", "model", "learn_sigma", True),
    ("model.learn_sigma=off", "model", "learn_sigma", False),
    ("model.visible=gaussian", "model", "visible", "gaussian"),
    ("model.widths=[3, 4]", "model", "widths", (3, 4)),
    ("train.lr=1e-2", "train", "lr", 0.01),
    ("train.betas=0.5,0.9", "train", "betas", (0.5, 0.9)),
    ("train.steps=12", "train", "steps", 12),
    ("train.group_lr=generator=1e-4,discriminator=4e-4", "train", "group_lr",
     {"generator": 1e-4, "discriminator": 4e-4}),
])
def test_set_is_coerced_to_the_field_type(item, section, key, value):
    cfg = C.resolve("m", ModelCfg, sets=[item])
    got = getattr(getattr(cfg, section), key)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("item,msg", [
    ("model.n_hiden=3", r"model.n_hiden: not a key of \[model\] for this model \(known: .*n_hidden"),
    ("train.foo=1", r"train.foo: not a key of \[train\] \(known"),
    ("optim.lr=1", "section one of model, train, data"),
    ("model.n_hidden", "expected section.key=value"),
    ("model.n_hidden=abc", "model.n_hidden: 'abc' is not an integer"),
    ("model.n_hidden=2.5", "model.n_hidden: '2.5' is not an integer"),
    ("model.n_hidden=0", "model.n_hidden"),
    ("model.visible=ising", r"model.visible: 'ising' is not one of bernoulli \| spin \| gaussian"),
    ("model.learn_sigma=maybe", "not a boolean"),
    ("train.lr=-1", "train.lr=-1.0: must be a number > 0"),
    ("train.lr=nan", "train.lr: 'nan' is not finite"),
    ("train.optimizer=rmsprop", "train.optimizer"),
    ("train.betas=0.9", "expected 2 values"),
    ("train.batch_size=0", "train.batch_size"),
    ("data.transform=log", "data.transform"),
    ("data.val_fraction=1.5", "data.val_fraction"),
])
def test_bad_set_items_are_user_errors_naming_the_key(item, msg):
    with pytest.raises(UserError, match=msg):
        C.resolve("m", ModelCfg, sets=[item])


def test_precedence_defaults_file_set_flags(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('model_name = "m"\n[model]\nn_hidden = 5\nsigma = 2\n[train]\nlr = 0.5\nepochs = 3\n')
    cfg = C.resolve("m", ModelCfg, config_file=f, sets=["train.lr=0.25"], extra={"train": {"epochs": 7}})
    assert (cfg.model.n_hidden, cfg.model.sigma, cfg.train.lr, cfg.train.epochs) == (5, 2.0, 0.25, 7)
    assert cfg.train.batch_size == C.TrainConfig().batch_size


def test_config_file_errors(tmp_path):
    with pytest.raises(UserError, match="no such config file"):
        C.resolve("m", ModelCfg, config_file=tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[model\nn_hidden = 3\n")
    with pytest.raises(UserError, match=f"{bad}: not valid TOML"):
        C.resolve("m", ModelCfg, config_file=bad)
    other = tmp_path / "other.toml"
    other.write_text('model_name = "vae"\n')
    with pytest.raises(UserError, match="model_name is 'vae' but the command trains 'm'"):
        C.resolve("m", ModelCfg, config_file=other)
    extra = tmp_path / "extra.toml"
    extra.write_text("[optimizer]\nlr = 1\n")
    with pytest.raises(UserError, match=r"unknown section\(s\) optimizer"):
        C.resolve("m", ModelCfg, config_file=extra)
    typed = tmp_path / "typed.toml"
    typed.write_text('[train]\nbatch_size = "big"\n')
    with pytest.raises(UserError, match="train.batch_size: 'big' is not an integer"):
        C.resolve("m", ModelCfg, config_file=typed)


def test_model_without_options_refuses_model_keys():
    assert C.resolve("m", object).model is None
    with pytest.raises(UserError, match="takes no options"):
        C.resolve("m", object, sets=["model.x=1"])


def test_train_config_validates_at_construction():
    with pytest.raises(UserError, match="train.ema"):
        C.TrainConfig(ema=1.0)
    with pytest.raises(UserError, match="train.device"):
        C.TrainConfig(device="tpu")
    assert C.TrainConfig(device="cuda:1").device == "cuda:1"


def test_big_integers_are_exact():
    assert C.resolve("m", ModelCfg, sets=["train.seed=1234567890123456789"]).train.seed == 1234567890123456789
    with pytest.raises(UserError, match="train.seed"):
        C.resolve("m", ModelCfg, sets=["train.seed=12345678901234567891"])


def _registered():
    from physgen.models import registry
    return registry.names()


@pytest.mark.parametrize("name", _registered())
def test_every_registered_model_config_round_trips(name):
    """Contract: each model's config dataclass survives config.toml and accepts --set of each field."""
    import dataclasses

    from physgen.models import registry

    cls = registry.get(name)
    cfg = C.resolve(name, cls.config_class)
    assert C.build_config(name, cls.config_class, tomllib.loads(cfg.to_toml())) == cfg
    values = C.to_dict(cfg.model)
    sets = []
    for f in dataclasses.fields(cls.config_class):
        v = values[f.name]
        if isinstance(v, dict) or v == []:
            continue
        sets.append(f"model.{f.name}=" + ("none" if v is None else ",".join(map(str, v)) if isinstance(v, list) else str(v)))
    assert C.resolve(name, cls.config_class, sets=sets) == cfg


@pytest.mark.parametrize("name", _registered())
def test_every_choice_option_is_a_literal_checked_from_the_python_api(name):
    """Contract: a choice option is typed ``Literal[...]``, is a sampler field
    (:func:`physgen.samplers.registry.option`, whose choices are the registered samplers) or a registry's names
    (:func:`physgen.config.registry_choice`), and a value outside it
    raises a UserError naming the config key whether the config comes from ``--set`` or is built in Python; no
    choice option is a plain ``str`` checked by hand (a ``str`` field's default here is a free text, e.g. a
    path)."""
    import dataclasses
    import typing

    from physgen.models import registry

    cls = registry.get(name).config_class
    if cls is None:
        pytest.skip(f"{name} takes no options")
    hints = typing.get_type_hints(cls)
    registered = [f for f in dataclasses.fields(cls) if "sampler_field" in f.metadata or "choices_from" in f.metadata]
    for f in dataclasses.fields(cls):
        choices = C.literal_choices(hints[f.name])
        if "sampler_field" in f.metadata:
            from physgen.samplers import registry as samplers

            choices = samplers.names(f.metadata["sampler_field"])
        if "choices_from" in f.metadata:   # a registry's names (config.registry_choice)
            choices = C.registered_choices(f)
        if choices is None:
            continue
        assert f.default in choices, (name, f.name)
        with pytest.raises(UserError, match=rf"^model\.{f.name}: 'no-such-choice' is not one of "):
            cls(**{f.name: "no-such-choice"})
        with pytest.raises(UserError, match=rf"^model\.{f.name}: 'no-such-choice' is not one of "):
            C.resolve(name, cls, sets=[f"model.{f.name}=no-such-choice"])
    plain = [f.name for f in dataclasses.fields(cls) if hints[f.name] is str and f not in registered]
    assert plain == [], f"{name}: choice options typed str instead of Literal: {plain}"


def test_train_and_data_choices_are_checked_from_the_python_api():
    with pytest.raises(UserError, match=r"^train\.optimizer: 'rmsprop' is not one of sgd \| adam \| adamw$"):
        C.TrainConfig(optimizer="rmsprop")
    with pytest.raises(UserError, match=r"^data\.augment: 'flip' is not one of none \| lattice$"):
        C.DataConfig(augment="flip")


def test_a_user_step_budget_replaces_the_default_and_a_time_cap_leaves_it_in_place():
    """The family's default budget is a number of steps: --steps alone replaces it (and clears a time cap below
    it), --max-time alone caps it and leaves the planned steps in place, both together are both limits."""
    family = {"train": {"max_time": None, "epochs": None, "steps": 10000}}
    steps_only = C.resolve("toy", None, base=family, extra={"train": {"steps": 50}}).train
    assert steps_only.steps == 50 and steps_only.max_time is None
    capped = C.resolve("toy", None, base={"train": {"max_time": 120.0, "steps": 10000}},
                       extra={"train": {"steps": 50}}).train
    assert capped.steps == 50 and capped.max_time is None
    time_only = C.resolve("toy", None, base=family, extra={"train": {"max_time": 30.0}}).train
    assert time_only.max_time == 30.0 and time_only.steps == 10000 and time_only.epochs is None
    both = C.resolve("toy", None, base=family, extra={"train": {"max_time": 30.0, "steps": 50}}).train
    assert both.max_time == 30.0 and both.steps == 50
    neither = C.resolve("toy", None, base=family).train
    assert neither.max_time is None and neither.steps == 10000 and neither.until == "budget"
    explicit_time_budget = C.resolve("toy", None, base=family, sets=["train.steps=none"],
                                     extra={"train": {"max_time": 30.0}}).train
    assert explicit_time_budget.steps is None and explicit_time_budget.epochs is None


def test_every_family_default_budget_is_a_number_of_steps():
    """No family's default depends on the machine: every kind's budget is ``train.steps`` with no time cap (or,
    for a kind the family has no defaults for, the trainer's fallback of FALLBACK_EPOCHS epochs)."""
    from physgen.cli.models import EXAMPLES, example_spec
    from physgen.models import registry

    for name in registry.names():
        cls = registry.get(name)
        for kind in EXAMPLES:
            if kind not in cls.kinds:
                continue
            train = cls.defaults(example_spec(kind)).get("train", {})
            assert train.get("max_time") is None, (name, kind, train)
            if "steps" in train or kind in cls.defaults_by_kind:
                assert isinstance(train.get("steps"), int) and train["steps"] >= 100, (name, kind, train)
                assert train.get("epochs") is None, (name, kind, train)
            else:   # a kind the family has no defaults for: the trainer's fallback, a number of epochs
                assert C.build_config(name, cls.config_class, {}).train.epochs == FALLBACK_EPOCHS
