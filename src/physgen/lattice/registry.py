"""Name -> lattice model family, for ``physgen data lattice``, ``physgen exact`` and ``--hamiltonian``.

Families are found through the ``physgen.lattice_models`` entry-point group (PEP 621
``[project.entry-points."physgen.lattice_models"]``), ``NAME = "package.module:Class"`` with ``Class`` a
:class:`~physgen.lattice.model.LatticeModel` subclass whose ``name`` is ``NAME``: a new model is one module plus
one entry-point line, in physgen or in any installed package.  :func:`register` adds one in-process (tests,
notebooks).
"""
from __future__ import annotations

from physgen import plugins
from physgen.errors import UserError

GROUP = "physgen.lattice_models"
_REGISTRY: dict[str, type] = {}


def register(cls: type) -> type:
    """Class decorator: make ``cls`` available under ``cls.name``."""
    _REGISTRY[cls.name] = cls
    return cls


def entry_points() -> dict[str, str]:
    return {**plugins.source_tree(GROUP), **plugins.installed(GROUP)}


def names() -> list[str]:
    return sorted(set(entry_points()) | set(_REGISTRY))


def get(name: str) -> type:
    """The family ``name``; an unknown name is one UserError listing the known ones."""
    if name not in _REGISTRY:
        target = entry_points().get(name)
        if target is None:
            raise UserError(f"unknown lattice model {name!r} (known: {', '.join(names())})")
        _REGISTRY[name] = plugins.load_named(f"lattice model {name!r}", name, target)
    return _REGISTRY[name]


def build(name: str, size: int, **kwargs):
    """An instance of the family ``name`` on an L×L lattice (keyword arguments of
    :class:`~physgen.lattice.model.LatticeModel`)."""
    return get(name)(size, **kwargs)


def from_attrs(attrs: dict, couplings: dict | None = None, *, size: int | None = None, where: str = "dataset"):
    """The model instance that attributes record (``hamiltonian``, scalar couplings ``hamiltonian_<key>``,
    ``size``, ``boundary``, and for quenched models ``disorder`` and ``disorder_seed`` or the ``couplings``
    ``{"Jx": …, "Jy": …}`` of a file's ``/hamiltonian`` group); a UserError when they record none."""
    name = attrs.get("hamiltonian")
    if name is None:
        raise UserError(f"{where}: records no lattice model (no attribute 'hamiltonian'; make it with "
                        f"`physgen data lattice`)")
    cls = get(str(name))
    params = {k[len("hamiltonian_"):]: v for k, v in attrs.items() if k.startswith("hamiltonian_")}
    if str(name) == "ising":
        params = {k: attrs[k] for k in ("J", "h") if k in attrs} | params
    stored = {"j" + k[1:]: v for k, v in (couplings or {}).items()} or None
    extra = {}
    if cls.quenched and "disorder_seed" in attrs:
        extra = {"disorder": str(attrs.get("disorder", "pm")), "disorder_seed": int(attrs["disorder_seed"])}
    elif cls.quenched and stored is None:
        raise UserError(f"{where}: model {name!r} has quenched couplings, but neither they nor their disorder seed "
                        f"are recorded")
    side = int(attrs.get("size", size if size is not None else 0))
    return cls(side, boundary=str(attrs.get("boundary", "periodic")), params=params, couplings=stored, **extra)


def from_dataset(ds, where: str = "dataset"):
    """The model instance a data file records (:func:`from_attrs` with its ``/hamiltonian`` couplings)."""
    return from_attrs(ds.attrs, ds.hamiltonian, size=int(ds.samples.shape[-1]), where=where)


def model_of(ds):
    """The lattice model whose energy a Dataset's observables use: None for the Ising model (the attributes ``J``
    and ``h`` give its energy) and for data of no lattice model, else :func:`from_dataset`."""
    if ds.attrs.get("hamiltonian", "ising") == "ising":
        return None
    return from_dataset(ds)
