"""Options of the variational autoregressive network ``van`` (:mod:`physgen.models.van`) and their checks.

:class:`VANConfig` groups the network (one MADE or the hierarchical stages, hidden widths, the masked direct
input -> output weights, the activation), the Z₂ symmetrisation and the temperature gain (``auto``: chosen by
:meth:`physgen.models.van.VAN.resolve`), the objective (likelihood on data, or the variational free energy of
the Ising Hamiltonian with its coupling, field, boundary, draws per step and β-annealing), how a condition
enters (temperature map, label embedding), and whether each training temperature has its own network
(``experts``, :mod:`physgen.models.van_experts`).

Every bad value is a :class:`~physgen.errors.UserError` naming the ``model.*`` option.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from physgen.config import registry_choice, validate
from physgen.constraints import FINITE, NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE_INT, WIDTHS, Constraint, Each
from physgen.errors import UserError
from physgen.models.nets import Activation, CondMap


@dataclass
class VANConfig:
    """Options of ``van`` (``--set model.NAME=VALUE``)."""

    arch: Literal["auto", "made", "han"] = "auto"   # one MADE over the lattice, or boundaries first (hierarchical)
    hidden: tuple[int, ...] = (128,)         # MADE hidden widths (empty: the linear model of model.direct alone)
    direct: bool = True                      # masked input -> output weights A_ij (j < i)
    act: Activation = "tanh"
    z2: Literal["auto", "on", "off"] = "auto"  # q = [q0(s) + q0(-s)]/2; auto: on for free energy with h = 0
    objective: Literal["likelihood", "free-energy"] = "likelihood"
    J: float = 1.0                           # free-energy: coupling of E(s) = -J sum s_i s_j - h sum s_i
    h: float = 0.0                           # free-energy: field
    boundary: Literal["periodic", "open"] = "periodic"   # free-energy: the lattice's boundary
    hamiltonian: str = registry_choice("ising", "physgen.lattice.registry:names")   # free-energy: the lattice model
    params: dict[str, float] = field(default_factory=dict)   # free-energy: the lattice model's other parameters (q)
    disorder: Literal["pm", "gauss"] = "pm"  # free-energy, quenched models: the couplings' distribution
    disorder_seed: int = 0                   # free-energy, quenched models: the seed the couplings are drawn with
    samples: int = 256                       # free-energy: draws per temperature per step
    anneal: float = 0.0                      # free-energy: beta ramp beta (1 - exp(-t/anneal)) over steps t; 0: none
    cond_map: CondMap = "linear"             # how the temperature enters (nets.Conditioner)
    gain: Literal["auto", "on", "off"] = "auto"   # logits b(c) + e^{G c} f(s): auto = on for a range of temperatures
    label_dim: int = 0                       # labels: 0 = one-hot, > 0 = learned embedding size
    experts: Literal["auto", "on", "off"] = "auto"   # one MADE per training temperature; auto: on for 2-8 of them

    #: runs saved before ``arch`` existed drew with one MADE (:func:`physgen.config.as_saved`)
    predating: ClassVar[dict[str, str]] = {"arch": "made", "experts": "off"}
    constraints: ClassVar[dict[str, Constraint]] = {
        "hidden": WIDTHS, "samples": POSITIVE_INT, "anneal": NON_NEGATIVE, "label_dim": NON_NEGATIVE_INT,
        "J": FINITE, "h": FINITE, "disorder_seed": NON_NEGATIVE_INT, "params": Each(FINITE)}

    def __post_init__(self) -> None:
        if isinstance(self.hidden, int):   # one width given as a number
            self.hidden = (self.hidden,)
        validate(self, "model")
        self.hidden = tuple(int(h) for h in self.hidden)
        if not self.hidden and not self.direct:
            raise UserError("model.hidden: empty with model.direct=false leaves no weights; give a width or direct=true")
        self.params = {str(k): float(v) for k, v in dict(self.params).items()}

    def param_values(self) -> dict[str, float]:
        """``model.params``: the lattice model's parameters besides J and h (``--set model.params.q=3``)."""
        return dict(self.params)
