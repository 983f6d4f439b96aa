"""The diffusion families' descriptions: the class constants :class:`~physgen.models.diffusion.DDPM`,
:class:`~physgen.models.diffusion.ScoreSDE` (and, through :class:`DiffusionCard`, ``flow-matching``) inherit.

:class:`DiffusionCard` holds what the families on the shared denoisers have in common: their usual data, the
optimiser overlay with a weight EMA, the samples per call on CPU and the cap on the quality probe's rows
(a function of the data only).  :class:`DDPMCard` and :class:`ScoreSDECard` subclass it with each family's
registry name, one-line description, config dataclass, size keys and config overlays per data kind (networks,
samplers and step budgets; docs/diffusion.md, benchmarks/records/diffusion.md).  Each model lists its card
first, so these values win by ordinary attribute lookup; only ``demo`` stays on ``DDPM`` itself: the demo
reads a family's stage from the class that declares it.
"""
from __future__ import annotations

from typing import Any, ClassVar

from physgen.models.base import DataSpec, budget, overlay
from physgen.models.diffusion_config import DDPMConfig, ScoreSDEConfig


class DiffusionCard:
    """Constants shared by the families on the diffusion denoisers (class attributes only, no state)."""

    default_spec: ClassVar[DataSpec] = DataSpec("continuous", (2,))
    default_config: ClassVar[dict] = {"train": {"batch_size": 256, "lr": 2e-3, "ema": 0.999}}
    # on CPU at most 128 samples per call: in larger batches the U-Net's activations fall out of the cache and
    # each sample costs more (benchmarks/records/diffusion.md)
    cpu_sample_chunk: ClassVar[int | None] = 128

    @classmethod
    def probe_samples(cls, spec: DataSpec) -> int | None:
        """Lattices and images: at most 150 held-out rows in the training's quality probe (each sample costs
        one network evaluation per reverse step), so that the probes stay near a tenth of the training."""
        return None if spec.kind == "continuous" else 150


class DDPMCard(DiffusionCard):
    """Constants of the ``ddpm`` family (class attributes only, no state)."""

    name: ClassVar[str] = "ddpm"
    sampler_field: ClassVar[str | None] = "vp-eps"
    size_keys: ClassVar[dict[str, tuple[str, ...]] | None] = {"mlp": ("width",), "unet": ("channels",)}
    description: ClassVar[str] = "DDPM (ε-prediction, linear/cosine schedule) with DPM-Solver++, ancestral and DDIM sampling"
    config_class: ClassVar[type] = DDPMConfig
    # recorded tt̄ and Ising runs (docs/diffusion.md) and the scoreboard (docs/scoreboard.md); the sampler is part
    # of the product: the default sampler is sde-dpm-solver++ with ``solver_steps`` network calls (docs/diffusion.md
    # compares it with the others); ``steps`` respaces the ancestral sampler of ``--sampler ddpm``
    # (``physgen sample --steps N`` overrides either)
    defaults_by_kind: ClassVar[dict[str, dict[str, Any]]] = {
        # tabular events: MLP 128 × 3 blocks, T = 500, Gaussianised features (benchmarks/records/diffusion.md)
        "continuous": overlay({"model": {"steps": 100}}, budget(55_000)),
        # spin lattices: U-Net [16, 32] whose time and temperature embedding scales and shifts the normalised
        # activations (film; as an offset before the normalisation the C and χ of the ordered phase missed),
        # T = 300, batch 32, a cosine decay over the budget; the ancestral sampler
        # with 100 respaced steps (with 50, 40 and fewer, and with the DPM-Solvers, ⟨|m|⟩ of the paramagnet
        # rises; σ² = β instead of β̃ disorders the lattice), its U-Net in bfloat16 where the CPU has bfloat16
        # instructions; with --sampler sde-dpm-solver++ they run on the time-even grid
        # (benchmarks/records/diffusion.md)
        "spins": overlay({"model": {"channels": [16, 32], "emb_dim": 64, "timesteps": 300, "sampler": "ddpm",
                                    "steps": 100, "solver_steps": 15, "solver_spacing": "time",
                                    "sample_dtype": "bfloat16", "film": True},
                          "train": {"batch_size": 32, "schedule": "cosine"}}, budget(10_000)),
        # binarized digits: U-Net [16, 32], 50 respaced steps, batch 64 (benchmarks/records/diffusion.md)
        "binary": overlay({"model": {"channels": [16, 32], "steps": 50, "solver_spacing": "time"},
                           "train": {"batch_size": 64}}, budget(8_000)),
        # grey 8x8 digits: logit space (saturated pixels reachable), U-Net [32, 64], batch 256
        # (benchmarks/records/diffusion.md)
        "image": overlay({"data": {"transform": "logit"}, "model": {"channels": [32, 64], "steps": 100},
                          "train": {"batch_size": 256}}, budget(3_500)),
    }


class ScoreSDECard(DiffusionCard):
    """Constants of the ``score-sde`` family (class attributes only, no state)."""

    name: ClassVar[str] = "score-sde"
    sampler_field: ClassVar[str | None] = "ve-score"
    size_keys: ClassVar[dict[str, tuple[str, ...]] | None] = {"mlp": ("width",), "unet": ("channels",)}
    description: ClassVar[str] = "score-based model, VE SDE, Fourier time features, DPM-Solver++ / Euler–Maruyama (PC)"
    config_class: ClassVar[type] = ScoreSDEConfig
    # no recorded quality run: the DDPM's networks per kind and budgets; the default sampler is sde-dpm-solver++
    # with ``solver_steps`` = 50 (the DDPM's choice, with more steps for a model whose SDE solver is unmeasured);
    # ``steps`` (fewer on lattices) is for ``--sampler euler-maruyama``
    defaults_by_kind: ClassVar[dict[str, dict[str, Any]]] = {
        "continuous": overlay({"data": {"transform": "standardize"}}, budget(50_000)),
        "spins": overlay({"model": {"channels": [16, 32], "emb_dim": 64, "steps": 100, "film": True},
                          "train": {"batch_size": 64}}, budget(3_000)),
        "binary": overlay({"model": {"channels": [16, 32], "steps": 100}, "train": {"batch_size": 64}}, budget(8_000)),
    }
