"""Options shared by ``physgen data lattice`` and ``physgen exact``: the model, its size, boundary, parameters and
quenched disorder, and the model instance they name."""
from __future__ import annotations

from physgen.cli.common import nonneg_int
from physgen.errors import UserError


def key_value(text: str) -> tuple[str, str]:
    """``--param KEY=VALUE``."""
    import argparse

    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE (e.g. q=3)")
    return key.strip(), value.strip()


def add_model(p, *, required: bool = True) -> None:
    from physgen.cli.data_ising import lattice_size

    p.add_argument("--model", required=required,
                   help="lattice model: ising, potts, ea, triangular, or a plug-in's (physgen.lattice_models)")
    p.add_argument("--size", type=lattice_size, required=required, help="lattice size L (L x L)")
    p.add_argument("--boundary", choices=("periodic", "open"), default="periodic",
                   help="boundary conditions (default periodic)")
    p.add_argument("--param", type=key_value, action="append", default=[], metavar="KEY=VALUE",
                   help="a model parameter, repeatable (e.g. --param q=3 --param J=1)")
    p.add_argument("--disorder", choices=("pm", "gauss"), default=None,
                   help="quenched couplings of a spin glass: +-J (pm, default) or Gaussian (gauss)")
    p.add_argument("--disorder-seed", type=nonneg_int, default=None,
                   help="seed of the quenched couplings (default 0); the couplings are stored in the output")


def model_of(args):
    """The model instance the options name."""
    from physgen.lattice import registry

    if args.model is None or args.size is None:
        raise UserError("--model and --size are required (or --from FILE)")
    cls = registry.get(args.model)
    params = dict(args.param)
    return cls(args.size, boundary=args.boundary, params=params, disorder=args.disorder,
               disorder_seed=args.disorder_seed)
