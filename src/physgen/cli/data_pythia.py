"""``physgen data pythia``: pp → tt̄, dijet, Z/γ* → ℓℓ or W → ℓν events from Pythia 8."""
from __future__ import annotations

import os
import time

from physgen.cli.options import Arg, keyed, out_args, seed_arg, values, verb
from physgen.constraints import NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT

EXAMPLE = "physgen data pythia --process ttbar --ecm 13000 --n 10000 --features s,t,y --seed 1 --out ttbar.h5"
PROCESS_NAMES = ("ttbar", "dijet", "z-ll", "w-lnu")


def rows() -> tuple[Arg, ...]:
    """The arguments: a row per :class:`~physgen.data.hep.pythia.Spec` field (whose default it takes), then the
    run's own."""
    from physgen.data.hep.pythia import Spec as S

    return (
        keyed(S, "process", "--process", "ttbar (gg, qq̄ → tt̄ at LO), dijet (QCD 2 → 2), z-ll (Z/γ* → ee, μμ) or "
              "w-lnu (W → eν, μν)", choices=PROCESS_NAMES, required=True),
        keyed(S, "ecm", "--ecm", "centre-of-mass energy √s in GeV, e.g. 13000", range=POSITIVE, required=True),
        Arg("--n", "number of events", range=POSITIVE_INT, required=True),
        keyed(S, "level", "--level", "hard: the 2 → 2 process only, no showers or hadronisation (default); hadron: "
              "full events (showers, multiparton interactions, hadronisation, decays) reduced to jets and leptons",
              choices=("hard", "hadron")),
        keyed(S, "jets", "--jets", "hadron level: leading anti-kT jets kept (default {default})",
              range=NON_NEGATIVE_INT),
        keyed(S, "jet_r", "--jet-r", "hadron level: anti-kT radius R (default {default:g})", range=POSITIVE),
        keyed(S, "jet_pt_min", "--jet-pt-min", "hadron level: minimum jet p_T in GeV (default {default:g})",
              range=NON_NEGATIVE),
        keyed(S, "leptons", "--leptons", "hadron level: leading isolated electrons/muons kept (default {default})",
              range=NON_NEGATIVE_INT),
        Arg("--features", "comma-separated features (default: all of the level's features; 's,t,y' gives the thesis' "
            "three at hard level); see docs/hep.md"),
        keyed(S, "on_shell", "--on-shell", "outgoing resonances at their pole mass (default: Breit–Wigner masses, "
              "Pythia's default)", action="store_true"),
        keyed(S, "pthat_min", "--pthat-min", "minimum p̂_T of the hard process in GeV (default: 20 for dijet, none "
              "otherwise)", range=NON_NEGATIVE),
        keyed(S, "settings", "--pythia", "any Pythia setting, repeatable, e.g. --pythia 'PDF:pSet = 8' (checked by "
              "Pythia)", action="append", default=[], metavar="'KEY = VALUE'"),
        Arg("--workers", "generator processes; seeds are spawned from --seed, same (seed, workers) → same events",
            range=POSITIVE_INT, default=1),
        Arg("--lhe", "also write the hard-level events as a Les Houches Event file", metavar="FILE.lhe[.gz]"),
        Arg("--progress", "show a progress bar with events/s", action="store_true"),
        seed_arg(), *out_args(help="output dataset file (.h5)"))


def register(sub) -> None:
    verb(sub, "pythia", "generate pp collision events with Pythia 8 (needs: pip install 'physgen[hep]')", EXAMPLE, run,
         rows())


def run(args) -> int:
    from physgen.atomic import check_writable
    from physgen.data import Dataset
    from physgen.data.hep import features as F
    from physgen.data.hep import pythia as P
    from physgen.data.hep import shards as S

    spec, names, default = _spec_and_features(args)
    _check_memory(args, len(default))
    check_writable(args.out, overwrite=args.overwrite)
    if args.lhe is not None:
        _check_lhe_path(args.lhe, args.out, args.overwrite)
    start = time.perf_counter()
    shard = S.generate(spec, args.n, seed=args.seed, workers=args.workers, progress=args.progress)
    rate = args.n / max(time.perf_counter() - start, 1e-9)
    columns = (dict(zip(default, shard.kin["hadron"].T)) if args.level == "hadron"
               else F.hard_features(shard.kin, spec.ecm))
    attrs = P.describe_run(spec, shard, seed=args.seed, workers=args.workers)
    ds = Dataset(F.select(columns, names).astype("float32"), "continuous", attrs={**attrs, "feature_names": names})
    _write(args, ds, shard)
    print(f"wrote {args.out}: {len(ds)} {args.process} events at √s = {args.ecm:g} GeV ({args.level} level, "
          f"{'on-shell' if args.on_shell else 'Breit–Wigner'} masses), features {','.join(names)}; "
          f"σ = {attrs['sigma_pb']:.4g} ± {attrs['sigma_err_pb']:.2g} pb; {rate:.0f} events/s with "
          f"{args.workers} worker(s)")
    return 0


def _spec_and_features(args):
    """The generation spec, the chosen feature names and the level's default (= all) feature names."""
    from physgen.data.hep import features as F
    from physgen.data.hep import pythia as P
    from physgen.errors import UserError

    spec = values(P.Spec, rows(), args, settings=tuple(args.settings))
    if args.level == "hadron":
        from physgen.data.hep.hadron import feature_names

        if args.lhe is not None:
            raise UserError("--lhe: LHE output holds hard-level events; use --level hard")
        available = default = feature_names(args.jets, args.leptons)
    else:
        available, default = F.ALL_HARD_FEATURES, F.HARD_FEATURES
    return spec, F.parse_features(args.features, available, default), default


def _check_memory(args, n_columns: int) -> None:
    """Refuse an ``--n`` whose events do not fit in memory.  Per event: a hard-level row is 25 Python floats in a
    tuple (~860 bytes) until the shard is assembled into float64 arrays (200 bytes, then copied by column and when
    shards are combined); a hadron-level row is a small NumPy array (~400 bytes with its tuple) of ``n_columns``
    float64 values, stacked and combined; the features are float32."""
    from physgen.memory_guard import require

    per_event = 1500 if args.level == "hard" else 400 + 24 * n_columns
    require(args.n * (per_event + 8 * n_columns), what=f"--n {args.n}",
            reduce="lower --n (or generate several files with different --seed)")


def _write(args, ds, shard) -> None:
    """The dataset file and, with ``--lhe``, the LHE file (each atomic; both checked before either is written)."""
    from physgen.data import save

    ds.validate(args.out)
    if args.lhe is not None:
        from physgen.data.hep.lhe import write_lhe

        write_lhe(args.lhe, shard.kin, ecm=args.ecm, sigma_pb=ds.attrs["sigma_pb"],
                  sigma_err_pb=ds.attrs["sigma_err_pb"], overwrite=args.overwrite)
    save(ds, args.out, overwrite=args.overwrite)


def _check_lhe_path(path: str, out: str, overwrite: bool) -> None:
    from physgen.atomic import check_writable
    from physgen.data.hep.lhe import is_lhe
    from physgen.errors import UserError

    if not is_lhe(path):
        raise UserError(f"--lhe: {path!r} must end in .lhe or .lhe.gz")
    if str(path) == str(out) or (os.path.exists(path) and os.path.exists(out) and os.path.samefile(path, out)):
        raise UserError("--lhe: must differ from --out (the same file, or a link to it)")
    check_writable(path, overwrite=overwrite, what="--lhe")
