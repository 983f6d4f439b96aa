"""Exact thermodynamics of any nearest-neighbour lattice model by a site-by-site transfer matrix.

The partition function Z(β) = Σ_s exp(−β E(s)) of an L×L model (:mod:`physgen.lattice.model`) is summed row by row,
one site at a time (the "sparse" transfer matrix of Baxter's corner-transfer and of Bhanot, J. Stat. Phys. 60, 55,
1990).  The frontier holds the L sites that still have unsummed bonds: after site (r, j) it is row r's columns
0 … j and row r−1's columns j+1 … L−1.  Adding site (r, j) replaces column j's value (the site above) by the new
value t and multiplies by exp(−β ε), where ε collects the bonds of (r, j) to the site above, to its left, to the
diagonal neighbour (r−1, j+1) of the triangular lattice, the row's wrapping bond and the field.  On the torus the
first row is held fixed (a batch index of q^L values) and the last row's bonds to it close the trace; the
triangular torus also keeps the value of (r−1, 0) for the wrapping diagonal bond.  The cost is
O(L² q^(2L+1)) on the torus and O(L² q^(L+1)) with open boundaries, against q^(L²) for enumeration.

The first two β-derivatives are carried along exactly: with w = exp(−βε), a frontier vector V and its derivatives
V′, V″ become w V, w (V′ − ε V) and w (V″ − 2ε V′ + ε² V).  Then, per site (N = L²),

    f = −T ln Z / N,   u = −(∂ ln Z/∂β) / N,   c = β² (∂² ln Z/∂β²) / N,   s = (u − f) / T.

The frontier is rescaled at every site (its log kept), so any temperature is safe in float64.  At zero field a
global relabeling of the states (the spin flip; a cyclic shift of Potts states) keeps every energy, so the torus
fixes the first site's state and multiplies Z by q (:func:`first_rows`): q times less work and memory.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from physgen.errors import UserError
from physgen.lattice.model import LatticeModel

MAX_ENTRIES = 5 * 10 ** 7   # frontier entries (q^L, times q^L on the torus): about 3 GB of work arrays


@dataclass(frozen=True)
class Exact:
    """Per-site thermodynamics at one temperature: ``log_z`` (total), ``free_energy`` f, ``energy`` u,
    ``entropy`` s and ``specific_heat`` c."""

    temperature: float
    log_z: float
    free_energy: float
    energy: float
    entropy: float
    specific_heat: float

    def as_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def _symmetric(model: LatticeModel) -> bool:
    """Whether a global relabeling of the states (the spin flip, a cyclic shift of Potts states) keeps every
    energy: at zero field, for the state spaces that declare it."""
    return model.h == 0 and getattr(model.space, "relabeling_symmetric", False)


def first_rows(model: LatticeModel) -> int:
    """How many first rows the torus holds fixed: q^L, or q^(L−1) where a global relabeling keeps the energy
    (:func:`_symmetric`), so that fixing the first site's state and multiplying Z by q loses nothing."""
    q, L = model.space.q, model.size
    return q ** (L - 1) if _symmetric(model) else q ** L


def _count(q: int, L: int, torus: bool, triangular: bool, symmetric: bool) -> int:
    if not torus:
        return q ** L
    return q ** (L - int(symmetric)) * q ** (L + int(triangular))


def entries(model: LatticeModel) -> int:
    """Frontier entries the solver needs for ``model`` (a continuous field: check_size refuses it)."""
    if model.space.q is None:
        check_size(model)
    return _count(model.space.q, model.size, model.boundary == "periodic", model.triangular, _symmetric(model))


def check_size(model: LatticeModel) -> None:
    """A UserError stating the limit when ``model`` is beyond the solver (or is a continuous field)."""
    if model.space.q is None:
        raise UserError(f"{model.name}: the transfer matrix sums over discrete states; a continuous field has none "
                        f"(its classical reference is hmc data)")
    if entries(model) > MAX_ENTRIES:
        q, L = model.space.q, model.size
        shape = (q, model.boundary == "periodic", model.triangular, _symmetric(model))
        largest = max(n for n in range(2, L + 1) if _count(q, n, *shape[1:]) <= MAX_ENTRIES)
        raise UserError(f"{model.name}: the transfer matrix of a {L}x{L} {model.boundary} lattice with q={q} needs "
                        f"{entries(model):.2g} frontier entries, over the limit {MAX_ENTRIES:.0e} "
                        f"(the largest {model.boundary} size for this model is L={largest})")


def solve(model: LatticeModel, temperatures) -> list[Exact]:
    """Exact per-site thermodynamics of ``model`` at each temperature (T > 0)."""
    check_size(model)
    from physgen.memory_guard import require

    require(10 * 8 * entries(model), what=f"the transfer matrix of {model.describe()}", reduce="use a smaller lattice")
    return [_solve_one(model, float(T)) for T in temperatures]


def exact_values(model: LatticeModel, temperature: float) -> dict | None:
    """``{"method": "transfer matrix", "free_energy", "energy", "entropy", "specific_heat"}`` per site at
    ``temperature``, or None where the lattice is beyond the solver."""
    if entries(model) > MAX_ENTRIES:
        return None
    row = solve(model, [temperature])[0]
    return {"method": "transfer matrix", "free_energy": row.free_energy, "energy": row.energy,
            "entropy": row.entropy, "specific_heat": row.specific_heat}


