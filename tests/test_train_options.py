"""The named training options are stated once (physgen.train_options.TRAIN): the command line's arguments and
their help, the Python keywords of physgen.training.train and the table in docs/training.md all come from it,
and each option sets its key, as a user who set it."""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest

from physgen import config as C
from physgen import train_options
from physgen.cli import build_parser
from physgen.models import registry

DOCS = Path(__file__).resolve().parents[1] / "docs" / "training.md"


def _train_parser() -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["train"]


def test_the_command_line_options_are_the_table():
    actions = {a.dest: a for a in _train_parser()._actions}
    for o in train_options.TRAIN:
        action = actions[o.name]
        assert action.option_strings == [o.flag]
        assert action.help == f"{o.help} ({o.key})"
        assert (action.choices and tuple(action.choices)) == (o.choices or None)
        if o.switch is not None:
            assert action.const is o.switch and action.nargs == 0


def test_the_docs_hold_the_table_verbatim():
    assert train_options.docs_table() in DOCS.read_text()


def test_every_key_is_a_config_field():
    fields = {"train": C.TrainConfig, "data": C.DataConfig}
    for o in train_options.TRAIN:
        section, _, name = o.key.partition(".")
        cls = fields.get(section) or registry.get("sgan").config_class   # (model.labels_per_class: the sgan's)
        assert name in {f.name for f in dataclasses.fields(cls)}, o.key


def test_a_named_option_is_a_layer_the_user_set():
    cfg = C.resolve("toy-gauss", _toy_config(), extra=train_options.layer(steps=500, progress=False, until="floor",
                                                                           checkpoint_every=7, condition="labels"))
    assert (cfg.train.steps, cfg.train.progress, cfg.train.until, cfg.train.checkpoint_every) == (500, False, "floor", 7)
    assert cfg.data.condition == "labels"
    assert {"train.steps", "train.progress", "train.until", "train.checkpoint_every", "data.condition"} <= cfg.given
    # the layer holds what was given; how it replaces the budget below is physgen.budget's (test_trainer_budget)
    assert train_options.layer(epochs=3) == {"train": {"epochs": 3}}
    assert train_options.layer() == {"train": {}}
    with pytest.raises(TypeError, match="unknown training option.*stepz"):
        train_options.layer(stepz=5)


def test_the_cli_passes_every_named_option(monkeypatch, tmp_path):
    seen = {}

    def fake_train(model, **kwargs):
        seen.update(kwargs)
        raise SystemExit(0)

    monkeypatch.setattr("physgen.training.train", fake_train)
    from physgen.cli import main

    argv = ["train", "rbm", "--data", "d.h5", "--out", str(tmp_path / "run"), "--steps", "5", "--until", "floor",
            "--no-progress", "--checkpoint-every", "3", "--labels-per-class", "2", "--seed", "4"]
    with pytest.raises(SystemExit):
        main(argv)
    assert {k: seen[k] for k in ("steps", "until", "progress", "checkpoint_every", "labels_per_class", "seed")} == {
        "steps": 5, "until": "floor", "progress": False, "checkpoint_every": 3, "labels_per_class": 2, "seed": 4}
    assert seen["epochs"] is None and seen["sets"] == []


@pytest.fixture(scope="module")
def spins(tmp_path_factory):
    from physgen.cli import main

    path = tmp_path_factory.mktemp("data") / "ising.h5"
    assert main(["data", "ising", "--size", "4", "--temperatures", "2", "--samples", "40", "--out", str(path)]) == 0
    return path


