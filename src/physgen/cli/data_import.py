"""``physgen data import FILE --out OUT.h5``: CSV/TXT, NPY, NPZ, LHE events, ROOT trees or JetNet's HDF5 files into a
physgen dataset file."""
from __future__ import annotations

from physgen.cli.options import Arg, out_args, verb
from physgen.constraints import NON_NEGATIVE_INT, POSITIVE_INT
from physgen.data.hep.lhe import is_lhe
from physgen.data.hep.root import is_root
from physgen.data.io import KINDS
from physgen.errors import UserError

EXAMPLE = "physgen data import events.txt --out ttbar.h5 --columns s,t,y"


def register(sub) -> None:
    from physgen.data.hep.jets import JET_TYPES

    verb(sub, "import", "import CSV/TXT (comment header '# s t y' gives feature names), NPY, NPZ, LHE events "
         "(.lhe[.gz]: the features of docs/hep.md), ROOT trees (.root) or JetNet's files (g.hdf5, t150.hdf5, ...: "
         "point clouds, docs/jets.md)", EXAMPLE, run, (
             Arg("file", "input file: delimited text (commas, tabs or spaces), .npy, .npz, .lhe[.gz], .root or a "
                 "JetNet .hdf5 file"),
             *out_args(help="output dataset file (.h5)"),
             Arg("--kind", "continuous (float32), binary (0/1), spins (-1/+1), image or pointcloud (default "
                 "continuous; JetNet files: pointcloud)", choices=KINDS),
             Arg("--columns", "columns to keep, by name or 0-based index (space or comma separated); for LHE files "
                 "the feature names, e.g. s,t,y", nargs="+", metavar="COL"),
             Arg("--tree", "ROOT files: the TTree or RNTuple (default: the only one)", metavar="NAME"),
             Arg("--branches", "ROOT files: comma-separated branches (default: all)", metavar="A,B,C"),
             Arg("--pad", "ROOT files: pad/truncate jagged branches to N entries and add a mask per entry",
                 range=POSITIVE_INT, metavar="N"),
             Arg("--array", "array of an .npz archive holding the samples (default: 'samples', 'x' or the only "
                 "array)", metavar="NAME"),
             Arg("--mask", "--kind pointcloud, .npz files: the (N, P) mask array (default: the array 'mask' if "
                 "present)", metavar="NAME"),
             Arg("--mask-feature", "--kind pointcloud: particle-feature column K holds the mask (JetNet's arrays: 3); "
                 "without --mask/--mask-feature, slots with any non-zero feature are particles",
                 range=NON_NEGATIVE_INT, metavar="K"),
             Arg("--jet-type", "JetNet files: the jet type of every jet (default: from the file name, g q t w z with "
                 "or without 150)", choices=JET_TYPES)))


def run(args) -> int:
    from physgen.atomic import check_writable
    from physgen.data import save
    from physgen.paths import refuse_overwriting_inputs

    refuse_overwriting_inputs({"FILE": args.file}, {"--out": args.out})
    check_writable(args.out, overwrite=args.overwrite)
    ds = _read(args)
    save(ds, args.out, overwrite=args.overwrite)
    print(f"wrote {args.out}: {len(ds)} samples of shape {ds.shape}, kind {ds.kind}")
    return 0


def _read(args):
    """The dataset from ``args.file``, by its suffix: JetNet's HDF5, ROOT, LHE, else a table (text, NPY, NPZ)."""
    from physgen.data.hep.jetnet_files import is_hdf5

    if is_hdf5(args.file):
        return _read_jetnet(args)
    if args.jet_type is not None:
        raise UserError(f"--jet-type: only for JetNet's HDF5 files (g.hdf5, t150.hdf5, ...), got {args.file}")
    args.kind = args.kind or "continuous"
    if is_root(args.file):
        return _read_root(args)
    given = [flag for flag, value in (("--tree", args.tree), ("--branches", args.branches), ("--pad", args.pad))
             if value is not None]
    if given:
        raise UserError(f"{given[0]}: only for ROOT files (.root), got {args.file}")
    if args.kind == "pointcloud":
        from physgen.data.pointcloud import import_pointcloud

        if args.columns:
            raise UserError("--columns: not for --kind pointcloud (every particle feature is kept)")
        return import_pointcloud(args.file, array=args.array, mask=args.mask, mask_feature=args.mask_feature)
    if args.mask is not None or args.mask_feature is not None:
        raise UserError("--mask/--mask-feature: only with --kind pointcloud")
    if is_lhe(args.file):
        from physgen.data.hep.lhe import lhe_dataset

        if args.kind != "continuous" or args.array:
            raise UserError("--kind/--array: LHE events are continuous features; choose them with --columns")
        columns = [c for part in args.columns or [] for c in part.split(",") if c.strip()]
        try:
            return lhe_dataset(args.file, columns or None)
        except UserError as exc:  # lhe_dataset's ``features`` are this verb's --columns
            if exc.key != "features":
                raise
            raise UserError(exc.detail, key="columns", value=exc.value) from None
    from physgen.data.tabular import import_file

    return import_file(args.file, kind=args.kind, columns=args.columns, array=args.array)


def _read_jetnet(args):
    from physgen.data.hep.jetnet_files import read_jetnet

    given = [flag for flag, value in (("--columns", args.columns), ("--tree", args.tree), ("--branches", args.branches),
                                      ("--pad", args.pad), ("--array", args.array), ("--mask", args.mask),
                                      ("--mask-feature", args.mask_feature)) if value is not None]
    if given:
        raise UserError(f"{given[0]}: not for JetNet's HDF5 files (every particle feature is kept, the mask is "
                        "feature 3); they take --jet-type")
    if args.kind not in (None, "pointcloud"):
        raise UserError(f"--kind {args.kind}: JetNet's HDF5 files are point clouds (--kind pointcloud)")
    return read_jetnet(args.file, jet_type=args.jet_type)


def _read_root(args):
    from physgen.data.hep.root import root_dataset, root_pointcloud

    if args.kind == "pointcloud":
        if args.columns or args.array or args.mask is not None or args.mask_feature is not None:
            raise UserError("--columns/--array/--mask/--mask-feature: ROOT point clouds take --tree, --branches, --pad")
        branches = [b.strip() for b in args.branches.split(",") if b.strip()] if args.branches else None
        return root_pointcloud(args.file, tree=args.tree, branches=branches, pad=args.pad)
    if args.kind != "continuous" or args.columns or args.array:
        raise UserError("--kind/--columns/--array: ROOT files take --tree, --branches and --pad")
    branches = [b.strip() for b in args.branches.split(",") if b.strip()] if args.branches else None
    return root_dataset(args.file, tree=args.tree, branches=branches, pad=args.pad)
