"""Running sums of the training loop between two ``metrics.csv`` rows."""
from __future__ import annotations

from collections import defaultdict


class Window:
    """Running sums between two logging steps (the loss over the steps that computed it, ``n_loss``)."""

    def __init__(self):
        self.n, self.n_loss, self.samples, self.loss, self.lr = 0, 0, 0, 0.0, 0.0
        self.logs: dict[str, float] = defaultdict(float)

    def add(self, loss: float | None, logs: dict[str, float], samples: int, lr: float) -> None:
        self.n, self.samples, self.lr = self.n + 1, self.samples + samples, lr
        if loss is not None:
            self.n_loss, self.loss = self.n_loss + 1, self.loss + loss
        for k, v in logs.items():
            self.logs[k] += v

    def to_json(self) -> dict:
        return {"n": self.n, "n_loss": self.n_loss, "samples": self.samples, "loss": self.loss, "lr": self.lr,
                "logs": dict(self.logs)}

    @classmethod
    def from_json(cls, d: dict | None) -> "Window":
        w = cls()
        if d:
            w.n, w.samples, w.loss, w.lr = d["n"], d["samples"], d["loss"], d["lr"]
            w.n_loss = d.get("n_loss", w.n)   # (checkpoints before the lazily evaluated loss)
            w.logs.update(d["logs"])
        return w

    def row(self, seconds: float) -> dict[str, float]:
        """The window's averages (no ``loss`` when no step of it computed one)."""
        n = max(self.n, 1)
        row = {"lr": self.lr, **({"loss": self.loss / self.n_loss} if self.n_loss else {}),
               "samples_per_s": self.samples / max(seconds, 1e-9)}
        row.update({k: v / n for k, v in self.logs.items() if k != "loss"})
        self.__init__()
        return row
