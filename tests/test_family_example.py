"""The thin family contract: the members a family author must know are few, every capability a family declares
comes with its members, a family that still sets a legacy flag gets its capability, and docs/DEVELOPING.md's
worked family (a normal law fitted by maximum likelihood) is whole: it trains, samples and is listed."""
from __future__ import annotations

import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest

from physgen.data import load
from physgen.models import registry
from physgen.models.base import ESSENTIAL, GenerativeModel
from physgen.models.card import CAPABILITIES, capabilities_of

DEVELOPING = Path(__file__).resolve().parents[1] / "docs" / "DEVELOPING.md"
NAMES = [n for n in registry.names() if registry.get(n).__module__.startswith("physgen.")]


def test_a_family_author_knows_at_most_twelve_members():
    assert len(ESSENTIAL) <= 12
    assert all(hasattr(GenerativeModel, m) for m in ESSENTIAL)


@pytest.mark.parametrize("name", NAMES)
def test_every_capability_comes_with_its_members(name):
    cls = registry.get(name)
    for capability in capabilities_of(cls):
        for member in CAPABILITIES[capability]:
            assert member in dir(cls) and getattr(cls, member) is not getattr(GenerativeModel, member, None) \
                or member == "n_classes", f"{name}: {capability} without its own {member}"


def test_capabilities_of_a_built_model_may_narrow_its_card():
    from physgen.models.base import DataSpec
    from physgen.models.rbm import RBM, RBMConfig

    assert capabilities_of(RBM) == {"closed-form-gradients"}
    spec = DataSpec("binary", (6,))
    assert capabilities_of(RBM(RBMConfig(n_hidden=3), spec)) == {"closed-form-gradients"}
    assert capabilities_of(RBM(RBMConfig(n_hidden=3, sparsity_cost=0.1), spec)) == frozenset()


def test_a_legacy_flag_is_a_capability_with_a_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        class Old(GenerativeModel):
            name = "old"
            adversarial = True
    assert capabilities_of(Old) == {"adversarial"}
    assert any(issubclass(w.category, DeprecationWarning) and "capabilities" in str(w.message) for w in caught)
    with pytest.raises(TypeError, match="unknown capabilities"):
        class Wrong(GenerativeModel):
            name = "wrong"
            capabilities = frozenset({"teleport"})


def _example() -> str:
    """The worked family of docs/DEVELOPING.md (the Python block that defines ``class Gauss``), unindented."""
    blocks = DEVELOPING.read_text().split("```python\n")
    code = next(b.split("```")[0] for b in blocks[1:] if "class Gauss(" in b)
    return "\n".join(line[2:] for line in code.splitlines())


def test_the_worked_family_is_whole(cli, tmp_path, monkeypatch):
    """60 lines or fewer, only essential members (and private helpers); trained with its defaults on 4,000
    points it samples the data's mean and covariance (the maximum-likelihood normal law): with 20,000 samples
    the sampling error of each entry is below 0.01, against tolerances of 0.03."""
    code = _example()
    assert len(code.splitlines()) <= 60
    module = types.ModuleType("gauss_family")
    monkeypatch.setitem(sys.modules, "gauss_family", module)
    exec(compile(code, "DEVELOPING.md", "exec", dont_inherit=True), module.__dict__)
    gauss = module.Gauss
    public = {k for k in vars(gauss) if not k.startswith("_") or k == "__init__"} - {"__module__", "__doc__"}
    assert public <= set(ESSENTIAL), public - set(ESSENTIAL)
    monkeypatch.setitem(registry._REGISTRY, "gauss", gauss)
    assert cli("data", "toy", "moons", "--n", "4000", "--out", tmp_path / "m.h5")[0] == 0
    code, _, err = cli("train", "gauss", "--data", tmp_path / "m.h5", "--out", tmp_path / "run", "--no-progress")
    assert code == 0, err
    assert cli("sample", tmp_path / "run", "--n", "20000", "--out", tmp_path / "s.h5")[0] == 0
    x, y = load(tmp_path / "m.h5").samples, load(tmp_path / "s.h5").samples
    np.testing.assert_allclose(y.mean(0), x.mean(0), atol=0.03)
    np.testing.assert_allclose(np.cov(y.T), np.cov(x.T), atol=0.03)
    code, out, _ = cli("models")
    assert code == 0 and "gauss" in out
    code, _, err = cli("train", "gauss", "--data", tmp_path / "m.h5", "--out", tmp_path / "bad", "--set",
                       "model.scale=0")
    assert code == 2 and "model.scale" in err and not (tmp_path / "bad").exists()
