"""Options shared by ``physgen data lattice`` and ``physgen exact``: the model, its size, boundary, parameters and
quenched disorder, and the model instance they name."""
from __future__ import annotations

from physgen.cli.common import lattice_size
from physgen.cli.options import Arg
from physgen.constraints import NON_NEGATIVE_INT
from physgen.errors import UserError


def key_value(text: str) -> tuple[str, str]:
    """``--param KEY=VALUE``."""
    import argparse

    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE (e.g. q=3)")
    return key.strip(), value.strip()


def model_args(*, required: bool = True) -> tuple[Arg, ...]:
    """``--model``, ``--size``, ``--boundary``, ``--param`` and the quenched disorder's ``--disorder`` and
    ``--disorder-seed``."""
    return (Arg("--model", "lattice model: ising, potts, ea, triangular, or a plug-in's (physgen.lattice_models)",
                required=required),
            Arg("--size", "lattice size L (L x L)", type=lattice_size, required=required),
            Arg("--boundary", "boundary conditions (default periodic)", choices=("periodic", "open"),
                default="periodic"),
            Arg("--param", "a model parameter, repeatable (e.g. --param q=3 --param J=1)", type=key_value,
                action="append", default=[], metavar="KEY=VALUE"),
            Arg("--disorder", "quenched couplings of a spin glass: +-J (pm, default) or Gaussian (gauss)",
                choices=("pm", "gauss")),
            Arg("--disorder-seed", "seed of the quenched couplings (default 0); the couplings are stored in the output",
                range=NON_NEGATIVE_INT))


def model_of(args):
    """The model instance the options name."""
    from physgen.lattice import registry

    if args.model is None or args.size is None:
        raise UserError("--model and --size are required (or --from FILE)")
    cls = registry.get(args.model)
    params = dict(args.param)
    return cls(args.size, boundary=args.boundary, params=params, disorder=args.disorder,
               disorder_seed=args.disorder_seed)
