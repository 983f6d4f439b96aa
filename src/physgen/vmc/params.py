"""Saving and loading the wave-function parameters as safetensors (no code runs on load).

Tensors: ``a (N·d,)``, ``b (H,)``, ``W (N·d, H)`` and, with a Padé–Jastrow factor, ``jastrow_alpha (1,)``
and ``jastrow_log_beta (1,)``, all float64; the metadata holds ``sigma``, ``particles`` and ``dim``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from physgen.atomic import write_bytes
from physgen.errors import UserError
from physgen.vmc.wavefunction import PadeJastrow, RBMWaveFunction


def save_params(path: str | Path, wf: RBMWaveFunction) -> Path:
    """Write ``wf`` atomically to ``path``."""
    from safetensors.numpy import save

    tensors = {"a": wf.a, "b": wf.b, "W": wf.W}
    if wf.jastrow is not None:
        tensors["jastrow_alpha"] = np.array([wf.jastrow.alpha])
        tensors["jastrow_log_beta"] = np.array([wf.jastrow.log_beta])
    meta = {"sigma": repr(float(wf.sigma)), "particles": str(wf.n_particles), "dim": str(wf.dim)}
    data = save({k: np.ascontiguousarray(v, dtype=np.float64) for k, v in tensors.items()}, metadata=meta)
    return write_bytes(path, data)


def load_params(path: str | Path) -> RBMWaveFunction:
    """Read a file written by :func:`save_params`."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            t = {k: f.get_tensor(k) for k in f.keys()}
        wf = RBMWaveFunction(a=t["a"], b=t["b"], W=t["W"], sigma=float(meta["sigma"]),
                             n_particles=int(meta["particles"]), dim=int(meta["dim"]))
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except Exception as exc:  # malformed header, missing tensor or metadata key
        raise UserError(f"{path}: not a physgen vmc parameter file ({str(exc).splitlines()[0][:120]})") from None
    if "jastrow_alpha" in t:
        wf.jastrow = PadeJastrow(float(t["jastrow_alpha"][0]), float(t["jastrow_log_beta"][0]))
    return wf
