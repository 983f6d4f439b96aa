"""pp collision events from Pythia 8 (``pythia8mc``): settings, checks, one seeded shard, attributes.

:func:`generate_shard` runs one Pythia instance with one seed (sharding over processes:
:mod:`physgen.data.hep.shards`).  At hard level the parton showers, hadronisation and resonance decays are off and the
2 → 2 process record is read directly (features: :mod:`physgen.data.hep.features`).

Reference: C. Bierlich et al., "A comprehensive guide to the physics and usage of PYTHIA 8.3",
SciPost Phys. Codebases 8 (2022), arXiv:2203.11601.
"""
from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np

from physgen.data.hep.features import order_outgoing
from physgen.errors import UserError, as_written

INSTALL_HINT = "physgen data pythia needs Pythia 8: pip install 'physgen[hep]' (or pip install pythia8mc==8.317.2)"
PROCESSES = {
    "ttbar": ("Top:gg2ttbar = on", "Top:qqbar2ttbar = on"),
    "dijet": ("HardQCD:all = on",),
    "z-ll": ("WeakSingleBoson:ffbar2ffbar(s:gmZ) = on", "23:onMode = off", "23:onIfAny = 11 13",
             "PhaseSpace:mHatMin = 60"),
    "w-lnu": ("WeakSingleBoson:ffbar2ffbar(s:W) = on", "24:onMode = off", "24:onIfAny = 11 13"),
}
DEFAULT_PTHAT_MIN = {"dijet": 20.0}
PDF_NAMES = {13: "NNPDF2.3 QCD+QED LO, alpha_s(M_Z) = 0.130 (Pythia's internal set 13)"}
LEVELS = ("hard", "hadron")
RESERVED = ("beams:ecm", "beams:frametype", "beams:ida", "beams:idb")   # the features assume pp at --ecm
MAX_SEED = 900_000_000   # Pythia's Random:seed takes 1 .. 900 000 000
MAX_FAILURES = 1000      # consecutive failed Pythia::next() calls before a shard gives up


@dataclass(frozen=True)
class Spec:
    """What to generate: the process, √s in GeV, level, on-shell masses, p̂_T cut, extra settings and,
    at hadron level, the jet and lepton options (:mod:`physgen.data.hep.hadron`)."""

    process: str
    ecm: float
    level: str = "hard"
    on_shell: bool = False
    pthat_min: float | None = None
    settings: tuple[str, ...] = ()
    jets: int = 4               # hadron level: leading jets kept
    jet_r: float = 0.4          # hadron level: anti-kT radius
    jet_pt_min: float = 20.0    # hadron level: minimum jet pT in GeV
    leptons: int = 2            # hadron level: leading isolated leptons kept

    def lines(self) -> list[str]:
        """The Pythia settings, user settings last (they override ours; the seed is set per shard)."""
        out = [f"Beams:eCM = {self.ecm!r}", *PROCESSES[self.process], "Print:quiet = on"]
        if self.level == "hard":
            out += ["PartonLevel:all = off", "HadronLevel:all = off", "ProcessLevel:resonanceDecays = off"]
        if self.on_shell:
            out.append("PhaseSpace:useBreitWigners = off")
        pthat = self.pthat_min if self.pthat_min is not None else DEFAULT_PTHAT_MIN.get(self.process)
        if pthat is not None:
            out.append(f"PhaseSpace:pTHatMin = {float(pthat)!r}")
        return out + list(self.settings)


@dataclass
class Shard:
    """One shard's events.  Hard level: momenta ``p1..p4`` ``(N, 4)``; ``m3, m4, x1, x2`` ``(N,)``; the
    particle ids ``id1..id4`` ``(N,)``.  Hadron level: ``hadron`` ``(N, F)`` feature rows.  Both: the
    process ``code`` ``(N,)``; ``stats``: σ, its error (pb), tried, accepted, seed(s)."""

    kin: dict[str, np.ndarray]
    stats: dict[str, Any] = field(default_factory=dict)


def pythia_module():
    """Import ``pythia8mc`` or raise a UserError that says how to install it."""
    try:
        import pythia8mc
    except ImportError:
        raise UserError(INSTALL_HINT) from None
    return pythia8mc


