"""Invertible per-feature preprocessing of continuous data, fitted on the training set.

``auto``         ``quantile`` for continuous (tabular) data, ``none`` for spins, binary data and images
``none``         y = x
``standardize``  y = (x - mean) / std                       (std = 1 where a feature is constant)
``minmax``       y = 2 (x - min) / (max - min) - 1          maps the training range onto [-1, 1]
``yeo-johnson``  y = (psi_lambda(x) - mu) / sigma           Yeo & Johnson (2000), Biometrika 87:954;
                 psi fitted by maximum likelihood with scikit-learn's ``PowerTransformer``
``logit``        y = log p - log(1 - p), p = eps + (1 - 2 eps) x   for intensities x in [0, 1] (images);
                 eps = 0.05 as in Dinh, Sohl-Dickstein & Bengio (2017, RealNVP, arXiv:1605.08803, §4.1).
                 The saturated ends x = 0 and 1 move out to ±log((1 - eps)/eps) = ±2.94 and the grid's
                 end levels get the widest bins, so a continuous model that smears a point mass a little
                 still lands in the right level
``quantile``     y = Phi^-1(F_n(x))                          F_n: the training marginal's quantile function,
                 linear between 1,000 quantiles (scikit-learn's ``QuantileTransformer``); every feature's
                 training marginal becomes a standard normal, so a model only has to learn the dependence

Every transform is saved with the run as JSON (:meth:`Transform.to_json`), inverted on sampling, and
gives ``log |det dy/dx|`` so that densities learned in model space convert to data space:
log p_x(x) = log p_y(y(x)) + log |det dy/dx| (change of variables).
Arrays are ``(N, *shape)``; features are the flattened trailing dimensions.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from physgen.errors import UserError


class Transform:
    """Identity transform; base class.  ``fit`` sets the learned parameters (ending in ``_``)."""

    name = "none"

    def fit(self, x: np.ndarray) -> "Transform":
        return self

    def _forward(self, x2: np.ndarray) -> np.ndarray:  # (N, d) -> (N, d)
        return x2

    def _inverse(self, y2: np.ndarray) -> np.ndarray:
        return y2

    def _log_det(self, x2: np.ndarray) -> np.ndarray:  # (N, d) -> (N,)
        return np.zeros(len(x2))

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Data space -> model space, float32, same shape as ``x``."""
        x = np.asarray(x, dtype=np.float64)
        return self._forward(self._flat(x)).reshape(x.shape).astype(np.float32)

    def inverse(self, y: np.ndarray) -> np.ndarray:
        """Model space -> data space, float32, same shape as ``y``."""
        y = np.asarray(y, dtype=np.float64)
        return self._inverse(self._flat(y)).reshape(y.shape).astype(np.float32)

    def log_abs_det_jacobian(self, x: np.ndarray) -> np.ndarray:
        """``(N,)`` log |det dy/dx| at data-space points ``x``."""
        x = np.asarray(x, dtype=np.float64)
        return self._log_det(self._flat(x))

    def _flat(self, x: np.ndarray) -> np.ndarray:
        """``(N, *shape)`` -> ``(N, d)``; UserError when the fitted parameters are for another ``d`` (a
        hand-edited ``transform.json``)."""
        x2 = x.reshape(len(x), -1)
        widths = self._widths()
        if widths and widths != {x2.shape[1]}:
            raise UserError(f"transform.json: parameters for {sorted(widths)} features, the data has {x2.shape[1]}")
        return x2

    def _widths(self) -> set[int]:
        """The numbers of features the fitted parameters are for (one number when consistent)."""
        return {len(v) for v in self.params().values()}

    def params(self) -> dict[str, Any]:
        return {}

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, **self.params()}


class Standardize(Transform):
    name = "standardize"

    def fit(self, x: np.ndarray) -> "Standardize":
        x2 = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        self.mean_ = x2.mean(axis=0)
        std = x2.std(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0)
        return self

    def _forward(self, x2):
        return (x2 - self.mean_) / self.scale_

    def _inverse(self, y2):
        return y2 * self.scale_ + self.mean_

    def _log_det(self, x2):
        return np.full(len(x2), -np.log(self.scale_).sum())

    def params(self):
        return {"mean": self.mean_.tolist(), "scale": self.scale_.tolist()}


class MinMax(Transform):
    name = "minmax"

    def fit(self, x: np.ndarray) -> "MinMax":
        x2 = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        self.min_ = x2.min(axis=0)
        span = x2.max(axis=0) - self.min_
        self.span_ = np.where(span > 0, span, 1.0)
        return self

    def _forward(self, x2):
        return 2.0 * (x2 - self.min_) / self.span_ - 1.0

    def _inverse(self, y2):
        return (y2 + 1.0) * 0.5 * self.span_ + self.min_

    def _log_det(self, x2):
        return np.full(len(x2), np.log(2.0 / self.span_).sum())

    def params(self):
        return {"min": self.min_.tolist(), "span": self.span_.tolist()}


