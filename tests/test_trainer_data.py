"""Data pipeline of the trainer: transforms (fit, invert, Jacobian, JSON), seeded batch order and sharding."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from sklearn.preprocessing import PowerTransformer

from physgen.data import Dataset
from physgen.data.transforms import fit_transform, make_transform, transform_from_json
from physgen.errors import UserError
from physgen.training.data import BatchOrder, split, to_tensor_data


def _skewed(n=400, seed=0):
    rng = np.random.default_rng(seed)
    return np.stack([rng.exponential(2.0, n), -rng.lognormal(0.0, 0.7, n), rng.normal(3, 0.1, n)], 1).astype(np.float32)


@pytest.mark.parametrize("name", ["none", "standardize", "minmax", "yeo-johnson", "quantile"])
def test_round_trip_and_json(name):
    x = _skewed()
    t = fit_transform(name, x, "continuous")
    y = t.transform(x)
    assert y.dtype == np.float32 and y.shape == x.shape
    np.testing.assert_allclose(t.inverse(y), x, rtol=1e-4, atol=1e-4)
    back = transform_from_json(json.loads(json.dumps(t.to_json())))
    np.testing.assert_array_equal(back.transform(x), y)
    np.testing.assert_array_equal(back.inverse(y), t.inverse(y))


def test_standardize_and_minmax_targets():
    x = _skewed()
    y = fit_transform("standardize", x, "continuous").transform(x)
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(0), 1, atol=1e-5)
    y = fit_transform("minmax", x, "continuous").transform(x)
    np.testing.assert_allclose(y.min(0), -1, atol=1e-6)
    np.testing.assert_allclose(y.max(0), 1, atol=1e-6)


def _grey(n=200, seed=0):
    """``(n, 4, 4)`` intensities on the 17-level grid of the 8×8 digits, with saturated ends."""
    return (np.random.default_rng(seed).integers(0, 17, (n, 4, 4)) / 16).astype(np.float32)


def test_logit_round_trip_json_and_ends():
    """y = logit(ε + (1 − 2ε)x), ε = 0.05: the saturated ends sit at ±log(0.95/0.05), the inverse is exact on
    [0, 1] and clips values beyond the ends to 0 and 1; the JSON copy acts identically."""
    x = _grey()
    t = fit_transform("logit", x, "image")
    y = t.transform(x)
    np.testing.assert_allclose([y.min(), y.max()], [-np.log(19), np.log(19)], rtol=1e-6)
    np.testing.assert_allclose(t.inverse(y), x, atol=1e-6)
    np.testing.assert_array_equal(t.inverse(np.array([[-40.0, 40.0, np.nan]])), [[0.0, 1.0, 0.5]])
    back = transform_from_json(json.loads(json.dumps(t.to_json())))
    assert back.to_json() == {"name": "logit", "eps": 0.05}
    np.testing.assert_array_equal(back.transform(x), y)


def test_logit_log_det_matches_finite_differences_and_refuses_values_outside_0_1():
    x = np.random.default_rng(1).uniform(0.01, 0.99, (20, 5))
    t = fit_transform("logit", x, "image")
    h = 1e-6
    numeric = np.log(np.abs((t._forward(x + h) - t._forward(x - h)) / (2 * h))).sum(1)
    np.testing.assert_allclose(t.log_abs_det_jacobian(x), numeric, rtol=1e-6)
    with pytest.raises(UserError, match="data.transform=logit: needs values in \\[0, 1\\]"):
        fit_transform("logit", _skewed(), "continuous")


def test_yeo_johnson_matches_scikit_learn():
    x = _skewed()
    ours = fit_transform("yeo-johnson", x, "continuous").transform(x)
    ref = PowerTransformer(method="yeo-johnson", standardize=True).fit_transform(x.astype(np.float64))
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["none", "standardize", "minmax", "yeo-johnson"])
def test_log_det_jacobian_matches_finite_differences(name):
    x = _skewed(50).astype(np.float64)
    t = fit_transform(name, x, "continuous")
    h = 1e-5
    numeric = np.zeros(len(x))
    for j in range(x.shape[1]):  # the transforms act feature-wise: the Jacobian is diagonal
        e = np.zeros(x.shape[1])
        e[j] = h
        dy = (t._forward(x + e) - t._forward(x - e))[:, j] / (2 * h)
        numeric += np.log(np.abs(dy))
    np.testing.assert_allclose(t.log_abs_det_jacobian(x), numeric, rtol=1e-5, atol=1e-6)


def test_quantile_gaussianises_marginals_and_its_jacobian_matches_finite_differences():
    """Each training marginal maps onto N(0, 1) (Kolmogorov–Smirnov p > 0.5 at n = 4,000, where a shift of
    0.1 σ is rejected at p < 1e-6); log |dy/dx| is checked between the quantile knots, where F is linear.  The
    training data mapped through their own quantiles give p = 1.00 for seeds 1 + 100 k (k = 0–4), so the
    bound 0.5 is not a sampling test."""
    from scipy import stats

    x = _skewed(4000, seed=1).astype(np.float64)
    t = fit_transform("quantile", x, "continuous")
    y = t._forward(x)
    inner = y[np.abs(y).max(1) < 5]  # the extremes sit at the clipping bound ±5.2
    for j in range(3):
        assert stats.kstest(inner[:, j], "norm").pvalue > 0.5
    probe = 0.5 * (np.sort(x[:60], 0) + np.sort(x[60:120], 0))[5:-5]
    h = 1e-7
    numeric = sum(np.log(np.abs((t._forward(probe + np.eye(3)[j] * h) - t._forward(probe - np.eye(3)[j] * h))[:, j]
                                / (2 * h))) for j in range(3))
    np.testing.assert_allclose(t.log_abs_det_jacobian(probe), numeric, rtol=1e-4, atol=1e-4)


def test_constant_feature_and_kind_checks():
    x = np.ones((10, 2), np.float32)
    for name in ("standardize", "minmax", "yeo-johnson", "quantile"):
        assert np.all(np.isfinite(fit_transform(name, x, "continuous").transform(x)))
    with pytest.raises(UserError, match="transforms apply to continuous data only.*data.transform=none"):
        fit_transform("standardize", x, "spins")
    with pytest.raises(UserError, match="unknown transform"):
        make_transform("log")
    with pytest.raises(UserError, match="transform.json: malformed"):
        transform_from_json({"name": "standardize", "mean": [0.0]})


def test_batch_order_covers_each_epoch_once_and_is_seeded():
    order = BatchOrder(10, 4, seed=3)
    assert order.batches_per_epoch == 3
    for epoch in range(3):
        rows = torch.cat([order.indices(epoch, b) for b in range(3)])
        assert sorted(rows.tolist()) == list(range(10))
    assert not torch.equal(order.permutation(0), order.permutation(1))
    assert torch.equal(BatchOrder(10, 4, seed=3).permutation(1), order.permutation(1))
    assert not torch.equal(BatchOrder(10, 4, seed=4).permutation(1), order.permutation(1))
    assert BatchOrder(10, 4, seed=0, drop_last=True).batches_per_epoch == 2
    with pytest.raises(UserError, match="drop_last"):
        BatchOrder(3, 4, seed=0, drop_last=True)


def test_ranks_share_each_global_batch_disjointly():
    order = BatchOrder(37, 8, seed=0)
    for b in range(order.batches_per_epoch):
        shards = [order.indices(2, b, rank, 3) for rank in range(3)]
        assert torch.equal(torch.cat(shards), order.indices(2, b))
        assert max(len(s) for s in shards) - min(len(s) for s in shards) <= 1


def test_split_and_tensor_data():
    x = (2 * np.random.default_rng(0).integers(0, 2, size=(20, 2, 2)) - 1).astype(np.int8)
    ds = Dataset(x, "spins", {"temperature": np.arange(20.0)}, labels=np.arange(20) % 2)
    tr, va = split(ds, 0.25, seed=1)
    assert len(tr) == 15 and len(va) == 5
    assert not set(tr.conditions["temperature"]) & set(va.conditions["temperature"])
    tr2, _ = split(ds, 0.25, seed=1)
    np.testing.assert_array_equal(tr.samples, tr2.samples)
    assert split(ds, 0.0, seed=1)[1] is None
    td = to_tensor_data(tr, make_transform("none"), "temperature")
    batch = td.batch(torch.tensor([0, 2]))
    assert batch["x"].dtype == torch.float32 and set(batch["x"].unique().tolist()) <= {-1.0, 1.0}
    assert batch["cond"].shape == (2, 1) and "labels" not in batch
    assert to_tensor_data(tr, make_transform("none"), "labels").batch(torch.tensor([1]))["labels"].dtype == torch.int64


def test_yeo_johnson_inverse_is_finite_beyond_the_transforms_range():
    """psi maps onto a half-line when lambda < 0 or > 2; generated values past its bound (a generator's tails)
    invert to finite float32 values at the far end of the feature, not NaN."""
    rng = np.random.default_rng(1)
    x = np.stack([np.exp(1.5 * rng.normal(size=4000)) * 100, -np.exp(1.5 * rng.normal(size=4000)) * 100], 1)
    t = fit_transform("yeo-johnson", x.astype(np.float32), "continuous")
    assert t.lambdas_[0] < 0 and t.lambdas_[1] > 2
    out = t.inverse(np.array([[60.0, -60.0], [-60.0, 60.0]], dtype=np.float32))
    assert np.isfinite(out).all()
    assert out[0, 0] > x[:, 0].max() and out[0, 1] < x[:, 1].min()


def test_image_levels_are_recorded_and_samples_put_on_them():
    """Grey images on a grid of 17 intensities (the 8×8 digits): data.json keeps the grid, and samples drawn
    in model space land on it (the nearest level); images with more than 256 values and other kinds keep none."""
    from physgen.training.data import snap, to_dataset
    from physgen.training.rundir import data_constants

    rng = np.random.default_rng(0)
    grid = np.arange(17, dtype=np.float32) / 16
    ds = Dataset(rng.choice(grid, size=(50, 4, 4)).astype(np.float32), "image")
    constants = data_constants(ds, None)
    assert constants["levels"] == [float(v) for v in np.unique(ds.samples)]
    assert "levels" not in data_constants(Dataset(rng.random((50, 4, 4)).astype(np.float32), "image"), None)
    assert "levels" not in data_constants(Dataset(rng.choice([-1, 1], size=(50, 4, 4)).astype(np.int8), "spins"), None)
    x = rng.random((20, 4, 4)).astype(np.float32)
    out = to_dataset(x, _Spec(), fit_transform("none", x, "image"), [(20, None)],
                     constants=constants)
    assert set(np.unique(out.samples)) <= set(constants["levels"])
    np.testing.assert_array_equal(snap(np.array([-1, 0.03, 0.04, 2], np.float32), grid), [0, 0, 0.0625, 1])


class _Spec:
    condition_names, n_labels, feature_names, kind = (), 0, None, "image"


def test_draw_asks_a_chunked_family_for_at_most_its_chunk_per_call_on_cpu():
    """``draw`` splits each condition's count into calls of at most ``cpu_sample_chunk`` (a diffusion U-Net
    runs 100 times per sample, and per-lattice cost doubled from batches of 128 to 1,000 on one core), keeps
    the plan's order, and leaves a family without a chunk at one call per condition."""
    from physgen.models.diffusion import DDPM
    from physgen.training.data import chunks, draw

    assert chunks(300, 128) == [128, 128, 44] and chunks(256, 128) == [128, 128]
    assert chunks(5, 128) == [5] and chunks(1000, None) == [1000]
    assert DDPM.cpu_sample_chunk == 128

    class Recorder(torch.nn.Module):
        cpu_sample_chunk, calls = 2, []

        @property
        def device(self):
            return torch.device("cpu")

        def sample(self, n, *, generator, condition=None):
            self.calls.append((n, condition["t"]))
            return torch.full((n, 1), condition["t"])

    class Spec:
        condition_names, n_labels, feature_names, kind, shape = ("t",), 0, None, "continuous", (1,)

    none = fit_transform("none", np.zeros((2, 1), np.float32), "continuous")
    out = draw(Recorder(), Spec(), none, [(5, {"t": 1.0}), (1, {"t": 2.0})], torch.Generator())
    assert Recorder.calls == [(2, 1.0), (2, 1.0), (1, 1.0), (1, 2.0)]
    np.testing.assert_array_equal(out.samples[:, 0], out.conditions["t"])
    np.testing.assert_array_equal(out.conditions["t"], [1, 1, 1, 1, 1, 2])
    Recorder.cpu_sample_chunk, Recorder.calls = None, []
    draw(Recorder(), Spec(), none, [(5, {"t": 1.0})], torch.Generator())
    assert Recorder.calls == [(5, 1.0)]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, None])
def test_the_transformed_data_check_finds_any_nan_or_inf(bad):
    """The launch's one-pass check (minimum and maximum) finds a single NaN or ±Inf anywhere, and passes finite
    and empty data."""
    from physgen.models.base import all_finite

    x = torch.rand(300, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(0)).float()
    if bad is not None:
        x[123, 4] = bad
    assert all_finite(x) is (bad is None)
    assert all_finite(torch.empty(0, 7))
