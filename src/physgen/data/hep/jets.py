"""Jets as particle clouds (the JetNet format) from Pythia 8: gluon, light-quark, top, W and Z jets.

Generation follows the JetNet recipe (Kansal et al. 2021, which uses the samples of Pierini et al. 2020 /
Coleman et al. 2018), with Pythia 8 for the hard process as well:

- a 2 → 2 hard process whose outgoing partons or undecayed bosons have p̂_T within ±1 % of ``pt``
  (``PhaseSpace:pTHatMin/Max``), at √s = ``ecm``, with showers, multiparton interactions, hadronisation
  and decays on (Pythia's defaults: the Monash 2013 tune);
- gluon: gg → gg and qq̄ → gg; quark: gg → qq̄ and qq̄ → q'q̄' with q' ∈ {u, d, s}; top: gg, qq̄ → tt̄ with
  W → qq̄'; W: qq̄ → W⁺W⁻ with W → qq̄'; Z: qq̄ → ZZ (no γ*) with Z → qq̄;
- anti-k_T jets of radius ``r`` (default 0.8) over the final visible particles (neutrinos excluded); the
  leading jet is kept when its p_T lies in [0.8, 1.6] × ``pt`` (the window of Pierini et al.) and its axis is
  within ΔR < ``r`` of one of the hard process' two outgoing particles (so an initial-state-radiation jet is
  never taken for a top or a W);
- its constituents, ordered by decreasing p_T, truncated or zero-padded to ``n_particles``, with the JetNet
  particle features η_rel = η − η_jet, φ_rel = φ − φ_jet (wrapped into (−π, π]), p_T,rel = p_T / p_T,jet, and
  a mask (1 for a particle, 0 for padding); jet-level p_T, η, mass and the full constituent multiplicity.

References: R. Kansal et al., "Particle Cloud Generation with Message Passing Generative Adversarial
Networks", NeurIPS 2021, arXiv:2106.11535 (JetNet); M. Pierini et al., "hls4ml LHC jet dataset" (Zenodo,
doi:10.5281/zenodo.3602260); E. Coleman et al., "The importance of calorimetry for highly-boosted jet
substructure", JINST 13 (2018) T01003, arXiv:1709.08705; M. Cacciari, G. P. Salam, G. Soyez, "The anti-k_t
jet clustering algorithm", JHEP 04 (2008) 063; P. Skands, S. Carrazza, J. Rojo, "Tuning PYTHIA 8.1: the
Monash 2013 Tune", Eur. Phys. J. C 74 (2014) 3024.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from physgen.data.hep.hadron import NEUTRINOS
from physgen.data.hep.pythia import MAX_FAILURES, Shard, pythia_module, quiet_stdout, start_pythia
from physgen.errors import UserError, as_written

JET_TYPES = ("gluon", "quark", "top", "w", "z")
HADRONIC_W = ("24:onMode = off", "24:onIfAny = 1 2 3 4 5")
PROCESSES = {
    "gluon": ("HardQCD:gg2gg = on", "HardQCD:qqbar2gg = on"),
    "quark": ("HardQCD:gg2qqbar = on", "HardQCD:qqbar2qqbarNew = on", "HardQCD:nQuarkNew = 3"),
    "top": ("Top:gg2ttbar = on", "Top:qqbar2ttbar = on", *HADRONIC_W),
    "w": ("WeakDoubleBoson:ffbar2WW = on", *HADRONIC_W),
    "z": ("WeakDoubleBoson:ffbar2gmZgmZ = on", "WeakZ0:gmZmode = 2", "23:onMode = off", "23:onIfAny = 1 2 3 4 5"),
}
PARTICLE_FEATURES = ("eta_rel", "phi_rel", "pt_rel")
JET_FEATURES = ("jet_pt", "jet_eta", "jet_mass", "jet_n")
PTHAT_SPREAD = 0.01          # hard-process p̂_T within (1 ± PTHAT_SPREAD) × pt
JET_WINDOW = (0.8, 1.6)      # leading-jet p_T window in units of pt
MAX_REJECTED = 2000          # consecutive events without an accepted jet before a shard gives up
EVENT_BATCH = 128            # events per Pythia::nextBatch call
SHARD_JETS = 2500            # jets per shard (one Pythia instance, one seed)
_TWOPI = 2 * math.pi


@dataclass(frozen=True)
class JetSpec:
    """What to generate: jet type, particles kept per jet, target p_T and √s in GeV, jet radius, extra
    Pythia settings (applied last)."""

    jet_type: str
    n_particles: int = 30
    pt: float = 1000.0
    ecm: float = 13000.0
    r: float = 0.8
    settings: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        """The Pythia settings (the seed is set per shard)."""
        lo, hi = (1 - PTHAT_SPREAD) * self.pt, (1 + PTHAT_SPREAD) * self.pt
        return [f"Beams:eCM = {float(self.ecm)!r}", *PROCESSES[self.jet_type], "Print:quiet = on",
                f"PhaseSpace:pTHatMin = {lo!r}", f"PhaseSpace:pTHatMax = {hi!r}", *self.settings]

    def check(self) -> None:
        """One-line UserError for an unusable spec."""
        if self.jet_type not in JET_TYPES:
            raise UserError(f"unknown jet type {self.jet_type!r}; choose from {', '.join(JET_TYPES)}", key="jet_type")
        if int(self.n_particles) < 1:
            raise UserError(f"must be >= 1, got {self.n_particles!r}", key="n_particles")
        if not (np.isfinite(self.pt) and self.pt > 0):
            raise UserError(f"must be a finite momentum > 0 GeV, got {self.pt!r}", key="pt")
        if not (np.isfinite(self.ecm) and self.ecm > 2 * (1 + PTHAT_SPREAD) * self.pt):
            raise UserError(f"must exceed 2 × 1.01 × {as_written('pt')} = {2.02 * self.pt:g} GeV, got {self.ecm!r}",
                            key="ecm")
        if not (0 < self.r <= 2.0):
            raise UserError(f"must be in (0, 2], got {self.r!r}", key="r")
        try:
            import fastjet  # noqa: F401
        except ImportError:
            from physgen.data.hep.hadron import INSTALL_HINT

            raise UserError(INSTALL_HINT) from None
        pythia_module()


def _start(spec: JetSpec, seed: int):
    return start_pythia(spec.lines(), seed, f"Pythia cannot start {spec.jet_type} jets at p_T {spec.pt:g} GeV and "
                                            f"√s = {spec.ecm:g} GeV", key="ecm/pt")


def _pythia_eta(px: float, py: float, pz: float) -> float:
    """Pythia's ``Vec4::eta`` in the C library's libm: ±log((|p| + |p_z|) / p_T)."""
    x = math.log((math.sqrt(px * px + py * py + pz * pz) + abs(pz)) / math.sqrt(px * px + py * py))
    return x if pz > 0 else -x


def _fastjet_eta(px: float, py: float, pz: float) -> float:
    """fastjet's ``PseudoJet::pseudorapidity``, operation for operation in the C library's libm, so that the
    value equals the C++ one bit for bit (NumPy's vectorised transcendentals can differ in the last place)."""
    if px == 0.0 and py == 0.0:
        return 1e5
    if pz == 0.0:
        return 0.0
    theta = math.atan(math.sqrt(px * px + py * py) / pz)
    if theta < 0.0:
        theta += math.pi
    return -math.log(math.tan(theta / 2))


def _fastjet_phi_std(px: float, py: float) -> float:
    """fastjet's ``PseudoJet::phi_std``: atan2 mapped into [0, 2π), then into (−π, π]."""
    phi = 0.0 if px * px + py * py == 0.0 else math.atan2(py, px)
    if phi < 0.0:
        phi += _TWOPI
    if phi >= _TWOPI:
        phi -= _TWOPI
    return phi - _TWOPI if phi > math.pi else phi


def wrap_phi(dphi: np.ndarray) -> np.ndarray:
    """Angles wrapped into (−π, π]."""
    return np.pi - np.mod(np.pi - dphi, 2 * np.pi)


class _Visible:
    """Which particle ids Pythia calls visible (``ParticleData::isVisible``; neutrinos never), cached by |id|."""

    def __init__(self, pythia):
        self.data, self.known = pythia.particleData, {}

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        ids = np.abs(ids)
        for i in np.unique(ids).tolist():
            if i not in self.known:
                self.known[i] = i not in NEUTRINOS and bool(self.data.isVisible(i))
        table = np.array(sorted(self.known.items()))
        return table[np.searchsorted(table[:, 0], ids), 1].astype(bool)


def event_batch(pythia, m: int, visible: _Visible):
    """``m`` Pythia events as arrays (``Pythia::nextBatch``, the same events as ``m`` calls of ``next()``).

    Returns ``(particles, axes)``: particles, an awkward array of events, each a list of its final visible
    particles as ``Momentum4D`` records (px, py, pz, E) in event-record order; axes ``(k, 2, 2)`` (η, φ) of
    the hard process' two outgoing particles (event-record entries 5 and 6, a copy of the process record's).
    Failed events are skipped, so ``k ≤ m``."""
    import awkward as ak

    events = pythia.nextBatch(int(m), "skip")
    prt = events["prt"]
    flat_ids = ak.to_numpy(ak.flatten(prt["id"]))
    keep = (prt["status"] > 0) & ak.unflatten(visible(flat_ids), ak.num(prt["id"]))
    p = prt["p"][keep]
    particles = ak.zip({"px": p.px, "py": p.py, "pz": p.pz, "E": p.e}, with_name="Momentum4D")
    hard = prt["p"][:, 5:7]
    hx, hy, hz = (ak.to_numpy(ak.flatten(getattr(hard, c))).tolist() for c in ("px", "py", "pz"))
    axes = np.array([(_pythia_eta(x, y, z), math.atan2(y, x)) for x, y, z in zip(hx, hy, hz)]).reshape(-1, 2, 2)
    return particles, axes


def _offsets(counts) -> np.ndarray:
    """``(len + 1,)`` start offsets of consecutive lists of the given lengths."""
    return np.concatenate([[0], np.cumsum(np.asarray(counts, dtype=np.int64))])


def leading_jets(particles, axes: np.ndarray, spec: JetSpec) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """The accepted leading jet of each event of :func:`event_batch`, or None.

    One anti-k_T clustering of the whole batch (fastjet's array interface), then array operations over the
    batch's jets and constituents.  Each accepted jet is ``(cloud, jet)``: cloud ``(n_particles, 4)`` rows
    (η_rel, φ_rel, p_T,rel, mask) ordered by p_T, jet ``(4,)`` (p_T, η, mass, multiplicity).  Rejected: no jet
    with p_T ≥ 0.8 pt, a leading jet above 1.6 pt, or a leading jet farther than ``r`` from both hard-process
    axes.  η and φ are computed per value in libm as fastjet does (:func:`_fastjet_eta`), every other value by
    the same floating-point operations as fastjet's, so the jets equal fastjet's own bit for bit."""
    import awkward as ak
    import fastjet

    lo, hi = JET_WINDOW[0] * spec.pt, JET_WINDOW[1] * spec.pt
    sequence = fastjet.ClusterSequence(particles, fastjet.JetDefinition(fastjet.antikt_algorithm, float(spec.r)))
    jets, members = sequence.inclusive_jets(lo), sequence.constituent_index(lo)
    flat = lambda a, c: ak.to_numpy(ak.flatten(getattr(a, c)))           # noqa: E731
    px, py, pz = (flat(particles, c) for c in ("px", "py", "pz"))
    first_particle = _offsets(ak.num(particles))
    jx, jy, jz, je = (flat(jets, c) for c in ("px", "py", "pz", "E"))
    first_jet = _offsets(ak.num(jets))
    member_index = ak.to_numpy(ak.flatten(members, axis=None))
    first_member = _offsets(ak.to_numpy(ak.flatten(ak.num(members, axis=2))))
    out: list[tuple[np.ndarray, np.ndarray] | None] = [None] * (len(first_jet) - 1)
    jet_kt2 = jx * jx + jy * jy
    event, lead = _leading(jet_kt2, first_jet)
    kt2 = jet_kt2[lead]
    pt = np.sqrt(kt2)
    x, y, z = jx[lead].tolist(), jy[lead].tolist(), jz[lead].tolist()
    eta = np.array([_fastjet_eta(a, b, c) for a, b, c in zip(x, y, z)])
    phi = np.array([_fastjet_phi_std(a, b) for a, b in zip(x, y)])
    near = np.hypot(axes[event, :, 0] - eta[:, None], wrap_phi(axes[event, :, 1] - phi[:, None])) < spec.r
    keep = (pt <= hi) & near.any(axis=1)
    event, lead, kt2, pt, eta, phi = event[keep], lead[keep], kt2[keep], pt[keep], eta[keep], phi[keep]
    m2 = (je[lead] + jz[lead]) * (je[lead] - jz[lead]) - kt2
    mass = np.where(m2 >= 0.0, np.sqrt(np.abs(m2)), -np.sqrt(np.abs(m2)))
    # the constituents of the accepted jets, jet after jet, each jet's by decreasing p_T (stable), the first
    # n_particles kept
    count = first_member[lead + 1] - first_member[lead]
    owner = np.repeat(np.arange(len(lead)), count)
    start = np.repeat(np.cumsum(count) - count, count)
    slot = np.arange(len(owner)) - start
    index = first_particle[event][owner] + member_index[np.repeat(first_member[lead], count) + slot]
    cx, cy, cz = px[index], py[index], pz[index]
    cpt = np.sqrt(cx * cx + cy * cy)
    # sorted by jet, then by decreasing p_T: the jets' blocks keep their places, so slot is the rank in its jet
    kept = slot < spec.n_particles
    chosen = np.lexsort((-cpt, owner))[kept]
    owner, rank = owner[kept], slot[kept]
    qx, qy, qz = cx[chosen].tolist(), cy[chosen].tolist(), cz[chosen].tolist()
    ceta = np.array([_fastjet_eta(a, b, c) for a, b, c in zip(qx, qy, qz)])
    cphi = np.array([_fastjet_phi_std(a, b) for a, b in zip(qx, qy)])
    clouds = np.zeros((len(lead), spec.n_particles, 4))
    clouds[owner, rank, 0] = ceta - eta[owner]
    clouds[owner, rank, 1] = wrap_phi(cphi - phi[owner])
    clouds[owner, rank, 2] = cpt[chosen] / pt[owner]
    clouds[owner, rank, 3] = 1.0
    jet = np.column_stack([pt, eta, mass, count.astype(np.float64)])
    for k, e in enumerate(event.tolist()):
        out[e] = (clouds[k], jet[k])
    return out


def _leading(kt2: np.ndarray, first_jet: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(events, jets)``: the events with at least one jet and the index of each one's hardest jet (the first
    of equal ``kt2``, as ``fastjet::sorted_by_pt`` and ``np.argmax`` pick), from the jets' squared transverse
    momenta ``kt2`` and the events' jet offsets ``first_jet`` (:func:`_offsets`)."""
    counts = np.diff(first_jet)
    event = np.flatnonzero(counts > 0)
    if len(event) == 0:
        return event, event
    starts = first_jet[event]
    best = np.repeat(np.maximum.reduceat(kt2, starts), counts[event])
    at = np.where(kt2 == best, np.arange(len(kt2)), len(kt2))
    return event, np.minimum.reduceat(at, starts)


def generate_shard(spec: JetSpec, n: int, seed: int, progress: Callable[[int], None] | None = None) -> Shard:
    """``n`` accepted jets from one Pythia instance seeded with ``seed``: ``Shard.kin`` holds ``cloud``
    ``(n, P, 4)`` and ``jet`` ``(n, 4)`` (:func:`leading_jets`); ``stats`` σ, tried/accepted and ``events``
    (Pythia events read, accepted or not).

    Events come in batches of at most :data:`EVENT_BATCH`, never more than the jets still missing (an event
    gives at most one jet), so the shard reads exactly the events that one ``next()`` at a time would."""
    clouds, jets, events, failures, rejected = [], [], 0, 0, 0
    with quiet_stdout():
        pythia = _start(spec, seed)
        visible = _Visible(pythia)
        while len(clouds) < n:
            m = min(EVENT_BATCH, n - len(clouds))
            particles, axes = event_batch(pythia, m, visible)
            failures = failures + m if len(axes) == 0 else 0
            if failures >= MAX_FAILURES:
                raise UserError(f"Pythia failed {MAX_FAILURES} events in a row", key="settings")
            before = len(clouds)
            for found in leading_jets(particles, axes, spec):
                events += 1
                if found is None:
                    rejected += 1
                    if rejected >= MAX_REJECTED:
                        raise UserError(f"no leading jet in [{JET_WINDOW[0]:g}, {JET_WINDOW[1]:g}] × "
                                        f"{as_written('pt')} matched to the hard process in {MAX_REJECTED} events "
                                        "in a row", key="pt")
                    continue
                rejected = 0
                clouds.append(found[0]), jets.append(found[1])
            if progress is not None and len(clouds) > before:
                progress(len(clouds) - before)
        info = pythia.infoPython()
        stats = {"sigma_pb": info.sigmaGen() * 1e9, "sigma_err_pb": info.sigmaErr() * 1e9,
                 "tried": int(info.nTried()), "accepted": int(info.nAccepted()), "seed": int(seed),
                 "events": int(events)}
    return Shard({"cloud": np.stack(clouds), "jet": np.stack(jets)}, stats)


def _worker(spec: JetSpec, n: int, seed: int) -> Shard:
    from physgen.data import shards as common

    return generate_shard(spec, n, seed, common.count)


def shard_plan(n: int, seed: int) -> tuple[list[int], list[int]]:
    """``(sizes, seeds)`` of the shards that make ``n`` jets: ⌈n / SHARD_JETS⌉ shards of near-equal size, seeds
    spawned from ``seed`` (:func:`physgen.data.hep.shards.shard_seeds`).  The plan depends on ``n`` and ``seed``
    only, so the jets do not depend on how many processes make them."""
    from physgen.data.hep import shards as S

    count = -(-int(n) // SHARD_JETS)
    return S.shard_sizes(n, count), S.shard_seeds(seed, count)


def default_workers() -> int:
    """The cores this process may run on."""
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def generate(spec: JetSpec, n: int, *, seed: int = 0, workers: int | None = None, progress: bool = False) -> Shard:
    """``n`` jets from the shards of :func:`shard_plan`, concatenated in shard order and made by ``workers``
    processes (default: :func:`default_workers`; one shard at a time in this process when 1).  The same
    ``(n, seed)`` gives the same jets for any ``workers``."""
    from physgen.data import shards as common
    from physgen.data.hep import shards as S

    spec.check()
    if int(n) < 1:
        raise UserError(f"must be >= 1, got {n!r}", key="n")
    workers = default_workers() if workers is None else int(workers)
    if workers < 1:
        raise UserError(f"must be >= 1, got {workers!r}", key="workers")
    sizes, seeds = shard_plan(n, seed)
    with _bar(n, progress) as bar:
        if workers == 1 or len(sizes) == 1:
            shards = [generate_shard(spec, size, s, bar.update) for size, s in zip(sizes, seeds)]
        else:
            shards = common.run_processes(_worker, list(zip([spec] * len(sizes), sizes, seeds)), bar=bar,
                                          processes=workers)
    out = S.combine(shards)
    out.stats["events"] = int(sum(s.stats["events"] for s in shards))
    return out


def _bar(n: int, enabled: bool):
    import sys

    from tqdm.auto import tqdm

    return tqdm(total=int(n), disable=not enabled, unit="jet", desc="jets", file=sys.stderr, dynamic_ncols=True)


def to_dataset(spec: JetSpec, shard: Shard, attrs: dict[str, Any]):
    """The point-cloud :class:`~physgen.data.Dataset`: samples ``(N, P, 3)`` float32 (η_rel, φ_rel, p_T,rel),
    ``/mask`` ``(N, P)``, labels = the jet type's index in :data:`JET_TYPES`, conditions ``jet_pt``, ``jet_eta``,
    ``jet_mass``, ``jet_n``."""
    from physgen.data import Dataset

    cloud = shard.kin["cloud"]
    mask = cloud[..., 3].astype(np.uint8)
    samples = (cloud[..., :3] * mask[..., None]).astype(np.float32)
    conditions = dict(zip(JET_FEATURES, shard.kin["jet"].T))
    labels = np.full(len(cloud), JET_TYPES.index(spec.jet_type), dtype=np.int64)
    return Dataset(samples, "pointcloud", conditions, labels,
                   {**attrs, "feature_names": list(PARTICLE_FEATURES), "label_names": list(JET_TYPES)}, mask)


def describe_run(spec: JetSpec, shard: Shard, *, seed: int, workers: int) -> dict[str, Any]:
    """The dataset attributes: jet type, p_T target and windows, √s, R, Pythia version, seeds, σ, efficiencies."""
    from importlib.metadata import version

    p8 = pythia_module()
    with quiet_stdout():
        probe = p8.Pythia("", False)
        pythia_version = f"{probe.settings.parm('Pythia:versionNumber'):.3f}"
    return {"source": "pythia-jets", "jet_type": spec.jet_type, "particles": int(spec.n_particles),
            "pt": float(spec.pt), "ecm": float(spec.ecm), "jet_r": float(spec.r), "jet_algorithm": "anti-kt (fastjet)",
            "pthat_window": [(1 - PTHAT_SPREAD) * spec.pt, (1 + PTHAT_SPREAD) * spec.pt],
            "jet_pt_window": [JET_WINDOW[0] * spec.pt, JET_WINDOW[1] * spec.pt],
            "pythia_version": pythia_version, "pythia8mc_version": version("pythia8mc"), "seed": int(seed),
            "seeds": shard.stats["seeds"], "workers": int(workers), "sigma_pb": shard.stats["sigma_pb"],
            "sigma_err_pb": shard.stats["sigma_err_pb"], "events": shard.stats["events"],
            "pythia_settings": spec.lines()}
