"""``physgen data jets``: gluon, light-quark, top, W or Z jets as particle clouds (the JetNet format) from Pythia 8."""
from __future__ import annotations

import time

from physgen.cli.options import Arg, keyed, out_args, seed_arg, values, verb
from physgen.constraints import POSITIVE, POSITIVE_INT

EXAMPLE = "physgen data jets --type top --n 2000 --particles 30 --workers 2 --seed 1 --out top.h5"


def rows() -> tuple[Arg, ...]:
    """The arguments: a row per :class:`~physgen.data.hep.jets.JetSpec` field (whose default it takes), then the
    run's own."""
    from physgen.data.hep.jets import JET_TYPES, JetSpec as S

    return (
        keyed(S, "jet_type", "--type", "gluon (gg → gg, qq̄ → gg), quark (→ uū, dd̄, ss̄), top (tt̄, hadronic), w (WW, "
              "hadronic) or z (ZZ, hadronic); see docs/hep.md", choices=JET_TYPES, required=True),
        Arg("--n", "number of jets", range=POSITIVE_INT, required=True),
        keyed(S, "n_particles", "--particles", "constituents kept per jet, leading in p_T, zero-padded (JetNet: 30 or "
              "150; default {default})", metavar="PARTICLES", range=POSITIVE_INT),
        keyed(S, "pt", "--pt", "jet p_T in GeV: hard p̂_T within ±1 %%, leading jet in [0.8, 1.6] × pt (default "
              "{default:g})", range=POSITIVE),
        keyed(S, "ecm", "--ecm", "centre-of-mass energy √s in GeV (default {default:g})", range=POSITIVE),
        keyed(S, "r", "--jet-r", "anti-kT radius R (default {default:g})", metavar="JET_R", range=POSITIVE),
        keyed(S, "settings", "--pythia", "any Pythia setting, repeatable, applied last (checked by Pythia)",
              action="append", default=[], metavar="'KEY = VALUE'"),
        Arg("--workers", "generator processes (default: this machine's cores); the jets come from shards of 2,500 "
            "seeded from --seed, so the same --n and --seed give the same jets for any --workers", range=POSITIVE_INT),
        Arg("--progress", "show a progress bar with jets/s", action="store_true"),
        seed_arg(), *out_args(help="output dataset file (.h5)"))


def register(sub) -> None:
    verb(sub, "jets", "generate jets as particle clouds (JetNet format: η_rel, φ_rel, p_T,rel and a mask) with Pythia "
         "8 and fastjet (needs: pip install 'physgen[hep]')", EXAMPLE, run, rows())


def run(args) -> int:
    from physgen.atomic import check_writable
    from physgen.data import save
    from physgen.data.hep import jets as J
    from physgen.data.hep.pythia import RESERVED
    from physgen.errors import UserError
    from physgen.memory_guard import require

    spec = values(J.JetSpec, rows(), args, settings=tuple(args.settings))
    spec.check()
    for line in args.settings:
        key = line.split("=")[0].strip().lower()
        if key in RESERVED or key.startswith("random:") or key.startswith("phasespace:pthat"):
            raise UserError(f"--pythia: {line.split('=')[0].strip()} is set by physgen (--seed, --ecm or --pt); "
                            "not settable here")
    require(args.n * (args.n_particles * 45 + 200), what=f"--n {args.n}",
            reduce="lower --n (or generate several files with different --seed and merge them)")
    check_writable(args.out, overwrite=args.overwrite)
    workers = J.default_workers() if args.workers is None else args.workers
    start = time.perf_counter()
    shard = J.generate(spec, args.n, seed=args.seed, workers=workers, progress=args.progress)
    seconds = max(time.perf_counter() - start, 1e-9)
    attrs = J.describe_run(spec, shard, seed=args.seed, workers=workers)
    attrs["jets_per_second"] = args.n / seconds
    ds = J.to_dataset(spec, shard, attrs)
    save(ds, args.out, overwrite=args.overwrite)
    n = ds.mask.sum(axis=1)
    print(f"wrote {args.out}: {len(ds)} {args.jet_type} jets at p_T ≈ {args.pt:g} GeV, √s = {args.ecm:g} GeV "
          f"(anti-kT R = {args.r:g}), {args.n_particles} particle slots (mean {n.mean():.1f} filled); "
          f"{args.n / seconds:.1f} jets/s with {min(workers, len(shard.stats['seeds']))} worker(s), "
          f"{shard.stats['events']} events read")
    return 0
