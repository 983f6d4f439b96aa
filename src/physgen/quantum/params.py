"""Saving and loading the parameters of the quantum runs as float64 safetensors (no code runs on load).

* ``physgen vmc`` (:func:`save_params`, :func:`load_params`): tensors ``a (N·d,)``, ``b (H,)``, ``W (N·d, H)``
  and, with a Padé–Jastrow factor, ``jastrow_alpha (1,)`` (one per pair with fermions) and
  ``jastrow_log_beta (1,)``; the metadata holds ``sigma``, ``particles`` and ``dim`` (and ``fermions``,
  ``omega`` for a Slater determinant).
* ``physgen nqs`` (:func:`save_ansatz`): the ansatz's parameter arrays by name (complex ones as ``NAME.real``,
  ``NAME.imag``), with the class name in the metadata.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from physgen.atomic import write_bytes
from physgen.errors import UserError
from physgen.paths import as_path
from physgen.quantum.wavefunctions import PadeJastrow, RBMWaveFunction


def _write_float64(path: str | Path, tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> Path:
    """Write ``tensors`` as contiguous float64 safetensors with ``metadata``, atomically."""
    from safetensors.numpy import save

    data = save({k: np.ascontiguousarray(v, dtype=np.float64) for k, v in tensors.items()}, metadata=metadata)
    return write_bytes(path, data)


def save_params(path: str | Path, wf: RBMWaveFunction) -> Path:
    """Write ``wf`` atomically to ``path`` (a :class:`~physgen.quantum.slater.SlaterRBM` as its RBM, with
    ``fermions`` and ``omega`` in the metadata and one ``jastrow_alpha`` per pair)."""
    extra_meta = {}
    if hasattr(wf, "rbm"):
        extra_meta = {"fermions": "1", "omega": repr(wf.omega)}
        wf = wf.rbm
    tensors = {"a": wf.a, "b": wf.b, "W": wf.W}
    if wf.jastrow is not None:
        tensors["jastrow_alpha"] = np.atleast_1d(np.asarray(wf.jastrow.alpha, dtype=np.float64)).ravel()
        tensors["jastrow_log_beta"] = np.array([wf.jastrow.log_beta])
    meta = {"sigma": repr(float(wf.sigma)), "particles": str(wf.n_particles), "dim": str(wf.dim), **extra_meta}
    return _write_float64(path, tensors, meta)


def load_params(path: str | Path) -> RBMWaveFunction:
    """Read a file written by :func:`save_params`."""
    from safetensors.numpy import load

    try:  # the bytes, not the name: safetensors takes only UTF-8 names, a path may be any bytes
        data = as_path(path).read_bytes()
        t = load(data)
        meta = _metadata(data)
        wf = RBMWaveFunction(a=t["a"], b=t["b"], W=t["W"], sigma=float(meta["sigma"]),
                             n_particles=int(meta["particles"]), dim=int(meta["dim"]))
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except Exception as exc:  # malformed header, missing tensor or metadata key
        raise UserError(f"{path}: not a physgen vmc parameter file ({str(exc).splitlines()[0][:120]})") from None
    if "jastrow_alpha" in t:
        alpha = t["jastrow_alpha"]
        wf.jastrow = PadeJastrow(float(alpha[0]) if alpha.size == 1 else alpha, float(t["jastrow_log_beta"][0]))
    if meta.get("fermions") == "1":
        from physgen.quantum.slater import SlaterRBM

        try:
            return SlaterRBM(wf, float(meta["omega"]))
        except (KeyError, ValueError, UserError) as exc:
            raise UserError(f"{path}: not a physgen vmc parameter file ({exc})") from None
    return wf


def _metadata(data: bytes) -> dict[str, str]:
    """The ``__metadata__`` table of a safetensors file's header (an 8-byte little-endian length, then JSON)."""
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + size].decode("utf-8"))
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    return meta if isinstance(meta, dict) else {}


def save_ansatz(path: str | Path, ansatz) -> Path:
    """The lattice ansatz's parameter arrays as float64 safetensors (complex ones as ``NAME.real``,
    ``NAME.imag``), with the class name in the metadata."""
    tensors = {}
    for name, value in ansatz.tensors().items():
        if np.iscomplexobj(value):
            tensors[f"{name}.real"], tensors[f"{name}.imag"] = value.real, value.imag
        else:
            tensors[name] = value
    return _write_float64(path, tensors, {"ansatz": type(ansatz).__name__})
