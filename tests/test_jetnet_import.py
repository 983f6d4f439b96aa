"""``physgen data import`` of JetNet's own HDF5 files (``g.hdf5``, ``t150.hdf5``, ...): particle features, mask,
jet type and jet features round-trip exactly into a point-cloud file that the loader and ``physgen evaluate``
accept, and every malformed file is one line, exit 2, nothing written.  The files are written here with h5py in
JetNet's layout: ``particle_features`` (N, P, 4) = (η_rel, φ_rel, p_T,rel, mask), ``jet_features`` (N, 4) = (p_T,
η, mass, multiplicity)."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from physgen.data import load
from physgen.data.hep.jets import JET_TYPES
from physgen.data.hep.jetnet_files import jet_type_of, read_jetnet
from physgen.errors import UserError


def jetnet_arrays(n: int = 40, p: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """JetNet-like float32 arrays: jets with 3..p particles ordered by p_T, zero-padded, mask as feature 3."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(3, p + 1, n)
    mask = (np.arange(p)[None] < counts[:, None]).astype(np.float32)
    pt = -np.sort(-rng.exponential(size=(n, p)), axis=1) * mask
    pt /= pt.sum(axis=1, keepdims=True)
    parts = np.stack([rng.normal(0, 0.1, (n, p)) * mask, rng.normal(0, 0.1, (n, p)) * mask, pt, mask], axis=2)
    jets = np.stack([rng.uniform(800, 1600, n), rng.normal(0, 1, n), rng.uniform(10, 200, n),
                     counts + rng.integers(0, 20, n)], axis=1)
    return parts.astype(np.float32), jets.astype(np.float32)


def write_jetnet(path, particles=None, jets=None, **arrays):
    """An HDF5 file with ``particle_features`` and ``jet_features`` (None: leave it out) and any other datasets."""
    with h5py.File(path, "w") as f:
        for name, values in (("particle_features", particles), ("jet_features", jets), *arrays.items()):
            if values is not None:
                f.create_dataset(name, data=values)
    return path


@pytest.mark.parametrize("name, jet_type, p", [("g.hdf5", "gluon", 30), ("t150.hdf5", "top", 150),
                                               ("q.hdf5", "quark", 30), ("w150.hdf5", "w", 150), ("z.hdf5", "z", 30)])
def test_import_round_trips_features_mask_labels_and_jet_features(tmp_path, cli, name, jet_type, p):
    parts, jets = jetnet_arrays(n=25, p=p)
    write_jetnet(tmp_path / name, parts, jets)
    code, out, err = cli("data", "import", tmp_path / name, "--out", tmp_path / "out.h5")
    assert code == 0, err
    ds = load(tmp_path / "out.h5")
    assert ds.kind == "pointcloud" and ds.shape == (p, 3) and ds.samples.dtype == np.float32
    np.testing.assert_array_equal(ds.samples, parts[..., :3])
    np.testing.assert_array_equal(ds.mask, parts[..., 3].astype(np.uint8))
    assert ds.feature_names == ["eta_rel", "phi_rel", "pt_rel"]
    assert ds.attrs["label_names"] == list(JET_TYPES) and np.all(ds.labels == JET_TYPES.index(jet_type))
    assert ds.attrs["jet_type"] == jet_type and ds.attrs["particles"] == p and ds.attrs["format"] == "jetnet"
    for k, feature in enumerate(("jet_pt", "jet_eta", "jet_mass", "jet_n")):
        np.testing.assert_array_equal(ds.conditions[feature], jets[:, k].astype(np.float64))
    code, out, err = cli("data", "info", tmp_path / "out.h5")
    assert code == 0 and "kind=pointcloud" in out


def test_the_jet_type_option_and_merging_two_types(tmp_path, cli):
    write_jetnet(tmp_path / "g.hdf5", *jetnet_arrays(n=10, seed=1))
    write_jetnet(tmp_path / "my_jets.hdf5", *jetnet_arrays(n=12, seed=2))
    assert cli("data", "import", tmp_path / "g.hdf5", "--kind", "pointcloud", "--out", tmp_path / "g.h5")[0] == 0
    code, _, err = cli("data", "import", tmp_path / "my_jets.hdf5", "--jet-type", "top", "--out", tmp_path / "t.h5")
    assert code == 0, err
    assert cli("data", "merge", tmp_path / "g.h5", tmp_path / "t.h5", "--out", tmp_path / "m.h5")[0] == 0
    merged = load(tmp_path / "m.h5")
    assert np.bincount(merged.labels).tolist() == [10, 0, 12]
    assert read_jetnet(tmp_path / "g.hdf5", jet_type="z").labels[0] == JET_TYPES.index("z")
    assert [jet_type_of(n) for n in ("g.hdf5", "Q150.hdf5", "/data/t.h5")] == ["gluon", "quark", "top"]


def test_evaluate_accepts_imported_jets(tmp_path, cli):
    """``physgen evaluate`` judges two imported files with JetNet's metrics."""
    for name, seed in (("g.hdf5", 3), ("q.hdf5", 4)):
        parts, jets = jetnet_arrays(n=150, p=10, seed=seed)
        write_jetnet(tmp_path / name, parts, jets)
        assert cli("data", "import", tmp_path / name, "--out", tmp_path / f"{name[0]}.h5")[0] == 0
    code, _, err = cli("evaluate", "--real", tmp_path / "g.h5", "--fake", tmp_path / "q.h5", "--out", tmp_path / "ev",
                       "--metrics", "w1m,w1p")
    assert code == 0, err
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert metrics["w1m"]["value"] is not None and set(metrics["w1p"]["per_feature"]) == {"eta_rel", "phi_rel",
                                                                                          "pt_rel"}


