"""``physgen sample --format root|lhe``: generated samples for the tools physicists use next."""
from __future__ import annotations

import sys

import numpy as np

from physgen.errors import UserError


def check(args) -> None:
    """Refuse a bad ``--out`` suffix or a missing dependency before sampling."""
    from physgen.data.hep.lhe import is_lhe
    from physgen.data.hep.root import is_root

    if args.format == "lhe" and not is_lhe(args.out):
        raise UserError(f"--out: {args.out!r} must end in .lhe or .lhe.gz for --format lhe")
    if args.format == "root" and not is_root(args.out):
        raise UserError(f"--out: {args.out!r} must end in .root for --format root")
    if args.format == "root":
        try:
            import uproot  # noqa: F401
        except ImportError:
            raise UserError("--format root needs uproot: pip install 'physgen[hep]' (or pip install uproot)") from None


def write(args, ds) -> None:
    """Write ``ds`` to ``args.out`` as ROOT (any tabular samples) or LHE (tt̄ rebuilt from s, t, y)."""
    if args.format == "root":
        from physgen.data.hep.root import write_root

        write_root(args.out, ds, overwrite=args.overwrite)
        return
    write_lhe_samples(args, ds)


def write_lhe_samples(args, ds) -> None:
    from physgen.data.hep.events import ttbar_from_sty
    from physgen.data.hep.lhe import write_lhe

    names = ds.feature_names or []
    if not {"s", "t", "y"} <= set(names):
        raise UserError(f"--format lhe: needs the features s, t, y (tt̄ in the thesis' variables); this run has "
                        f"{', '.join(names) or 'no feature names'}")
    ecm = args.ecm if args.ecm is not None else ds.attrs.get("ecm")
    if ecm is None:
        raise UserError("--ecm: the training data has no 'ecm' attribute; give the collision energy in GeV")
    columns = [ds.samples[:, names.index(k)].astype(np.float64) for k in ("s", "t", "y")]
    kin, ok = ttbar_from_sty(*columns, ecm=float(ecm), mass=args.top_mass, rng=np.random.default_rng(args.seed))
    if not ok.any():
        raise UserError("--format lhe: no sample lies in the physical region (s > 4m², |cos θ*| ≤ 1, x ≤ 1); "
                        "are the features in GeV² (not rescaled)?")
    if not ok.all():
        print(f"physgen: warning: {int((~ok).sum())} of {len(ok)} samples lie outside the physical region "
              "(s > 4m², |cos θ*| ≤ 1, x ≤ 1) and are not written", file=sys.stderr)
    write_lhe(args.out, kin, ecm=float(ecm), sigma_pb=float(ds.attrs.get("sigma_pb", 1.0)), overwrite=args.overwrite)
