"""The periodic lattice and its symmetry group (physgen.physics.lattice), against their definitions: the
translations form the group Z_L1 x ... x Z_Ld, the 2-D images form the space group of the box (order 8 L^2 on a
square, 4 L1 L2 on a rectangle), and every user of the group (the RBM's weight sharing, the quantum stack, the
augmentation) reads the same tables.  Exact integer checks: they cannot pass by chance."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from physgen.models.rbm.symmetry import Translations
from physgen.quantum.lattice import Lattice
from physgen.physics.lattice import Torus
from physgen.training.augment import LatticeSymmetries


@pytest.mark.parametrize("shape", [(5,), (3, 4), (4, 4), (2, 3, 2)])
def test_translations_are_the_cyclic_group(shape):
    lat = Torus(shape)
    T = lat.translations
    assert T.shape == (lat.n, lat.n) and np.array_equal(T[0], np.arange(lat.n))
    assert all(np.array_equal(np.sort(row), np.arange(lat.n)) for row in T)            # permutations
    assert len({row.tobytes() for row in T}) == lat.n                                     # all distinct
    for g, h in itertools.product(range(lat.n), repeat=2):                                # T_g T_h = T_{g+h}
        gh = lat.index(lat.coords[g] + lat.coords[h])
        assert np.array_equal(T[h][T[g]], T[gh])
    # a displacement is the translation that takes one site to the other
    D = lat.displacements
    assert all(T[D[i, j], j] == i for i in range(lat.n) for j in range(lat.n))


def _elements(shape):
    swaps = (False, True) if shape[0] == shape[1] else (False,)
    return [(swap, (r0, r1), (t0, t1)) for swap, r0, r1, t0, t1
            in itertools.product(swaps, (False, True), (False, True), range(shape[0]), range(shape[1]))]


def _space_group(shape):
    """``(G, n)`` gather tables of every element (the swap, the two reflections, the translations)."""
    elements = _elements(shape)
    return Torus(shape).images(swap=torch.tensor([e[0] for e in elements]) if shape[0] == shape[1] else None,
                               reflect=torch.tensor([e[1] for e in elements]),
                               shift=torch.tensor([e[2] for e in elements])).numpy()


@pytest.mark.parametrize("shape", [(4, 4), (3, 5)])
def test_images_form_the_space_group_of_the_box(shape):
    lat, square, elements = Torus(shape), shape[0] == shape[1], _elements(shape)
    tables = _space_group(shape)
    assert len({t.tobytes() for t in tables}) == (8 if square else 4) * lat.n   # all distinct: the whole group
    assert all(np.array_equal(np.sort(t), np.arange(lat.n)) for t in tables)
    # nearest neighbours stay nearest neighbours: each image is an automorphism of the periodic square lattice
    bonds = {frozenset((i, int(lat.index(lat.coords[i] + step)))) for i in range(lat.n) for step in ((0, 1), (1, 0))}
    for t in tables:
        assert {frozenset((int(t[a]), int(t[b]))) for a, b in map(tuple, bonds)} == bonds
    # the translations are among them (no swap, no reflection)
    plain = {t.tobytes() for t, e in zip(tables, elements) if not e[0] and not any(e[1])}
    assert plain == {row.tobytes() for row in lat.translations}


def test_every_user_reads_the_same_group():
    nqs = Lattice("square", 4, True)
    assert np.array_equal(nqs.translations, Torus((4, 4)).translations)
    assert np.array_equal(nqs.index(nqs.coords), np.arange(16)) and np.array_equal(nqs.coords[1], [1, 0])
    rbm = Translations((4, 4), filters=2)
    assert torch.equal(rbm.disp, torch.from_numpy(Torus((4, 4)).displacements))
    x = torch.arange(6 * 16, dtype=torch.float64).view(6, 4, 4)
    out = LatticeSymmetries((4, 4), flip=False)(x, torch.Generator().manual_seed(0))
    group = _space_group((4, 4))
    for b in range(6):   # each row is its own image under one element of the group
        assert any(torch.equal(out[b].flatten(), x[b].flatten()[torch.from_numpy(t)]) for t in group)

def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="sides"):
        Torus((0, 3))
    with pytest.raises(ValueError, match="2-D"):
        Torus((4,)).images(swap=None, reflect=torch.zeros(1, 1, dtype=torch.bool), shift=torch.zeros(1, 1, dtype=torch.long))
    with pytest.raises(ValueError, match="square"):
        Torus((3, 4)).images(swap=torch.tensor([True]), reflect=torch.zeros(1, 2, dtype=torch.bool),
                             shift=torch.zeros(1, 2, dtype=torch.long))
