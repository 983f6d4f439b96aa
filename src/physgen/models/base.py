"""The model contract shared by every family and the model-agnostic trainer.

A model knows its parameters and gives a loss (energy difference, negative ELBO, denoising error)
or, for two-player models, one adversarial step; it never owns the training loop.  Samplers own
Markov chains / reverse processes; the trainer owns devices, optimizers, checkpoints and logging.

Batches are ``dict[str, Tensor]``:

``"x"``       ``(B, *spec.shape)`` float32 in model space (spins as ±1, binary as 0/1, continuous as
              stored after the run's preprocessing)
``"cond"``    ``(B, len(spec.condition_names))`` float32, present when the run is conditioned
``"labels"``  ``(B,)`` int64, present when the run is conditioned on labels
"""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from physgen.errors import UserError


@dataclass(frozen=True)
class DataSpec:
    """What a model needs to know about its training data (saved with the run as JSON)."""

    kind: str
    shape: tuple[int, ...]
    feature_names: tuple[str, ...] | None = None
    condition_names: tuple[str, ...] = ()
    condition_values: dict[str, tuple[float, ...]] = field(default_factory=dict)  # distinct values seen
    n_labels: int | None = None

    @classmethod
    def from_dataset(cls, ds, condition: str | None = None) -> "DataSpec":
        """Spec of a :class:`physgen.data.Dataset`; ``condition`` is a condition name or ``"labels"``."""
        names: tuple[str, ...] = ()
        values: dict[str, tuple[float, ...]] = {}
        n_labels = None
        if condition == "labels":
            if ds.labels is None:
                raise UserError("--condition labels: the data file has no /labels")
            n_labels = int(ds.labels.max()) + 1
        elif condition is not None:
            if condition not in ds.conditions:
                have = ", ".join(sorted(ds.conditions)) or "none"
                raise UserError(f"--condition {condition}: the data file has no /conditions/{condition} (it has: {have})")
            names = (condition,)
            values = {condition: tuple(float(v) for v in np.unique(ds.conditions[condition]))}
        fn = ds.feature_names
        return cls(ds.kind, tuple(ds.shape), tuple(fn) if fn else None, names, values, n_labels)

    @property
    def n_features(self) -> int:
        return int(np.prod(self.shape))

    def condition_range(self, name: str) -> tuple[float, float]:
        vals = self.condition_values[name]
        return min(vals), max(vals)

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["shape"] = list(self.shape)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "DataSpec":
        return cls(d["kind"], tuple(d["shape"]), tuple(d["feature_names"]) if d.get("feature_names") else None,
                   tuple(d.get("condition_names", ())),
                   {k: tuple(v) for k, v in d.get("condition_values", {}).items()}, d.get("n_labels"))


