"""The semi-supervised GAN (``sgan``): its loss, the labelled subset, bad input, resume, sampling and the
classifier comparison; the accuracy check on digits is in test_sgan_digits.py (slow)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from physgen.data import Dataset, load, save
from physgen.errors import UserError
from physgen.models.base import DataSpec
from physgen.models.gan.sgan import SGAN, SGANConfig, unsupervised_loss
from physgen.models.gan.sgan_classifiers import compare_classifiers

SMALL = ["--set", "model.hidden_g=[16]", "--set", "model.hidden_d=[16, 16]", "--set", "model.latent=4",
         "--set", "model.labels_per_class=3", "--set", "train.batch_size=32", "--set", "train.epochs=1",
         "--set", "model.diagnostics=false", "--no-progress"]


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    from physgen.data.digits import load_digits

    return save(load_digits().subset(slice(0, 200)), tmp_path_factory.mktemp("d") / "digits.h5")


def small_model(labels_per_class: int = 3, **kw) -> SGAN:
    config = SGANConfig(labels_per_class=labels_per_class, hidden_g=(8,), hidden_d=(8, 8), latent=4, **kw)
    with torch.random.fork_rng():   # the same initial weights whatever ran before (torch's layers draw them)
        torch.manual_seed(0)
        return SGAN(config, DataSpec("image", (4, 4), n_labels=3))


def test_unsupervised_loss_is_the_k_plus_1_softmax_with_the_fake_logit_at_zero():
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(7, 4, generator=g) * 3, torch.randn(5, 4, generator=g) * 3
    with_fake = lambda l: torch.cat([l, torch.zeros(len(l), 1)], 1)  # noqa: E731
    fake_class = 4
    explicit = 0.5 * (F.cross_entropy(with_fake(fake), torch.full((5,), fake_class))
                      - torch.log1p(-torch.softmax(with_fake(real), 1)[:, fake_class]).mean())
    assert torch.allclose(unsupervised_loss(real, fake), explicit, atol=1e-6)


def test_labelled_subset_is_per_class_seeded_and_checked():
    x = torch.rand(30, 4, 4)
    labels = torch.tensor([0] * 10 + [1] * 10 + [2] * 6 + [-1] * 4)
    picks = []
    for seed in (1, 1, 2):
        m = small_model(label_seed=seed)  # the trainer's generator does not matter (it differs per rank)
        m.on_fit_start({"x": x, "labels": labels}, resumed=False, generator=torch.Generator().manual_seed(seed + 7))
        assert m.lab_y.tolist() == [0] * 3 + [1] * 3 + [2] * 3
        assert torch.equal(labels[m.lab_rows], m.lab_y) and torch.equal(x[m.lab_rows], m.lab_x)
        picks.append(m.lab_rows.tolist())
    assert picks[0] == picks[1] != picks[2]
    val = m.validate({"x": x, "labels": labels}, generator=torch.Generator())  # the unlabelled rows are skipped
    assert val["accuracy"] == float((m.classify(x[:26]).argmax(1) == labels[:26]).float().mean())
    with pytest.raises(UserError, match=r"model.labels_per_class: 7 is larger than the smallest class \(class 2 has 6"):
        small_model(7).check_batch({"x": x, "labels": labels})


def test_config_errors():
    for kw, match in (({"labels_per_class": 0}, "model.labels_per_class=0: must be an integer >= 1"),
                      ({"noise_in": -1.0}, "model.noise_in"), ({"loss": "wgan-gp"}, "model.loss")):
        with pytest.raises(UserError, match=match):
            SGANConfig(**kw)
    unlabelled = SGAN(SGANConfig(), DataSpec("image", (4, 4)))  # sized for `physgen models`, never trained
    with pytest.raises(UserError, match="data.condition: sgan needs labelled data"):
        unlabelled.check_batch({"x": torch.rand(3, 4, 4)})


def test_bad_input_is_one_line_exit_2(cli, digits, tmp_path):
    code, out, err = cli("train", "sgan", "--data", digits, "--out", tmp_path / "a", *SMALL,
                         "--set", "model.labels_per_class=500")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "model.labels_per_class: 500 is larger" in err
    assert not (tmp_path / "a").exists()
    unlabelled = save(Dataset(load(digits).samples, "image"), tmp_path / "nolabels.h5")
    code, out, err = cli("train", "sgan", "--data", unlabelled, "--out", tmp_path / "b", *SMALL)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "/labels" in err
    assert not (tmp_path / "b").exists()


def test_train_records_the_labels_resumes_exactly_and_samples(cli, digits, tmp_path):
    """Labelled rows recorded, an exact resume, labelled samples, and classifier accuracies that count correct
    rows (whole numbers out of 50, the overall one the mean of the two temperatures' halves)."""
    from physgen.training import load_run

    assert cli("train", "sgan", "--data", digits, "--out", tmp_path / "a", "--steps", "12", *SMALL)[0] == 0
    assert cli("train", "sgan", "--data", digits, "--out", tmp_path / "b", "--steps", "6", *SMALL)[0] == 0
    code, _, err = cli("train", "sgan", "--out", tmp_path / "b", "--steps", "12", "--resume", "--no-progress")
    assert code == 0, err
    a, b = (load_run(tmp_path / r, which="latest").model.state_dict() for r in ("a", "b"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    record = json.loads((tmp_path / "a" / "labelled.json").read_text())
    assert record["n_labelled"] == 30 and all(len(v) == 3 for v in record["labelled_rows"].values())
    code, _, err = cli("sample", tmp_path / "a", "--n", 20, "--out", tmp_path / "s.h5")
    assert code == 0, err
    ds = load(tmp_path / "s.h5")
    assert ds.samples.shape == (20, 8, 8) and sorted(set(ds.labels.tolist())) == list(range(10))
    run = load_run(tmp_path / "a")
    x = torch.from_numpy(load(digits).samples[:50])
    res = compare_classifiers(run.model, x, load(digits).labels[:50], forest_trees=5,
                              temperatures=np.repeat([1.0, 2.0], 25))
    for name in ("sgan", "supervised", "random_forest"):
        # an accuracy over the 50 rows: a whole number of correct rows out of 50, the mean of the two halves
        assert res[name]["n"] == 50 and res[name]["value"] * 50 == pytest.approx(round(res[name]["value"] * 50))
        halves = res["per_temperature"]
        assert res[name]["value"] == pytest.approx((halves["1"][name] + halves["2"][name]) / 2)
    assert res["baseline_steps"] == 12 and set(res["per_temperature"]) == {"1", "2"}


def test_sampling_a_class_returns_what_the_classifier_assigns_to_it():
    m = small_model().eval()
    with torch.no_grad():  # class 1 wherever the first feature is positive, else class 0; never class 2
        m.disc.head.weight.zero_()
        m.disc.head.bias.zero_()
        m.disc.head.weight[1, 0] = 10.0
    g = torch.Generator().manual_seed(0)
    x = m.sample(40, generator=g, condition={"labels": 1})
    assert x.shape == (40, 4, 4) and bool((m.classify(x).argmax(1) == 1).all())
    assert m.sample(5, generator=g, condition={"labels": 2}, max_rounds=3).shape == (5, 4, 4)  # filled up
