"""The HDF5 dataset contract: round trips, validation errors, atomic writes, `data info`."""
import h5py
import numpy as np
import pytest

from physgen.data import Dataset, load, save
from physgen.errors import UserError


def _spins(n=5, L=4, seed=0):
    rng = np.random.default_rng(seed)
    return (2 * rng.integers(0, 2, size=(n, L, L)) - 1).astype(np.int8)


def test_round_trip_keeps_everything(tmp_path):
    ds = Dataset(_spins(), "spins", {"temperature": np.full(5, 2.5)}, np.arange(5),
                 {"size": 4, "J": 1.0, "temperatures": [2.5], "tau": {"2.5": 1.3}, "feature_names": None})
    path = save(ds, tmp_path / "a.h5")
    back = load(path)
    np.testing.assert_array_equal(back.samples, ds.samples)
    assert back.samples.dtype == np.int8 and back.kind == "spins"
    np.testing.assert_array_equal(back.conditions["temperature"], np.full(5, 2.5))
    np.testing.assert_array_equal(back.labels, np.arange(5))
    assert back.attrs["size"] == 4 and back.attrs["tau"] == {"2.5": 1.3} and back.attrs["temperatures"] == [2.5]
    assert "physgen_version" in back.attrs


def test_feature_names_round_trip(tmp_path):
    ds = Dataset(np.zeros((3, 2), np.float32), "continuous", attrs={"feature_names": ["s", "t"]})
    assert load(save(ds, tmp_path / "c.h5")).feature_names == ["s", "t"]


@pytest.mark.parametrize("samples,kind,msg", [
    (np.zeros((2, 3), np.int8), "spins", r"only -1 and \+1"),
    (np.full((2, 3), 2, np.uint8), "binary", "only 0 and 1"),
    (np.array([[0.0, np.nan]], np.float32), "continuous", "1 NaN/Inf values in 1 rows"),
    (np.zeros((2, 3), np.float64), "continuous", "dtype float64"),
    (np.zeros((2, 3), np.float32), "weird", "attribute 'kind'"),
])
def test_invalid_datasets_are_refused(tmp_path, samples, kind, msg):
    with pytest.raises(UserError, match=msg):
        save(Dataset(samples, kind), tmp_path / "bad.h5")
    assert not (tmp_path / "bad.h5").exists()


def test_refuses_to_overwrite(tmp_path):
    ds = Dataset(_spins(), "spins")
    save(ds, tmp_path / "a.h5")
    with pytest.raises(UserError, match="already exists"):
        save(ds, tmp_path / "a.h5")
    save(ds, tmp_path / "a.h5", overwrite=True)


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        load(tmp_path / "missing.h5")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(UserError, match="text.h5: not a readable HDF5"):
        load(tmp_path / "text.h5")
    with h5py.File(tmp_path / "nosamples.h5", "w") as f:
        f.attrs["kind"] = "spins"
    with pytest.raises(UserError, match="missing dataset /samples"):
        load(tmp_path / "nosamples.h5")
    with h5py.File(tmp_path / "nokind.h5", "w") as f:
        f["samples"] = _spins()
    with pytest.raises(UserError, match="missing root attribute 'kind'"):
        load(tmp_path / "nokind.h5")


def test_truncated_file_is_a_clear_error(tmp_path):
    path = save(Dataset(_spins(200, 8), "spins"), tmp_path / "a.h5")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="a.h5"):
        load(path)


def test_failed_write_leaves_no_file(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("disk full")
    monkeypatch.setattr(h5py.Group, "create_group", boom)
    with pytest.raises(RuntimeError):
        save(Dataset(_spins(), "spins"), tmp_path / "a.h5")
    assert list(tmp_path.iterdir()) == []


def test_data_info_cli(cli, tmp_path):
    save(Dataset(_spins(6), "spins", {"temperature": np.repeat([1.5, 3.0], 3)}), tmp_path / "a.h5")
    code, out, err = cli("data", "info", tmp_path / "a.h5")
    assert code == 0, err
    assert "N=6" in out and "kind=spins" in out and "temperature: 2 distinct, [1.5, 3.0]" in out
    code, out, err = cli("data", "info", tmp_path / "nope.h5")
    assert code == 2 and err.count("\n") == 1 and "nope.h5: no such file" in err
