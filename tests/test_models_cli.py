"""``physgen models`` and ``physgen models summary``: listing, Keras-style counts, sizes from data, bad input."""
from __future__ import annotations

import json

import numpy as np
import pytest

from physgen.data import Dataset, save

MINE = ("vae", "conv-vae", "gan", "dcgan", "thesis-dcgan", "wgan-gp")


def test_models_lists_every_model_with_a_description(cli):
    code, out, err = cli("models")
    assert code == 0, err
    lines = {line.split()[0]: line for line in out.strip().splitlines()}
    for name in MINE:
        assert name in lines and len(lines[name].split()) > 3
    assert "adversarial" in lines["gan"] and "likelihood" in lines["vae"]


def test_thesis_dcgan_counts_equal_the_thesis_tables(cli):
    code, out, err = cli("models", "summary", "thesis-dcgan", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["generator"]["total"] == 125_835 and d["generator"]["trainable"] == 124_955
    assert d["discriminator"]["total"] == 101_513 and d["discriminator"]["trainable"] == 101_513


def test_summary_table_has_shapes_and_counts(cli):
    code, out, err = cli("models", "summary", "thesis-dcgan")
    assert code == 0, err
    assert "(None, 128, 10, 10)" in out and "ConvTranspose2d" in out and "(None, 2, 10, 10)" in out
    assert "total params: 125,835  trainable: 124,955  non-trainable: 880" in out
    assert "total params: 101,513" in out


def test_vanilla_gan_and_vae_json(cli):
    code, out, _ = cli("models", "summary", "gan", "--json")
    d = json.loads(out)
    assert code == 0 and d["generator"]["total"] == 81_284 and d["discriminator"]["total"] == 78_501
    code, out, _ = cli("models", "summary", "vae", "--json", "--set", "model.latent=2", "model.hidden=[8]")
    d = json.loads(out)
    # encoder 784→8→4, decoder 2→8→784 (Bernoulli logits)
    assert code == 0 and list(d) == ["model"]
    assert d["model"]["total"] == (784 * 8 + 8) + (8 * 4 + 4) + (2 * 8 + 8) + (8 * 784 + 784)


def test_sizes_come_from_the_data_file(cli, tmp_path):
    spins = np.where(np.random.default_rng(0).random((4, 16, 16)) < 0.5, 1, -1).astype(np.int8)
    path = save(Dataset(spins, "spins", conditions={"temperature": [1.5, 2.0, 2.5, 3.0]}), tmp_path / "s.h5")
    code, out, err = cli("models", "summary", "dcgan", "--data", path, "--condition", "temperature",
                         "--set", "model.channels=[8,16]")
    assert code == 0, err
    assert "(None, 1, 16, 16)" in out and "on spins data of shape (16, 16)" in out


@pytest.mark.parametrize("args, match", [
    (("models", "summary", "nosuch"), "unknown model 'nosuch'"),
    (("models", "summary", "gan", "--set", "model.latent=0"), "model.latent"),
    (("models", "summary", "vae", "--set", "latent=3"), "model.KEY=VALUE"),
    (("models", "summary", "vae", "--condition", "temperature"), "--condition needs --data"),
])
def test_bad_input_is_one_line_exit_2(cli, args, match):
    code, out, err = cli(*args)
    assert code == 2 and match in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_bad_data_for_the_architecture(cli, tmp_path):
    img = save(Dataset(np.zeros((3, 12, 12), np.float32), "image"), tmp_path / "img.h5")
    code, _, err = cli("models", "summary", "dcgan", "--data", img, "--set", "model.channels=[8,16,32]")
    assert code == 2 and "image size 12x12 is incompatible" in err
    code, _, err = cli("models", "summary", "vae", "--data", img, "--condition", "temperature")
    assert code == 2 and "has no /conditions/temperature" in err
    code, _, err = cli("models", "summary", "dcgan", "--data", img, "--condition", "labels")
    assert code == 2 and "no /labels" in err


@pytest.mark.parametrize("name", ["rbm", "ebm", "ddpm", "score-sde", "vae", "conv-vae", "gan", "dcgan", "wgan-gp"])
def test_every_model_has_a_summary_whose_counts_are_its_parameters(cli, name):
    """Likelihood models without encoder/generator (rbm, ebm, diffusion) get a table too."""
    from physgen.cli.models import build_model

    code, out, err = cli("models", "summary", name, "--json")
    assert code == 0, err
    info = json.loads(out)
    model = build_model(name, None, None, [])
    assert sum(v["trainable"] for v in info.values()) == sum(
        p.numel() for p in model.parameters() if p.requires_grad) or "adversarial" in model.capabilities
    code, out, _ = cli("models", "summary", name)
    assert code == 0 and "total params:" in out


def test_the_budget_table_in_the_training_guide_is_the_registry_s():
    """docs/training.md's table of default step budgets is generated from the families' defaults
    (`physgen.cli.models.budget_table`): a changed default without the table fails here."""
    from pathlib import Path

    from physgen.cli.models import budget_table

    text = (Path(__file__).resolve().parents[1] / "docs" / "training.md").read_text(encoding="utf-8")
    begin, end = "<!-- budget-table:begin -->\n", "\n<!-- budget-table:end -->"
    assert text[text.index(begin) + len(begin):text.index(end)] == budget_table()
