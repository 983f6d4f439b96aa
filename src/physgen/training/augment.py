"""Training batches transformed by the exact symmetries of a periodic spin lattice (``data.augment = "lattice"``).

The nearest-neighbour Ising model on an ``L × L`` periodic square lattice at field ``h = 0`` is invariant under
the ``L²`` translations, the eight rotations and reflections of the square (the point group D4) and the global
spin flip ``s → −s``: a configuration and its images have the same Boltzmann weight, so a model of the
ensemble may see any of them.  Each row of a batch gets its own uniformly drawn element of the group
(``8 · 2 · L²`` elements; a rectangular lattice keeps the four reflections of the rectangle), drawn from the
step's generator, so a resumed run sees the same images as an uninterrupted one.  The spin flip is left out
when the data were made at a field ``h ≠ 0`` (their ``h`` attribute), which breaks it.  On q-state (Potts)
lattices its place is taken by a uniformly random relabelling of the q states, the Potts model's S_q.  Data of
another lattice model (:mod:`physgen.lattice`) keep only the symmetries of that model, its ``symmetry``: the
triangular lattice's translations and inversion r → −r, and for a spin glass, whose quenched couplings break every
spatial symmetry, the spin flip alone.

The symmetries: e.g. Newman & Barkema, *Monte Carlo Methods in Statistical Physics* (1999), ch. 3.
"""
from __future__ import annotations

import torch

from physgen.errors import UserError
from physgen.physics.lattice import Torus


class LatticeSymmetries:
    """Random images of ``(B, L₁, L₂)`` spin lattices under the symmetry group (see module docstring)."""

    def __init__(self, shape: tuple[int, ...], flip: bool = True, group: str = "square", states: int | None = None):
        if len(shape) != 2:
            raise UserError(f"data.augment=lattice: needs 2-D lattices, the data have shape {tuple(shape)}; "
                            f"use data.augment=none")
        self.shape, self.flip, self.group, self.states = tuple(shape), bool(flip), group, states
        self.lattice = Torus(self.shape)

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """``x (B, L₁, L₂)`` -> the same rows, each moved by its own random group element
        (:meth:`physgen.physics.lattice.Torus.images`)."""
        B, (L1, L2), dev = len(x), self.shape, x.device
        draw = lambda high: torch.randint(high, (B,), generator=generator).to(dev)  # noqa: E731
        out = x
        if self.group == "square":
            swap = draw(2).bool() if L1 == L2 else None   # the transpose joins the reflections to make D4
            reflect = torch.stack([draw(2).bool(), draw(2).bool()], -1)
            out = self._moved(x, swap, reflect, torch.stack([draw(L1), draw(L2)], -1))
        elif self.group == "inversion":   # translations and r -> -r (both axes reflected together)
            both = draw(2).bool()
            out = self._moved(x, None, torch.stack([both, both], -1), torch.stack([draw(L1), draw(L2)], -1))
        if self.flip and self.states is not None:   # q states: a uniformly random relabelling per row
            perm = torch.rand((B, self.states), generator=generator).argsort(1).to(dev)
            flat = out.reshape(B, -1)
            return perm.gather(1, flat.round().long()).to(out.dtype).view_as(out)
        if self.flip:
            out = out * (1 - 2 * draw(2)).view(B, 1, 1).to(out.dtype)
        return out

    def _moved(self, x: torch.Tensor, swap, reflect, shift) -> torch.Tensor:
        image = self.lattice.images(swap=swap, reflect=reflect, shift=shift)      # (B, n)
        return x.reshape(len(x), -1).gather(1, image).view_as(x)

def resolve(name: str, kind: str, shape: tuple[int, ...], attrs: dict) -> LatticeSymmetries | None:
    """The batch transform of ``data.augment = name`` for data of ``kind`` and ``shape`` (None: no augmentation)."""
    if name == "none":
        return None
    if kind not in ("spins", "categorical"):
        raise UserError(f"data.augment={name}: the symmetries of a lattice apply to spin or q-state data, the data "
                        f"are {kind!r}; use data.augment=none")
    group = "square"
    if attrs.get("hamiltonian", "ising") != "ising":
        from physgen.lattice import registry

        group = registry.get(str(attrs["hamiltonian"])).symmetry
    states = int(attrs["n_states"]) if kind == "categorical" else None
    return LatticeSymmetries(shape, flip=field(attrs) == 0.0, group=group, states=states)


def field(attrs: dict) -> float:
    """The field h the data were made at (their ``h`` or ``hamiltonian_h`` attribute; 0 where they record none)."""
    return float(attrs.get("h", attrs.get("hamiltonian_h", 0.0)) or 0.0)


def check_flip_symmetric(config, attrs: dict) -> None:
    """A model made symmetric under s → −s (``model.z2 = on``) needs data made at h = 0 (UserError otherwise)."""
    h = field(attrs)
    if getattr(config, "z2", None) == "on" and h != 0.0:
        raise UserError(f"model.z2=on: the data were made at h = {h:g}, which breaks the s → −s symmetry; "
                        f"set model.z2=off")