def check_settings(spec: Spec) -> None:
    """Validate ``spec`` and every ``--pythia`` line with Pythia's own settings database (one-line UserError)."""
    if spec.process not in PROCESSES:
        raise UserError(f"unknown process {spec.process!r}; choose from {', '.join(PROCESSES)}", key="process")
    if not (np.isfinite(spec.ecm) and spec.ecm > 0):
        raise UserError(f"must be a finite energy > 0 GeV, got {spec.ecm!r}", key="ecm")
    if spec.level not in LEVELS:
        raise UserError(f"unknown level {spec.level!r}; choose from {', '.join(LEVELS)}", key="level")
    if spec.pthat_min is not None and not (np.isfinite(spec.pthat_min) and spec.pthat_min >= 0):
        raise UserError(f"must be a finite momentum >= 0 GeV, got {spec.pthat_min!r}", key="pthat_min")
    if spec.level == "hadron":
        _check_hadron(spec)
    for line in spec.settings:
        key = line.split("=")[0].strip().lower()
        if key in RESERVED or key.startswith("random:"):
            raise UserError(f"{line.split('=')[0].strip()} is set by physgen "
                            f"({as_written('seed' if key.startswith('random:') else 'ecm')}); not settable here",
                            key="settings")
    p8 = pythia_module()
    with quiet_stdout():
        probe = p8.Pythia("", False)
        for line in spec.settings:
            if "\n" in line or not probe.readString(line, False):
                raise UserError(f"Pythia rejects {line!r} (unknown key or invalid value)", key="settings")


