"""``physgen data toy NAME --n N --out OUT.h5``: 2-D toy distributions for quick model checks."""
from __future__ import annotations

from physgen.cli.options import Arg, out_args, seed_arg, verb
from physgen.constraints import FINITE, POSITIVE_INT
from physgen.data.toys import TOYS

EXAMPLE = "physgen data toy ring --n 10000 --seed 1 --out ring.h5"


def register(sub) -> None:
    verb(sub, "toy", "2-D toy data: " + ", ".join(TOYS), EXAMPLE, run,
         (Arg("name", "one of " + ", ".join(TOYS), choices=TOYS, metavar="NAME"),
          Arg("--n", "number of samples (>= 1)", range=POSITIVE_INT, required=True),
          *out_args(help="output dataset file (.h5)"), seed_arg(),
          Arg("--noise", "mode width / noise std (defaults: ring 0.1, grid 0.05, moons 0.1, spiral 0.1; checkerboard "
              "takes none)", range=FINITE, metavar="SIGMA")))


def run(args) -> int:
    from physgen.atomic import check_writable
    from physgen.data import save
    from physgen.data.toys import make_toy

    from physgen.memory_guard import require

    # ~64 bytes a point: two float64 coordinates and a few same-sized temporaries while drawing them
    require(64 * args.n, what=f"--n {args.n}", reduce="lower --n")
    check_writable(args.out, overwrite=args.overwrite)
    ds = make_toy(args.name, args.n, seed=args.seed, noise=args.noise)
    save(ds, args.out, overwrite=args.overwrite)
    print(f"wrote {args.out}: {len(ds)} points of toy {args.name}")
    return 0
