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


def recorded(attrs: dict, size: int | None = None, where: str = "the run's training data"):
    """The model instance attributes record, as :func:`from_attrs`, where ``hamiltonian`` defaults to the Ising
    model whose ``J`` (``h``, ``boundary``: the layout of ``physgen data ising``) they give; None where they record
    neither."""
    name = str(attrs.get("hamiltonian", "ising"))
    if name == "ising" and "J" not in attrs and "hamiltonian_J" not in attrs:
        return None
    return from_attrs({**attrs, "hamiltonian": name}, size=size, where=where)


def from_config(cfg, size: int, states: int | None = None):
    """The model a family's config names for a Hamiltonian run (``model.hamiltonian``): ``model.J`` and
    ``model.h`` where the model has them, its other parameters from ``model.params`` (the number of states q of
    q-state data: ``states``), ``model.boundary``, and for a quenched model the couplings drawn from
    ``model.disorder`` and ``model.disorder_seed``, on an ``size``² lattice."""
    cls = get(cfg.hamiltonian)
    params = {k: float(getattr(cfg, k)) for k in ("J", "h") if k in cls.params}
    params.update(dict(cfg.params))
    if states is not None and "q" in cls.params:
        params["q"] = states
    extra = {"disorder": cfg.disorder, "disorder_seed": cfg.disorder_seed} if cls.quenched else {}
    return cls(int(size), boundary=cfg.boundary, params=params, **extra)


def from_dataset(ds, where: str = "dataset"):
    """The model instance a data file records (:func:`from_attrs` with its ``/hamiltonian`` couplings)."""
    return from_attrs(ds.attrs, ds.hamiltonian, size=int(ds.samples.shape[-1]), where=where)


def model_of(ds):
    """The lattice model whose energy a Dataset's observables use: the model the file records
    (:func:`from_dataset`; the Ising model of its ``J``, ``h`` and ``boundary`` for ``physgen data ising``
    files), the Ising model with J = 1, h = 0 for L×L spins that record none, None for other data."""
    x = ds.samples
    if ds.kind not in ("spins", "categorical") or x.ndim != 3 or x.shape[1] != x.shape[2]:
        return None
    if ds.attrs.get("hamiltonian", "ising") != "ising":
        return from_dataset(ds)
    if ds.kind != "spins":
        return None
    return recorded(ds.attrs, int(x.shape[-1]), where="dataset") or build("ising", int(x.shape[-1]))
