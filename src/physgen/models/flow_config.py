"""Options of the normalizing flow ``flow`` (:mod:`physgen.models.flow`) and their checks.

:class:`FlowConfig` groups the transforms (neural splines or affine maps, their number, the MADE widths, the
spline bins, autoregressive or coupling passes), the dequantisation of discrete data and the logit margin of
data in [0, 1], and the label embedding.  ``auto`` choices are made by :meth:`physgen.models.flow.Flow.resolve`.

Every bad value is a :class:`~physgen.errors.UserError` naming the ``model.*`` option.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from physgen.config import registry_choice, validate
from physgen.constraints import FINITE, NON_NEGATIVE_INT, POSITIVE_INT, WIDTHS, Constraint, Each, Interval, Satisfies


@dataclass
class FlowConfig:
    """Options of ``flow`` (``--set model.NAME=VALUE``)."""

    flow: Literal["nsf", "maf"] = "nsf"  # rational-quadratic splines | affine
    transforms: int = 5                  # autoregressive transforms
    hidden: tuple[int, ...] = (128, 128)  # MADE hidden widths per transform
    bins: int = 8                        # nsf: spline bins on [−5, 5]
    passes: int = 0                      # 0: fully autoregressive; 2: coupling layers (fast sampling)
    dequantize: Literal["auto", "uniform", "none"] = "auto"  # discrete data: auto = uniform; none: continuous only
    alpha: float = 0.05                  # [0, 1] data: logit margin, s = α + (1 − 2α) y
    label_dim: int = 0                   # labels: 0 = one-hot, > 0 = learned embedding size
    # fields (kind "field"): the coupling flow of physgen.models.lattice_flow, trained on data or on an action
    objective: Literal["likelihood", "free-energy"] = "likelihood"
    hamiltonian: str = registry_choice("phi4", "physgen.lattice.registry:names")   # free-energy: the lattice model
    params: dict[str, float] = field(default_factory=dict)   # free-energy: its parameters (m2, lam)
    J: float = 1.0                       # free-energy: set by the Hamiltonian run (a field model has no J)
    h: float = 0.0                       # free-energy: set by the Hamiltonian run (a field model has no h)
    boundary: Literal["periodic", "open"] = "periodic"   # free-energy: the lattice's boundary
    disorder: Literal["pm", "gauss"] = "pm"   # free-energy: set by the Hamiltonian run (no quenched fields)
    disorder_seed: int = 0                    # free-energy: set by the Hamiltonian run
    samples: int = 256                   # free-energy: draws per temperature per step
    zero_mode: bool = False              # fields: a monotone spline of the lattice mean after the couplings

    constraints: ClassVar[dict[str, Constraint]] = {
        "transforms": POSITIVE_INT, "hidden": WIDTHS, "bins": POSITIVE_INT, "label_dim": NON_NEGATIVE_INT,
        "passes": Satisfies(lambda p: NON_NEGATIVE_INT.accepts(p) and p != 1, "0 (autoregressive) or >= 2 (2: coupling)"),
        "alpha": Interval(float, 0, 0.5, closed="neither"), "samples": POSITIVE_INT, "params": Each(FINITE),
        "J": FINITE, "h": FINITE, "disorder_seed": NON_NEGATIVE_INT}

    def __post_init__(self) -> None:
        validate(self, "model")
        self.hidden = tuple(int(h) for h in self.hidden)
        self.params = {str(k): float(v) for k, v in dict(self.params).items()}

