"""Diagnostics the course plots for GANs, and latent-space tools for VAEs.

GAN diagnostics (:class:`GANDiagnostics`, run hooks of every GAN by default, their files written by the
report layer to ``RUN_DIR/diagnostics/``; Raschka et al. 2022, ch. 17, Figs. 17.8-17.9):

* ``losses.png``: generator loss and discriminator loss/2 per logged iteration, and the discriminator
  outputs D(x) and D(G(z)) (critic values for WGAN-GP);
* ``samples.png``: samples from one fixed noise batch z at chosen epochs (images/lattices as grids,
  tabular data as per-feature histograms against the data);
* ``diagnostics.json``: the sample-diversity ratio per epoch and the warnings raised.

Warnings (printed once each, also recorded): **discriminator wins** — mean D(G(z)) < ``d_win`` over the
last ``window`` logged rows while the generator loss rises (least-squares slope > 0), the regime of
vanishing generator gradients (Arjovsky & Bottou 2017); **mode collapse** — the mean pairwise distance
of samples from the fixed z falls below ``collapse_ratio`` times that of real data after having been at
least twice as large (diversity lost, rather than not yet learned).

VAE latent tools (:func:`latent_scatter`, :func:`latent_grid`, :func:`latent_traversal`): the 2-D latent
scatter coloured by label or temperature and the decoded grid over the latent plane of the course's
Keras VAE example (Chollet 2017), and a traversal of one latent coordinate.
"""
from __future__ import annotations

import math
from functools import partial
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from physgen.models.contract import RunContext

DEFAULT_EPOCHS = (1, 2, 4, 10, 50, 100)
DIR = "diagnostics"   # under the run directory


class GANDiagnostics:
    """Run hooks (``on_log``, ``on_epoch_end``, ``on_train_end``) recording GAN health; they read the run's
    :class:`~physgen.models.contract.RunContext` and hand their files to its ``report`` sink.

    ``real`` is the training data ``(N, *shape)`` in model space (a subset is kept for diversity).
    """

    def __init__(self, model, real: torch.Tensor, *, epochs: Sequence[int] = DEFAULT_EPOCHS, n_fixed: int = 64,
                 seed: int = 1234, d_win: float = 0.05, window: int = 20, collapse_ratio: float = 0.25):
        self.model, self.epochs = model, tuple(epochs)
        g = torch.Generator().manual_seed(seed)
        self.z = _noise(model, n_fixed, g)                                   # the fixed z (CPU)
        idx = torch.randperm(len(real), generator=g)[:512]
        self.real = real[idx.to(real.device)].detach()
        self.real_div = _diversity(model.to_internal(self.real))
        self.d_win, self.window, self.collapse_ratio = d_win, window, collapse_ratio
        self.grids: dict[int, np.ndarray] = {}
        self.diversity: dict[int, float] = {}
        self.warnings: list[dict[str, Any]] = []
        self._rows: list[tuple[float, float]] = []

    def hooks(self) -> list[tuple[str, Callable[[RunContext], None]]]:
        """``(event, hook)`` pairs for :meth:`~physgen.models.base.GenerativeModel.run_hooks`."""
        return [("on_log", self.on_log), ("on_epoch_end", self.on_epoch_end), ("on_train_end", self.on_train_end)]

    # --- events ------------------------------------------------------------------------------
    def on_log(self, ctx: RunContext) -> None:
        logs = ctx.logs
        if self.model.config.loss != "bce" or "g_loss" not in logs:
            return
        self._rows = (self._rows + [(float(logs["d_fake"]), float(logs["g_loss"]))])[-self.window:]
        if len(self._rows) == self.window and not self._warned("discriminator-wins"):
            d_fake, g = np.array(self._rows).T
            slope = np.polyfit(np.arange(len(g)), g, 1)[0]
            if d_fake.max() < self.d_win and slope > 0:
                self._warn(ctx, "discriminator-wins",
                           f"the discriminator wins: D(G(z)) < {self.d_win} for the last {self.window} log rows "
                           f"while the generator loss rises (slope {slope:.3g}/row); lower the D learning rate "
                           "(train.group_lr.discriminator) or use model.loss=wgan-gp")

    def on_epoch_end(self, ctx: RunContext) -> None:
        if ctx.epoch in self.epochs:
            self.snapshot(ctx.epoch, ctx)

    def on_train_end(self, ctx: RunContext) -> None:
        epoch = ctx.epochs_begun
        if epoch not in self.grids:
            self.snapshot(epoch, ctx)
        for name, data in self.files(list(ctx.history)).items():
            ctx.report(name, data)

    # --- helpers -----------------------------------------------------------------------------
    @torch.no_grad()
    def fixed_samples(self) -> torch.Tensor:
        """Model-space samples from the fixed z (eval mode), conditions cycling through the trained values."""
        m = self.model
        was = m.training
        m.eval()
        try:
            z = self.z.to(m.device)
            c = _fixed_condition(m, len(z))
            return m.to_data(m.generate(z, c)).float().cpu()
        finally:
            m.train(was)

    def snapshot(self, epoch: int, ctx: RunContext | None = None) -> None:
        x = self.fixed_samples()
        self.grids[epoch] = x.numpy()
        ratio = _diversity(self.model.to_internal(x.to(self.real.device))) / max(self.real_div, 1e-12)
        best = max(self.diversity.values(), default=0.0)
        self.diversity[epoch] = float(ratio)
        # collapse = diversity lost (below the threshold and below half the best seen), not "not yet learned"
        if ratio < self.collapse_ratio and best > 0 and best >= 2 * ratio and not self._warned("mode-collapse"):
            hint = "model.loss=wgan-gp, " if self.model.config.loss == "bce" else ""
            self._warn(ctx, "mode-collapse",
                       f"mode collapse at epoch {epoch}: sample diversity fell to {ratio:.2f} of the data's "
                       f"(best so far {best:.2f}); try {hint}a lower learning rate or a larger batch")

    def _warned(self, kind: str) -> bool:
        return any(w["kind"] == kind for w in self.warnings)

    def _warn(self, ctx: RunContext | None, kind: str, message: str) -> None:
        self.warnings.append({"kind": kind, "step": ctx.step if ctx is not None else -1, "message": message})
        if ctx is not None:
            ctx.say(f"physgen: warning: {message}")

    def files(self, rows: list[Mapping[str, Any]]) -> dict[str, Any]:
        """The files under ``RUN_DIR/diagnostics``, name -> data for the report layer: ``losses.png`` (from the
        logged ``rows``, when there are any), ``samples.png`` (when an epoch was sampled), ``diagnostics.json``.
        The figures are functions that draw them (drawn only where the files are written)."""
        out: dict[str, Any] = {}
        if rows:
            out[f"{DIR}/losses.png"] = partial(loss_figure, rows, self.model.config.loss)
        if self.grids:
            real = self.real.float().cpu().numpy()
            out[f"{DIR}/samples.png"] = partial(samples_figure, dict(self.grids), self.model.spec, real)
        out[f"{DIR}/diagnostics.json"] = {"diversity_ratio": {str(k): v for k, v in sorted(self.diversity.items())},
                                          "warnings": list(self.warnings), "epochs": sorted(self.grids)}
        return out


