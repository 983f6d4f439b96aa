"""``physgen data import FILE --out OUT.h5``: CSV/TXT, NPY, NPZ or LHE events into a physgen dataset file."""
from __future__ import annotations

from physgen.cli.common import add_out, add_verb
from physgen.data.hep.lhe import is_lhe
from physgen.data.io import KINDS
from physgen.errors import UserError

EXAMPLE = "physgen data import events.txt --out ttbar.h5 --columns s,t,y"


def register(sub) -> None:
    parser = add_verb(sub, "import", "import CSV/TXT (comment header '# s t y' gives feature names), NPY, NPZ "
                      "or LHE events (.lhe[.gz]: the features of docs/hep.md)",
                      EXAMPLE, run)
    parser.add_argument("file", help="input file: delimited text (commas, tabs or spaces), .npy, .npz or .lhe[.gz]")
    add_out(parser, help="output dataset file (.h5)")
    parser.add_argument("--kind", default="continuous", choices=KINDS,
                        help="continuous (float32), binary (0/1), spins (-1/+1) or image (default continuous)")
    parser.add_argument("--columns", nargs="+", metavar="COL",
                        help="columns to keep, by name or 0-based index (space or comma separated); "
                             "for LHE files the feature names, e.g. s,t,y")
    parser.add_argument("--array", metavar="NAME", help="array of an .npz archive holding the samples "
                                                         "(default: 'samples', 'x' or the only array)")


def run(args) -> int:
    from physgen.atomic import check_writable
    from physgen.data import save
    from physgen.data.tabular import import_file

    check_writable(args.out, overwrite=args.overwrite)
    if is_lhe(args.file):
        from physgen.data.hep.lhe import lhe_dataset

        if args.kind != "continuous":
            raise UserError(f"--kind: LHE events are continuous features, got {args.kind!r}")
        columns = [c for part in args.columns or [] for c in part.split(",") if c.strip()]
        ds = lhe_dataset(args.file, columns or None)
    else:
        ds = import_file(args.file, kind=args.kind, columns=args.columns, array=args.array)
    save(ds, args.out, overwrite=args.overwrite)
    print(f"wrote {args.out}: {len(ds)} samples of shape {ds.shape}, kind {ds.kind}")
    return 0
