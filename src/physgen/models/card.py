"""What describes a model family rather than computes: :class:`FamilyCard`, the family's card — its name and
description, its config dataclass, the data kinds it models, its defaults per data kind and step budgets, the
size keys ``physgen tune`` searches, its demo stage, its cost model (work per step and per sample), and what
``physgen models`` and the trainer show of it (networks, previews, report hooks).  Every family's model class
inherits one (:class:`physgen.models.base.GenerativeModel` lists it first), found through the family's
``physgen.models`` entry point; the maths a family supplies is the rest of the model contract."""
from __future__ import annotations

import copy
import warnings
from typing import Any, Callable, ClassVar

import numpy as np
import torch
from torch import nn

from physgen.budget import Budget
from physgen.errors import UserError
from physgen.models.contract import DemoStage, Hook
from physgen.models.spec import DataSpec


def overlay(*parts: dict[str, Any]) -> dict[str, Any]:
    """Merge config overlays section by section (later parts win), deep-copying the values:
    ``overlay({"train": {"lr": 1e-3}}, {"train": {"max_time": 60}}) == {"train": {"lr": 1e-3, "max_time": 60}}``."""
    out: dict[str, Any] = {}
    for part in parts:
        for section, values in part.items():
            out.setdefault(section, {}).update(copy.deepcopy(values))
    return out


#: a family's default budget, ``budget(steps)`` (:meth:`physgen.budget.Budget.default`)
budget = Budget.default


#: the size keys ``physgen tune`` searches for a family without :attr:`GenerativeModel.size_keys` (those its
#: config dataclass has)
FALLBACK_SIZE_KEYS = ("n_hidden", "latent", "hidden", "hidden_g", "hidden_d")


def kind_of(spec: DataSpec) -> str:
    """The data kind whose defaults apply: ``spins``, ``binary``, ``continuous``; ``image`` data (grey levels
    in [0, 1]) share the ``binary`` defaults, being lattices of pixels too."""
    return "binary" if spec.kind == "image" else spec.kind


def default_kinds(spec: DataSpec) -> tuple[str, ...]:
    """The :attr:`GenerativeModel.defaults_by_kind` entries that apply to ``spec``, in merge order: its
    :func:`kind_of`, then, for grey images, the family's own ``image`` entry (what differs from binary pixels)."""
    return (kind_of(spec), "image") if spec.kind == "image" else (kind_of(spec),)


#: the capabilities a family may declare (:attr:`FamilyCard.capabilities`), each with the members it brings
CAPABILITIES: dict[str, tuple[str, ...]] = {
    # the trainer calls adversarial_step(batch, optimizers, *, generator) with one optimizer per parameter group
    # (parameter_groups) instead of loss + backward
    "adversarial": ("adversarial_step", "parameter_groups"),
    # gradients(batch, *, generator, value) writes the gradient of loss into the parameters' .grad without a
    # graph (the RBM's contrastive divergence); the trainer calls it instead of loss + backward
    "closed-form-gradients": ("gradients",),
    # the family also trains without data, on a Hamiltonian alone (physgen train NAME --hamiltonian ising:
    # physgen.training.hamiltonian), its model.objective = "free-energy"; hamiltonian_defaults is its overlay
    "hamiltonian": ("hamiltonian_defaults",),
    # the family also classifies: n_classes and compare_classifiers(x_test, y_test, *, temperatures,
    # baseline_steps, seed) -> {classifier: {"value", "error", "n"}, ...}, which physgen evaluate RUN --data TEST
    # reports on labelled test data
    "classifier": ("n_classes", "compare_classifiers"),
}
#: boolean class attributes that an older family may still set to True for a capability: it gets the
#: capability, with a DeprecationWarning (:meth:`FamilyCard.__init_subclass__`)
LEGACY_FLAGS = {"adversarial": "adversarial", "closed_form_gradients": "closed-form-gradients",
                "trains_on_hamiltonian": "hamiltonian", "classifier": "classifier"}


