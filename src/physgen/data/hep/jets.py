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

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

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


def _hard_axes(process) -> np.ndarray:
    """``(2, 2)`` (η, φ) of the hard process' two outgoing particles (entries 5 and 6 of the process record)."""
    return np.array([(process[i].eta(), process[i].phi()) for i in (5, 6)])


def wrap_phi(dphi: np.ndarray) -> np.ndarray:
    """Angles wrapped into (−π, π]."""
    return np.pi - np.mod(np.pi - dphi, 2 * np.pi)


def leading_jet(p: np.ndarray, spec: JetSpec, axes: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The accepted leading jet of ``(K, 4)`` ``(E, px, py, pz)`` particles, or None.

    Returns ``(cloud, jet)``: cloud ``(n_particles, 4)`` rows (η_rel, φ_rel, p_T,rel, mask) ordered by p_T,
    jet ``(4,)`` (p_T, η, mass, multiplicity).  Rejected: no jet with p_T ≥ 0.8 pt, a leading jet above 1.6 pt,
    or a leading jet farther than ``r`` from both hard-process axes."""
    import fastjet

    lo, hi = JET_WINDOW[0] * spec.pt, JET_WINDOW[1] * spec.pt
    parts = [fastjet.PseudoJet(float(px), float(py), float(pz), float(e)) for e, px, py, pz in p]
    sequence = fastjet.ClusterSequence(parts, fastjet.JetDefinition(fastjet.antikt_algorithm, float(spec.r)))
    jets = fastjet.sorted_by_pt(sequence.inclusive_jets(lo))
    if not jets or jets[0].pt() > hi:
        return None
    jet = jets[0]
    eta, phi, pt = jet.eta(), jet.phi_std(), jet.pt()
    dr = np.hypot(axes[:, 0] - eta, wrap_phi(axes[:, 1] - phi))
    if not np.any(dr < spec.r):
        return None
    c = np.array([(q.eta(), q.phi_std(), q.pt()) for q in jet.constituents()], dtype=np.float64)
    c = c[np.argsort(-c[:, 2], kind="stable")][:spec.n_particles]
    cloud = np.zeros((spec.n_particles, 4))
    cloud[:len(c), 0] = c[:, 0] - eta
    cloud[:len(c), 1] = wrap_phi(c[:, 1] - phi)
    cloud[:len(c), 2] = c[:, 2] / pt
    cloud[:len(c), 3] = 1.0
    return cloud, np.array([pt, eta, jet.m(), len(jet.constituents())], dtype=np.float64)


def generate_shard(spec: JetSpec, n: int, seed: int, progress: Callable[[int], None] | None = None) -> Shard:
    """``n`` accepted jets from one Pythia instance seeded with ``seed``: ``Shard.kin`` holds ``cloud``
    ``(n, P, 4)`` and ``jet`` ``(n, 4)`` (:func:`leading_jet`); ``stats`` σ, tried/accepted and ``events``
    (Pythia events read, accepted or not)."""
    from physgen.data.hep.hadron import final_visible

    clouds, jets, events, failures, rejected, reported = [], [], 0, 0, 0, 0
    with quiet_stdout():
        pythia = _start(spec, seed)
        while len(clouds) < n:
            if not pythia.next():
                failures += 1
                if failures >= MAX_FAILURES:
                    raise UserError(f"Pythia failed {MAX_FAILURES} events in a row", key="settings")
                continue
            failures, events = 0, events + 1
            found = leading_jet(final_visible(pythia.event)[0], spec, _hard_axes(pythia.process))
            if found is None:
                rejected += 1
                if rejected >= MAX_REJECTED:
                    raise UserError(f"no leading jet in [{JET_WINDOW[0]:g}, {JET_WINDOW[1]:g}] × {as_written('pt')} matched "
                                    f"to the hard process in {MAX_REJECTED} events in a row", key="pt")
                continue
            rejected = 0
            clouds.append(found[0]), jets.append(found[1])
            if progress is not None and (len(clouds) - reported >= 5 or len(clouds) == n):
                progress(len(clouds) - reported)
                reported = len(clouds)
        info = pythia.infoPython()
        stats = {"sigma_pb": info.sigmaGen() * 1e9, "sigma_err_pb": info.sigmaErr() * 1e9,
                 "tried": int(info.nTried()), "accepted": int(info.nAccepted()), "seed": int(seed),
                 "events": int(events)}
    return Shard({"cloud": np.stack(clouds), "jet": np.stack(jets)}, stats)


def _worker(spec: JetSpec, n: int, seed: int) -> Shard:
    from physgen.data import shards as common

    return generate_shard(spec, n, seed, common.count)


def generate(spec: JetSpec, n: int, *, seed: int = 0, workers: int = 1, progress: bool = False) -> Shard:
    """``n`` jets in ``workers`` shards (processes when ``workers > 1``), concatenated in shard order; the same
    ``(seed, workers)`` gives the same jets (seeds as :func:`physgen.data.hep.shards.shard_seeds`)."""
    from physgen.data import shards as common
    from physgen.data.hep import shards as S

    spec.check()
    if int(n) < 1:
        raise UserError(f"must be >= 1, got {n!r}", key="n")
    common.check_workers(workers, n, "jets")
    seeds, sizes = S.shard_seeds(seed, workers), S.shard_sizes(n, workers)
    with _bar(n, progress) as bar:
        if workers == 1:
            shards = [generate_shard(spec, sizes[0], seeds[0], bar.update)]
        else:
            shards = common.run_processes(_worker, list(zip([spec] * len(sizes), sizes, seeds)), bar=bar)
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