def _damage(kind: str, parts: np.ndarray, jets: np.ndarray) -> dict:
    """The datasets of a damaged JetNet file."""
    if kind == "no jets":
        return {"particles": parts, "jets": None}
    if kind == "no particles":
        return {"particles": None, "jets": jets}
    if kind == "rank":
        return {"particles": parts[..., 0], "jets": jets}
    if kind == "width":
        return {"particles": parts[..., :3], "jets": jets}
    if kind == "jet width":
        return {"particles": parts, "jets": jets[:, :3]}
    if kind == "rows":
        return {"particles": parts, "jets": jets[:-1]}
    if kind == "mask":
        bad = parts.copy()
        bad[2, 0, 3] = 0.5
        return {"particles": bad, "jets": jets}
    if kind == "nan":
        bad = jets.copy()
        bad[1, 2] = np.nan
        return {"particles": parts, "jets": bad}
    raise AssertionError(kind)


@pytest.mark.parametrize("kind, message", [
    ("no jets", "without the dataset /jet_features"),
    ("no particles", "without the dataset /particle_features"),
    ("rank", "expected (N, P, 4)"),
    ("width", "expected (N, P, 4)"),
    ("jet width", "expected (N, 4)"),
    ("rows", "holds 40 jets but /jet_features 39"),
    ("mask", "values other than 0 and 1 (first at jet 2, particle 0"),
    ("nan", "/jet_features holds 1 NaN/Inf values"),
])
@pytest.mark.faults
def test_malformed_files_are_one_line_and_write_nothing(tmp_path, cli, kind, message):
    arrays = _damage(kind, *jetnet_arrays())
    write_jetnet(tmp_path / "t.hdf5", arrays["particles"], arrays["jets"])
    code, out, err = cli("data", "import", tmp_path / "t.hdf5", "--out", tmp_path / "out.h5")
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out.h5").exists()


@pytest.mark.parametrize("setup, args, message", [
    ("unknown name", (), "jet type comes from JetNet's file names"),
    ("physgen file", (), "a physgen dataset file"),
    ("not hdf5", (), "not a readable HDF5 file"),
    ("ok", ("--kind", "continuous"), "--kind continuous: JetNet's HDF5 files are point clouds"),
    ("ok", ("--mask-feature", "3"), "--mask-feature: not for JetNet's HDF5 files"),
    ("ok", ("--columns", "a"), "--columns: not for JetNet's HDF5 files"),
    ("ok", ("--jet-type", "photon"), "invalid choice"),
])
@pytest.mark.faults
def test_bad_names_options_and_non_jetnet_files(tmp_path, cli, setup, args, message):
    parts, jets = jetnet_arrays(n=5)
    path = tmp_path / ("jets.hdf5" if setup == "unknown name" else "w.hdf5")
    if setup == "physgen file":
        write_jetnet(path, None, None, samples=parts)
    elif setup == "not hdf5":
        path.write_text("eta phi pt\n")
    else:
        write_jetnet(path, parts, jets)
    code, out, err = cli("data", "import", path, *args, "--out", tmp_path / "out.h5")
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out.h5").exists()


def test_the_jet_type_option_is_for_jetnet_files_only(tmp_path, cli):
    np.savetxt(tmp_path / "x.txt", np.ones((3, 2)))
    code, _, err = cli("data", "import", tmp_path / "x.txt", "--jet-type", "top", "--out", tmp_path / "o.h5")
    assert code == 2 and "--jet-type: only for JetNet's HDF5 files" in err and not (tmp_path / "o.h5").exists()


def test_python_errors_name_the_parameter(tmp_path):
    write_jetnet(tmp_path / "jets.hdf5", *jetnet_arrays(n=3))
    with pytest.raises(UserError, match=r"for another name give jet_type$"):
        read_jetnet(tmp_path / "jets.hdf5")
    with pytest.raises(UserError, match=r"^jet_type=photon: choose from"):
        read_jetnet(tmp_path / "jets.hdf5", jet_type="photon")


@pytest.mark.faults
def test_truncated_and_oversized_files_are_refused(tmp_path, cli, monkeypatch):
    from physgen import memory_guard

    write_jetnet(tmp_path / "z.hdf5", *jetnet_arrays(n=200))
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / "z.hdf5").write_bytes((tmp_path / "z.hdf5").read_bytes()[:3000])
    code, _, err = cli("data", "import", tmp_path / "cut" / "z.hdf5", "--out", tmp_path / "out.h5")
    assert code == 2 and "not a readable HDF5 file" in err and len(err.strip().splitlines()) == 1, err
    monkeypatch.setattr(memory_guard, "available", lambda: 100_000)   # 200 jets × 30 slots need about 270 kB
    code, _, err = cli("data", "import", tmp_path / "z.hdf5", "--out", tmp_path / "out.h5")
    assert code == 2 and "bytes" in err and "available" in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out.h5").exists()
