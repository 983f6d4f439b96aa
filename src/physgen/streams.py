"""Named random streams: every seeded draw of the library, listed in one place.

Two kinds of stream, by how often a generator is made:

* **per run** (:data:`STREAMS`): the generator of a stream is seeded with the run's seed, the stream's own
  coordinates (an epoch, a block) and the stream's salt, ``[seed, *coordinates, salt]`` (NumPy's
  ``SeedSequence`` entropy), so two purposes never share draws and each is reproducible on its own;
* **per optimizer step** (:data:`STEP_STREAMS`): the randomness of step ``s`` on rank ``r`` for one purpose
  comes from a generator seeded with :func:`step_seed` ``(seed, r, s, purpose)``, so a checkpoint needs only
  ``(step, epoch, position)`` besides its tensors for a resumed run to reproduce an uninterrupted one.

The library never seeds the global generators for its own draws.

========================  ========  =================================================================
stream                    kind      what it draws
========================  ========  =================================================================
``validation-split``      run       which rows a run holds out (``data.val_fraction``)
``heldout-subsample``     run       the held-out rows kept in memory when a streamed file has too many
``fit-sample``            run       the training rows a streamed run's model and ``yeo-johnson`` are fitted on
``stream-order``          run       the order of a streamed epoch's blocks
``stream-block``          run       the order of the rows within one block of a streamed epoch
``epoch-order``           run       the order of the rows of an in-memory epoch
``tune-heldout``          run       the rows ``physgen tune`` holds out for judging its trials
``file-subsample``        run       the rows read from a file larger than ``data.max_memory`` outside training
``step``                  step      the noise of an optimizer step (latents, Gibbs chains, diffusion times)
``start``                 step      what a family draws once at the start of a fit (e.g. persistent chains)
``validate``              step      a validation pass
``preview``               step      the samples of a preview image
``quality``               step      the samples of a quality probe
``augment``               step      the lattice symmetries applied to a batch (``data.augment``)
========================  ========  =================================================================
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


#: the per-step streams and their index in :func:`step_seed`'s chain
STEP_STREAMS: dict[str, int] = {"step": 0, "start": 1, "validate": 2, "preview": 3, "quality": 4, "augment": 5}

_M64 = (1 << 64) - 1


def _splitmix64(z: int) -> int:
    """One SplitMix64 output (Steele, Lea & Flood 2014): a bijective 64-bit mixer."""
    z = (z + 0x9E3779B97F4A7C15) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def _chain(h: int, *values: int) -> int:
    """SplitMix64 chained over ``values`` from the 64-bit state ``h``."""
    for v in values:
        h = _splitmix64(h ^ (v & _M64))
    return h


def step_seed(seed: int, rank: int, step: int, purpose: str = "step") -> int:
    """63-bit seed of the generator of the per-step stream ``purpose`` (a key of :data:`STEP_STREAMS`) at optimizer
    step ``step`` on rank ``rank`` (SplitMix64 chained over the four integers: distinct inputs give decorrelated
    seeds; its cost: benchmarks/records/training.md)."""
    return _chain(_chain(0x57E9, seed, rank), step, STEP_STREAMS[purpose]) >> 1


def entropy(stream: str, seed: int, *coordinates: int) -> list[int]:
    """The seed material ``[seed, *coordinates, salt]`` of ``stream`` (a key of :data:`STREAMS`)."""
    return [int(seed), *(int(c) for c in coordinates), STREAMS[stream]]


def rng(stream: str, seed: int, *coordinates: int) -> np.random.Generator:
    """NumPy's generator of ``stream`` for ``seed`` (and ``coordinates``)."""
    return np.random.default_rng(entropy(stream, seed, *coordinates))
