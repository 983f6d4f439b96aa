"""A trained run, loaded for sampling and scoring: ``load_run(RUN_DIR) -> Run``.

``Run.sample`` returns a :class:`physgen.data.Dataset` of the training data's kind (spins ``int8`` ±1,
binary ``uint8`` 0/1, continuous/image ``float32`` after inverting the run's transform; the mapping is
:func:`physgen.training.data.draw`, the same one the trainer's quality probe scores), so that
``physgen evaluate`` compares it with the training file directly.  ``Run.log_prob`` scores data in
data space: log p_x(x) = log p_model(y(x)) + log |det dy/dx| for the fitted transform y.
"""
from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from physgen import config as C
from physgen.data import Dataset
from physgen.data.transforms import Transform, transform_from_json
from physgen.errors import UserError, as_written
from physgen.models import registry
from physgen.models.base import DataSpec, GenerativeModel
from physgen.training import checkpoint as ckpt
from physgen.training import rundir as R
from physgen.training.data import draw, to_model_space
from physgen.training.distributed import resolve_device


@dataclass
class Run:
    """A run directory's model (eval mode, on ``device``), config, data spec and transform."""

    path: Path
    model: GenerativeModel
    spec: DataSpec
    config: C.RunConfig
    transform: Transform
    step: int
    checkpoint: str = "latest"   # which checkpoint the weights come from: "best" or "latest"
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # damaged checkpoints passed over, and why

    # --- sampling ------------------------------------------------------------------------------
    def sample(self, n: int, *, seed: int = 0, condition: dict[str, float] | None = None,
               extrapolate: bool = False, mcmc: bool = False, importance: bool = False, chains: int | None = None,
               burn_in: int | None = None, hamiltonian=None, **sampler_options: Any) -> Dataset:
        """``n`` samples in data space; ``condition`` e.g. ``{"temperature": 2.5}`` or ``{"labels": 3}``.

        A conditioned run sampled without ``condition`` spreads ``n`` evenly over the trained values.
        ``mcmc=True``: a Markov chain whose law is exactly the Boltzmann distribution of the training data's
        Hamiltonian (or ``hamiltonian``, a :mod:`physgen.lattice` model of the run's lattice), with the model
        as proposal (``chains`` chains, ``burn_in`` moves discarded, ``thin=k`` keeping every k-th state; without
        ``mcmc`` these are the model's own sampler options); ``importance=True``: the model's draws with
        self-normalised importance weights ``log_weights`` against it (:mod:`physgen.training.exact_sampling`,
        the ``boltzmann`` samplers of :mod:`physgen.samplers.corrected`).
        """
        if n < 1:
            raise UserError("must be >= 1", key="n", value=n)
        if mcmc and importance:
            raise UserError("mcmc and importance exclude each other")
        exact = "mcmc" if mcmc else "importance" if importance else None
        self._check_memory(n)
        temperature = None
        if exact is not None and condition and "temperature" in condition and \
                "temperature" not in self.spec.condition_names:   # the target's temperature, not the model's
            condition = dict(condition)
            temperature = float(condition.pop("temperature"))
        plan = self._condition_plan(n, condition or None, extrapolate or exact is not None)
        gen = torch.Generator(device=self.model.device).manual_seed(int(seed))
        constants = R.read_json(self.path / R.DATA) if (self.path / R.DATA).is_file() else {}
        attrs = {"source": "physgen sample", "run": str(self.path.resolve()), "model": self.config.model_name,
                 "checkpoint": self.checkpoint, "checkpoint_step": self.step, "seed": int(seed)}
        if exact is not None:
            from physgen.training.exact_sampling import sample_exact

            if burn_in is not None:
                sampler_options["burn_in"] = burn_in
            return sample_exact(self, plan, method=exact, generator=gen, constants=constants,
                                hamiltonian=hamiltonian, chains=chains, attrs=attrs, temperature=temperature,
                                options=sampler_options)
        if hamiltonian is not None:
            raise UserError("hamiltonian goes with mcmc or importance")
        sampler_options.update({k: v for k, v in (("chains", chains), ("burn_in", burn_in)) if v is not None})
        _check_options(self.model.sample, self.model.name, sampler_options, "sampler option")
        return draw(self.model, self.spec, self.transform, plan, gen, constants=constants, attrs=attrs,
                    **sampler_options)

    def outside_trained_range(self, condition: dict[str, float] | None) -> list[str]:
        """The continuous conditions of ``condition`` that lie outside the run's trained range, as text."""
        out = []
        for name, value in (condition or {}).items():
            if name in self.spec.condition_names:
                lo, hi = self.spec.condition_range(name)
                if not lo <= float(value) <= hi:
                    out.append(f"{name}={value:g} is outside the trained range [{lo:g}, {hi:g}]")
        return out

    def _check_memory(self, n: int) -> None:
        """Refuse ``n`` samples whose arrays do not fit in memory: the model's samples in its dtype and their
        float32 concatenation, the data-space samples, and a float64 per sample and condition or label."""
        from physgen.data.io import DTYPES
        from physgen.memory_guard import array_bytes, require

        p = next(iter(self.model.parameters()), None)
        model_item = p.element_size() if p is not None else 4
        per_value = model_item + 4 + np.dtype(DTYPES.get(self.spec.kind, np.float32)).itemsize
        n_cond = len(self.spec.condition_names) + (1 if self.spec.n_labels else 0) + 1
        need = array_bytes((n, *self.spec.shape), per_value) + 8 * n * n_cond
        require(need, key="n", value=n,
                reduce=f"lower {as_written('n')} (or sample in several files with different "
                       f"{as_written('seed')})")

    def _condition_plan(self, n: int, condition, extrapolate: bool) -> list[tuple[int, dict | None]]:
        spec = self.spec
        names = list(spec.condition_names) + (["labels"] if spec.n_labels else [])
        if not names:
            if condition:
                raise UserError(f"this run was not trained with conditions (got {', '.join(condition)})", key="condition")
            return [(n, None)]
        if not condition:
            values = (spec.condition_values[names[0]] if spec.condition_names else tuple(range(spec.n_labels)))
            counts = np.diff(np.linspace(0, n, len(values) + 1).round().astype(int))
            return [(int(k), {names[0]: v}) for k, v in zip(counts, values) if k > 0]
        unknown = sorted(set(condition) - set(names))
        if unknown or set(names) - set(condition):
            raise UserError(f"this run is conditioned on {', '.join(names)} (got {', '.join(condition)})", key="condition")
        for name, value in condition.items():
            _check_condition(spec, name, value, extrapolate)
        return [(n, dict(condition))]

    # --- scoring -------------------------------------------------------------------------------------
    def log_prob(self, ds: Dataset, *, method: str, seed: int = 0, **options: Any) -> tuple[np.ndarray, dict[str, Any]]:
        """``(N,)`` float64 log-likelihoods of ``ds`` in data space and the model's attributes (log Z ...)."""
        self.check_data(ds)
        x = torch.from_numpy(to_model_space(ds.samples, ds.kind, self.transform))
        p = next(iter(self.model.parameters()), None)
        x = x.to(device=self.model.device, dtype=p.dtype if p is not None else torch.float32)
        _check_options(self.model.log_prob, self.model.name, options, "scoring option")
        options = {**options, **self._condition_tensors(ds, x)}
        gen = torch.Generator(device=self.model.device).manual_seed(int(seed))
        lp, attrs = self.model.log_prob(x, method=method, generator=gen, **options)
        lp = lp.detach().double().cpu().numpy()
        if ds.kind in ("continuous", "image"):
            lp = lp + self.transform.log_abs_det_jacobian(ds.samples)
        return lp, dict(attrs)

    def _condition_tensors(self, ds: Dataset, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``cond`` ``(N, n_cond)`` and/or ``labels`` ``(N,)`` of a conditioned run, from the data file."""
        out = {}
        if self.spec.condition_names:
            missing = [n for n in self.spec.condition_names if n not in ds.conditions]
            if missing:
                raise UserError(f"the run is conditioned on {', '.join(missing)} but the file has no "
                                f"/conditions/{missing[0]}", key="data")
            cond = np.stack([ds.conditions[n] for n in self.spec.condition_names], axis=1)
            out["cond"] = torch.as_tensor(cond, dtype=x.dtype, device=x.device)
        if self.spec.n_labels:
            if ds.labels is None:
                raise UserError("the run is conditioned on labels but the file has no /labels", key="data")
            out["labels"] = torch.as_tensor(ds.labels, dtype=torch.int64, device=x.device)
        return out

    def check_data(self, ds: Dataset, key: str = "data") -> None:
        """Refuse data (the parameter ``key``) of another kind, shape or feature list than the run's."""
        if ds.kind != self.spec.kind or tuple(ds.shape) != tuple(self.spec.shape):
            raise UserError(f"data of kind {ds.kind!r} shape {tuple(ds.shape)} does not match the run "
                            f"({self.spec.kind!r} shape {tuple(self.spec.shape)})", key=key)
        names, trained = ds.feature_names, self.spec.feature_names
        if names and trained and tuple(names) != tuple(trained):  # same shape, other columns (or order)
            raise UserError(f"features {', '.join(names)} differ from the run's ({', '.join(trained)})", key=key)


def _check_condition(spec: DataSpec, name: str, value: float, extrapolate: bool) -> None:
    if name == "labels":
        if not (float(value).is_integer() and 0 <= value < spec.n_labels):
            raise UserError(f"must be an integer in 0..{spec.n_labels - 1}", key="condition", value=f"labels={value}")
        return
    lo, hi = spec.condition_range(name)
    if not extrapolate and not lo <= value <= hi:
        trained = ", ".join(f"{v:g}" for v in spec.condition_values[name][:20])
        raise UserError(f"outside the trained range [{lo:g}, {hi:g}] "
                        f"(trained: {trained}); pass {as_written('extrapolate')} to allow it", key="condition",
                        value=f"{name}={value:g}")


#: the keywords a model's sample/log_prob takes from the run itself, never as a user's option
OWN = ("generator", "condition")


def keywords(fn) -> tuple[list[str], bool]:
    """The user's keyword options of ``fn`` (a model's sample/log_prob): the ones it names, and whether it
    also takes others (``**options``, read by a named sampler)."""
    params = inspect.signature(fn).parameters
    named = [k for k, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY and k not in OWN]
    return named, any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def _check_options(fn, model_name: str, options: dict[str, Any], what: str) -> None:
    """Refuse keyword options that ``fn`` (the model's sample/log_prob) does not accept."""
    if not options:
        return
    named, more = keywords(fn)
    bad = [k for k in options if k not in named and k not in OWN]
    if bad and not more:
        raise UserError(f"model {model_name!r} takes no {what}(s) {', '.join(as_written(b) for b in bad)} "
                        f"(it takes {', '.join(as_written(k) for k in named) or 'none'})")


def load_run(run_dir: str | Path, device: str | torch.device | None = None, *, which: str = "best",
             warn: Callable[[str], None] | None = None) -> Run:
    """Load a run directory's model for sampling/scoring (``which``: ``best``, the checkpoint with the best
    validation score, falling back to the latest where the run has none; or ``latest``).  ``Run.checkpoint``
    says which was loaded.

    A chosen checkpoint that is corrupted, truncated or malformed is skipped for the newest step checkpoint
    that loads, with one line to ``warn`` (default: standard error) naming the skipped one, why, and the one
    used (``Run.skipped``); UserError when none loads.  The weights are the EMA weights when the run was
    trained with ``train.ema``.
    """
    path = R.require_run_dir(run_dir)
    raw = C.load_toml(path / R.CONFIG)
    cls = registry.get(str(raw.get("model_name", "")))
    raw = C.as_saved(cls.config_class, raw)
    cfg = C.build_config(cls.name, cls.config_class, raw, str(path / R.CONFIG))
    spec = DataSpec.from_json(R.read_json(path / R.SPEC))
    transform = transform_from_json(R.read_json(path / R.TRANSFORM), str(path / R.TRANSFORM))
    if which not in ("best", "latest"):
        raise UserError("choose best | latest", key="which", value=which)
    directory = path / R.CHECKPOINTS
    best = directory / "best.json"
    candidates = [p for _, p in reversed(ckpt.steps(directory))]
    if which == "best" and best.exists():
        candidates.insert(0, best)
    if not candidates:
        raise UserError(f"{path}: has no checkpoint")
    ck, tensors, state, skipped = ckpt.load_first_valid(
        candidates, model=cls.name, model_version=int(getattr(cls, "checkpoint_version", 1)))
    if skipped:
        line = ckpt.skipped_line(skipped, ck, key="which", value=which, action="using",
                                 prefix="physgen: warning: ")
        (warn or _to_stderr)(line)
    cfg = replace(cfg, model=cls.resolve(cfg.model, spec))   # a run saved with "auto" choices
    ckpt.check_model_config(state, cfg.model, resolve=lambda config: cls.resolve(config, spec))
    weights = sum(t.numel() * t.element_size() for k, t in tensors.items() if k.startswith("model."))
    model = registry.instantiate(cls, cfg.model, spec, nbytes=weights)   # (no meta build: the sizes are known)
    _load_weights(model, tensors, use_ema=cfg.train.ema is not None, where=str(ck))
    dev = resolve_device(str(device)) if device is not None else resolve_device("auto")
    model = model.to(device=dev, dtype=getattr(torch, cfg.train.dtype)).eval()
    return Run(path, model, spec, cfg, transform, int(state["step"]), "best" if ck == best else "latest",
               [(p, reason) for p, reason in skipped])


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr)


def _load_weights(model: GenerativeModel, tensors: dict[str, torch.Tensor], *, use_ema: bool, where: str) -> None:
    sd = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    if use_ema:
        sd.update({k[len("ema."):]: v for k, v in tensors.items() if k.startswith("ema.")})
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as exc:
        raise UserError(f"{where}: weights do not match the model's configuration "
                        f"({str(exc).splitlines()[0][:160]})") from None