class GenerativeModel(nn.Module):
    """Base class of every physgen model.

    Subclasses set ``name`` (the CLI name), ``config_class`` (a dataclass whose ``__post_init__``
    validates and raises :class:`UserError`), and implement :meth:`loss` (or, with
    ``adversarial = True``, :meth:`adversarial_step`) and :meth:`sample`.  State that must survive a
    resume (persistent chains, replay buffers) lives in registered buffers so it is checkpointed.
    """

    name: ClassVar[str] = "base"
    config_class: ClassVar[type] = object
    adversarial: ClassVar[bool] = False
    kinds: ClassVar[tuple[str, ...]] = ("spins", "binary", "continuous", "image")
    #: the family's fixed config overlay ``{"model": {...}, "train": {...}, "data": {...}}`` (see :meth:`defaults`)
    default_config: ClassVar[dict[str, Any]] = {}

    @classmethod
    def defaults(cls, spec: DataSpec) -> dict[str, Any]:
        """The family's default config overlay for data described by ``spec`` (a nested dict of raw values,
        sections ``model``, ``train``, ``data``): what ``physgen train`` uses before ``--config``, ``--set``
        and the flags.  Families override it to choose widths, batch sizes, learning rates and budgets per
        data kind; the base returns a copy of :attr:`default_config`."""
        return copy.deepcopy(cls.default_config)

    def __init__(self, config, spec: DataSpec):
        super().__init__()
        if spec.kind not in self.kinds:
            raise UserError(f"model {self.name!r} cannot model data of kind {spec.kind!r} "
                            f"(supported: {', '.join(self.kinds)})")
        self.config = config
        self.spec = spec

    # --- training -------------------------------------------------------------------------
    def loss(self, batch: dict[str, torch.Tensor], *, generator: torch.Generator
             ) -> tuple[torch.Tensor, dict[str, float]]:
        """Scalar loss to minimise and a dict of floats to log."""
        raise NotImplementedError

    #: True when :meth:`gradients` computes the gradient of :meth:`loss` in closed form (e.g. the RBM's
    #: contrastive divergence); the trainer then calls it instead of ``loss`` + ``backward`` (one process).
    closed_form_gradients: bool = False

    def gradients(self, batch: dict[str, torch.Tensor], *, generator: torch.Generator, value: bool = True
                  ) -> tuple[torch.Tensor | None, dict[str, float]]:
        """The value and logs of :meth:`loss`, its gradient written (accumulated) into the parameters'
        ``.grad`` directly, without an autograd graph (models with ``closed_form_gradients``).  With
        ``value=False`` (the trainer asks for the value only on the steps that end a logging window) the
        model may skip computing the loss value and return None in its place."""
        raise NotImplementedError

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """Parameters per optimizer; two-player models return e.g. generator/discriminator."""
        return {"model": [p for p in self.parameters() if p.requires_grad]}

    def adversarial_step(self, batch: dict[str, torch.Tensor], optimizers: dict[str, torch.optim.Optimizer],
                         *, generator: torch.Generator) -> dict[str, float]:
        """One update of every player (two-player models only); returns floats to log."""
        raise NotImplementedError

    def check_batch(self, batch: dict[str, torch.Tensor]) -> None:
        """Validate data before training (e.g. {0,1} vs ±1); raise UserError naming the fix."""

    # --- optional trainer hooks (added for physgen.training; defaults do nothing harmful) ------------
    checkpoint_version: ClassVar[int] = 1  # bump when the meaning/layout of saved tensors changes

    def on_train_start(self, data: dict[str, torch.Tensor], *, generator: torch.Generator) -> None:
        """Called once before the first step of a fresh run (not on resume) with the whole training set
        in model space on the training device (same keys as a batch): initialise data-dependent
        parameters (e.g. visible biases from data means) or persistent chains here."""

    def attach_callbacks(self, trainer) -> None:
        """Register extra trainer callbacks (``trainer.add_callback(event, fn)``), e.g. diagnostics."""

    def validate(self, batch: dict[str, torch.Tensor], *, generator: torch.Generator) -> dict[str, float]:
        """Metrics on a held-out batch (averaged by the trainer, logged as ``val_<key>``).
        Default: the training loss without gradients (nothing for adversarial models)."""
        if self.adversarial:
            return {}
        with torch.no_grad():
            loss, logs = self.loss(batch, generator=generator)
        return {"loss": float(loss), **{k: float(v) for k, v in logs.items()}}

    @torch.no_grad()
    def preview(self, *, generator: torch.Generator) -> np.ndarray | None:
        """An image (H, W) in [0, 1] saved by the trainer under ``previews/``; default: a 4x4 grid of
        samples when one sample is 2-D (Ising lattices, digits), else None."""
        if len(self.spec.shape) != 2:
            return None
        cond = ({name: float(sorted(v)[len(v) // 2]) for name, v in self.spec.condition_values.items()}
                if self.spec.condition_names else None)  # a trained value near the middle
        if self.spec.n_labels:
            cond = {"labels": 0}
        x = self.sample(16, generator=generator, condition=cond).detach().float().cpu().numpy()
        lo, hi = float(x.min()), float(x.max())
        x = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
        h, w = self.spec.shape
        grid = np.ones((4 * (h + 1) - 1, 4 * (w + 1) - 1), dtype=np.float32)
        for i, img in enumerate(x[:16]):
            r, c = divmod(i, 4)
            grid[r * (h + 1): r * (h + 1) + h, c * (w + 1): c * (w + 1) + w] = img
        return grid

    # --- generation and scoring -----------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator,
               condition: dict[str, float] | None = None) -> torch.Tensor:
        """``(n, *spec.shape)`` samples in model space."""
        raise NotImplementedError

    def log_prob(self, x: torch.Tensor, *, method: str, generator: torch.Generator,
                 **options: Any) -> tuple[torch.Tensor, dict[str, Any]]:
        """Per-sample log-likelihood ``(N,)`` (exact or a bound) and attributes (log Z ± error...)."""
        raise UserError(f"model {self.name!r} has no likelihood method {method!r}")

    @property
    def device(self) -> torch.device:
        for t in list(self.parameters()) + list(self.buffers()):
            return t.device
        return torch.device("cpu")