@pytest.mark.parametrize("given,named", [
    (["--labels-per-class", "3"], "--labels-per-class: not a key of [model]"),          # the flag typed
    (["--set", "model.labels_per_class=3"], "model.labels_per_class: not a key of [model]"),   # the key typed
    (["--set", "train.max_time=-1"], "train.max_time=-1.0: must be a number > 0 or none"),
    (["--set", "model.n_hidden=0", "--steps", "3"], "model.n_hidden=0: must be an integer >= 1"),
    (["--until", "floor", "--set", "data.val_fraction=0"], "--until floor: stops at the held-out probe's floor"),
    (["--set", "train.until=floor", "--set", "data.val_fraction=0"], "train.until=floor: stops at the held-out"),
])
def test_an_error_names_what_the_user_typed(spins, tmp_path, capsys, given, named):
    from physgen.cli import main

    assert main(["train", "rbm", "--data", str(spins), "--out", str(tmp_path / "run"), *given]) == 2
    assert f"physgen: error: {named}" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_keyword_error_names_the_keyword(spins, tmp_path):
    from physgen.training import train

    with pytest.raises(ValueError, match=r"^labels_per_class: not a key of \[model\]"):
        train("rbm", data=spins, out=tmp_path / "a", labels_per_class=3)
    with pytest.raises(ValueError, match=r"^max_time=-1.0: must be a number > 0"):
        train("rbm", data=spins, out=tmp_path / "b", max_time=-1)
    with pytest.raises(ValueError, match=r"^train.max_time=-1.0: must be a number > 0"):
        train("rbm", data=spins, out=tmp_path / "c", sets=["train.max_time=-1"])
    # the keyword's value is above --set's: a bad --set under a good keyword is no error
    summary = train("rbm", data=spins, out=tmp_path / "d", sets=["train.max_time=-1"], max_time=60, steps=2,
                    progress=False)
    assert summary["status"] == "completed"
    from physgen.errors import UserError

    err = UserError("x", key="train.max_time/train.steps").rekeyed({"train.max_time": "max_time"})
    assert (err.key, str(err)) == ("max_time/train.steps", "max_time/train.steps: x")


def _toy_config():
    import trainer_toy   # (registers the test-only model "toy-gauss")

    return trainer_toy.ToyGaussConfig


def test_a_flag_takes_the_range_and_choices_its_key_declares():
    """The flag's argparse type and choices are the key's declaration (physgen.constraints), stated nowhere else."""
    import argparse

    from physgen.cli.train import named
    from physgen.config import TrainConfig

    by_flag = {o.flag: o for o in train_options.TRAIN}
    assert by_flag["--until"].choices == ("budget", "floor")
    assert by_flag["--on-divergence"].choices == ("stop", "retry")
    parse = named(by_flag["--checkpoint-every"]).parser_type()
    assert parse("0") == 0 and TrainConfig(checkpoint_every=0).checkpoint_every == 0   # 0: at each epoch end
    for flag, bad in (("--max-time", "0"), ("--steps", "-1"), ("--seed", "-1"), ("--device", "tpu")):
        with pytest.raises(argparse.ArgumentTypeError, match=f"'{bad}' must be"):
            named(by_flag[flag]).parser_type()(bad)


def test_constraints_import_nothing_above_them():
    """physgen.constraints is the bottom layer of option checking: it imports no other physgen module than the
    errors (physgen.config, which checks choices and samplers, calls it, never the other way round)."""
    import ast

    import physgen.constraints as module

    tree = ast.parse(open(module.__file__, encoding="utf-8").read())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert {m for m in imported if m.startswith("physgen")} == {"physgen.errors"}, imported


def test_the_developer_guide_option_row_adds_a_flag(monkeypatch):
    """docs/DEVELOPING.md's ``Option(...)`` example, added to the table, is a flag of ``physgen train`` with its
    key in the help and a keyword of the layer the Python API builds."""
    import re

    text = (Path(__file__).resolve().parents[1] / "docs" / "DEVELOPING.md").read_text()
    example = re.search(r"`(Option\(\"train\.patience\".*?\))`", text, re.S).group(1)
    row = eval(example.replace("\n", " "), {"Option": train_options.Option})
    monkeypatch.setattr(train_options, "TRAIN", (*train_options.TRAIN, row))
    monkeypatch.setitem(train_options.BY_NAME, row.name, row)
    action = next(a for a in _train_parser()._actions if a.dest == row.name)
    assert action.option_strings == ["--patience"] and action.help.endswith("(train.patience)")
    assert train_options.layer(patience=30.0) == {"train": {"patience": 30.0}}
