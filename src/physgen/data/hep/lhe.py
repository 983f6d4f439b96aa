"""Les Houches Event files: read 2 → 2 events (pylhe) and write them back.

Reading takes, per event, the two incoming partons (status −1; ``p1`` is the one moving along +z, with
``x1 = E1 / E_beamA``) and the two outgoing particles of the 2 → 2 process (those whose mothers are the
two incoming partons, decayed or not; else the two final-state particles, after an s-channel
resonance), orders the outgoing pair as :func:`physgen.data.hep.features.order_outgoing` does for
Pythia events and returns the same kinematics dictionary, so an LHE file and ``physgen data pythia``
give features with the same names and conventions.

Writing produces a version-3.0 file with one ``<event>`` per row: the two incoming partons and the
two outgoing particles with momenta printed to full double precision, so reading it back gives the
same features bit for bit.  Colour flow is not recorded (columns ICOLUP are 0).

Reference: J. Alwall et al., "A standard format for Les Houches Event Files",
Comput. Phys. Commun. 176 (2007) 300, arXiv:hep-ph/0609017.
"""
from __future__ import annotations

import gzip
import os
import warnings
from pathlib import Path
from typing import Mapping

import numpy as np

from physgen.data.hep.features import order_outgoing
from physgen.errors import UserError
from physgen.paths import refuse_unreachable

INSTALL_HINT = "reading LHE files needs pylhe: pip install 'physgen[hep]' (or pip install pylhe)"
SUFFIXES = (".lhe", ".lhe.gz", ".lhef")


def is_lhe(path: str | os.PathLike) -> bool:
    """Whether ``path`` names an LHE file by its suffix (``.lhe``, ``.lhe.gz``, ``.lhef``)."""
    return str(path).lower().endswith(SUFFIXES)


