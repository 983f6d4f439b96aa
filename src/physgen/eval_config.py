"""The protocol of ``physgen evaluate`` (:class:`EvalConfig`): histogram bins, bootstrap resamples, the sample caps of
MMD and the classifier test, ... .  It lives apart from :mod:`physgen.metrics`, which loads torch, so that the
command line reads its defaults and ranges at start-up (``physgen evaluate --n-boot``, ``--max-samples``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from physgen.config import validate
from physgen.constraints import NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT, Constraint, Interval


@dataclass
class EvalConfig:
    """Protocol knobs (recorded in every entry's ``protocol``)."""

    bins: int = 50
    bins_2d: int = 20
    alpha: float = 0.5
    max_pair_features: int = 8
    n_boot: int = 200
    level: float = 0.68
    max_samples: int = 10_000
    mmd_groups: int = 50
    sigma: float = 1.0
    n_projections: int = 64
    fpd_batches: int = 10
    classifier: str = "hgb"
    test_fraction: float = 0.5

    constraints: ClassVar[dict[str, Constraint]] = {
        "bins": POSITIVE_INT, "bins_2d": POSITIVE_INT, "alpha": POSITIVE,   # a pseudo-count 0 allows infinite KL
        "level": Interval(float, 0, 1, closed="neither"), "n_boot": NON_NEGATIVE_INT,
        "max_samples": Interval(int, 2, None), "mmd_groups": Interval(int, 2, None)}

    def __post_init__(self) -> None:
        validate(self, None)