def capabilities_of(family: Any) -> frozenset[str]:
    """The capabilities of a built model (its own answer, which a property may narrow by its options) or of a
    family's class (what its card declares)."""
    if not isinstance(family, type):
        return frozenset(family.capabilities)
    for klass in family.__mro__:
        declared = vars(klass).get("capabilities")
        if declared is not None and not isinstance(declared, property):
            return frozenset(declared)
    return frozenset()


class FamilyCard:
    """The description of a family (class attributes, each with a default here, so a family names only what
    differs; class methods of its configuration; and the display and cost methods of a built model)."""

    #: the registry / CLI name (``physgen train NAME``)
    name: ClassVar[str] = "base"
    #: one line shown by ``physgen models``
    description: ClassVar[str] = ""
    #: the ``[model]`` section's dataclass; its ``__post_init__`` validates and raises :class:`UserError`
    config_class: ClassVar[type] = object
    #: what the family can do beyond ``loss`` and ``sample``, a subset of :data:`CAPABILITIES`, which the trainer
    #: and the CLI read to choose their path (a built model whose answer depends on its options narrows it with a
    #: property, e.g. the RBM's closed form only without sparsity; :func:`capabilities_of`)
    capabilities: ClassVar[frozenset[str]] = frozenset()
    #: the sampler-registry field the family's ``sample`` hands over (:data:`physgen.samplers.registry.FIELDS`):
    #: every sampler of that field serves it by name (None: a sampler of its own, e.g. ancestral draws)
    sampler_field: ClassVar[str | None] = None
    #: data kinds the family can model (``DataSpec.kind``)
    kinds: ClassVar[tuple[str, ...]] = ("spins", "binary", "continuous", "image")
    #: the data the family is usually run on; sizes the networks of ``physgen models summary`` without --data
    default_spec: ClassVar[DataSpec] = DataSpec("continuous", (2,))
    #: bumped when the meaning or layout of the saved tensors changes (old checkpoints are then refused)
    checkpoint_version: ClassVar[int] = 1
    #: on CPU, :func:`physgen.training.data.draw` asks :meth:`sample` for at most this many samples per call
    #: (None: all at once) -- for families that run a large network many times per sample, whose
    #: activations for a big batch no longer fit in cache
    cpu_sample_chunk: ClassVar[int | None] = None
    #: the family's fixed config overlay ``{"model": {...}, "train": {...}, "data": {...}}``, the part of
    #: :meth:`defaults` that does not depend on the data
    default_config: ClassVar[dict[str, Any]] = {}
    #: overlays per data kind (``spins``, ``binary``, ``continuous``; ``image`` data take ``binary`` and then
    #: an ``image`` entry where a family has one, see :func:`default_kinds`) merged over :attr:`default_config`
    #: by :meth:`defaults`: widths, learning rates,
    #: sampler settings, the data transform the family needs, and the training budget (:func:`budget`)
    defaults_by_kind: ClassVar[dict[str, dict[str, Any]]] = {}
    #: ``[model]`` keys whose explicit setting by the user drops the family defaults of the keys listed with it,
    #: so that the user's choice wins over a default that contradicts it (the rbm: ``n_hidden`` asks for a dense
    #: RBM, which the spins default ``filters`` would refuse); ``config.toml`` records the resolved values
    default_conflicts: ClassVar[dict[str, tuple[str, ...]]] = {}
    #: ``physgen tune``'s built-in space: the ``[model]`` keys that set the network's size, per network kind
    #: (:meth:`network_kind`; ``"any"`` when the family builds one kind); None: :data:`FALLBACK_SIZE_KEYS`
    size_keys: ClassVar[dict[str, tuple[str, ...]] | None] = None
    #: the overlay that a run on a Hamiltonian puts over :meth:`defaults` (the user's ``--config``, ``--set`` and
    #: flags still win), e.g. a learning rate that suits the free energy rather than a likelihood
    hamiltonian_defaults: ClassVar[dict[str, Any]] = {}
    #: overlays of a Hamiltonian run by lattice size, ``{sites: overlay}``: each applies over
    #: :attr:`hamiltonian_defaults` to lattices of more than ``sites`` sites, in increasing order (a longer training
    #: budget for larger lattices)
    hamiltonian_size_defaults: ClassVar[dict[int, dict[str, Any]]] = {}
    #: the family's stage of ``physgen demo`` (None: not in the demo); read from the class that declares it,
    #: never inherited by a subclass
    demo: ClassVar[DemoStage | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Check the declared :attr:`capabilities`; fold a legacy flag set to True (:data:`LEGACY_FLAGS`) into them."""
        super().__init_subclass__(**kwargs)
        legacy = {cap for flag, cap in LEGACY_FLAGS.items() if vars(cls).get(flag) is True}
        if legacy:
            warnings.warn(f"model {cls.name!r}: flags {sorted(f for f in LEGACY_FLAGS if vars(cls).get(f) is True)} "
                          f"are capabilities now: capabilities = frozenset({sorted(legacy)})", DeprecationWarning,
                          stacklevel=2)
            cls.capabilities = capabilities_of(cls) | legacy
        unknown = capabilities_of(cls) - set(CAPABILITIES)
        if unknown:
            raise TypeError(f"model {cls.name!r}: unknown capabilities {sorted(unknown)} (known: {', '.join(CAPABILITIES)})")

    @classmethod
    def probe_samples(cls, spec: DataSpec) -> int | None:
        """The most held-out rows the training's quality probe compares samples with (None: the trainer's
        default): families whose sampler is costly (many network evaluations per sample) cap it, so that the
        probes stay a small share of the training.  A function of the data only, never of the machine."""
        return None

    def step_work(self, batch_size: int) -> float | None:
        """The work of one training step on ``batch_size`` rows, in the units of :meth:`sample_work` (None: not
        declared).  With both declared, the trainer bounds its quality checks to a share of the training's work
        (:mod:`physgen.training.probe`); a function of the configuration only, never of the machine."""
        return None

    def samples_in(self, batch: dict, rows: int) -> int:
        """The samples one training step on ``batch`` (``rows`` rows) learns from, which ``metrics.csv``'s
        ``samples_per_s`` counts: the rows themselves, unless the family draws its own samples per row."""
        return rows

    def sample_work(self, n: int) -> float | None:
        """The work of drawing ``n`` samples at one condition value with the default sampler, in the units of
        :meth:`step_work` (None: not declared)."""
        return None

    @classmethod
    def network_kind(cls, config: Any, spec: DataSpec) -> str:
        """The kind of network ``config`` builds for data ``spec`` (the :attr:`size_keys` entry that applies):
        the config's ``net`` or ``arch`` when it names one, else ``mlp`` for tabular data and ``cnn`` for
        lattices and images."""
        chosen = getattr(config, "net", None) or getattr(config, "arch", None) or "auto"
        if chosen != "auto":
            return chosen
        return "cnn" if len(spec.shape) in (2, 3) else "mlp"

    @classmethod
    def search_size_keys(cls, config: Any, spec: DataSpec) -> tuple[str, ...]:
        """The :attr:`size_keys` of the network ``config`` builds for ``spec``."""
        table = cls.size_keys
        if table is None:
            return FALLBACK_SIZE_KEYS
        return table.get("any") or table.get(cls.network_kind(config, spec), ())

    @classmethod
    def defaults(cls, spec: DataSpec) -> dict[str, Any]:
        """The family's default config overlay for data described by ``spec`` (a nested dict of raw values,
        sections ``model``, ``train``, ``data``): what ``physgen train`` uses before ``--config``, ``--set``
        and the flags.  The base merges :attr:`default_config` and the :attr:`defaults_by_kind` entry of
        the spec's kind; families whose defaults depend on more of the spec (e.g. on conditioning) extend it."""
        return overlay(cls.default_config, *(cls.defaults_by_kind.get(k, {}) for k in default_kinds(spec)))

    @classmethod
    def check_kind(cls, spec: DataSpec) -> None:
        """UserError unless the family models data of ``spec.kind`` (:attr:`kinds`)."""
        if spec.kind not in cls.kinds:
            raise UserError(f"model {cls.name!r} cannot model data of kind {spec.kind!r} "
                            f"(supported: {', '.join(cls.kinds)})")

    @classmethod
    def resolve(cls, config: Any, spec: DataSpec) -> Any:
        """``config`` with every data-dependent choice (``"auto"``) replaced by the concrete value the family
        takes for data like ``spec`` (the base: ``config`` unchanged).  Resolving twice gives the same config;
        an explicit choice that cannot fit the data is a UserError.  ``physgen train`` resolves once, before
        writing ``config.toml``, so a run records what it trained; :meth:`__init__` resolves again, so a
        config saved with ``"auto"`` builds the same model."""
        return config

    @classmethod
    def check_given(cls, config: Any, given: frozenset[str]) -> None:
        """Refuse (UserError) a combination of options the user set that the family cannot honour;
        ``given``: the dotted keys set by a config file, ``--set`` or a flag (:attr:`physgen.config.RunConfig.given`),
        so a value that happens to equal its default still counts as set.  The base accepts every combination."""

    def run_hooks(self, x: torch.Tensor) -> list[tuple[str, Hook]]:
        """``(event, hook)`` pairs the report layer calls during every fit with a read-only
        :class:`~physgen.models.contract.RunContext` (never the trainer), e.g. a GAN's loss curves and
        fixed-noise samples, reported as files through the context; called before every fit with the training
        samples ``x`` ``(N, *shape)`` in model space on the training device.  Default: none."""
        return []

    def networks(self) -> dict[str, tuple[list[nn.Module], Callable[[], Any] | None]]:
        """Name -> (modules whose parameters are counted together, a forward call through them on a dummy
        batch of two, or None when the model has parameters but no layers), for ``physgen models summary``.
        Default: the whole model as one network without a forward call."""
        return {"model": ([self], None)}

    def dummy_inputs(self, n: int = 2) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """``(x (n, *shape) zeros, cond (n, C) at the middle of each trained range or None, labels (n,) or
        None)``: inputs for :meth:`networks`' forward calls."""
        spec = self.spec
        cond = None
        if spec.condition_names:
            cond = torch.tensor([[sum(spec.condition_range(c)) / 2 for c in spec.condition_names]] * n)
        labels = torch.zeros(n, dtype=torch.long) if spec.n_labels else None
        return torch.zeros(n, *spec.shape), cond, labels

    @torch.no_grad()
    def preview(self, *, generator: torch.Generator, **sample_options: Any) -> np.ndarray | None:
        """An image (H, W) in [0, 1] saved by the trainer under ``previews/``; default: a 4x4 grid of
        samples when one sample is 2-D (Ising lattices, digits), else None.  ``sample_options`` go to
        :meth:`sample` (families with costly samplers override this to pass e.g. a shorter burn-in)."""
        if len(self.spec.shape) != 2:
            return None
        cond = ({name: float(sorted(v)[len(v) // 2]) for name, v in self.spec.condition_values.items()}
                if self.spec.condition_names else None)  # a trained value near the middle
        if self.spec.n_labels:
            cond = {"labels": 0}
        x = self.sample(16, generator=generator, condition=cond, **sample_options).detach().float().cpu().numpy()
        lo, hi = float(x.min()), float(x.max())
        x = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
        h, w = self.spec.shape
        grid = np.ones((4 * (h + 1) - 1, 4 * (w + 1) - 1), dtype=np.float32)
        for i, img in enumerate(x[:16]):
            r, c = divmod(i, 4)
            grid[r * (h + 1): r * (h + 1) + h, c * (w + 1): c * (w + 1) + w] = img
        return grid