class YeoJohnson(Transform):
    """Yeo-Johnson power transform (scikit-learn's ``PowerTransformer``) followed by standardisation.

    psi(x) = ((x+1)^l - 1)/l (x >= 0, l != 0);  log(x+1) (x >= 0, l = 0);
             -((1-x)^(2-l) - 1)/(2-l) (x < 0, l != 2);  -log(1-x) (x < 0, l = 2).
    dpsi/dx = (x+1)^(l-1) for x >= 0 and (1-x)^(1-l) for x < 0.
    """

    name = "yeo-johnson"

    def fit(self, x: np.ndarray) -> "YeoJohnson":
        from sklearn.preprocessing import PowerTransformer

        x2 = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        self.lambdas_ = PowerTransformer(method="yeo-johnson", standardize=False).fit(x2).lambdas_
        psi = self._power().transform(x2)
        self.mean_ = psi.mean(axis=0)
        std = psi.std(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0)
        return self

    def _power(self):
        from sklearn.preprocessing import PowerTransformer

        pt = PowerTransformer(method="yeo-johnson", standardize=False)
        pt.lambdas_ = np.asarray(self.lambdas_, dtype=np.float64)
        pt.n_features_in_ = len(pt.lambdas_)
        return pt

    def _forward(self, x2):
        return (self._power().transform(x2) - self.mean_) / self.scale_

    def _inverse(self, y2):
        """psi^-1 of the de-standardised values.  psi maps onto a half-line when lambda < 0 (psi < -1/lambda)
        or lambda > 2 (psi > 1/(2 - lambda)); generated values beyond that bound are clamped just inside it, so
        every sample maps to a finite value (the far tail of x) instead of NaN."""
        psi = y2 * self.scale_ + self.mean_
        lam = np.asarray(self.lambdas_, dtype=np.float64)
        with np.errstate(divide="ignore"):
            hi = np.where(lam < 0, -1.0 / np.where(lam < 0, lam, -1.0), np.inf)
            lo = np.where(lam > 2, 1.0 / (2.0 - np.where(lam > 2, lam, 3.0)), -np.inf)
        lo, hi = (np.where(np.isfinite(b), b * (1 - 1e-6 * np.sign(b) * sign), b) for b, sign in ((lo, -1), (hi, 1)))
        psi = np.clip(psi, lo, hi)
        with np.errstate(over="ignore"):
            x = self._power().inverse_transform(psi)
        big = np.finfo(np.float32).max
        return np.clip(np.nan_to_num(x, nan=0.0, posinf=big, neginf=-big), -big, big)

    def _log_det(self, x2):
        lam = self.lambdas_
        pos = x2 >= 0
        d = np.where(pos, (lam - 1) * np.log1p(np.abs(x2)), (1 - lam) * np.log1p(np.abs(x2)))
        return d.sum(axis=1) - np.log(self.scale_).sum()

    def params(self):
        return {"lambdas": np.asarray(self.lambdas_).tolist(), "mean": self.mean_.tolist(),
                "scale": self.scale_.tolist()}


class Logit(Transform):
    """y = logit(eps + (1 − 2 eps) x) for intensities in [0, 1]; dy/dx = (1 − 2 eps) / (p (1 − p)).  The inverse
    is clipped to [0, 1] (a generated value beyond the ends is a saturated pixel)."""

    name = "logit"

    def __init__(self, eps: float = 0.05):
        self.eps_ = float(eps)

    def fit(self, x: np.ndarray) -> "Logit":
        x = np.asarray(x, dtype=np.float64)
        if x.size and (x.min() < 0 or x.max() > 1):
            raise UserError(f"data.transform=logit: needs values in [0, 1] (image intensities), the data span "
                            f"[{x.min():.4g}, {x.max():.4g}]")
        return self

    def _p(self, x2):
        return self.eps_ + (1.0 - 2.0 * self.eps_) * x2

    def _forward(self, x2):
        p = self._p(x2)
        return np.log(p) - np.log1p(-p)

    def _inverse(self, y2):
        p = 0.5 * (1.0 + np.tanh(0.5 * np.nan_to_num(y2, nan=0.0)))  # the logistic function, overflow-free
        return np.clip((p - self.eps_) / (1.0 - 2.0 * self.eps_), 0.0, 1.0)

    def _log_det(self, x2):
        p = self._p(x2)
        return (np.log(1.0 - 2.0 * self.eps_) - np.log(p) - np.log1p(-p)).sum(axis=1)

    def _widths(self) -> set[int]:
        if not 0 < self.eps_ < 0.5:
            raise UserError(f"transform.json: logit eps must be in (0, 0.5), got {self.eps_}")
        return set()

    def params(self):
        return {"eps": float(self.eps_)}


