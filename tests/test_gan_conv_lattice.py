"""``wgan-gp --set model.arch=conv``: the periodic conv generator/critic of ``gan/conv_lattice.py`` —
shapes, exact translation equivariance/invariance with circular padding, conditioning, parameter counts,
bad input — and a CLI run trained on a few temperatures and sampled at a left-out one."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from physgen.data import Dataset, load, save
from physgen.errors import UserError
from physgen.models import registry
from physgen.models.base import DataSpec
from physgen.models.gan import WGANGPConfig
from physgen.models.nets import count_parameters

G = lambda seed=0: torch.Generator().manual_seed(seed)  # noqa: E731
TEMPS = DataSpec("spins", (8, 8), None, ("temperature",), {"temperature": (1.5, 2.0, 3.5)})
SMALL = {"arch": "conv", "width": 6, "dilations_g": (1, 2), "dilations_d": (1, 2), "noise_channels": 2, "latent": 4}


def build(spec=TEMPS, **cfg):
    torch.manual_seed(0)
    return registry.build("wgan-gp", {**SMALL, **cfg}, spec)


def randomize(module: nn.Module, seed: int = 1) -> None:
    """Non-zero weights everywhere (the FiLM output layer starts at zero)."""
    g = G(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=g))


def test_shapes_and_noise_dimension():
    m = build()
    assert m.noise_dim == 4 + 2 * 8 * 8
    z, c = m.noise(5, G(1)), m.cond(torch.full((5, 1), 2.0))
    assert z.shape == (5, 132)
    assert m.gen(z, c).shape == (5, 8, 8) and m.disc(torch.zeros(5, 8, 8), c).shape == (5,)
    x = m.sample(7, generator=G(2), condition={"temperature": 2.75})
    assert x.shape == (7, 8, 8) and set(x.unique().tolist()) <= {-1.0, 1.0}
    # a global-only z (fixed-z diagnostics) means a zero noise field
    assert torch.equal(m.gen(z[:, :4], c), m.gen(torch.cat([z[:, :4], torch.zeros(5, 128)], 1), c))
    with pytest.raises(ValueError, match="columns"):
        m.gen(z[:, :10], c)


@pytest.mark.parametrize("shift", [(1, 0), (3, -5), (8, 8)])
def test_periodic_generator_commutes_with_lattice_translations(shift):
    m = build()
    randomize(m.gen)
    z, c = m.noise(3, G(3)), m.cond(torch.full((3, 1), 2.4))
    zg, field = z[:, :4], z[:, 4:].reshape(3, 2, 8, 8)
    rolled = torch.cat([zg, torch.roll(field, shift, dims=(2, 3)).flatten(1)], 1)
    torch.testing.assert_close(m.gen(rolled, c), torch.roll(m.gen(z, c), shift, dims=(1, 2)), atol=1e-5, rtol=1e-5)


def test_periodic_critic_is_translation_invariant_and_zero_padding_is_not():
    x, c = torch.randn(4, 8, 8, generator=G(4)), None
    shifted = torch.roll(x, (2, -3), dims=(1, 2))
    m = build(DataSpec("spins", (8, 8)))
    randomize(m.disc)
    torch.testing.assert_close(m.disc(shifted, c), m.disc(x, c), atol=1e-5, rtol=1e-5)
    z = build(DataSpec("spins", (8, 8)), padding="zeros")
    randomize(z.disc)
    assert not torch.allclose(z.disc(shifted, c), z.disc(x, c), atol=1e-3)
    assert all(l.padding_mode == "circular" for l in m.modules() if isinstance(l, nn.Conv2d))
    assert all(l.padding_mode == "zeros" for l in build(DataSpec("image", (8, 8))).modules()
               if isinstance(l, nn.Conv2d))


def test_conditioning_changes_generator_and_critic():
    m = build()
    randomize(m)
    z, x = m.noise(4, G(5)), torch.randn(4, 8, 8, generator=G(6))
    lo, hi = m.cond(torch.full((4, 1), 1.5)), m.cond(torch.full((4, 1), 3.5))
    assert (m.gen(z, lo) - m.gen(z, hi)).abs().mean() > 1e-2
    assert (m.disc(x, lo) - m.disc(x, hi)).abs().mean() > 1e-2


def test_parameter_counts_follow_the_architecture():
    w, k, lat, nc, hid = 6, 2, 4, 1, 64
    m = build()
    conv = lambda a, b: a * b * 9 + b  # noqa: E731
    gen = conv(k, w) + 2 * conv(w, w) + conv(w, 1) + (lat + nc) * hid + hid + hid * 2 * w * 2 + 2 * w * 2
    disc = conv(1 + nc, w) + 2 * conv(w, w) + (w + nc) * hid + hid + hid + 1
    assert count_parameters(m.gen)["total"] == gen == 2773
    assert count_parameters(m.disc)["total"] == disc == 1351
    assert count_parameters(build(DataSpec("spins", (8, 8))).gen)["total"] == gen - hid


def test_conv_wgan_gp_step_is_finite_and_trains_both_players():
    """One adversarial step: finite logs, a gradient penalty that is active (> 0: an untrained critic's gradient
    norms are not all 1) and changed parameters in both networks."""
    m = build()
    opts = {k: torch.optim.Adam(v, lr=1e-3) for k, v in m.parameter_groups().items()}
    before = {n: p.detach().clone() for n, p in m.named_parameters()}
    batch = {"x": m.sample(8, generator=G(7), condition={"temperature": 2.0}), "cond": torch.full((8, 1), 2.0)}
    logs = m.adversarial_step(batch, opts, generator=G(8))
    assert all(math.isfinite(v) for v in logs.values()) and logs["gp"] > 0
    changed = {n.split(".")[0] for n, p in m.named_parameters() if not torch.equal(before[n], p)}
    assert changed == {"gen", "disc"}


@pytest.mark.parametrize("cfg, spec, match", [
    ({"arch": "resnet"}, TEMPS, "model.arch"), ({"padding": "reflect"}, TEMPS, "model.padding"),
    ({"width": 0}, TEMPS, "model.width"), ({"dilations_g": (1, 0)}, TEMPS, "model.dilations_g"),
    ({"noise_channels": 0}, TEMPS, "model.noise_channels"),
    ({"bond_features": True}, TEMPS, "model.bond_features"), ({"dilations_d": (1, 5)}, TEMPS, "model.dilations_d"),
    ({}, DataSpec("continuous", (3,)), "model.arch=conv")])
def test_bad_conv_options_are_user_errors(cfg, spec, match):
    with pytest.raises(UserError, match=match):
        registry.build("wgan-gp", WGANGPConfig(**{**SMALL, **cfg}) if "arch" not in cfg else {**SMALL, **cfg}, spec)


@pytest.fixture(scope="module")
def lattices(tmp_path_factory):
    """Random 8×8 spin lattices labelled with three 'temperatures' (content irrelevant to the CLI test)."""
    rng = np.random.default_rng(0)
    x = rng.choice(np.array([-1, 1], dtype=np.int8), size=(96, 8, 8))
    t = np.repeat([1.5, 2.0, 3.0], 32).astype(np.float32)
    return save(Dataset(x, "spins", conditions={"temperature": t}), tmp_path_factory.mktemp("l") / "spins.h5")


def test_cli_trains_conv_wgan_and_samples_a_left_out_temperature(cli, lattices, tmp_path):
    out = tmp_path / "run"
    code, _, err = cli("train", "wgan-gp", "--data", lattices, "--out", out, "--steps", "6", "--no-progress",
                       "--condition", "temperature", "--set", "model.arch=conv", "--set", "model.width=4",
                       "--set", "model.dilations_g=[1,2]", "--set", "model.dilations_d=[1]",
                       "--set", "train.batch_size=16", "--set", "model.sample_epochs=[1]")
    assert code == 0, err
    code, _, err = cli("sample", out, "--n", 10, "--condition", "temperature=2.5", "--out", tmp_path / "s.h5")
    assert code == 0, err
    ds = load(tmp_path / "s.h5")
    assert ds.kind == "spins" and ds.samples.shape == (10, 8, 8) and set(np.unique(ds.samples)) <= {-1.0, 1.0}
    code, _, err = cli("sample", out, "--n", 4, "--condition", "temperature=4.0", "--out", tmp_path / "x.h5")
    assert code == 2 and len(err.strip().splitlines()) == 1 and not (tmp_path / "x.h5").exists()


def test_lattice_stats_are_the_ising_observables():
    from physgen.models.gan.conv_lattice import lattice_stats
    from physgen.physics.observables import energy_per_spin, magnetization

    up = torch.ones(1, 1, 4, 4)
    checker = (torch.arange(4)[:, None] + torch.arange(4)[None, :]) % 2 * 2.0 - 1
    torch.testing.assert_close(lattice_stats(up), torch.tensor([[1.0, 1.0, 1.0, -2.0]]))
    torch.testing.assert_close(lattice_stats(checker[None, None]), torch.tensor([[0.0, 0.0, 0.0, 2.0]]))
    x = torch.from_numpy(np.random.default_rng(3).choice([-1.0, 1.0], size=(5, 6, 6))).float()
    s = lattice_stats(x[:, None]).double().numpy()
    np.testing.assert_allclose(s[:, 0], magnetization(x.numpy()), atol=1e-6)
    np.testing.assert_allclose(s[:, 3], energy_per_spin(x.numpy()), atol=1e-6)


def test_critic_with_lattice_stats_stays_translation_invariant():
    m = build(lattice_stats=True)
    randomize(m.disc)
    x, c = torch.randn(3, 8, 8, generator=G(9)), m.cond(torch.full((3, 1), 2.0))
    torch.testing.assert_close(m.disc(torch.roll(x, (1, 5), dims=(1, 2)), c), m.disc(x, c), atol=1e-5, rtol=1e-5)
    with pytest.raises(UserError, match="model.lattice_stats"):
        build(DataSpec("image", (8, 8)), lattice_stats=True)


def test_group_spread_is_the_standard_deviation_over_groups_ordered_by_condition():
    from physgen.models.gan.conv_lattice import group_spread
    s = torch.randn(10, 4, generator=G(3), dtype=torch.float64)
    c = torch.tensor([3.0, 1, 2, 1, 3, 2, 1, 2, 3, 1], dtype=torch.float64)[:, None]
    out = group_spread(s, c, 4)
    order = torch.argsort(c[:, 0], stable=True)
    for rows in order.split(4):      # groups of 4, 4 and 2 rows; the first is all T = 1
        want = torch.sqrt(s[rows].var(0, unbiased=False) + 1e-8).expand(len(rows), 4)
        torch.testing.assert_close(out[rows], want)
    assert torch.all(c[order[:4]] == 1.0)


def test_critic_with_group_stats_is_translation_invariant_and_sees_the_batch():
    m = build(group_stats=2)
    randomize(m.disc)
    x, c = torch.randn(4, 8, 8, generator=G(9)), m.cond(torch.tensor([[2.0], [3.5], [2.0], [3.5]]))
    out = m.disc(x, c)
    torch.testing.assert_close(m.disc(torch.roll(x, (1, 5), dims=(1, 2)), c), out, atol=1e-5, rtol=1e-5)
    y = x.clone()
    y[2] = -y[2].flip(-1)              # another lattice in the first lattice's group (same T)
    assert not torch.allclose(m.disc(y, c)[0], out[0])
    torch.testing.assert_close(m.disc(y, c)[[1, 3]], out[[1, 3]])   # the other group is untouched
    with pytest.raises(UserError, match="model.group_stats"):
        build(DataSpec("image", (8, 8)), group_stats=4)


@pytest.mark.parametrize("spec", [DataSpec("image", (3, 8, 8)), DataSpec("binary", (8, 4))])
def test_conv_arch_works_on_images_and_binary_grids(spec):
    m = build(spec)
    x = m.sample(4, generator=G(10))
    assert x.shape == (4, *spec.shape)
    assert (x.min() >= 0 and x.max() <= 1) if spec.kind == "image" else set(x.unique().tolist()) <= {0.0, 1.0}
    opts = {k: torch.optim.Adam(v, lr=1e-3) for k, v in m.parameter_groups().items()}
    assert all(math.isfinite(v) for v in m.adversarial_step({"x": x}, opts, generator=G(11)).values())


@pytest.mark.parametrize("shift", [(2, 0), (5, -3)])
def test_global_pool_generator_commutes_with_translations_and_starts_as_the_plain_one(shift):
    m, plain = build(global_pool=True), build()
    z, c = m.noise(3, G(12)), m.cond(torch.full((3, 1), 3.0))
    plain.gen.load_state_dict({k: v for k, v in m.gen.state_dict().items() if not k.startswith("pool.")})
    torch.testing.assert_close(m.gen(z, c), plain.gen(z, c))  # zero-initialised global path
    randomize(m.gen)
    zg, field = z[:, :4], z[:, 4:].reshape(3, 2, 8, 8)
    rolled = torch.cat([zg, torch.roll(field, shift, dims=(2, 3)).flatten(1)], 1)
    torch.testing.assert_close(m.gen(rolled, c), torch.roll(m.gen(z, c), shift, dims=(1, 2)), atol=1e-5, rtol=1e-5)
    # the global path couples distant sites: changing the noise at one site moves the output everywhere
    far = field.clone()
    far[:, :, 0, 0] += 3.0
    moved = (m.gen(torch.cat([zg, far.flatten(1)], 1), c) - m.gen(z, c)).abs()
    assert moved[:, 4, 4].min() > 1e-4  # 4 + 4 sites away: beyond the plain receptive field of dilations (1, 2)
    assert count_parameters(m.gen)["total"] == count_parameters(plain.gen)["total"] + 2 * 6 * 6


def test_projection_critic_reads_features_with_condition_dependent_weights():
    m = build(lattice_stats=True, projection=True)
    randomize(m.disc)
    x = torch.randn(3, 8, 8, generator=G(13))
    c = m.cond(torch.full((3, 1), 2.7))
    torch.testing.assert_close(m.disc(torch.roll(x, (3, 1), dims=(1, 2)), c), m.disc(x, c), atol=1e-5, rtol=1e-5)
    # out = head([pooled, c]) + ⟨φ(c), pooled⟩: recompute the projection term by hand
    d = m.disc
    with torch.no_grad():
        base = build(lattice_stats=True).disc
        base.load_state_dict({k: v for k, v in d.state_dict().items() if not k.startswith("project.")})
        h = d.act(d.stem(torch.cat([x[:, None], c[:, :, None, None].expand(-1, -1, 8, 8)], 1)))
        for conv in d.blocks:
            h = h + d.act(conv(h))
        from physgen.models.gan.conv_lattice import lattice_stats
        pooled = torch.cat([h.mean(dim=(2, 3)), lattice_stats(x[:, None])], 1) * 8.0
        torch.testing.assert_close(d(x, c) - base(x, c), (d.project(c) * pooled).sum(1), atol=1e-4, rtol=1e-4)
    assert count_parameters(d)["total"] == count_parameters(base)["total"] + (1 * 64 + 64) + (64 * 10 + 10)


@pytest.mark.parametrize("cfg, spec, match", [
    ({"projection": True}, DataSpec("spins", (8, 8)), "model.projection"),
    ({"arch": "mlp", "global_pool": True}, TEMPS, "model.global_pool"),
    ({"arch": "mlp", "projection": True}, TEMPS, "model.projection")])
def test_global_pool_and_projection_bad_use_is_a_user_error(cfg, spec, match):
    with pytest.raises(UserError, match=match):
        build(spec, **cfg)


def test_cli_rejects_a_non_boolean_global_pool(cli, lattices, tmp_path):
    code, _, err = cli("train", "wgan-gp", "--data", lattices, "--out", tmp_path / "r", "--steps", "1",
                       "--condition", "temperature", "--set", "model.arch=conv", "--set", "model.global_pool=maybe")
    assert code == 2 and "model.global_pool" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_wgan_gp_groups_the_architecture_options_and_checks_them_in_one_place():
    from physgen.models.gan.mlp import WGANGP, ConvArch, MLPArch, WGANGPConfig, check_options

    assert WGANGPConfig().arch_options == MLPArch((128, 128, 128), (128, 128, 128), "leaky_relu", False)
    conv = WGANGPConfig(arch="conv", width=8).arch_options
    assert isinstance(conv, ConvArch) and conv.width == 8 and conv.dilations_g == (1, 2, 4, 1, 2, 1)
    spins = DataSpec("spins", (8, 8))
    for options, match in (({"global_pool": True}, "global_pool: only for model.arch=conv"),
                           ({"arch": "conv", "bond_features": True}, "bond_features: only for model.arch=mlp"),
                           ({"arch": "conv", "projection": True}, "projection: the projection critic needs"),
                           ({"arch": "conv", "dilations_g": (8,)}, "dilations_g: dilation 8 wraps"),
                           ({"bond_features": True}, "bond_features: needs lattice data")):
        spec = spins if "bond_features" not in options or options.get("arch") else DataSpec("continuous", (3,))
        with pytest.raises(UserError, match=match):
            check_options(WGANGP.resolve(WGANGPConfig(**options), spec), spec, conditioned=False)
    check_options(WGANGPConfig(arch="conv", projection=True, lattice_stats=True), spins, conditioned=True)


@pytest.mark.parametrize("kernel, stride, padding, dilation", [(3, 1, 1, 1), (3, 2, 1, 1), (4, 2, 1, 1), (3, 1, 2, 2),
                                                                   (3, 1, 4, 4), (3, 1, 8, 8)])
def test_periodic_conv_equals_builtin_circular_padding(kernel, stride, padding, dilation):
    """PeriodicConv2d gives nn.Conv2d(padding_mode="circular")'s outputs and input gradients, with the same
    parameter names, for every kernel/stride/dilation the networks use, up to a wrap as wide as the lattice."""
    from physgen.models.nets import PeriodicConv2d
    torch.manual_seed(0)
    ref = nn.Conv2d(3, 5, kernel, stride=stride, padding=padding, dilation=dilation, padding_mode="circular")
    ours = PeriodicConv2d(3, 5, kernel, stride=stride, padding=padding, dilation=dilation)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    y_ref, y = ref(x), ours(x)
    torch.testing.assert_close(y, y_ref)
    g_ref, = torch.autograd.grad(y_ref.square().sum(), x)
    g, = torch.autograd.grad(y.square().sum(), x)
    torch.testing.assert_close(g, g_ref)


@pytest.mark.parametrize("p", [1, 3, 4, 5, 9])
def test_periodic_pad_wraps_like_numpy_with_exact_derivatives(p):
    """periodic_pad equals numpy's pad(mode="wrap"), also for wraps wider than the lattice, and its first
    and second derivatives pass torch.autograd.gradcheck / gradgradcheck (in float64)."""
    from physgen.models.nets import periodic_pad
    x = torch.arange(2 * 4 * 3, dtype=torch.float64).reshape(2, 4, 3)
    np.testing.assert_array_equal(periodic_pad(x, p).numpy(), np.pad(x.numpy(), [(0, 0), (p, p), (p, p)], mode="wrap"))
    x = torch.randn(2, 4, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: periodic_pad(t, p), (x,))
    assert torch.autograd.gradgradcheck(lambda t: periodic_pad(t, p).square(), (x,))


def test_periodic_conv_benchmark_runs_and_checks_agreement(capsys):
    """benchmarks/periodic_conv.py at a tiny size: the three wraps agree (checked inside) and each gets a
    row (the timings themselves are not checked here)."""
    import importlib.util
    from pathlib import Path
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "periodic_conv.py"
    spec = importlib.util.spec_from_file_location("periodic_conv", script)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    med = bench.main(["--batch", "2", "--width", "4", "--size", "8", "--repeats", "2"])
    assert set(med) == {"physgen", "builtin", "index_select"} and all(t > 0 for t in med.values())
    assert capsys.readouterr().out.count("ms per update") == 3
    with pytest.raises(SystemExit):
        bench.main(["--dilations", "1,20"])


def test_periodic_pad_keeps_a_channels_last_layout():
    """A channels-last batch (the diffusion U-Net's sampling layout) is wrapped into a channels-last buffer with
    the same entries as the contiguous one."""
    from physgen.models.nets import periodic_pad
    x = torch.randn(3, 4, 6, 5)
    y = periodic_pad(x.contiguous(memory_format=torch.channels_last), 2)
    assert y.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(y, periodic_pad(x, 2), rtol=0, atol=0)
    np.testing.assert_array_equal(y.numpy(), np.pad(x.numpy(), [(0, 0), (0, 0), (2, 2), (2, 2)], mode="wrap"))
