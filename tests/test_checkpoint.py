"""Checkpoints: round trips, never executing code, and refusing corrupted or foreign files."""
from __future__ import annotations

import json
import pickle
import random

import numpy as np
import pytest
import torch

from physgen.errors import UserError
from physgen.training import checkpoint as ck


def _save(tmp_path, step=3, model="toy", version=1):
    tensors = {"model.w": torch.arange(6.0).reshape(2, 3), "model.chain": torch.tensor([1, -1], dtype=torch.int8)}
    return ck.save(tmp_path, ck.step_tag(step), tensors, {"step": step, "note": [1, "a"]}, model=model,
                   model_version=version)


def test_round_trip_is_exact(tmp_path):
    path = _save(tmp_path)
    tensors, state = ck.load(path, model="toy")
    assert torch.equal(tensors["model.w"], torch.arange(6.0).reshape(2, 3))
    assert tensors["model.chain"].dtype == torch.int8
    assert state == {"step": 3, "note": [1, "a"]}


def test_latest_and_prune_keep_the_newest(tmp_path):
    for s in (1, 2, 10, 4):
        _save(tmp_path, s)
    ck.save(tmp_path, "best", {"x": torch.ones(1)}, {"step": 2}, model="toy")
    assert ck.latest(tmp_path).name == "step-00000010.json"
    ck.prune(tmp_path, keep_last=2)
    assert [s for s, _ in ck.steps(tmp_path)] == [4, 10]
    assert (tmp_path / "best.json").exists() and (tmp_path / "best.safetensors").exists()
    assert not (tmp_path / "step-00000001.safetensors").exists()


