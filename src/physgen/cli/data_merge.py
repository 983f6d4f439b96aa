"""``physgen data merge``: combine dataset files (e.g. the shards of a sharded run) into one file."""
from __future__ import annotations

from physgen.cli.options import Arg, out_args, verb


def register(sub) -> None:
    verb(sub, "merge", "combine dataset files of one kind and shape into one (rows concatenated; a shard set in "
                       "shard order)",
         "physgen data merge ising.shard0-of-2.h5 ising.shard1-of-2.h5 --out ising.h5", run,
         (Arg("files", "dataset files (.h5) to concatenate", nargs="+", metavar="FILE"),
          *out_args(help="output dataset file (.h5), a new plain file")))


def run(args) -> int:
    from physgen.atomic import check_writable
    from physgen.data import load, save
    from physgen.data.merge import merge

    check_writable(args.out, overwrite=args.overwrite)
    ds = merge([load(f) for f in args.files], names=list(args.files))
    save(ds, args.out, overwrite=args.overwrite)
    shards = f" ({ds.attrs['shard_count']} shards)" if "shard_count" in ds.attrs else ""
    print(f"wrote {args.out}: {len(ds)} samples of shape {ds.shape} ({ds.kind}) from {len(args.files)} files{shards}")
    return 0
