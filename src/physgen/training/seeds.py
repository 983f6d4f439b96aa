"""Per-step random generators: the randomness of optimizer step ``s`` on rank ``r`` for one purpose comes from
a generator seeded with :func:`step_seed` ``(seed, r, s, purpose)``, so a checkpoint needs only ``(step, epoch,
position)`` besides its tensors for a resumed run to reproduce an uninterrupted one."""
from __future__ import annotations

PURPOSES = {"step": 0, "start": 1, "validate": 2, "preview": 3, "quality": 4, "augment": 5}

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
    """63-bit seed of the generator for ``purpose`` at optimizer step ``step`` on rank ``rank``
    (SplitMix64 chained over the four integers: distinct inputs give decorrelated seeds; its cost:
    benchmarks/records/training.md)."""
    return _chain(_chain(0x57E9, seed, rank), step, PURPOSES[purpose]) >> 1