def _noise(model, n: int, g: torch.Generator) -> torch.Tensor:
    shape = (n, getattr(model, "noise_dim", model.config.latent))  # conv lattice G: latent + site noise
    return torch.rand(shape, generator=g) * 2 - 1 if model.config.noise == "uniform" else torch.randn(shape, generator=g)


def _fixed_condition(model, n: int) -> torch.Tensor | None:
    cond = model.cond
    if not cond.active:
        return None
    raw, labels = None, None
    if cond.names:
        cols = [torch.tensor(cond.values[name], dtype=torch.float32) for name in cond.names]
        raw = torch.stack([col[torch.arange(n) % len(col)] for col in cols], 1).to(model.device)
    if cond.n_labels:
        labels = (torch.arange(n) % cond.n_labels).to(model.device)
    return cond(raw, labels)


def _diversity(x: torch.Tensor) -> float:
    """Mean pairwise Euclidean distance of the rows of ``x`` (flattened)."""
    flat = x.float().flatten(1)
    if len(flat) < 2:
        return 0.0
    d = torch.cdist(flat, flat)
    n = len(flat)
    return float(d.sum() / (n * (n - 1)))


def _column(rows: list[dict[str, Any]], key: str) -> tuple[np.ndarray, np.ndarray]:
    steps, vals = [], []
    for r in rows:
        v = r.get(key)
        try:
            v = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(v):
            steps.append(float(r["step"]))
            vals.append(v)
    return np.array(steps), np.array(vals)


def loss_figure(rows: list[dict[str, Any]], loss: str = "bce"):
    """The course's two panels: G loss and D loss/2; D(x) and D(G(z)), against the iteration."""
    from physgen.report.html import pyplot

    plt = pyplot()

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.8))
    s, g = _column(rows, "g_loss")
    a.plot(s, g, label="Generator loss")
    s, d = _column(rows, "d_loss")
    a.plot(s, d / 2, label="Discriminator loss/2" if loss == "bce" else "Critic loss/2")
    a.set_xlabel("Iteration"), a.set_ylabel("Loss"), a.legend()
    for key, label in (("d_real", "Real: $D(\\mathbf{x})$"), ("d_fake", "Fake: $D(G(\\mathbf{z}))$")):
        s, v = _column(rows, key)
        b.plot(s, v, label=label)
    b.set_xlabel("Iteration"), b.set_ylabel("Discriminator output" if loss == "bce" else "Critic output")
    b.legend()
    fig.tight_layout()
    return fig