def read_lhe(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """Kinematics ``p1..p4`` ``(N, 4)``, ``m3, m4, x1, x2``, ids and process ids ``(N,)`` of an LHE file,
    and its ``<init>`` information (beam energies, ``ecm``, cross-sections in pb)."""
    try:
        import pylhe
    except ImportError:
        raise UserError(INSTALL_HINT) from None
    path = Path(path)
    if not path.is_file():
        refuse_unreachable(path, str(path))  # a symlink loop or a denied permission, named
        raise UserError(f"{path}: no such file")
    rows: list[tuple] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lhe = pylhe.LHEFile.fromfile(str(path), with_attributes=False)
            init = _init_info(lhe.init, path)
            for k, event in enumerate(lhe.events):
                rows.append(_event_row(event, k, init, path))
    except UserError:
        raise
    except (ValueError, KeyError, IndexError, TypeError, OSError, EOFError, AttributeError, SyntaxError) as exc:
        text = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise UserError(f"{path}: not a readable LHE file ({text}), after {len(rows)} events") from None
    if not rows:
        raise UserError(f"{path}: no <event> blocks found (truncated or not an LHE file)")
    try:
        _check_complete(path)
    except (OSError, EOFError) as exc:
        raise UserError(f"{path}: truncated LHE file ({exc})") from None
    return _stack(rows), init


def _init_info(block, path: Path) -> dict:
    info = block.initInfo if hasattr(block, "initInfo") else block["initInfo"]
    ea, eb = float(info.energyA), float(info.energyB)
    if not (ea > 0 and eb > 0):
        raise UserError(f"{path}: <init> beam energies must be > 0, got {ea:g} and {eb:g}")
    procs = block.procInfo if hasattr(block, "procInfo") else block["procInfo"]
    sigma = [float(p.xSection) for p in procs]
    error = [float(p.error) for p in procs]
    return {"energy_a": ea, "energy_b": eb, "ecm": 2.0 * float(np.sqrt(ea * eb)),
            "beam_a": int(info.beamA), "beam_b": int(info.beamB),
            "sigma_pb": float(sum(sigma)), "sigma_err_pb": float(np.sqrt(sum(e * e for e in error)))}


def _event_row(event, k: int, init: dict, path: Path) -> tuple:
    parts = event.particles
    incoming = [p for p in parts if int(p.status) == -1]
    final = _outgoing(parts)
    if len(incoming) != 2 or len(final) != 2:
        raise UserError(f"{path}: event {k} has {len(incoming)} incoming and {len(final)} outgoing particles; "
                        "physgen reads 2 → 2 events only")
    a, b = incoming if float(incoming[0].pz) >= float(incoming[1].pz) else incoming[::-1]
    c, d = final[::-1] if order_outgoing(int(final[0].id), int(final[1].id)) else final
    four = [(float(p.e), float(p.px), float(p.py), float(p.pz)) for p in (a, b, c, d)]
    return (*four, float(c.m), float(d.m), float(a.e) / init["energy_a"], float(b.e) / init["energy_b"],
            int(a.id), int(b.id), int(c.id), int(d.id), int(event.eventinfo.pid))


def _outgoing(parts) -> list:
    """The 2 → 2 process' outgoing pair: the two particles made directly by the incoming partons
    (mothers 1 and 2, status 1 or 2: so decayed tops count), else the two final-state particles
    (an s-channel resonance such as Z/γ* → ℓℓ)."""
    direct = [p for p in parts if int(p.status) in (1, 2) and (int(p.mother1), int(p.mother2)) == (1, 2)]
    if len(direct) == 2:
        return direct
    return [p for p in parts if int(p.status) == 1]


def _stack(rows: list[tuple]) -> dict[str, np.ndarray]:
    cols = list(zip(*rows))
    kin = {key: np.array(cols[i], dtype=np.float64) for i, key in enumerate(("p1", "p2", "p3", "p4"))}
    for i, key in enumerate(("m3", "m4", "x1", "x2"), start=4):
        kin[key] = np.array(cols[i], dtype=np.float64)
    for i, key in enumerate(("id1", "id2", "id3", "id4", "code"), start=8):
        kin[key] = np.array(cols[i], dtype=np.int64)
    return kin


def _check_complete(path: Path) -> None:
    """A file cut short loses its closing tag: refuse it rather than import part of it."""
    if path.name.lower().endswith(".gz"):
        tail = b""
        with gzip.open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                tail = (tail + chunk)[-4096:]
    else:
        with open(path, "rb") as f:
            f.seek(max(0, path.stat().st_size - 4096))
            tail = f.read()
    if b"</LesHouchesEvents>" not in tail:
        raise UserError(f"{path}: truncated LHE file (no closing </LesHouchesEvents> tag)")


def write_lhe(path: str | os.PathLike, kin: Mapping[str, np.ndarray], *, ecm: float, sigma_pb: float = 1.0,
              sigma_err_pb: float = 0.0, process_id: int = 1, overwrite: bool = False) -> Path:
    """Write 2 → 2 events ``kin`` (as returned by :func:`read_lhe` or Pythia) as an LHE file, atomically.

    ``ecm`` is √s of symmetric pp beams in GeV; ``sigma_pb`` ± ``sigma_err_pb`` goes to the ``<init>`` block.
    Events have unit weight (IDWTUP = 3).
    """
    from physgen.atomic import atomic_path

    n = len(kin["m3"])
    eb = float(ecm) / 2.0
    lines = ['<LesHouchesEvents version="3.0">', "<header>", "<!-- written by physgen -->", "</header>", "<init>",
             f"2212 2212 {eb!r} {eb!r} 0 0 0 0 3 1", f"{float(sigma_pb)!r} {float(sigma_err_pb)!r} 1.0 {int(process_id)}",
             "</init>"]
    codes = kin.get("code", np.full(n, process_id))
    for i in range(n):
        lines += ["<event>", f"4 {int(codes[i])} 1.0 -1.0 -1.0 -1.0"]
        for key, status, mass, pid in (("p1", -1, 0.0, "id1"), ("p2", -1, 0.0, "id2"),
                                       ("p3", 1, kin["m3"][i], "id3"), ("p4", 1, kin["m4"][i], "id4")):
            e, px, py, pz = (float(v) for v in kin[key][i])
            moth = "0 0" if status < 0 else "1 2"
            lines.append(f"{int(kin[pid][i])} {status} {moth} 0 0 {px!r} {py!r} {pz!r} {e!r} {float(mass)!r} 0.0 9.0")
        lines.append("</event>")
    lines.append("</LesHouchesEvents>")
    data = ("\n".join(lines) + "\n").encode()
    with atomic_path(path, overwrite=overwrite) as tmp:
        if str(path).lower().endswith(".gz"):
            with gzip.open(tmp, "wb") as f:
                f.write(data)
        else:
            Path(tmp).write_bytes(data)
    return Path(path)


def lhe_dataset(path: str | os.PathLike, features: list[str] | None = None):
    """An LHE file as a ``continuous`` :class:`~physgen.data.Dataset` of hard-level features
    (default: every feature of ``physgen data pythia --level hard``, names and conventions alike)."""
    from physgen.data import Dataset
    from physgen.data.hep import features as F

    kin, init = read_lhe(path)
    names = list(features) if features else list(F.HARD_FEATURES)
    names = F.parse_features(",".join(names), F.ALL_HARD_FEATURES, F.HARD_FEATURES)
    values = F.select(F.hard_features(kin, init["ecm"]), names)
    if not np.all(np.isfinite(values)):
        raise UserError(f"{path}: events with non-finite features (massless outgoing particles along the beam?)")
    attrs = {"source": "lhe", "source_file": Path(path).name, "ecm": init["ecm"], "sigma_pb": init["sigma_pb"],
             "sigma_err_pb": init["sigma_err_pb"], "beams": [init["beam_a"], init["beam_b"]], "feature_names": names}
    return Dataset(values.astype(np.float32), "continuous", attrs=attrs)
