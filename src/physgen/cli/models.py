"""``physgen models``: list the registered models; ``physgen models summary NAME`` prints the layer table.

Parameters are counted as Keras counts them: trainable parameters, plus BatchNorm running mean and
variance as non-trainable weights (so ``thesis-dcgan`` reports the thesis's tables exactly).
"""
from __future__ import annotations

import json
from typing import Any, Callable

import torch
from torch import nn

from physgen.cli.common import ArgumentParser, add_verb
from physgen.errors import UserError


def register(sub) -> None:
    parser = add_verb(sub, "models", "list the available models, or print one model's layers and parameter counts",
                      "physgen models summary thesis-dcgan --json", run_list)
    inner = parser.add_subparsers(dest="models_verb", required=False, metavar="SUBVERB", parser_class=ArgumentParser)
    s = add_verb(inner, "summary", "print a model's layer table (output shapes, parameter counts)",
                 "physgen models summary dcgan --data ising.h5 --set model.channels=[32,64]", run_summary)
    s.add_argument("name", help="registered model name (see `physgen models`)")
    s.add_argument("--json", action="store_true", help="print only the parameter counts as JSON")
    s.add_argument("--data", help="dataset file whose shape/kind sizes the model (default: the model's usual data)")
    s.add_argument("--condition", help="condition the model on this /conditions name or 'labels' (needs --data)")
    s.add_argument("--set", nargs="*", default=[], metavar="model.KEY=VALUE", help="model options")


def run_list(args) -> int:
    from physgen.models import registry

    for name in registry.names():
        cls = registry.get(name)
        desc = getattr(cls, "description", None) or next(iter((cls.__doc__ or "").strip().splitlines()), "")
        kind = "adversarial" if cls.adversarial else "likelihood"
        print(f"{name:16s} {kind:12s} {desc}")
    return 0


def build_model(name: str, data: str | None, condition: str | None, sets: list[str]):
    """Instantiate ``name`` on the spec of ``data`` (or the model's ``default_spec``) with ``--set`` options."""
    from physgen.config import from_dict
    from physgen.data import load
    from physgen.models import registry
    from physgen.models.base import DataSpec

    cls = registry.get(name)
    if data is not None:
        spec = DataSpec.from_dataset(load(data), condition)
    elif condition is not None:
        raise UserError("--condition needs --data (the condition's values come from the data file)")
    else:
        spec = getattr(cls, "default_spec", None) or DataSpec("continuous", (2,))
    values: dict[str, Any] = {}
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or not key.startswith("model."):
            raise UserError(f"--set {item}: expected model.KEY=VALUE")
        values[key[len("model."):]] = value
    return cls(from_dict(cls.config_class, values, "model"), spec)


def networks(model) -> dict[str, tuple[list[nn.Module], Callable[[], Any] | None]]:
    """Name -> (modules counted, a forward call through them, or None for models without layers)."""
    spec = model.spec
    n = 2
    cond = None
    if spec.condition_names:
        cond = torch.tensor([[sum(spec.condition_range(c)) / 2 for c in spec.condition_names]] * n)
    labels = torch.zeros(n, dtype=torch.long) if spec.n_labels else None
    conditioner = getattr(model, "cond", None)
    c = model.cond(cond, labels) if conditioner is not None and conditioner.active else None
    x = torch.zeros(n, *spec.shape)
    if model.adversarial:
        z = model.noise(n, None)
        return {"generator": ([model.gen, model.cond], lambda: model.generate(z, c)),
                "discriminator": ([model.disc], lambda: model.disc(x, c))}
    if hasattr(model, "encode"):  # VAEs
        return {"model": ([model], lambda: model.decode(model.encode(x, c)[0], c))}
    if hasattr(model, "energy_net"):  # EBMs
        return {"model": ([model], lambda: model.energy(x, c))}
    if hasattr(model, "denoiser"):  # diffusion and score models
        return {"model": ([model], lambda: model.denoiser(x.reshape(n, -1), torch.zeros(n), c))}
    return {"model": ([model], None)}  # e.g. the rbm: parameters, no layers


def layer_rows(modules: list[nn.Module], forward: Callable[[], Any]) -> list[tuple[str, str, str, int, int]]:
    """(name, type, output shape, trainable, non-trainable) of every leaf layer, in call order; without a
    forward call, one row per parameter tensor (name, "Parameter", its shape)."""
    from physgen.models.nets import count_parameters

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


def counts(modules: list[nn.Module]) -> dict[str, int]:
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
        for name, (mods, fwd) in networks(model).items():
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
    if model.adversarial:
        out = model.output_kind
        print(f"\ngenerator output: {out}; discriminator output: a logit "
              f"({'sigmoid inside the BCE loss' if model.config.loss == 'bce' else 'WGAN critic value'})")
    return 0