class _Payload:
    """Unpickling this object would create a file (the classic pickle code-execution attack)."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (str(self.target), "w"))


@pytest.mark.parametrize("hash_matches", [True, False])
def test_pickle_payload_in_place_of_tensors_is_refused_and_never_run(tmp_path, hash_matches):
    path = _save(tmp_path)
    marker = tmp_path / "pwned"
    tensor_file = path.with_suffix(".safetensors")
    payload = pickle.dumps({"model.w": _Payload(marker)})
    tensor_file.write_bytes(payload)
    if hash_matches:  # make the metadata vouch for the file, so the tensor parser itself is exercised
        meta = json.loads(path.read_text())
        meta["sha256"] = ck._sha256(tensor_file)
        path.write_text(json.dumps(meta))
    with pytest.raises(UserError, match="not a valid safetensors file" if hash_matches else "corrupted"):
        ck.load(path, model="toy")
    assert not marker.exists()


def test_torch_pt_pickle_renamed_is_refused(tmp_path):
    path = _save(tmp_path)
    marker = tmp_path / "pwned_pt"
    tensor_file = path.with_suffix(".safetensors")
    torch.save({"w": torch.ones(2), "evil": _Payload(marker)}, tensor_file)  # a .pt file is a zip of pickles
    meta = json.loads(path.read_text())
    meta["sha256"] = ck._sha256(tensor_file)
    path.write_text(json.dumps(meta))
    with pytest.raises(UserError, match="not a valid safetensors file"):
        ck.load(path, model="toy")
    assert not marker.exists()


def test_truncated_and_corrupted_files(tmp_path):
    path = _save(tmp_path)
    tensor_file = path.with_suffix(".safetensors")
    data = tensor_file.read_bytes()
    tensor_file.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="corrupted or truncated"):
        ck.load(path, model="toy")
    flipped = bytearray(data)
    flipped[-1] ^= 0xFF
    tensor_file.write_bytes(bytes(flipped))
    with pytest.raises(UserError, match="corrupted or truncated"):
        ck.load(path, model="toy")
    tensor_file.write_bytes(data)
    path.write_text(path.read_text()[:40])
    with pytest.raises(UserError, match="corrupted checkpoint metadata"):
        ck.load(path, model="toy")


def test_missing_tensor_file_and_foreign_json(tmp_path):
    path = _save(tmp_path)
    path.with_suffix(".safetensors").unlink()
    with pytest.raises(UserError, match="tensor file .* is missing"):
        ck.load(path, model="toy")
    foreign = tmp_path / "step-00000009.json"
    foreign.write_text(json.dumps({"weights": [1, 2]}))
    with pytest.raises(UserError, match="not a physgen checkpoint"):
        ck.load(foreign, model="toy")
    with pytest.raises(UserError, match="no such checkpoint"):
        ck.load(tmp_path / "nope.json", model="toy")


def test_escaping_tensor_path_is_refused(tmp_path):
    path = _save(tmp_path)
    meta = json.loads(path.read_text())
    meta["tensors"] = "../elsewhere.safetensors"
    path.write_text(json.dumps(meta))
    with pytest.raises(UserError, match="missing"):
        ck.load(path, model="toy")


def test_other_model_or_version_or_format_is_refused(tmp_path):
    path = _save(tmp_path, model="rbm", version=2)
    with pytest.raises(UserError, match="checkpoint of model 'rbm', expected 'vae'"):
        ck.load(path, model="vae")
    with pytest.raises(UserError, match="version 2, this physgen reads version 1"):
        ck.load(path, model="rbm", model_version=1)
    meta = json.loads(path.read_text())
    meta["format_version"] = 99
    path.write_text(json.dumps(meta))
    with pytest.raises(UserError, match="format version 99"):
        ck.load(path, model="rbm", model_version=2)


@pytest.mark.parametrize("make", [
    lambda p: torch.optim.Adam(p, lr=0.1, betas=(0.8, 0.9)),
    lambda p: torch.optim.AdamW(p, lr=0.1, weight_decay=0.1),
    lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
    lambda p: torch.optim.SGD(p, lr=0.1),
])
def test_optimizer_state_round_trip_continues_identically(tmp_path, make):
    def run(opt, w, steps):
        for i in range(steps):
            opt.zero_grad()
            ((w - i) ** 2).sum().backward()
            opt.step()

    w1 = torch.nn.Parameter(torch.ones(3))
    o1 = make([w1])
    run(o1, w1, 3)
    tensors, state = ck.optimizer_state("g", o1)
    ck.save(tmp_path, "x", tensors, json.loads(json.dumps(state)), model="toy")  # state must be JSON
    t_back, s_back = ck.load(tmp_path / "x.json", model="toy")
    w2 = torch.nn.Parameter(w1.detach().clone())
    o2 = make([w2])
    ck.load_optimizer_state("g", o2, t_back, s_back)
    run(o1, w1, 4)
    run(o2, w2, 4)
    assert torch.equal(w1, w2)


def test_rng_states_round_trip():
    tensors, state = ck.rng_state()
    state = json.loads(json.dumps(state))
    a = (torch.rand(3), np.random.rand(3), random.random())
    ck.set_rng_state(tensors, state)
    b = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]


def test_copy_makes_an_independent_valid_checkpoint(tmp_path):
    """``best`` is a (hard-linked) copy: it loads with its own name and survives pruning of its source."""
    t = {"model.w": torch.arange(6.0).reshape(2, 3)}
    ck.save(tmp_path, ck.step_tag(5), t, {"step": 5}, model="toy")
    ck.copy(tmp_path, ck.step_tag(5), "best")
    for step in (6, 7):
        ck.save(tmp_path, ck.step_tag(step), t, {"step": step}, model="toy")
    ck.prune(tmp_path, 1)
    assert not (tmp_path / "step-00000005.safetensors").exists()
    tensors, state = ck.load(tmp_path / "best.json", model="toy")
    assert state["step"] == 5 and torch.equal(tensors["model.w"], t["model.w"])


def test_background_writer_runs_in_order_and_reraises_errors(tmp_path):
    order = []
    w = ck.BackgroundWriter()
    for i in range(3):
        w.submit(order.append, i)
    w.wait()
    assert order == [0, 1, 2]
    w.submit(ck.load, tmp_path / "missing.json", model="toy")
    with pytest.raises(UserError, match="no such checkpoint"):
        w.wait()
    w.close()


def test_model_config_check_accepts_options_newer_than_the_checkpoint_at_their_default():
    """A checkpoint written before an option existed records no value for it: it matches the option's
    default (what the older code did) and nothing else; a recorded value must match exactly."""
    from physgen.models.gan import WGANGPConfig

    old = {"config": {"model": {k: v for k, v in json.loads(json.dumps(vars(WGANGPConfig()), default=list)).items()
                                if k != "match_observables"}}}
    ck.check_model_config(old, WGANGPConfig())
    with pytest.raises(UserError, match=r"model.match_observables = 0.0, this run has 2.0"):
        ck.check_model_config(old, WGANGPConfig(match_observables=2.0))
    with pytest.raises(UserError, match=r"model.width = 32, this run has 16"):
        ck.check_model_config(old, WGANGPConfig(width=16))


def test_metadata_order_does_not_change_the_file():
    """The safetensors writer orders ``__metadata__`` as a hash map; the saved bytes must not depend on it."""
    import json

    from safetensors.torch import load, save as serialize

    data = serialize({"w": torch.arange(6.0).reshape(2, 3), "n": torch.tensor(3)}, metadata={"format": "f", "model": "m"})
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    for order in (["format", "model"], ["model", "format"]):
        header["__metadata__"] = {k: header["__metadata__"][k] for k in order}
        text = json.dumps(header, separators=(",", ":")).encode()
        variant = data[:8] + text + b" " * (n - len(text)) + data[8 + n:]
        out = ck.canonical_header(variant)
        assert out == ck.canonical_header(data) and len(out) == len(data)
        a, b = load(out), load(data)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def forget_model_option(run, name: str) -> None:
    """Make ``run`` look saved before the ``[model]`` option ``name`` existed: its config.toml and its checkpoints'
    sidecars lose the key."""
    config = run / "config.toml"
    config.write_text("".join(line for line in config.read_text().splitlines(True) if not line.startswith(name)))
    for sidecar in (run / "checkpoints").glob("*.json"):
        state = json.loads(sidecar.read_text())
        state["state"]["config"]["model"].pop(name)
        sidecar.write_text(json.dumps(state))


def test_a_van_saved_before_the_hierarchical_draw_loads_with_one_made(tmp_path):
    """A run of the Ising free energy saved before ``model.arch`` existed (its config and checkpoint record no
    ``arch``) drew with one MADE: loading and resuming it builds that network, not today's ``auto`` choice."""
    from physgen.cli import main
    from physgen.training.run import load_run

    run = tmp_path / "old"
    assert main(["train", "van", "--hamiltonian", "ising", "--size", "4", "--temperatures", "2.5", "--steps", "5",
                 "--set", "model.arch=made", "--out", str(run), "--no-progress"]) == 0
    forget_model_option(run, "arch")
    assert load_run(run).model.config.arch == "made"
    assert main(["train", "van", "--resume", "--steps", "8", "--out", str(run), "--no-progress"]) == 0
