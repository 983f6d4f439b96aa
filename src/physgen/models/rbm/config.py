"""Typed, validated configuration of the RBM family (``[model]`` section of a run's config.toml)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from physgen.config import validate
from physgen.constraints import NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT, Constraint, Interval
from physgen.errors import UserError

Visible = Literal["auto", "bernoulli", "spin", "gaussian", "binomial", "softmax"]
Method = Literal["cd", "pcd", "pt", "exact"]
EXACT_MAX_UNITS = 20
N_HIDDEN = 64   # the default width of a dense RBM


@dataclass
class RBMConfig:
    """Hyperparameters of :class:`physgen.models.rbm.RBM` (defaults are physgen's defaults).

    visible          ``auto`` (spins -> spin, binary -> bernoulli, grey images on a grid of levels k/N ->
                     softmax, other grey images -> bernoulli, continuous -> gaussian) or explicit
                     (``binomial``, ``softmax``: grey images on a grid)
    n_hidden         number of Bernoulli hidden units of a dense RBM (``filters`` = 0; left at its default
                     otherwise)
    filters          0: dense weights; F ≥ 1: translation-invariant weights on the periodic lattice of the
                     data's shape (Carleo & Troyer 2017; :mod:`physgen.models.rbm.symmetry`): F filters, so
                     ``F·n`` hidden units for ``n`` sites; spin and Bernoulli units
    filter_size      with ``filters``: each filter's support, a window of this many sites per dimension
                     (0, or more than the lattice's side: the whole lattice)
    method           negative phase: ``cd`` (CD-k from data, Hinton 2002), ``pcd`` (persistent chains,
                     Tieleman 2008), ``pt`` (parallel tempering, Desjardins et al. 2010), ``exact``
                     (exact gradient by enumerating the smaller layer; tiny models only)
    k                Gibbs sweeps per update
    n_chains         persistent chains (per condition value; pcd and pt)
    n_temperatures   PT replicas, inverse temperatures linear from ``beta_min`` to 1
    flip             global spin-flip Metropolis move after each sweep (spin units; None = on for spin)
    l2, l1           weight decay on W (penalties ½·l2·‖W‖² and l1·‖W‖₁ added to the loss)
    sparsity_target, sparsity_cost   cross-entropy penalty pulling mean hidden activity to the target
                     (Hinton 2012 guide, §11); cost 0 disables it
    sigma, learn_sigma  Gaussian units' σ (fixed, or learned through log σ; Cho et al. 2011)
    init_std         std of the initial weights (Hinton guide: 0.01)
    monitor_every    compute monitors (reconstruction, pseudo-likelihood, exact LL) every N updates
    burn_in, thin    defaults of :meth:`RBM.sample`
    """

    visible: Visible = "auto"
    n_hidden: int = N_HIDDEN
    filters: int = 0
    filter_size: int = 0
    method: Method = "pcd"
    k: int = 1
    n_chains: int = 100
    n_temperatures: int = 10
    beta_min: float = 0.0
    flip: bool | None = None
    l2: float = 0.0
    l1: float = 0.0
    sparsity_target: float = 0.1
    sparsity_cost: float = 0.0
    sigma: float = 1.0
    learn_sigma: bool = False
    init_std: float = 0.01
    monitor_every: int = 50
    burn_in: int = 1000
    thin: int = 10

    constraints: ClassVar[dict[str, Constraint]] = {
        **{name: POSITIVE_INT for name in ("n_hidden", "k", "n_chains", "monitor_every", "thin")},
        **{name: NON_NEGATIVE_INT for name in ("burn_in", "filters", "filter_size")},
        "n_temperatures": Interval(int, 2, None), "beta_min": Interval(float, 0, 1, closed="left"),
        **{name: NON_NEGATIVE for name in ("l2", "l1", "sparsity_cost", "init_std")},
        "sparsity_target": Interval(float, 0, 1, closed="neither"), "sigma": POSITIVE}

    def __post_init__(self) -> None:
        validate(self, "model")
        check_width(self)

    def asks_width(self, given: frozenset[str] | None = None) -> bool:
        """Whether a width ``n_hidden`` was asked for: set by the user (``model.n_hidden`` in ``given``, the keys
        the command line or a configuration file set), or, from Python (``given`` None), other than the
        default."""
        return "model.n_hidden" in given if given is not None else self.n_hidden != N_HIDDEN


def check_width(config: RBMConfig, given: frozenset[str] | None = None) -> None:
    """The one rule of the two ways to size the hidden layer: translation-invariant ``filters`` ≥ 1 give filters ×
    sites hidden units, so a width asked for beside them (:meth:`RBMConfig.asks_width`) is refused."""
    if config.filters and config.asks_width(given):
        raise UserError(f"model.n_hidden={config.n_hidden} with model.filters={config.filters}: translation-invariant "
                        f"filters give filters × sites hidden units; set model.filters=0 for a dense RBM with "
                        f"n_hidden units")
