"""``physgen data digits --out OUT.h5``: scikit-learn's bundled 8x8 digits with labels (no download)."""
from __future__ import annotations

from physgen.cli.options import Arg, out_args, verb
from physgen.constraints import FINITE

EXAMPLE = "physgen data digits --out digits.h5 --binarize 0.5"


BINARIZE = Arg("--binarize", "store binary 0/1 pixels (intensity scaled to [0, 1] > T, 0 <= T < 1) instead of "
               "float32 images", range=FINITE, metavar="T")


def register(sub) -> None:
    verb(sub, "digits", "scikit-learn's 1797 8x8 handwritten digits, labels kept", EXAMPLE, run,
         (*out_args(help="output dataset file (.h5)"), BINARIZE))


def run(args) -> int:
    from physgen.atomic import check_writable
    from physgen.data import save
    from physgen.data.digits import load_digits

    check_writable(args.out, overwrite=args.overwrite)
    ds = load_digits(binarize=args.binarize)
    save(ds, args.out, overwrite=args.overwrite)
    print(f"wrote {args.out}: {len(ds)} digits of shape {ds.shape}, kind {ds.kind}")
    return 0