def _check_hadron(spec: Spec) -> None:
    if not (0 < spec.jet_r <= 2.0):
        raise UserError(f"must be in (0, 2], got {spec.jet_r!r}", key="jet_r")
    if spec.jets < 0 or spec.leptons < 0 or spec.jets + spec.leptons == 0:
        raise UserError(f"must be >= 0 and not both 0, got {spec.jets} and {spec.leptons}", key="jets/leptons")
    if not (np.isfinite(spec.jet_pt_min) and spec.jet_pt_min >= 0):
        raise UserError(f"must be a finite momentum >= 0 GeV, got {spec.jet_pt_min!r}", key="jet_pt_min")
    try:
        import fastjet  # noqa: F401
    except ImportError:
        from physgen.data.hep.hadron import INSTALL_HINT

        raise UserError(INSTALL_HINT) from None


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Send file descriptor 1 (where Pythia's C++ code prints) to /dev/null for the duration."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def _start(spec: Spec, seed: int):
    return start_pythia(spec.lines(), seed, f"Pythia cannot start {spec.process} at {spec.ecm:g} GeV "
                                            f"(below the process' threshold or a contradictory setting)",
                        key="ecm/settings" if spec.settings else "ecm")


def start_pythia(lines: list[str], seed: int, failure: str, key: str):
    """An initialised Pythia with ``lines`` and the seed; a rejected line or a failed ``init()`` (message
    ``failure`` about the parameter(s) ``key``) is a one-line UserError."""
    p8 = pythia_module()
    pythia = p8.Pythia("", False)
    for line in [*lines, "Random:setSeed = on", f"Random:seed = {int(seed)}"]:
        if not pythia.readString(line, False):
            raise UserError(f"Pythia rejects {line!r} (unknown key or invalid value)", key="settings")
    if not pythia.init():
        raise UserError(failure, key=key)
    return pythia


def _outgoing(event):
    """The hard process' two final-state particles as (p3, p4), ordered by their ids."""
    final = [event[i] for i in range(5, event.size()) if event[i].isFinal()]
    if len(final) != 2:
        raise UserError(f"the hard process has {len(final)} outgoing particles; physgen reads 2 → 2 "
                        "processes only", key="settings")
    a, b = final
    return (b, a) if order_outgoing(a.id(), b.id()) else (a, b)


def generate_shard(spec: Spec, n: int, seed: int, progress: Callable[[int], None] | None = None) -> Shard:
    """``n`` events from one Pythia instance seeded with ``seed``; ``progress(k)`` reports k new events."""
    read, assemble = _reader(spec)
    every = 500 if spec.level == "hard" else 5
    with quiet_stdout():
        pythia = _start(spec, seed)
        rows, failures, reported = [], 0, 0
        while len(rows) < n:
            if not pythia.next():
                failures += 1
                if failures >= MAX_FAILURES:
                    raise UserError(f"Pythia failed {MAX_FAILURES} events in a row", key="settings")
                continue
            failures = 0
            rows.append(read(pythia))
            if progress is not None and (len(rows) - reported >= every or len(rows) == n):
                progress(len(rows) - reported)
                reported = len(rows)
        info = pythia.infoPython()  # a snapshot: read it after the last event
        stats = {"sigma_pb": info.sigmaGen() * 1e9, "sigma_err_pb": info.sigmaErr() * 1e9,
                 "tried": int(info.nTried()), "accepted": int(info.nAccepted()), "seed": int(seed)}
    return Shard(assemble(rows), stats)


def _reader(spec: Spec) -> tuple[Callable, Callable]:
    """``read(pythia)`` → one event's row, and ``assemble(rows)`` → the shard's arrays."""
    if spec.level == "hadron":
        from physgen.data.hep import hadron

        options = dict(n_jets=spec.jets, n_leptons=spec.leptons, r=spec.jet_r, jet_pt_min=spec.jet_pt_min)

        def read_hadron(pythia):
            return hadron.event_row(*hadron.final_visible(pythia.event), **options), pythia.infoPython().code()

        def assemble_hadron(rows):
            return {"hadron": np.stack([r for r, _ in rows]), "code": np.array([c for _, c in rows], dtype=np.int64)}
        return read_hadron, assemble_hadron
    beam = spec.ecm / 2.0
    return (lambda pythia: _hard_row(pythia.process, pythia.infoPython(), beam)), _assemble_hard


def _hard_row(event, info, beam_energy: float) -> tuple:
    """One event as 25 numbers: p1..p4 (E, px, py, pz), m3, m4, x1, x2, code, id1..id4.

    x₁, x₂ are the partons' energies over the beam energy (as read from an LHE file).
    """
    p1, p2 = event[3], event[4]
    p3, p4 = _outgoing(event)
    return (*(v for p in (p1, p2, p3, p4) for v in (p.e(), p.px(), p.py(), p.pz())), p3.m(), p4.m(),
            p1.e() / beam_energy, p2.e() / beam_energy, info.code(), p1.id(), p2.id(), p3.id(), p4.id())


def _assemble_hard(rows: list[tuple]) -> dict[str, np.ndarray]:
    x = np.array(rows, dtype=np.float64).reshape(len(rows), 25)
    kin = {key: x[:, 4 * j:4 * j + 4].copy() for j, key in enumerate(("p1", "p2", "p3", "p4"))}
    kin.update({key: x[:, 16 + j].copy() for j, key in enumerate(("m3", "m4", "x1", "x2"))})
    kin.update({key: x[:, 20 + j].astype(np.int64) for j, key in enumerate(("code", "id1", "id2", "id3", "id4"))})
    return kin


def describe_run(spec: Spec, shard: Shard, *, seed: int, workers: int) -> dict[str, Any]:
    """The dataset attributes: process, √s, PDF set, Pythia version, seeds, σ ± error in pb, tried/accepted."""
    from importlib.metadata import version

    p8 = pythia_module()
    with quiet_stdout():
        probe = p8.Pythia("", False)
        for line in spec.settings:
            probe.readString(line, False)
        pset = probe.settings.word("PDF:pSet")
        pythia_version = f"{probe.settings.parm('Pythia:versionNumber'):.3f}"
    pdf = PDF_NAMES.get(int(pset), f"Pythia PDF:pSet = {pset}") if pset.strip().isdigit() else pset
    return {"source": "pythia", "process": spec.process, "ecm": float(spec.ecm), "level": spec.level,
            "on_shell": bool(spec.on_shell), "pdf_set": pdf, "pythia_version": pythia_version,
            "pythia8mc_version": version("pythia8mc"), "seed": int(seed), "seeds": shard.stats["seeds"],
            "workers": int(workers), "sigma_pb": shard.stats["sigma_pb"], "sigma_err_pb": shard.stats["sigma_err_pb"],
            "tried": shard.stats["tried"], "accepted": shard.stats["accepted"],
            "pthat_min": spec.pthat_min if spec.pthat_min is not None else DEFAULT_PTHAT_MIN.get(spec.process),
            "pythia_settings": spec.lines(),
            **({"jets": spec.jets, "jet_r": spec.jet_r, "jet_pt_min": spec.jet_pt_min, "leptons": spec.leptons,
                "jet_algorithm": "anti-kt (fastjet)"} if spec.level == "hadron" else {})}
