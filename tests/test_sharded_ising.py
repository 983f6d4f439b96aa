"""Sharded Ising generation and ``physgen data merge``: ``--workers W`` (worker processes) and ``W`` torchrun
ranks (one shard file each, merged) give the same configurations; a merged file is its shards concatenated;
bad shard sets and mismatched files are exit 2 with one stderr line."""
import h5py
import numpy as np
import pytest

from physgen.data import Dataset, load, save
from physgen.data.ising.sharded import simulate_shard
from physgen.data.shards import shard_path, spawn_states, split

ARGS = ["data", "ising", "--size", "4", "--temperatures", "2.0,3.0", "--samples", "5", "--chains", "3",
        "--burn-in", "4", "--thin", "2", "--seed", "7", "--device", "cpu"]


def _one_error_line(cli, *args):
    code, _, err = cli(*args)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("physgen: error: ") and "Traceback" not in err, err
    return lines[0]


def _ranks(cli, monkeypatch, out, world):
    """The shard files of ``world`` torchrun ranks (each rank's environment, in this process)."""
    monkeypatch.setenv("WORLD_SIZE", str(world))
    for rank in range(world):
        monkeypatch.setenv("RANK", str(rank))
        code, stdout, err = cli(*ARGS, "--out", out)
        assert code == 0, err
        assert str(shard_path(out, rank, world)) in stdout
    monkeypatch.delenv("WORLD_SIZE")
    monkeypatch.delenv("RANK")
    return [shard_path(out, rank, world) for rank in range(world)]


def test_workers_equal_merged_torchrun_shards(cli, tmp_path, monkeypatch):
    code, _, err = cli(*ARGS, "--workers", "2", "--out", tmp_path / "w.h5")
    assert code == 0, err
    shards = _ranks(cli, monkeypatch, tmp_path / "r.h5", 2)
    code, out, err = cli("data", "merge", shards[1], shards[0], "--out", tmp_path / "m.h5")  # any order
    assert code == 0 and "2 shards" in out, err
    with h5py.File(tmp_path / "w.h5") as a, h5py.File(tmp_path / "m.h5") as b:
        assert a["samples"][()].tobytes() == b["samples"][()].tobytes()  # same (seed, W): same bytes
        assert a["samples"].shape == (10, 4, 4)
    w, m, parts = load(tmp_path / "w.h5"), load(tmp_path / "m.h5"), [load(s) for s in shards]
    np.testing.assert_array_equal(m.samples, np.concatenate([p.samples for p in parts]))
    np.testing.assert_array_equal(m.conditions["temperature"],
                                  np.concatenate([p.conditions["temperature"] for p in parts]))
    assert w.attrs == m.attrs
    assert m.attrs["seed"] == 7 and m.attrs["chains"] == 3 and m.attrs["shard_count"] == 2
    assert m.attrs["n_samples_per_temperature"] == 5 and "shard_index" not in m.attrs
    assert [s["shard_seed"] for s in m.attrs["shards"]] == [x >> 1 for x in spawn_states(7, 2)]
    # shard k is an independent run with its share of samples and chains and its spawned seed
    assert split(5, 2) == [3, 2] and parts[1].samples.shape == (4, 4, 4)
    again = simulate_shard(4, [2.0, 3.0], 5, index=1, count=2, seed=7, chains=3, burn_in=4, thin=2, device="cpu")
    np.testing.assert_array_equal(again.samples, parts[1].samples)


def test_one_worker_is_the_unsharded_run(cli, tmp_path):
    assert cli(*ARGS, "--out", tmp_path / "a.h5")[0] == 0
    assert cli(*ARGS, "--workers", "1", "--out", tmp_path / "b.h5")[0] == 0
    np.testing.assert_array_equal(load(tmp_path / "a.h5").samples, load(tmp_path / "b.h5").samples)


def test_merge_plain_files_concatenates_in_the_given_order(cli, tmp_path):
    rng = np.random.default_rng(0)
    x = [rng.normal(size=(n, 3)).astype(np.float32) for n in (4, 2)]
    files = [save(Dataset(v, "continuous", attrs={"source": f"s{i}", "feature_names": ["a", "b", "c"]}),
                  tmp_path / f"{i}.h5") for i, v in enumerate(x)]
    assert cli("data", "merge", files[1], files[0], "--out", tmp_path / "m.h5")[0] == 0
    m = load(tmp_path / "m.h5")
    np.testing.assert_array_equal(m.samples, np.concatenate([x[1], x[0]]))
    assert m.feature_names == ["a", "b", "c"] and m.attrs["shards"] == [{"source": "s1"}, {"source": "s0"}]


def test_bad_shard_sets_and_mismatched_files(cli, tmp_path, monkeypatch):
    shards = _ranks(cli, monkeypatch, tmp_path / "r.h5", 3)
    out = tmp_path / "m.h5"
    assert "missing shard 1 of 3" in _one_error_line(cli, "data", "merge", shards[0], shards[2], "--out", out)
    line = _one_error_line(cli, "data", "merge", shards[0], shards[1], shards[1], shards[2], "--out", out)
    assert "duplicates shard 1 of 3" in line
    other = save(Dataset(np.ones((2, 4, 4), np.uint8), "binary"), tmp_path / "bin.h5")
    assert "kind 'binary'" in _one_error_line(cli, "data", "merge", other,
                                              save(Dataset(np.ones((2, 4, 4), np.int8), "spins"), tmp_path / "s.h5"),
                                              "--out", out)
    small = save(Dataset(np.ones((2, 2, 2), np.int8), "spins"), tmp_path / "small.h5")
    big = save(Dataset(np.ones((2, 4, 4), np.int8), "spins"), tmp_path / "big.h5")
    assert "shape (2, 2)" in _one_error_line(cli, "data", "merge", big, small, "--out", out)
    assert "not a shard" in _one_error_line(cli, "data", "merge", shards[0], big, "--out", out)
    assert not out.exists()
    assert "--workers" in _one_error_line(cli, *ARGS, "--workers", "4", "--out", out)  # 3 chains: at most 3
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    assert "under torchrun" in _one_error_line(cli, *ARGS, "--workers", "2", "--out", out)


@pytest.mark.parametrize("n,parts", [(10, 3), (2, 2)])
def test_split_is_even_and_complete(n, parts):
    sizes = split(n, parts)
    assert sum(sizes) == n and max(sizes) - min(sizes) <= 1