def _along(vec: np.ndarray, axis: int, ndim: int) -> np.ndarray:
    shape = [1] * ndim
    shape[axis] = len(vec)
    return vec.reshape(shape)


def _solve_one(model: LatticeModel, T: float) -> Exact:
    if not (math.isfinite(T) and T > 0):
        raise UserError(f"temperature must be finite and > 0, got {T!r}")
    beta, L, space = 1.0 / T, model.size, model.space
    q, vals = space.q, space.values
    J = model.active
    torus = model.boundary == "periodic"
    extra = int(torus and model.triangular)
    pair = space.bond(vals[:, None], vals[None, :])           # (q, q): b(a, t)
    site = space.site(vals) * model.h                         # (q,)
    nd = 1 + L + extra                                        # batch axis, L columns, the kept value
    col = lambda j: 1 + j  # noqa: E731

    # row 0: every configuration of the first row with its own bonds and field
    grids = np.stack(np.meshgrid(*[np.arange(q)] * L, indexing="ij"), 0).reshape(L, -1)   # (L, q^L)
    e0 = sum(J["jx"][0, j] * pair[grids[j], grids[(j + 1) % L]] for j in range(L)) + site[grids].sum(0)
    fixed = first_rows(model) if torus else 1           # first rows with s_00 = 0 stand for all (first_rows)
    if torus:
        V = np.zeros((fixed, q ** L))
        V[np.arange(fixed), np.arange(fixed)] = 1.0
        eps0 = np.broadcast_to(e0, V.shape)
    else:
        V, eps0 = np.ones((1, q ** L)), e0[None, :]
    w = np.exp(-beta * (eps0 - eps0.min()))
    V = [w * V, w * (-eps0) * V, w * eps0 ** 2 * V]
    log_scale = -beta * float(eps0.min()) + (math.log(q ** L / fixed) if torus else 0.0)
    V = [v.reshape((len(v),) + (q,) * L + (1,) * extra) for v in V]

    for r in range(1, L):
        for j in range(L):
            if extra and j == 0:   # keep (r−1, 0): sum the old kept value out, then copy column 0 into it
                eye = np.eye(q).reshape((1, q) + (1,) * (L - 1) + (q,))
                V = [v.sum(-1, keepdims=True) * eye for v in V]
            terms = []                                        # (coupling, axis of the neighbour, neighbour first?)
            if j > 0:
                terms.append((J["jx"][r, j - 1], col(j - 1)))
            if j == L - 1 and torus:
                terms.append((J["jx"][r, L - 1], col(0)))
            if "jd" in J:
                if j < L - 1:
                    terms.append((J["jd"][r - 1, j + 1], col(j + 1)))
                elif extra:
                    terms.append((J["jd"][r - 1, 0], nd - 1))
            up = J["jy"][r - 1, j]
            new = [[], [], []]
            for t in range(q):
                eps = _along(up * pair[:, t], col(j), nd) + site[t]
                for c, axis in terms:
                    eps = eps + _along(c * pair[:, t], axis, nd)
                w = np.exp(-beta * eps)
                a, b, d = w * V[0], w * (V[1] - eps * V[0]), w * (V[2] - 2 * eps * V[1] + eps ** 2 * V[0])
                for k, x in enumerate((a, b, d)):
                    new[k].append(x.sum(col(j), keepdims=True))
            V = [np.concatenate(n, axis=col(j)) for n in new]
            scale = float(np.abs(V[0]).max())
            V = [v / scale for v in V]
            log_scale += math.log(scale)

    if extra:
        V = [v.sum(-1) for v in V]
    if torus:   # the last row's bonds to the first row (batch index f with digits grids[:, f])
        eps = _closing_energy(model, pair, grids[:, :fixed])
        w = np.exp(-beta * eps)
        z0, z1, z2 = (w * V[0]).sum(), (w * (V[1] - eps * V[0])).sum(), (w * (V[2] - 2 * eps * V[1] + eps ** 2 * V[0])).sum()
    else:
        z0, z1, z2 = V[0].sum(), V[1].sum(), V[2].sum()
    n = L * L
    log_z = math.log(z0) + log_scale
    d1, d2 = z1 / z0, z2 / z0 - (z1 / z0) ** 2
    f, u, c = -T * log_z / n, -d1 / n, beta ** 2 * d2 / n
    return Exact(T, float(log_z), float(f), float(u), float((u - f) / T), float(c))


def _closing_energy(model: LatticeModel, pair: np.ndarray, grids: np.ndarray) -> np.ndarray:
    """``(F, q, …, q)``: the energy of the bonds from the last row (the frontier's columns) to the first rows
    ``grids (L, F)`` (batch index f): ``jy[L−1, j] b(s_L−1,j, s_0,j)`` and, triangular,
    ``jd[L−1, j] b(s_L−1,j, s_0,j−1)``."""
    L, q, F = model.size, model.space.q, grids.shape[1]
    J = model.active
    eps = np.zeros((F,) + (q,) * L)
    for j in range(L):
        shape = (F,) + (1,) * j + (q,) + (1,) * (L - j - 1)
        eps = eps + (J["jy"][L - 1, j] * pair[:, grids[j]].T).reshape(shape)
        if "jd" in J:
            eps = eps + (J["jd"][L - 1, j] * pair[:, grids[(j - 1) % L]].T).reshape(shape)
    return eps