def samples_figure(grids: dict[int, np.ndarray], spec, real: np.ndarray, n_show: int = 8):
    """One row per epoch: the first ``n_show`` fixed-z samples (images), or feature histograms (tabular)."""
    from physgen.report.html import pyplot

    plt = pyplot()

    epochs = sorted(grids)
    image = len(spec.shape) >= 2
    cols = n_show if image else int(np.prod(spec.shape))
    fig, axes = plt.subplots(len(epochs), cols, figsize=(1.4 * cols if image else 3 * cols, 1.5 * len(epochs) + 0.3),
                             squeeze=False)
    for r, ep in enumerate(epochs):
        x = grids[ep]
        for c in range(cols):
            ax = axes[r, c]
            if image:
                img = x[c].reshape(spec.shape[-2:]) if x[c].size == np.prod(spec.shape[-2:]) else x[c][0]
                ax.imshow(img, cmap="gray", interpolation="nearest")
                ax.set_xticks([]), ax.set_yticks([])
            else:
                flat, rf = x.reshape(len(x), -1)[:, c], real.reshape(len(real), -1)[:, c]
                bins = np.linspace(min(flat.min(), rf.min()), max(flat.max(), rf.max()) + 1e-9, 30)
                ax.hist(rf, bins, density=True, alpha=0.5, label="data")
                ax.hist(flat, bins, density=True, histtype="step", label="G(z)")
                if r == 0:
                    names = spec.feature_names or [f"x{i}" for i in range(cols)]
                    ax.set_title(names[c])
            if c == 0:
                ax.set_ylabel(f"epoch {ep}")
    fig.tight_layout()
    return fig


# --- VAE latent tools ----------------------------------------------------------------------------
@torch.no_grad()
def encode_means(model, x: torch.Tensor, cond: torch.Tensor | None = None,
                 labels: torch.Tensor | None = None, batch: int = 1024) -> np.ndarray:
    """Posterior means μ(x) ``(N, D)`` of a VAE, in batches."""
    out = []
    for s in range(0, len(x), batch):
        c = model.cond(None if cond is None else cond[s:s + batch],
                       None if labels is None else labels[s:s + batch]) if model.cond.active else None
        out.append(model.encode(x[s:s + batch].float().to(model.device), c)[0].cpu())
    return torch.cat(out).numpy()


def latent_scatter(model, x: torch.Tensor, color: np.ndarray, *, label: str = "label", **cond):
    """Scatter of the first two latent coordinates of μ(x), coloured by ``color`` (label or temperature)."""
    from physgen.report.html import pyplot

    plt = pyplot()

    mu = encode_means(model, x, **cond)
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    sc = ax.scatter(mu[:, 0], mu[:, 1] if mu.shape[1] > 1 else np.zeros(len(mu)), c=color, s=4, cmap="viridis")
    fig.colorbar(sc, ax=ax, label=label)
    ax.set_xlabel("$z_1$"), ax.set_ylabel("$z_2$")
    fig.tight_layout()
    return fig


@torch.no_grad()
def latent_grid(model, *, n: int = 15, span: float = 2.0, condition: dict[str, float] | None = None) -> np.ndarray:
    """Decoder means over an ``n × n`` grid of (z₁, z₂) ∈ [−span, span]² (other coordinates 0), tiled
    into one image ``(n·H, n·W)`` (the course's Keras VAE figure; needs 2-D samples)."""
    h, w = model.spec.shape[-2:]
    vals = torch.linspace(-span, span, n)
    z = torch.zeros(n * n, model.config.latent)
    z[:, 0] = vals.repeat(n)
    if model.config.latent > 1:
        z[:, 1] = vals.flip(0).repeat_interleave(n)
    c = _sampling_condition(model, n * n, condition)
    x = model.reconstruct_mean(z.to(model.device), c).float().cpu().numpy().reshape(n, n, h, w)
    return x.transpose(0, 2, 1, 3).reshape(n * h, n * w)


@torch.no_grad()
def latent_traversal(model, *, dim: int = 0, n: int = 9, span: float = 3.0, base: torch.Tensor | None = None,
                     condition: dict[str, float] | None = None) -> np.ndarray:
    """Decoder means along latent coordinate ``dim`` from ``base`` (default 0): ``(n, *shape)``."""
    z = (base.clone().float().cpu() if base is not None else torch.zeros(model.config.latent)).repeat(n, 1)
    z[:, dim] = torch.linspace(-span, span, n)
    c = _sampling_condition(model, n, condition)
    return model.reconstruct_mean(z.to(model.device), c).float().cpu().numpy()


def _sampling_condition(model, n: int, condition) -> torch.Tensor | None:
    if not model.cond.active:
        return None
    raw, labels = model.cond.for_sampling(n, condition, torch.Generator().manual_seed(0))
    return model.cond(raw, labels)
