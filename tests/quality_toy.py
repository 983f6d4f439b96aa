"""A stand-in for ``physgen.metrics.quality.QualityProbe`` in the trainer's tests (not part of physgen).

``MeanProbe`` scores generated data by the distance of its feature means from the held-out ones (lower is
better), or by a scripted sequence of scores (``scores``, with an optional ``floor_noise``), so that the
trainer's bookkeeping is tested without depending on a real metric's noise.
"""
from __future__ import annotations

import numpy as np

from physgen.errors import UserError


class MeanProbe:
    name = "mean err"

    def __init__(self, heldout, *, condition=None, seed=0, max_samples=2000, scores=None, floor_noise=None,
                 score_noise=None):
        if len(heldout) < 2:
            raise UserError(f"data.val_fraction: {len(heldout)} held-out samples, need >= 2")
        x = np.asarray(heldout.samples, dtype=np.float64).reshape(len(heldout), -1)
        self.mean, self.n, self.scores, self.calls = x.mean(0), min(len(heldout), max_samples), scores, []
        self.score_noise = score_noise
        half = len(x) // 2
        self.floor = {"score": float(np.abs(x[:half].mean(0) - x[half:].mean(0)).sum())}
        if floor_noise is not None:
            self.floor_noise = float(floor_noise)

    def requests(self):
        return [(self.n, None)]

    def score(self, fake):
        x = np.asarray(fake.samples, dtype=np.float64).reshape(len(fake), -1)
        err = float(np.abs(x.mean(0) - self.mean).sum())
        self.calls.append(err)
        if self.scores is not None:
            err = self.scores[min(len(self.calls), len(self.scores)) - 1]
        values = {"score": err, "err": err}
        if self.score_noise is not None:
            values["score_noise"] = self.score_noise[min(len(self.calls), len(self.score_noise)) - 1]
        return values

    def verdict(self, values):
        ratio = values["score"] / max(self.floor["score"], 1e-12)
        text = f"{self.name} {values['score']:.3g} (floor {self.floor['score']:.3g})"
        return text + (" — at floor" if ratio < 2 else f" — {ratio:.0f}x floor: train longer")
