"""Options of the normalizing flow ``flow`` (:mod:`physgen.models.flow`) and their checks.

:class:`FlowConfig` groups the transforms (neural splines or affine maps, their number, the MADE widths, the
spline bins, autoregressive or coupling passes), the dequantisation of discrete data and the logit margin of
data in [0, 1], and the label embedding.  ``auto`` choices are made by :meth:`physgen.models.flow.Flow.resolve`.

Every bad value is a :class:`~physgen.errors.UserError` naming the ``model.*`` option.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from physgen.constraints import NON_NEGATIVE_INT, POSITIVE_INT, WIDTHS, Constraint, Interval, Satisfies, validate


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

    constraints: ClassVar[dict[str, Constraint]] = {
        "transforms": POSITIVE_INT, "hidden": WIDTHS, "bins": POSITIVE_INT, "label_dim": NON_NEGATIVE_INT,
        "passes": Satisfies(lambda p: NON_NEGATIVE_INT.accepts(p) and p != 1, "0 (autoregressive) or >= 2 (2: coupling)"),
        "alpha": Interval(float, 0, 0.5, closed="neither")}

    def __post_init__(self) -> None:
        validate(self, "model")
        self.hidden = tuple(int(h) for h in self.hidden)

