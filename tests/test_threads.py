"""physgen's choice of torch intra-op threads (physgen.threads): one thread for small work, torch's setting for
large work, and never a change when the user set OMP_NUM_THREADS; the trainer applies it for the fit and restores
the caller's setting."""
from __future__ import annotations

import torch

from physgen import threads


def test_small_work_runs_on_one_thread_large_work_keeps_torchs_setting(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert threads.for_work(1e6) == 1
    assert threads.for_work(threads.SMALL_WORK) is None and threads.for_work(None) is None
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert threads.for_work(1e6) is None   # the user's setting wins


def test_network_work_counts_convolutions_at_every_site():
    """A 3×3 convolution 4 → 8 channels (288 weights + 8 biases) on 16×16 lattices, then a linear layer 10 → 1:
    3 · rows · (296 · 256 + 11) multiply-adds."""
    from physgen.models.base import DataSpec

    net = torch.nn.Sequential(torch.nn.Conv2d(4, 8, 3), torch.nn.Linear(10, 1))
    net.spec = DataSpec("spins", (16, 16))
    assert threads.network_work(net, 5) == 3 * 5 * (296 * 256 + 11)


def test_torch_threads_restores_the_callers_setting():
    before = torch.get_num_threads()
    with threads.torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_a_small_models_training_runs_on_one_thread_and_restores_the_setting(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    from physgen.training.trainer import Trainer

    seen = []
    original = Trainer._fit

    def spy(self, resume):
        seen.append(torch.get_num_threads())
        return original(self, resume)

    monkeypatch.setattr(Trainer, "_fit", spy)
    before = torch.get_num_threads()
    assert cli("data", "toy", "ring", "--n", "300", "--out", tmp_path / "d.h5")[0] == 0
    code, _, err = cli("train", "vae", "--data", tmp_path / "d.h5", "--out", tmp_path / "run", "--steps", "3")
    assert code == 0, err
    assert seen == [1] and torch.get_num_threads() == before