class QuantileNormal(Transform):
    """Per-feature Gaussianisation y = Phi^-1(F(x)) with scikit-learn's ``QuantileTransformer``
    (``output_distribution="normal"``): F is linear between the training set's quantiles ``quantiles_``
    ``(Q, d)`` at levels ``references_`` ``(Q,)``, Q = min(1000, N).  Generated values beyond the fitted
    range map onto the training extremes.  dy/dx = F'(x) / phi(y) with F' = Δreference / Δquantile on the
    segment that holds x (Bogachev et al. 2005 give the map's optimal-transport view)."""

    name = "quantile"

    def fit(self, x: np.ndarray) -> "QuantileNormal":
        from sklearn.preprocessing import QuantileTransformer

        x2 = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        qt = QuantileTransformer(n_quantiles=min(1000, len(x2)), output_distribution="normal", subsample=None)
        qt.fit(x2)
        self.quantiles_, self.references_ = qt.quantiles_, qt.references_
        return self

    def _sklearn(self):
        from sklearn.preprocessing import QuantileTransformer

        qt = QuantileTransformer(n_quantiles=len(self.references_), output_distribution="normal")
        qt.quantiles_, qt.references_ = np.asarray(self.quantiles_), np.asarray(self.references_)
        qt.n_quantiles_, qt.n_features_in_ = len(self.references_), self.quantiles_.shape[1]
        return qt

    def _forward(self, x2):
        return self._sklearn().transform(x2)

    def _inverse(self, y2):
        return self._sklearn().inverse_transform(np.nan_to_num(y2, nan=0.0))

    def _log_det(self, x2):
        from scipy.stats import norm

        q, r = np.asarray(self.quantiles_), np.asarray(self.references_)
        out = np.zeros(len(x2))
        y = self._forward(x2)
        for j in range(q.shape[1]):
            k = np.clip(np.searchsorted(q[:, j], x2[:, j], side="right") - 1, 0, len(r) - 2)
            dx = q[k + 1, j] - q[k, j]
            slope = np.where(dx > 0, (r[k + 1] - r[k]) / np.where(dx > 0, dx, 1.0), np.inf)
            out += np.log(slope) - norm.logpdf(y[:, j])
        return out

    def _widths(self) -> set[int]:
        q, r = np.asarray(self.quantiles_), np.asarray(self.references_)
        if q.ndim != 2 or r.ndim != 1 or len(r) != len(q) or len(r) < 2:
            raise UserError(f"transform.json: quantiles {q.shape} and references {r.shape} do not form a (Q, d) "
                            "table at Q >= 2 levels")
        return {q.shape[1]}

    def params(self):
        return {"quantiles": np.asarray(self.quantiles_).tolist(), "references": np.asarray(self.references_).tolist()}


_CLASSES = {c.name: c for c in (Transform, Standardize, MinMax, YeoJohnson, Logit, QuantileNormal)}
_PARAMS = {"standardize": ("mean", "scale"), "minmax": ("min", "span"), "yeo-johnson": ("lambdas", "mean", "scale"),
           "logit": ("eps",), "quantile": ("quantiles", "references")}


def make_transform(name: str) -> Transform:
    """Unfitted transform called ``name`` (none | standardize | minmax | yeo-johnson | logit | quantile)."""
    if name not in _CLASSES:
        raise UserError(f"data.transform: unknown transform {name!r} (choose {' | '.join(_CLASSES)})")
    return _CLASSES[name]()


#: ``auto`` Gaussianises continuous data by quantiles up to this many features, and standardises wider data
QUANTILE_MAX_FEATURES = 64


def resolve_transform(name: str, kind: str, n_features: int = 1) -> str:
    """The transform ``data.transform = name`` means for data of ``kind`` with ``n_features`` features per
    sample.  ``auto`` Gaussianises continuous (tabular) features (``quantile``, far closer to the data than
    ``standardize`` on Pythia tt̄ events) up to :data:`QUANTILE_MAX_FEATURES` features, and standardises wider
    data (calorimeter-like rows: the quantile map costs more than a training step there, which a run streamed
    from disk pays at every read); it leaves spins, binary data and images untouched (pixel intensities
    already share one bounded scale).  Evidence: benchmarks/records/transforms.md.  Any other name is itself."""
    if name != "auto":
        return name
    if kind != "continuous":
        return "none"
    return "quantile" if n_features <= QUANTILE_MAX_FEATURES else "standardize"


def fit_transform(name: str, x: np.ndarray, kind: str) -> Transform:
    """Fit transform ``name`` (``auto`` resolved by :func:`resolve_transform`) on training samples ``x`` of
    dataset ``kind``."""
    name = resolve_transform(name, kind, int(np.prod(x.shape[1:])) if x.ndim > 1 else 1)
    if name != "none" and kind not in ("continuous", "image"):
        raise UserError(f"data.transform={name}: transforms apply to continuous data only, the data is {kind!r} "
                        f"(use --set data.transform=none)")
    return make_transform(name).fit(x)


def transform_from_json(d: dict[str, Any], where: str = "transform.json") -> Transform:
    """Rebuild a fitted transform from :meth:`Transform.to_json` output."""
    try:
        t = make_transform(d["name"])
        for key in _PARAMS.get(t.name, ()):
            setattr(t, {"lambdas": "lambdas_"}.get(key, key + "_"), np.asarray(d[key], dtype=np.float64))
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"{where}: malformed transform parameters ({exc})") from None
    return t
