"""``physgen exact``: exact per-site free energy, energy, entropy and specific heat of a lattice model by the
transfer matrix (:mod:`physgen.lattice.transfer`), written to ``DIR/exact.json``."""
from __future__ import annotations

import json

from physgen.cli.common import float_list
from physgen.cli.lattice_options import model_args, model_of
from physgen.cli.options import Arg, verb

EXAMPLE = "physgen exact --model ea --size 6 --disorder-seed 1 --temperatures 0.5,1.0,2.0 --out ea6"


def register(sub) -> None:
    verb(sub, "exact", "exact F, U, S and C per site of a lattice model (transfer matrix)", EXAMPLE, run, (
        *model_args(required=False),
        Arg("--temperatures", "comma-separated temperatures", type=float_list, required=True),
        Arg("--from", "take the model (and its quenched couplings) from a dataset file of `physgen data lattice`",
            dest="source", metavar="FILE"),
        Arg("--out", "output directory (exact.json is written there)", required=True),
        Arg("--overwrite", "replace DIR/exact.json if it exists", action="store_true")))


def run(args) -> int:
    from physgen.atomic import check_writable, write_bytes
    from physgen.errors import UserError
    from physgen.lattice import registry, transfer
    from physgen.paths import as_path

    if args.source is not None:
        if args.model is not None or args.size is not None or args.param or args.disorder or args.disorder_seed:
            raise UserError("--from: the file names the model; drop --model, --size, --param and --disorder*")
        from physgen.data import load

        model = registry.from_dataset(load(args.source), args.source)
    else:
        model = model_of(args)
    if not args.temperatures or min(args.temperatures) <= 0:
        raise UserError("--temperatures: every temperature must be > 0")
    transfer.check_size(model)
    out = as_path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out: {args.out} exists and is not a directory")
    target = out / "exact.json"
    check_writable(target, overwrite=args.overwrite)
    rows = transfer.solve(model, args.temperatures)
    record = {"model": model.attrs(), "description": model.describe(), "method": "transfer matrix",
              "critical_temperature": model.critical_temperature(),
              "temperatures": [r.as_dict() for r in rows]}
    if model.quenched:
        record["couplings"] = {k: v.tolist() for k, v in model.datasets().items()}
    out.mkdir(parents=True, exist_ok=True)
    write_bytes(target, (json.dumps(record, indent=2) + "\n").encode(), overwrite=args.overwrite)
    print(f"wrote {target}: {model.describe()}")
    print(f"{'T':>8} {'F/N':>12} {'U/N':>12} {'S/N':>10} {'C/N':>10}")
    for r in rows:
        print(f"{r.temperature:8.4g} {r.free_energy:12.6f} {r.energy:12.6f} {r.entropy:10.6f} {r.specific_heat:10.6f}")
    return 0
