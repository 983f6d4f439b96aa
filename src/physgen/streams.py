"""Named random streams: every seeded draw outside the optimizer steps, listed in one table.

A stream's generator is seeded with the run's seed, the stream's own coordinates (an epoch, a block) and the
stream's salt, ``[seed, *coordinates, salt]`` (NumPy's ``SeedSequence`` entropy), so two purposes never share
draws and each is reproducible on its own.  The per-step generators of training (the step's noise, validation,
previews, the quality probe, augmentation) come from :func:`physgen.training.seeds.step_seed` and its
``PURPOSES``.  The library never seeds the global generators for its own draws.

========================  ===========================================================================
stream                    what it draws
========================  ===========================================================================
``validation-split``      which rows a run holds out (``data.val_fraction``)
``heldout-subsample``     the held-out rows kept in memory when a streamed file has too many
``fit-sample``            the training rows a streamed run's model and ``yeo-johnson`` are fitted on
``stream-order``          the order of a streamed epoch's blocks
``stream-block``          the order of the rows within one block of a streamed epoch
``epoch-order``           the order of the rows of an in-memory epoch
``tune-heldout``          the rows ``physgen tune`` holds out for judging its trials
``file-subsample``        the rows read from a file larger than ``data.max_memory`` outside training
========================  ===========================================================================
"""
from __future__ import annotations

import numpy as np

STREAMS: dict[str, int] = {
    "validation-split": 0x5A17,
    "heldout-subsample": 0x5A18,
    "fit-sample": 0xF175,
    "stream-order": 0xC4A7,
    "stream-block": 0xB0FF,
    "epoch-order": 0xDA7A,
    "tune-heldout": 0x7E57,
    "file-subsample": 0x5B5A,
}


def entropy(stream: str, seed: int, *coordinates: int) -> list[int]:
    """The seed material ``[seed, *coordinates, salt]`` of ``stream`` (a key of :data:`STREAMS`)."""
    return [int(seed), *(int(c) for c in coordinates), STREAMS[stream]]


def rng(stream: str, seed: int, *coordinates: int) -> np.random.Generator:
    """NumPy's generator of ``stream`` for ``seed`` (and ``coordinates``)."""
    return np.random.default_rng(entropy(stream, seed, *coordinates))
