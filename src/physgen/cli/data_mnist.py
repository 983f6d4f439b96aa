"""``physgen data mnist --idx-dir DIR --out OUT.h5``: MNIST IDX files (raw or .gz) the user downloaded."""
from __future__ import annotations

from physgen.cli.data_digits import BINARIZE
from physgen.cli.options import Arg, out_args, verb

EXAMPLE = "physgen data mnist --idx-dir ~/mnist --split train --binarize 0.5 --out mnist-train.h5"


def register(sub) -> None:
    verb(sub, "mnist", "MNIST from IDX files (train-images-idx3-ubyte[.gz], ...) in a directory", EXAMPLE, run,
         (Arg("--idx-dir", "directory holding the IDX files", required=True, metavar="DIR"),
          Arg("--split", "train (train-*) or test (t10k-*) files (default train)", default="train",
              choices=("train", "test")),
          *out_args(help="output dataset file (.h5)"), BINARIZE))


def run(args) -> int:
    from physgen.atomic import check_writable
    from physgen.data import save
    from physgen.data.idx import load_mnist
    from physgen.paths import refuse_overwriting_inputs

    refuse_overwriting_inputs({"--idx-dir": args.idx_dir}, {"--out": args.out})
    check_writable(args.out, overwrite=args.overwrite)
    ds = load_mnist(args.idx_dir, args.split, binarize=args.binarize)
    save(ds, args.out, overwrite=args.overwrite)
    print(f"wrote {args.out}: {len(ds)} images of shape {ds.shape}, kind {ds.kind}")
    return 0
