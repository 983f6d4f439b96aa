"""MMD: blockwise == dense (float64), the group-bootstrap identity, null and alternative behaviour."""
import numpy as np
import pytest
import scipy.stats
import torch
from scipy.spatial.distance import cdist

from physgen.errors import UserError
from physgen.metrics import evaluate_arrays, kpd, mmd, mmd2_unbiased
from physgen.metrics.mmd import Kernel, mean_pairwise_sqdist, median_distance, mmd_terms


def _dense_v(x, y, kxx, kyy, kxy):
    return np.sqrt(max(0.0, kxx.mean() + kyy.mean() - 2 * kxy.mean()))


def _dense_u(kxx, kyy, kxy):
    n, m = len(kxx), len(kyy)
    return ((kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
            - 2 * kxy.mean())


@pytest.fixture
def xy():
    rng = np.random.default_rng(0)
    return rng.normal(size=(157, 4)), rng.normal(0.3, 1.2, size=(131, 4))


def test_mean_pairwise_sqdist_exact(xy):
    x, _ = xy
    assert mean_pairwise_sqdist(x) == pytest.approx(cdist(x, x, "sqeuclidean").mean(), rel=1e-12)


@pytest.mark.parametrize("block", [2, 7, 64, 10_000])
def test_course_mmd_blockwise_equals_dense(xy, block):
    x, y = xy
    scale = 2 * cdist(x, x, "sqeuclidean").mean()       # 2 σ² D̄ with σ = 1
    k = lambda a, b: np.exp(-cdist(a, b, "sqeuclidean") / scale)  # noqa: E731
    dense = _dense_v(x, y, k(x, x), k(y, y), k(x, y))
    assert mmd(x, y, block_size=block, dtype=torch.float64) == pytest.approx(dense, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("block", [3, 13, 10_000])
@pytest.mark.parametrize("kernel", ["gaussian", "multiscale", "poly"])
def test_unbiased_blockwise_equals_dense(xy, kernel, block):
    x, y = xy
    h = median_distance(x)
    if kernel == "poly":
        k = lambda a, b: (a @ b.T / a.shape[1] + 1.0) ** 4  # noqa: E731
    else:
        scales = [h] if kernel == "gaussian" else [h * s for s in (0.25, 0.5, 1, 2, 4)]
        k = lambda a, b: np.mean([np.exp(-cdist(a, b, "sqeuclidean") / (2 * s * s)) for s in scales], 0)  # noqa: E731
    dense = _dense_u(k(x, x), k(y, y), k(x, y))
    got = mmd2_unbiased(x, y, kernel=kernel, block_size=block, dtype=torch.float64)
    assert got == pytest.approx(dense, rel=1e-10, abs=1e-13)


def test_float32_default_is_close(xy):
    x, y = xy
    assert mmd(x, y) == pytest.approx(mmd(x, y, dtype=torch.float64), rel=1e-5)
    assert kpd(x, y) == pytest.approx(kpd(x, y, dtype=torch.float64), rel=1e-4)


def test_group_bootstrap_reweighting_equals_explicit_resample(xy):
    """Σ_gh c_g c_h S_gh − Σ_g c_g D_g reproduces the unbiased MMD² of the resampled (duplicated) rows."""
    x, y = xy
    x, y = x[:120], y[:90]
    kernel = Kernel("gaussian", (1.3,))
    terms = mmd_terms(torch.as_tensor(x), torch.as_tensor(y), [kernel], block_size=30)   # 4 and 3 groups
    cx, cy = np.array([2, 0, 1, 1]), np.array([0, 3, 0])
    rx = np.concatenate([np.repeat(x[g * 30:(g + 1) * 30][None], c, 0).reshape(-1, 4) for g, c in enumerate(cx)])
    ry = np.concatenate([np.repeat(y[g * 30:(g + 1) * 30][None], c, 0).reshape(-1, 4) for g, c in enumerate(cy)])
    k = lambda a, b: np.exp(-cdist(a, b, "sqeuclidean") / (2 * 1.3 ** 2))  # noqa: E731
    expected = _dense_u(k(rx, rx), k(ry, ry), k(rx, ry))
    assert terms.estimate(0, unbiased=True, counts_x=cx, counts_y=cy) == pytest.approx(expected, rel=1e-10)
    assert terms.estimate(0, unbiased=False, counts_x=cx, counts_y=cy) == pytest.approx(
        _dense_v(rx, ry, k(rx, rx), k(ry, ry), k(rx, ry)), rel=1e-10)


def test_null_consistent_with_zero_and_alternative_clearly_not():
    """Same distribution: z = MMD²/error is N(0,1)-like (Fisher-combined two-sided p over 5 seeds > 0.01);
    separated (mean shift 1σ in 3-D, 1,600 against 800 draws): MMD² > 5 errors and far above the floor.  Power
    of the null check (benchmarks/power.py metrics, 20 repetitions): a shift of 0.05σ in one feature is flagged
    0/20 (no shift: 0/20): it checks the error bars' calibration, not percent-level sensitivity.  False-alarm
    rate 1% for calibrated errors; over seeds s + 1000 k (k = 0–19, one thread) the combined p is 0.71–1.0
    (0.77 at the test's seeds: the errors run large), and the separated case's smallest MMD²/error 11.1 ± 1.2
    (smallest 8.8; 5.2 sd above 5).  With 800 against 400 draws it was 7.2 ± 1.2, down to 5.1 (1.8 sd): an
    estimate's own noise is about one error wide, so z needs a mean near 10 to stay 4 sd clear of 5."""
    pvals = []
    for seed in range(5):
        rng = np.random.default_rng(seed)
        r = evaluate_arrays(rng.normal(size=(800, 3)), rng.normal(size=(400, 3)), ["mmd"], seed=seed, n_boot=100)
        for name in ("mmd2_median", "mmd2_multiscale", "kpd"):
            z = r[name]["value"] / r[name]["error"]
            pvals.append(2 * scipy.stats.norm.sf(abs(z)))
    assert scipy.stats.combine_pvalues(pvals).pvalue > 0.01
    rng = np.random.default_rng(9)
    r = evaluate_arrays(rng.normal(size=(1600, 3)), rng.normal(1.0, 1.0, size=(800, 3)), ["mmd"], n_boot=100)
    for name in ("mmd2_median", "mmd2_multiscale", "kpd"):
        assert r[name]["value"] > 5 * r[name]["error"]
    assert r["mmd"]["value"] > r["mmd"]["floor"] + 5 * r["mmd"]["error"]


def test_bad_input():
    with pytest.raises(UserError, match="different numbers of features"):
        mmd(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(UserError, match="unknown kernel"):
        mmd2_unbiased(np.zeros((3, 2)), np.ones((3, 2)), kernel="laplace")
    with pytest.raises(UserError, match="at least 2"):
        mmd2_unbiased(np.zeros((1, 2)), np.ones((3, 2)))


@pytest.mark.parametrize("block,group", [(64, 7), (10, 3), (5, 5), (1024, 50)])
def test_group_sums_match_dense_groups(xy, block, group):
    """Group sums with blocks rounded to whole groups (padding the ragged last group) are exact."""
    from physgen.metrics.mmd import block_sums

    x, y = xy
    kernel = Kernel("gaussian", (1.1,))
    k = np.exp(-cdist(x, x, "sqeuclidean") / (2 * 1.1 ** 2))
    S, D = block_sums(torch.as_tensor(x), None, [kernel], block_size=block, group_size=group)
    gid = np.arange(len(x)) // group
    expected = np.zeros((gid[-1] + 1,) * 2)
    np.add.at(expected, (gid[:, None], gid[None, :]), k)
    np.testing.assert_allclose(S[0].numpy(), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(D[0].numpy(), np.bincount(gid, np.diag(k)), rtol=1e-12)
    Sxy, none = block_sums(torch.as_tensor(x), torch.as_tensor(y), [kernel], block_size=block, group_size=group)
    gy = np.arange(len(y)) // group
    expected_xy = np.zeros((gid[-1] + 1, gy[-1] + 1))
    np.add.at(expected_xy, (gid[:, None], gy[None, :]), np.exp(-cdist(x, y, "sqeuclidean") / (2 * 1.1 ** 2)))
    assert none is None
    np.testing.assert_allclose(Sxy[0].numpy(), expected_xy, rtol=1e-12, atol=1e-12)


def test_tensor_inputs_stay_on_their_device_without_autograd(xy):
    x, y = xy
    tx = torch.as_tensor(x, dtype=torch.float32).requires_grad_(True)
    assert mmd(tx, torch.as_tensor(y)) == pytest.approx(mmd(x, y), rel=1e-6)
