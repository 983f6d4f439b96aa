"""``physgen models``: the registered models and their default budgets; ``physgen models summary NAME`` prints the
layer table, ``physgen models defaults NAME`` the config a model trains with by default.

Parameters are counted as Keras counts them: trainable parameters, plus BatchNorm running mean and
variance as non-trainable weights (so ``thesis-dcgan`` reports the thesis's tables exactly).
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable

from physgen.cli.common import ArgumentParser
from physgen.cli.options import Arg, verb
from physgen.errors import UserError

if TYPE_CHECKING:
    from torch import nn


#: the data each kind's defaults are shown for (``physgen models``): Ising L=16, binarized 8x8 digits, tt̄
#: events, grey 8x8 digits, 30-particle jets
EXAMPLES = {"spins": ("spins", (16, 16), None), "binary": ("binary", (8, 8), None),
            "continuous": ("continuous", (3,), ("s", "t", "y")), "image": ("image", (8, 8), None),
            "pointcloud": ("pointcloud", (30, 3), ("eta_rel", "phi_rel", "pt_rel")),
            "categorical": ("categorical", (16, 16), None), "field": ("field", (8, 8), None)}
EXAMPLE_STATES = 3   # the categorical example: 3-state Potts lattices


def register(sub) -> None:
    parser = verb(sub, "models", "list the available models and their default training budgets, or print one model's "
                  "layers or defaults", "physgen models summary thesis-dcgan --json", run_list)
    inner = parser.add_subparsers(dest="models_verb", required=False, metavar="SUBVERB", parser_class=ArgumentParser)
    verb(inner, "summary", "print a model's layer table (output shapes, parameter counts)",
         "physgen models summary dcgan --data ising.h5 --set model.channels=[32,64]", run_summary, (
             NAME, Arg("--json", "print only the parameter counts as JSON", action="store_true"), *DATA,
             Arg("--set", "model options", nargs="*", default=[], metavar="model.KEY=VALUE")))
    verb(inner, "defaults", "print the config a model trains with by default on some data (before --config, --set and "
         "flags)", "physgen models defaults ddpm --kind spins", run_defaults, (
             NAME, *DATA,
             Arg("--kind", "show the defaults for this data kind's example data (without --data; default: the "
                 "model's usual data)", choices=sorted(EXAMPLES))))


NAME = Arg("name", "registered model name (see `physgen models`)")
DATA = (Arg("--data", "dataset file whose kind/shape the model is built for (default: the model's usual data)"),
        Arg("--condition", "condition the model on this /conditions name or 'labels' (needs --data)"))


def example_spec(kind: str):
    """The DataSpec of :data:`EXAMPLES` ``kind``."""
    from physgen.models.base import DataSpec

    k, shape, names = EXAMPLES[kind]
    return DataSpec(k, shape, names, n_states=EXAMPLE_STATES if k == "categorical" else None)


def budgets(cls) -> dict[str, int | None]:
    """Kind -> the family's default step budget (``train.steps``) on that kind's example data (None: kind
    unsupported or no step budget)."""
    out: dict[str, int | None] = {}
    for kind in EXAMPLES:
        out[kind] = cls.defaults(example_spec(kind)).get("train", {}).get("steps") if kind in cls.kinds else None
    return out


def budget_table() -> str:
    """The default step budgets of every installed family (the ``physgen.models`` entry points; not classes
    registered in-process) as a Markdown table (docs/training.md holds it)."""
    from physgen.models import registry

    lines = ["| family | " + " | ".join(EXAMPLES) + " |", "|---" * (len(EXAMPLES) + 1) + "|"]
    for name in sorted(registry.entry_points()):
        steps = budgets(registry.get(name)).values()
        lines.append(f"| `{name}` | " + " | ".join("—" if v is None else f"{v:,}" for v in steps) + " |")
    return "\n".join(lines)


def run_list(args) -> int:
    from physgen.models import registry
    from physgen.models.card import capabilities_of

    kinds = "/".join(EXAMPLES)
    print(f"{'model':16s} {'type':12s} {'steps (' + kinds + ')':42s} description")
    for name in registry.names():
        cls = registry.get(name)
        kind = "adversarial" if "adversarial" in capabilities_of(cls) else "likelihood"
        budget = "/".join("—" if v is None else f"{v:,}" for v in budgets(cls).values())
        print(f"{name:16s} {kind:12s} {budget:42s} {cls.description}")
    return 0


def resolve_spec(cls, data: str | None, condition: str | None, kind: str | None = None):
    """The DataSpec of ``data`` (with ``condition``), else of example data of ``kind``, else ``cls.default_spec``."""
    from physgen.data import load
    from physgen.models.base import DataSpec

    if data is not None:
        return DataSpec.from_dataset(load(data), condition)
    if condition is not None:
        raise UserError("--condition needs --data (the condition's values come from the data file)")
    return example_spec(kind) if kind is not None else cls.default_spec


def build_model(name: str, data: str | None, condition: str | None, sets: list[str]):
    """Instantiate ``name`` on the spec of ``data`` (or the model's ``default_spec``) with its default model
    options for that data, then the ``--set`` options."""
    from physgen.config import from_dict
    from physgen.models import registry

    cls = registry.get(name)
    spec = resolve_spec(cls, data, condition)
    values: dict[str, Any] = dict(cls.defaults(spec).get("model", {}))
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or not key.startswith("model."):
            raise UserError(f"--set {item}: expected model.KEY=VALUE")
        values[key[len("model."):]] = value
    return cls(from_dict(cls.config_class, values, "model"), spec)


def run_defaults(args) -> int:
    from physgen.config import dumps_toml
    from physgen.models import registry

    cls = registry.get(args.name)
    if args.kind is not None and args.data is not None:
        raise UserError("--kind: give --kind or --data, not both")
    spec = resolve_spec(cls, args.data, args.condition, args.kind)
    if spec.kind not in cls.kinds:
        raise UserError(f"model {cls.name!r} cannot model data of kind {spec.kind!r} (supported: {', '.join(cls.kinds)})")
    print(f'# model "{cls.name}" on {spec.kind} data of shape {tuple(spec.shape)}')
    print(dumps_toml(cls.defaults(spec)), end="")
    return 0


def layer_rows(modules: list["nn.Module"], forward: Callable[[], Any]) -> list[tuple[str, str, str, int, int]]:
    """(name, type, output shape, trainable, non-trainable) of every leaf layer, in call order; without a
    forward call, one row per parameter tensor (name, "Parameter", its shape)."""
    from physgen.models.nets import count_parameters

    import torch

    rows: list[tuple[str, str, str, int, int]] = []
    if forward is None:
        return [(name, "Parameter", str(tuple(p.shape)), p.numel() if p.requires_grad else 0,
                 0 if p.requires_grad else p.numel()) for m in modules for name, p in m.named_parameters()]
    hooks = []
    for root in modules:
        for name, mod in root.named_modules():
            if next(mod.children(), None) is None:
                def hook(m, inp, out, name=name):
                    counts = count_parameters(m)
                    shape = tuple(out.shape[1:]) if isinstance(out, torch.Tensor) else "?"
                    rows.append((name, type(m).__name__, str((None, *shape)), counts["trainable"], counts["non_trainable"]))
                hooks.append(mod.register_forward_hook(hook))
    try:
        with torch.no_grad():
            forward()
    finally:
        for h in hooks:
            h.remove()
    return rows


def counts(modules: list["nn.Module"]) -> dict[str, int]:
    from physgen.models.nets import count_parameters

    out = {"total": 0, "trainable": 0, "non_trainable": 0}
    for m in modules:
        for k, v in count_parameters(m).items():
            out[k] += v
    return out


def summary(model) -> dict[str, dict[str, Any]]:
    """``{network: {"total", "trainable", "non_trainable", "layers": [...]}}``."""
    was_training = model.training
    model.eval()
    try:
        out = {}
        for name, (mods, fwd) in model.networks().items():
            out[name] = {**counts(mods), "layers": layer_rows(mods, fwd)}
        return out
    finally:
        model.train(was_training)


def run_summary(args) -> int:
    model = build_model(args.name, args.data, args.condition, args.set)
    info = summary(model)
    if args.json:
        print(json.dumps({k: {c: v[c] for c in ("total", "trainable", "non_trainable")} for k, v in info.items()}))
        return 0
    print(f'model "{args.name}" on {model.spec.kind} data of shape {tuple(model.spec.shape)}')
    for net, v in info.items():
        print(f"\n{net}")
        print(f"{'layer':28s} {'type':18s} {'output shape':22s} {'params':>10s}")
        print("-" * 82)
        for name, typ, shape, tr, ntr in v["layers"]:
            print(f"{name:28s} {typ:18s} {shape:22s} {tr + ntr:>10,d}")
        print("-" * 82)
        print(f"total params: {v['total']:,}  trainable: {v['trainable']:,}  non-trainable: {v['non_trainable']:,}")
    if "adversarial" in model.capabilities:
        out = model.output_kind
        what = {"bce": "a logit (sigmoid inside the BCE loss)", "lsgan": "a raw score (least-squares loss)"}
        print(f"\ngenerator output: {out}; discriminator output: "
              f"{what.get(model.config.loss, 'a logit (WGAN critic value)')}")
    return 0
