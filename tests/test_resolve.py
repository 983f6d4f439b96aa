"""Each family resolves its data-dependent choices once (``GenerativeModel.resolve``): a run's config.toml
records the concrete choice, never ``"auto"`` (``train.device``, the machine, excepted), and a run saved with
``"auto"`` choices still resumes and samples exactly as before."""
from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from physgen import config as C
from physgen.data import Dataset, save
from physgen.data.pointcloud import from_arrays
from physgen.models import registry
from physgen.models.base import DataSpec
from physgen.training.checkpoint import latest

NAMES = [n for n in registry.names() if registry.get(n).__module__.startswith("physgen.")]  # not test toys
KINDS = ("spins", "binary", "continuous", "image", "pointcloud")
FAST = ["--steps", "2", "--seed", "3", "--no-progress", "--device", "cpu", "--set", "data.val_fraction=0",
        "--set", "train.batch_size=16"]


def _tiny(kind: str, path: Path) -> Path:
    """64 rows of ``kind`` data: 8x8 spins, binary and grey images on the grid k/16 (with labels), three
    continuous features, clouds of 8 slots with 5 particles."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 64)
    if kind == "pointcloud":
        x = rng.normal(size=(64, 8, 3)).astype(np.float32)
        x[..., 2] = np.abs(x[..., 2]) + 0.1
        mask = np.ones((64, 8), np.float32)
        mask[:, 5:] = 0
        return save(from_arrays(x, mask, names=["eta_rel", "phi_rel", "pt_rel"]), path)
    samples = {"spins": lambda: (2 * rng.integers(0, 2, size=(64, 8, 8)) - 1).astype(np.int8),
               "binary": lambda: rng.integers(0, 2, size=(64, 8, 8)).astype(np.uint8),
               "continuous": lambda: rng.normal(size=(64, 3)).astype(np.float32),
               "image": lambda: (rng.integers(0, 17, size=(64, 8, 8)) / 16).astype(np.float32)}[kind]()
    attrs = {"feature_names": ["s", "t", "y"]} if kind == "continuous" else {}
    return save(Dataset(samples, kind, labels=labels, attrs=attrs), path)


def _autos(run: Path) -> list[str]:
    cfg = tomllib.loads((run / "config.toml").read_text())
    return [f"{s}.{k}" for s in ("model", "train", "data") for k, v in cfg.get(s, {}).items() if v == "auto"]


@pytest.mark.parametrize("name", NAMES)
def test_a_run_records_no_auto_choice(cli, tmp_path, name):
    """Every family on every kind it models: after 2 training steps, config.toml holds concrete choices only
    (``train.device`` is the machine's choice at run time), and they are what the model resolves itself."""
    cls = registry.get(name)
    for kind in (k for k in KINDS if k in cls.kinds):
        run = tmp_path / kind
        code, _, err = cli("train", name, "--data", _tiny(kind, tmp_path / f"{kind}.h5"), "--out", run, *FAST)
        assert code == 0, (kind, err)
        assert set(_autos(run)) <= {"train.device"}, (kind, _autos(run))
        spec = DataSpec.from_json(json.loads((run / "spec.json").read_text()))
        saved = C.build_config(name, cls.config_class, tomllib.loads((run / "config.toml").read_text())).model
        assert cls.resolve(saved, spec) == saved, kind          # resolving twice changes nothing


def _as_old_run(run: Path, keys: list[str]) -> None:
    """Rewrite ``run`` as a run made before choices were resolved: ``model.KEY = "auto"`` for ``keys`` in
    config.toml and in every checkpoint's recorded config."""
    raw = tomllib.loads((run / "config.toml").read_text())
    raw["model"].update({k: "auto" for k in keys})
    (run / "config.toml").write_text(C.dumps_toml(raw))
    for meta in (run / "checkpoints").glob("*.json"):
        d = json.loads(meta.read_text())
        d["state"]["config"]["model"].update({k: "auto" for k in keys})
        meta.write_text(json.dumps(d))


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(str(latest(run / "checkpoints").with_suffix(".safetensors")))


def test_a_run_saved_with_auto_choices_resumes_samples_and_records_them(cli, tmp_path):
    """An ebm run whose config.toml and checkpoints say ``net``, ``sampler``, ``restart``, ``base`` = auto
    resumes to the same weights as an uninterrupted run, samples, and its config.toml then records the
    resolution; on resume, setting a choice to its resolution is no change, another value is refused."""
    data = _tiny("spins", tmp_path / "spins.h5")
    keys = ["net", "sampler", "restart", "base"]
    args = ["--data", data, *FAST[2:]]
    assert cli("train", "ebm", "--out", tmp_path / "whole", "--steps", "4", *args)[0] == 0
    old = tmp_path / "old"
    assert cli("train", "ebm", "--out", old, "--steps", "2", *args)[0] == 0
    _as_old_run(old, keys)
    assert set(_autos(old)) == {f"model.{k}" for k in keys}
    code, _, err = cli("train", "ebm", "--out", old, "--resume", "--steps", "4", "--no-progress",
                       "--set", "model.sampler=langevin")
    assert code == 2 and "cannot change model.sampler" in err, err
    code, _, err = cli("train", "ebm", "--out", old, "--resume", "--steps", "4", "--no-progress",
                       "--set", "model.sampler=discrete")
    assert code == 0, err
    assert _autos(old) == [] and 'sampler = "discrete"' in (old / "config.toml").read_text()
    a, b = _weights(tmp_path / "whole"), _weights(old)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    code, _, err = cli("sample", old, "--n", "4", "--checkpoint", "best", "--out", tmp_path / "s.h5")
    assert code == 0, err


def test_resolve_is_the_choice_the_model_makes():
    """The base resolves nothing; a family's resolution depends on the data (the VAE's likelihood on grey
    images follows their grid of levels) and keeps an explicit choice."""
    vae = registry.get("vae")
    grid, free = DataSpec("image", (4, 4), levels=16), DataSpec("image", (4, 4))
    config = vae.config_class()
    assert vae.resolve(config, grid).likelihood == "categorical" and vae.resolve(config, free).likelihood == "gaussian"
    explicit = dataclasses.replace(config, likelihood="bernoulli")
    assert vae.resolve(explicit, grid) is explicit
    assert vae(config, grid).config.likelihood == "categorical"
