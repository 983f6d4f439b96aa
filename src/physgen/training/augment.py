"""Training batches transformed by the exact symmetries of a periodic spin lattice (``data.augment = "lattice"``).

The nearest-neighbour Ising model on an ``L × L`` periodic square lattice at field ``h = 0`` is invariant under
the ``L²`` translations, the eight rotations and reflections of the square (the point group D4) and the global
spin flip ``s → −s``: a configuration and its images have the same Boltzmann weight, so a model of the
ensemble may see any of them.  Each row of a batch gets its own uniformly drawn element of the group
(``8 · 2 · L²`` elements; a rectangular lattice keeps the four reflections of the rectangle), drawn from the
step's generator, so a resumed run sees the same images as an uninterrupted one.  The spin flip is left out
when the data were made at a field ``h ≠ 0`` (their ``h`` attribute), which breaks it.

The symmetries: e.g. Newman & Barkema, *Monte Carlo Methods in Statistical Physics* (1999), ch. 3.
"""
from __future__ import annotations

import torch

from physgen.errors import UserError
from physgen.physics.lattice import Torus


class LatticeSymmetries:
    """Random images of ``(B, L₁, L₂)`` spin lattices under the symmetry group (see module docstring)."""

    def __init__(self, shape: tuple[int, ...], flip: bool = True):
        if len(shape) != 2:
            raise UserError(f"data.augment=lattice: needs 2-D lattices, the data have shape {tuple(shape)}; "
                            f"use data.augment=none")
        self.shape, self.flip = tuple(shape), bool(flip)
        self.lattice = Torus(self.shape)

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """``x (B, L₁, L₂)`` -> the same rows, each moved by its own random group element
        (:meth:`physgen.physics.lattice.Torus.images`)."""
        B, (L1, L2), dev = len(x), self.shape, x.device
        draw = lambda high: torch.randint(high, (B,), generator=generator).to(dev)  # noqa: E731
        swap = draw(2).bool() if L1 == L2 else None   # the transpose joins the reflections to make D4
        reflect = torch.stack([draw(2).bool(), draw(2).bool()], -1)
        shift = torch.stack([draw(L1), draw(L2)], -1)
        image = self.lattice.images(swap=swap, reflect=reflect, shift=shift)      # (B, n)
        out = x.reshape(B, -1).gather(1, image).view_as(x)
        if self.flip:
            out = out * (1 - 2 * draw(2)).view(B, 1, 1).to(out.dtype)
        return out

def resolve(name: str, kind: str, shape: tuple[int, ...], attrs: dict) -> LatticeSymmetries | None:
    """The batch transform of ``data.augment = name`` for data of ``kind`` and ``shape`` (None: no augmentation)."""
    if name == "none":
        return None
    if kind != "spins":
        raise UserError(f"data.augment={name}: the symmetries of a spin lattice apply to spin data, the data are "
                        f"{kind!r}; use data.augment=none")
    return LatticeSymmetries(shape, flip=field(attrs) == 0.0)


def field(attrs: dict) -> float:
    """The field h the data were made at (their ``h`` attribute; 0 where they record none)."""
    return float(attrs.get("h", 0.0) or 0.0)


def check_flip_symmetric(config, attrs: dict) -> None:
    """A model made symmetric under s → −s (``model.z2 = on``) needs data made at h = 0 (UserError otherwise)."""
    h = field(attrs)
    if getattr(config, "z2", None) == "on" and h != 0.0:
        raise UserError(f"model.z2=on: the data were made at h = {h:g}, which breaks the s → −s symmetry; "
                        f"set model.z2=off")
