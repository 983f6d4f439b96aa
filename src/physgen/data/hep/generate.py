"""Pythia 8 events as a Dataset in one call: what ``physgen data pythia`` writes, for Python and notebooks.

Same spec, ``n``, ``seed`` and ``workers`` give the same events as the command (both call
:func:`physgen.data.hep.shards.generate`).  Needs ``pip install 'physgen[hep]'``.
"""
from __future__ import annotations

from typing import Sequence

from physgen.data.io import Dataset


def pythia_dataset(process: str, ecm: float, n: int, *, features: Sequence[str] | None = None, seed: int = 0,
                   workers: int = 1, level: str = "hard", **options) -> Dataset:
    """``n`` events of ``process`` (``ttbar``, ``dijet``, ``z-ll``, ``w-lnu``) at √s = ``ecm`` GeV as a
    ``continuous`` Dataset ``(n, len(features))`` float32 with ``feature_names`` and the run's attributes
    (σ, versions, seed).  ``features`` default to the level's defaults (docs/hep.md; ``["s", "t", "y"]`` are
    the thesis' ŝ, t̂ in GeV² and the pair rapidity); ``options`` are the other fields of
    :class:`physgen.data.hep.pythia.Spec` (``on_shell``, ``pthat_min``, ``settings``, jet and lepton options)."""
    from physgen.data.hep import features as F
    from physgen.data.hep import pythia as P
    from physgen.data.hep import shards as S

    spec = P.Spec(process, float(ecm), level=level, **options)
    if level == "hadron":
        from physgen.data.hep.hadron import feature_names

        available = default = feature_names(spec.jets, spec.leptons)
    else:
        available, default = F.ALL_HARD_FEATURES, F.HARD_FEATURES
    names = F.parse_features(None if features is None else ",".join(features), available, default)
    shard = S.generate(spec, n, seed=seed, workers=workers)
    columns = dict(zip(default, shard.kin["hadron"].T)) if level == "hadron" else F.hard_features(shard.kin, spec.ecm)
    attrs = P.describe_run(spec, shard, seed=seed, workers=workers)
    return Dataset(F.select(columns, names).astype("float32"), "continuous",
                   attrs={**attrs, "feature_names": names}).validate(f"pythia {process}")
