"""The semi-supervised GAN's classifier judged on labelled test data (Salimans et al. 2016, §5): its test accuracy
beside a supervised baseline (:func:`train_supervised`: the same network trained on the same labelled subset
with the supervised term alone, for as many steps), scikit-learn's multilayer perceptron and a random forest
fitted to the same labelled subset (:func:`compare_classifiers`), each with its binomial error."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from physgen.models.gan.base import _apply

#: scikit-learn's multilayer perceptron of the comparison: its default hidden layer, trained to convergence
MLP_HIDDEN = (100,)
MLP_ITERATIONS = 2000


def train_supervised(model, steps: int, *, lr: float = 1e-3, betas: tuple[float, float] = (0.5, 0.999),
                     batch_size: int = 100, seed: int = 0):
    """The supervised baseline of ``model``: a fresh SGAN of the same config and data spec (so the same
    classifier network, noise injection included), whose classifier is trained for ``steps`` Adam steps on
    the cross-entropy of ``model``'s labelled subset alone (batches of ``batch_size`` drawn with replacement)."""
    gen = torch.Generator(device=model.device).manual_seed(int(seed))
    with torch.random.fork_rng(devices=[]):  # the fresh network's initial weights, without touching global state
        torch.manual_seed(int(seed))
        base = type(model)(model.config, model.spec).to(model.device)
    base.lab_x.copy_(model.lab_x)
    base.lab_y.copy_(model.lab_y)
    base.lab_rows.copy_(model.lab_rows)
    opt = torch.optim.Adam(base.disc.parameters(), lr=lr, betas=tuple(betas))
    base.train()
    for _ in range(int(steps)):
        pick = torch.randint(len(base.lab_y), (batch_size,), generator=gen, device=gen.device).to(base.lab_y.device)
        logits = base.classify(base.lab_x.index_select(0, pick), gen)
        _apply(F.cross_entropy(logits, base.lab_y.index_select(0, pick)), opt)
    return base.eval()


@torch.no_grad()
def predict(model, x: torch.Tensor, batch: int = 4096) -> np.ndarray:
    """``(N,)`` predicted classes of model-space ``x`` ``(N, *shape)`` (eval mode, no noise)."""
    was = model.training
    model.eval()
    try:
        out = [model.classify(x[s:s + batch].to(model.device)).argmax(1).cpu() for s in range(0, len(x), batch)]
    finally:
        model.train(was)
    return torch.cat(out).numpy()


def _accuracy(correct: np.ndarray) -> dict[str, float]:
    """Accuracy with its binomial standard error sqrt(p (1 − p) / n) over the test rows."""
    n = int(correct.size)
    p = float(correct.mean()) if n else math.nan
    return {"value": p, "error": math.sqrt(p * (1 - p) / n) if n else math.nan, "n": n}


def compare_classifiers(model, x_test: torch.Tensor, y_test: np.ndarray, *,
                        temperatures: np.ndarray | None = None, baseline_steps: int | None = None,
                        lr: float = 1e-3, batch_size: int = 100, forest_trees: int = 100, seed: int = 0
                        ) -> dict[str, Any]:
    """Test accuracy of the trained SGAN's classifier, of the supervised baseline (:func:`train_supervised`,
    ``baseline_steps`` defaulting to the SGAN's own number of steps), of scikit-learn's ``MLPClassifier``
    (:data:`MLP_HIDDEN` ReLU units, Adam, seeded by ``seed``) and of a random forest
    (:func:`physgen.analysis.forests.build_models`, ``forest_trees`` trees), the last two fitted to the same
    labelled subset, on model-space ``x_test`` ``(N, *shape)`` with classes ``y_test`` ``(N,)``.

    Returns ``{"sgan" | "supervised" | "mlp" | "random_forest": {"value", "error", "n"}, "n_labelled", ...}``, and with
    ``temperatures`` ``(N,)`` also ``per_temperature``: ``{f"{T:g}": {classifier: accuracy}}``.
    """
    from sklearn.neural_network import MLPClassifier

    from physgen.analysis.forests import build_models

    y_test = np.asarray(y_test, dtype=np.int64)
    steps = int(model.calls) if baseline_steps is None else int(baseline_steps)
    baseline = train_supervised(model, steps, lr=lr, batch_size=batch_size, seed=seed)
    forest = build_models(forest_trees, seed)["random_forest"]
    forest.set_params(oob_score=False)
    x_lab, y_lab, x_flat = model.lab_x.flatten(1).cpu().numpy(), model.lab_y.cpu().numpy(), x_test.flatten(1).cpu().numpy()
    forest.fit(x_lab, y_lab)
    mlp = MLPClassifier(hidden_layer_sizes=MLP_HIDDEN, max_iter=MLP_ITERATIONS, random_state=seed).fit(x_lab, y_lab)
    correct = {"sgan": predict(model, x_test) == y_test, "supervised": predict(baseline, x_test) == y_test,
               "mlp": mlp.predict(x_flat) == y_test, "random_forest": forest.predict(x_flat) == y_test}
    out: dict[str, Any] = {name: _accuracy(c) for name, c in correct.items()}
    out.update({"n_labelled": int(len(model.lab_y)), "labels_per_class": model.config.labels_per_class,
                "sgan_steps": int(model.calls), "baseline_steps": steps, "forest_trees": int(forest_trees),
                "mlp_hidden": list(MLP_HIDDEN)})
    if temperatures is not None:
        t = np.asarray(temperatures, dtype=np.float64)
        out["per_temperature"] = {f"{v:g}": {name: float(c[t == v].mean()) for name, c in correct.items()}
                                  for v in np.unique(t)}
    return out
