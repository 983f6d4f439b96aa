"""Point-cloud datasets (kind ``pointcloud``) and ``physgen data jets``: the HDF5 contract, import, merge, the
CLI's one-line errors, and (slow) the physics of the generated jets."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

from physgen.data import Dataset, load, save
from physgen.data.lazy import load_within
from physgen.data.merge import merge
from physgen.data.pointcloud import from_arrays
from physgen.errors import UserError


def _cloud(n=6, p=5, seed=0) -> Dataset:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p, 3))
    counts = rng.integers(1, p + 1, n)
    mask = np.arange(p)[None, :] < counts[:, None]
    return from_arrays(x, mask, names=["eta_rel", "phi_rel", "pt_rel"], labels=np.zeros(n, np.int64))


def test_roundtrip_keeps_mask_and_zero_padding(tmp_path):
    ds = _cloud()
    save(ds, tmp_path / "c.h5")
    back = load(tmp_path / "c.h5")
    assert back.kind == "pointcloud" and back.shape == (5, 3)
    np.testing.assert_array_equal(back.mask, ds.mask)
    np.testing.assert_array_equal(back.samples, ds.samples)
    assert np.all(back.samples[back.mask == 0] == 0)
    with h5py.File(tmp_path / "c.h5") as f:
        assert f["mask"].dtype == np.uint8 and f["mask"].shape == (6, 5)


@pytest.mark.parametrize("change, message", [
    (lambda ds: setattr(ds, "mask", None), "needs /mask"),
    (lambda ds: setattr(ds, "mask", ds.mask[:, :3]), "/mask has shape"),
    (lambda ds: setattr(ds, "mask", ds.mask * 2), "/mask has shape"),
    (lambda ds: ds.samples.__setitem__((ds.mask == 0), 1.0), "padded particle slots"),
    (lambda ds: ds.attrs.__setitem__("feature_names", ["a"]), "1 names for 3 particle features"),
    (lambda ds: (ds.attrs.pop("feature_names"), setattr(ds, "samples", ds.samples[:, :, 0])), "expected (N, P, F)"),
])
def test_contract_violations_are_one_line_errors(change, message):
    ds = _cloud()
    ds.samples = ds.samples.copy()
    if not (ds.mask == 0).any():
        pytest.skip("needs a padded slot")
    change(ds)
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ds.validate()


def test_mask_refused_for_other_kinds():
    with pytest.raises(UserError, match="for kind 'pointcloud' only"):
        Dataset(np.zeros((2, 3), np.float32), "continuous", mask=np.ones((2, 3), np.uint8)).validate()


def test_subset_merge_and_subsampled_load(tmp_path):
    a, b = _cloud(seed=1), _cloud(seed=2)
    m = merge([a, b])
    np.testing.assert_array_equal(m.mask, np.concatenate([a.mask, b.mask]))
    np.testing.assert_array_equal(m.subset(np.array([7])).mask[0], b.mask[1])
    big = _cloud(n=400, p=30, seed=3)
    save(big, tmp_path / "big.h5")
    ds, record = load_within(tmp_path / "big.h5", 200 * 30 * 3 * 20, seed=0)   # room for about 200 rows
    assert record is not None and len(ds) < 400
    rows = np.flatnonzero(np.isin(big.samples[:, 0, 0], ds.samples[:, 0, 0]))
    np.testing.assert_array_equal(ds.mask, big.mask[rows])


def test_from_arrays_mask_sources():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4, 4))
    x[:, 2:] = 0
    x[:, :2, 3] = 1
    by_feature = from_arrays(x, mask_feature=3)
    by_zero = from_arrays(x[..., :3])
    np.testing.assert_array_equal(by_feature.mask, by_zero.mask)
    assert by_feature.shape == (4, 3) and by_feature.mask.sum() == 6
    with pytest.raises(UserError, match="^mask_feature: "):
        from_arrays(x, mask_feature=9)
    with pytest.raises(UserError, match="NaN"):
        from_arrays(np.full((1, 2, 2), np.nan))


def test_cli_import_info_merge(tmp_path, cli):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 4, 3))
    x[:, 3] = 0
    np.savez(tmp_path / "j.npz", samples=x, mask=(np.arange(4)[None] < 3).repeat(5, 0).astype(np.uint8))
    np.save(tmp_path / "j.npy", np.concatenate([x, (np.abs(x[..., :1]) > 0)], axis=2))
    assert cli("data", "import", tmp_path / "j.npz", "--kind", "pointcloud", "--out", tmp_path / "a.h5")[0] == 0
    assert cli("data", "import", tmp_path / "j.npy", "--kind", "pointcloud", "--mask-feature", "3",
               "--out", tmp_path / "b.h5")[0] == 0
    np.testing.assert_array_equal(load(tmp_path / "a.h5").mask, load(tmp_path / "b.h5").mask)
    code, out, _ = cli("data", "info", tmp_path / "a.h5")
    assert code == 0 and "kind=pointcloud" in out and "particles   3 .. 3" in out
    assert cli("data", "merge", tmp_path / "a.h5", tmp_path / "b.h5", "--out", tmp_path / "m.h5")[0] == 0
    assert load(tmp_path / "m.h5").mask.shape == (10, 4)
    for args, message in [(("--mask-feature", "3"), "only with --kind pointcloud"),
                          (("--kind", "pointcloud", "--mask", "nope"), "no array 'nope'"),
                          (("--kind", "pointcloud", "--columns", "a"), "--columns")]:
        code, _, err = cli("data", "import", tmp_path / "j.npz", *args, "--out", tmp_path / "x.h5")
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("args, message", [
    (("--type", "photon"), "invalid choice"),
    (("--type", "top", "--particles", "0"), "--particles"),
    (("--type", "top", "--pt", "-5"), "--pt"),
    (("--type", "top", "--pt", "7000"), "--ecm: must exceed"),
    (("--type", "top", "--jet-r", "2.5"), "--jet-r"),
    (("--type", "top", "--workers", "0"), "--workers"),
    (("--type", "top", "--pythia", "Random:seed = 3"), "set by physgen"),
    (("--type", "top", "--pythia", "PhaseSpace:pTHatMin = 3"), "set by physgen"),
])
def test_data_jets_bad_input(tmp_path, cli, args, message):
    pytest.importorskip("pythia8mc")
    code, _, err = cli("data", "jets", "--n", "3", *args, "--out", tmp_path / "j.h5")
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "j.h5").exists()


def test_data_jets_writes_jetnet_layout_and_is_seeded(tmp_path, cli):
    pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")
    for name in ("a", "b"):
        code, out, err = cli("data", "jets", "--type", "w", "--n", "3", "--particles", "20", "--seed", "4",
                             "--out", tmp_path / f"{name}.h5")
        assert code == 0, err
    a, b = load(tmp_path / "a.h5"), load(tmp_path / "b.h5")
    np.testing.assert_array_equal(a.samples, b.samples)
    assert a.kind == "pointcloud" and a.shape == (20, 3) and a.feature_names == ["eta_rel", "phi_rel", "pt_rel"]
    assert set(a.conditions) == {"jet_pt", "jet_eta", "jet_mass", "jet_n"} and np.all(a.labels == 3)
    assert np.all((a.conditions["jet_pt"] >= 800) & (a.conditions["jet_pt"] <= 1600))
    pt = a.samples[..., 2]
    assert np.all(np.diff(pt, axis=1)[a.mask[:, 1:] == 1] <= 0)            # ordered by p_T
    assert np.all(np.hypot(a.samples[..., 0], a.samples[..., 1])[a.mask == 1] < 0.8 + 1e-6)   # inside R
    kept = np.minimum(a.conditions["jet_n"], 20)
    np.testing.assert_array_equal(a.mask.sum(axis=1), kept)
    assert np.all(pt.sum(axis=1) <= 1 + 1e-6)
    assert a.attrs["jets_per_second"] > 0 and a.attrs["jet_type"] == "w"


@pytest.mark.slow
def test_jet_physics_masses_and_multiplicities():
    """Top jets peak at m_t, W and Z jets at m_W and m_Z (the mode of the jet mass in 10 GeV bins lies within
    15 GeV of the pole mass), and gluon jets have more constituents than light-quark jets (Casimir scaling:
    C_A/C_F = 9/4 for the radiated multiplicity; a one-sided Mann–Whitney test at 150 + 150 jets, whose power
    against the observed ≈ 30 % difference is ≈ 1); about 800 jets in all."""
    pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")
    from scipy import stats

    from physgen.data.hep import jets as J

    def sample(kind, n, seed):
        return J.generate(J.JetSpec(kind), n, seed=seed).kin["jet"]

    for kind, pole, n in (("top", 172.5, 200), ("w", 80.4, 150), ("z", 91.2, 150)):
        mass = sample(kind, n, 1)[:, 2]
        hist, edges = np.histogram(mass, bins=np.arange(0, 400, 10))
        mode = edges[np.argmax(hist)] + 5
        assert abs(mode - pole) <= 15, (kind, mode)
    gluon, quark = sample("gluon", 150, 2)[:, 3], sample("quark", 150, 3)[:, 3]
    assert gluon.mean() > 1.15 * quark.mean()
    assert stats.mannwhitneyu(gluon, quark, alternative="greater").pvalue < 1e-3


def test_root_roundtrip_of_point_clouds(tmp_path, cli):
    """A point cloud written as ROOT jagged branches (``sample --format root``'s writer) reads back through
    ``data import --kind pointcloud`` unchanged."""
    pytest.importorskip("uproot")
    from physgen.data.hep.root import write_root

    ds = _cloud(n=12, p=6, seed=5)
    ds.conditions = {"jet_pt": np.linspace(900, 1100, 12)}
    write_root(tmp_path / "c.root", ds)
    code, _, err = cli("data", "import", tmp_path / "c.root", "--kind", "pointcloud", "--pad", "6",
                       "--out", tmp_path / "c.h5")
    assert code == 0, err
    back = load(tmp_path / "c.h5")
    np.testing.assert_array_equal(back.mask, ds.mask)
    np.testing.assert_allclose(back.samples, ds.samples, rtol=1e-6)
    assert back.feature_names == ds.feature_names
    code, _, err = cli("data", "import", tmp_path / "c.root", "--kind", "pointcloud", "--branches", "jet_pt",
                       "--out", tmp_path / "d.h5")
    assert code == 2 and "not a variable-length list" in err


def _reference_jet(p, spec, axes):
    """The leading jet of one event the plain way: one PseudoJet per particle, ``sorted_by_pt``, the jet's and
    constituents' η, φ, p_T and mass from fastjet's own methods."""
    import fastjet

    from physgen.data.hep.jets import JET_WINDOW, wrap_phi

    parts = [fastjet.PseudoJet(float(px), float(py), float(pz), float(e)) for e, px, py, pz in p]
    sequence = fastjet.ClusterSequence(parts, fastjet.JetDefinition(fastjet.antikt_algorithm, float(spec.r)))
    jets = fastjet.sorted_by_pt(sequence.inclusive_jets(JET_WINDOW[0] * spec.pt))
    if not jets or jets[0].pt() > JET_WINDOW[1] * spec.pt:
        return None
    jet = jets[0]
    eta, phi, pt = jet.eta(), jet.phi_std(), jet.pt()
    if not np.any(np.hypot(axes[:, 0] - eta, wrap_phi(axes[:, 1] - phi)) < spec.r):
        return None
    c = np.array([(q.eta(), q.phi_std(), q.pt()) for q in jet.constituents()])
    c = c[np.argsort(-c[:, 2], kind="stable")][:spec.n_particles]
    cloud = np.zeros((spec.n_particles, 4))
    cloud[:len(c)] = np.column_stack([c[:, 0] - eta, wrap_phi(c[:, 1] - phi), c[:, 2] / pt, np.ones(len(c))])
    return cloud, np.array([pt, eta, jet.m(), len(jet.constituents())])


def test_batched_jets_equal_the_per_event_reference_bit_for_bit():
    """``event_batch`` + ``leading_jets`` (Pythia's batch interface, one fastjet clustering of the whole batch,
    η and φ in libm as fastjet computes them) give exactly the particles, hard-process axes and jets of the
    event-by-event path (``Pythia::next()``, ``final_visible``, one ``ClusterSequence`` of PseudoJets per event)
    on 24 top events of one seed."""
    pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")
    from physgen.data.hep import jets as J
    from physgen.data.hep.hadron import final_visible
    from physgen.data.hep.pythia import quiet_stdout

    spec = J.JetSpec("top", n_particles=20)
    with quiet_stdout():
        pythia = J._start(spec, 17)
        particles, axes = J.event_batch(pythia, 24, J._Visible(pythia))
        batched = J.leading_jets(particles, axes, spec)
        pythia = J._start(spec, 17)
        for k in range(24):
            assert pythia.next()
            p = final_visible(pythia.event)[0]
            row = particles[k]
            np.testing.assert_array_equal(p, np.column_stack([np.asarray(row[c]) for c in ("E", "px", "py", "pz")]))
            hard = np.array([(pythia.process[i].eta(), pythia.process[i].phi()) for i in (5, 6)])
            np.testing.assert_array_equal(axes[k], hard)
            ref = _reference_jet(p, spec, hard)
            assert (ref is None) == (batched[k] is None), k
            if ref is not None:
                np.testing.assert_array_equal(batched[k][0], ref[0])
                np.testing.assert_array_equal(batched[k][1], ref[1])
    assert sum(b is not None for b in batched) >= 20


def test_jets_do_not_depend_on_the_number_of_workers(monkeypatch):
    """The shards come from ``(n, seed)`` alone: with shards of 4 jets, 9 jets made by one process equal the
    same 9 jets made by two worker processes, and the first shard equals a one-shard run of its size."""
    pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")
    from physgen.data.hep import jets as J

    monkeypatch.setattr(J, "SHARD_JETS", 4)
    spec = J.JetSpec("w", n_particles=10)
    sizes, seeds = J.shard_plan(9, 3)
    assert sizes == [3, 3, 3] and len(set(seeds)) == 3
    one, two = J.generate(spec, 9, seed=3, workers=1), J.generate(spec, 9, seed=3, workers=2)
    np.testing.assert_array_equal(one.kin["cloud"], two.kin["cloud"])
    np.testing.assert_array_equal(one.kin["jet"], two.kin["jet"])
    assert one.stats["seeds"] == two.stats["seeds"] == seeds
    first = J.generate_shard(spec, 3, seeds[0])
    np.testing.assert_array_equal(first.kin["cloud"], one.kin["cloud"][:3])
