"""``physgen data toy NAME --n N --out OUT.h5``: 2-D toy distributions for quick model checks."""
from __future__ import annotations

from physgen.cli.common import add_out, add_seed, add_verb, finite_float, positive_int
from physgen.data.toys import TOYS

EXAMPLE = "physgen data toy ring --n 10000 --seed 1 --out ring.h5"


def register(sub) -> None:
    parser = add_verb(sub, "toy", "2-D toy data: " + ", ".join(TOYS), EXAMPLE, run)
    parser.add_argument("name", choices=TOYS, metavar="NAME", help="one of " + ", ".join(TOYS))
    parser.add_argument("--n", type=positive_int, required=True, help="number of samples (>= 1)")
    add_out(parser, help="output dataset file (.h5)")
    add_seed(parser)
    parser.add_argument("--noise", type=finite_float, metavar="SIGMA",
                        help="mode width / noise std (defaults: ring 0.1, grid 0.05, moons 0.1, spiral 0.1; "
                             "checkerboard takes none)")


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
