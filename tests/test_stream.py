"""Training on a file larger than ``data.max_memory``: the chunk shuffler, the streamed batches, the path choice,
exact resume through the CLI, and the bad-input messages."""
from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import trainer_toy  # noqa: F401  (registers toy-gauss)
from safetensors.torch import load_file

from physgen.config import DataConfig
from physgen.data import Dataset, save
from physgen.data import memory as M
from physgen.data.lazy import peek
from physgen.errors import UserError
from physgen.training.checkpoint import latest
from physgen.training.data import BatchOrder, split_rows
from physgen.training.stream import ChunkOrder
from physgen.training.stream_plan import plan, prepare

Q = ["--no-progress", "--device", "cpu"]


def _counts(seed=0, n_chunks=23, size=17):
    """Rows per block with gaps (held-out rows removed): some blocks short, one empty."""
    counts = np.random.default_rng(seed).integers(size // 2, size + 1, n_chunks)
    counts[3] = 0
    return counts


def _epoch_rows(order: ChunkOrder, epoch: int, rank=0, world=1) -> list[np.ndarray]:
    return [order.rows(epoch, b, rank, world) for b in range(order.batches_per_epoch)]


@pytest.mark.parametrize("batch,buffer", [(16, 1), (16, 3), (50, 2), (7, 40)])
def test_every_row_once_per_epoch(batch, buffer):
    counts = _counts()
    order = ChunkOrder(counts, batch, buffer_chunks=buffer, seed=3)
    assert order.batches_per_epoch == BatchOrder(int(counts.sum()), batch, seed=3).batches_per_epoch
    for epoch in (0, 1):
        rows = np.concatenate(_epoch_rows(order, epoch))
        np.testing.assert_array_equal(np.sort(rows), np.arange(counts.sum()))
    assert [len(r) for r in _epoch_rows(order, 0)][:-1] == [batch] * (order.batches_per_epoch - 1)


def test_order_is_a_function_of_seed_and_epoch():
    counts = _counts()
    a = ChunkOrder(counts, 16, buffer_chunks=3, seed=3)
    b = ChunkOrder(counts, 16, buffer_chunks=3, seed=3)
    other = ChunkOrder(counts, 16, buffer_chunks=3, seed=4)
    e0, e1 = np.concatenate(_epoch_rows(a, 0)), np.concatenate(_epoch_rows(a, 1))
    np.testing.assert_array_equal(np.concatenate(_epoch_rows(b, 0)), e0)   # a fresh object: same order
    np.testing.assert_array_equal(a.rows(0, 5), e0[80:96])                 # random access = sequential (resume)
    assert not np.array_equal(e0, e1)
    assert not np.array_equal(np.concatenate(_epoch_rows(other, 0)), e0)
    # chunk-aware: a buffer's rows come from its buffer_chunks blocks only
    blocks = np.searchsorted(a.offsets, a.rows(0, 0), side="right") - 1
    assert set(blocks) <= set(a.buffer_chunks_of(0, 0)) | set(a.buffer_chunks_of(0, 1))


@pytest.mark.parametrize("world,batch,drop_last", [(2, 16, False), (3, 16, False), (3, 20, True), (2, 7, False)])
def test_ranks_read_disjoint_shares(world, batch, drop_last):
    counts = _counts(n_chunks=30)
    n = int(counts.sum())
    order = ChunkOrder(counts, batch, buffer_chunks=2, seed=1, drop_last=drop_last, world=world)
    ref = BatchOrder(n, batch, seed=1, drop_last=drop_last, world=world)
    assert order.batches_per_epoch == ref.batches_per_epoch
    shares = [_epoch_rows(order, 1, r, world) for r in range(world)]
    for b in range(order.batches_per_epoch):     # every rank's share of each batch has BatchOrder's size
        assert [len(s[b]) for s in shares] == [len(ref.indices(1, b, r, world)) for r in range(world)]
    per_rank = [np.concatenate(s) for s in shares]
    everything = np.concatenate(per_rank)
    assert len(np.unique(everything)) == len(everything)       # disjoint
    used = order.batches_per_epoch * batch if drop_last or n % batch < world else n
    assert len(everything) == min(used, n)
    # each rank's rows come from its own stretch of the stream: its buffers, at most one shared with a neighbour
    _, starts = order.plan(1)
    bufs = [set(np.searchsorted(starts, [order.span(b, r, world)[0] for b in range(order.batches_per_epoch)],
                                side="right") - 1) for r in range(world)]
    for r in range(world - 1):
        assert len(bufs[r] & bufs[r + 1]) <= 1


def test_order_refusals():
    with pytest.raises(UserError, match="no rows"):
        ChunkOrder(np.zeros(3, int), 4, buffer_chunks=1, seed=0)
    with pytest.raises(UserError, match="smaller than the 4 processes"):
        ChunkOrder(np.full(3, 5), 2, buffer_chunks=1, seed=0, world=4)


def _indexed_file(path: Path, n=600, d=4, chunk=25) -> Path:
    """Continuous rows x[i] = (i, i, ...) in chunks of ``chunk`` rows, with a temperature condition."""
    x = np.repeat(np.arange(n, dtype=np.float32)[:, None], d, axis=1)
    save(Dataset(x, "continuous", {"temperature": np.arange(n) % 3 + 1.0}), path)
    with h5py.File(path, "a") as f:                     # rewrite /samples with small chunks
        del f["samples"]
        f.create_dataset("samples", data=x, chunks=(chunk, d))
    return path


def test_streamed_batches_are_the_ordered_rows(tmp_path):
    source = peek(_indexed_file(tmp_path / "x.h5"))
    assert source.chunk_rows == 25 and len(source) == 600
    p = plan(source, "6KB", 16)
    assert p.streamed and p.row_bytes == 32
    prep = prepare(source, p, transform_name="none", condition="temperature", val_fraction=0.1, seed=5,
                   batch_size=16)
    data = prep.data
    assert len(data) == 540 and prep.info["n_heldout"] == 60
    assert len(prep.val) == prep.info["n_heldout_used"] == 46      # a quarter of 6 kB: a seeded subsample
    assert prep.info["fit_sample"] == 23 and prep.data.x.shape == (23, 4)
    held = set(split_rows(600, 0.1, 5)[1])
    assert set(prep.val.samples[:, 0].astype(int)) <= held
    order = data.order(16, seed=9)
    seen = []
    for b in (0, 1, 2, 30, 33):
        batch = data.batch_at(order, 1, b)
        file_rows = data.rows[order.rows(1, b)]
        np.testing.assert_array_equal(batch["x"][:, 0].numpy(), file_rows)
        np.testing.assert_array_equal(batch["cond"][:, 0].numpy(), file_rows % 3 + 1.0)
        seen.extend(file_rows)
        assert len(data._buffers) <= 2
    assert not held & set(seen)


def test_streamed_buffers_are_transformed_in_few_calls_with_the_same_values(tmp_path, monkeypatch):
    """A buffer's rows are transformed together (not block by block), in slices of TRANSFORM_BYTES that may
    cut across blocks; the batches equal the transform of the same stored rows."""
    from physgen.training import stream

    rng = np.random.default_rng(3)
    x = rng.gamma(2.0, size=(600, 4)).astype(np.float32)
    path = save(Dataset(x, "continuous"), tmp_path / "g.h5")
    with h5py.File(path, "a") as f:
        del f["samples"]
        f.create_dataset("samples", data=x, chunks=(25, 4))
    source = peek(path)
    prep = prepare(source, plan(source, "12KB", 16), transform_name="quantile", condition=None, val_fraction=0,
                   seed=1, batch_size=16)
    data, calls = prep.data, []
    forward = prep.transform.transform
    monkeypatch.setattr(prep.transform, "transform", lambda v: calls.append(len(v)) or forward(v))
    assert data.buffer_chunks >= 4 and data.chunk_rows <= 25
    for slice_bytes, per_call in ((stream.TRANSFORM_BYTES, None), (8 * 4 * 7, 7)):   # 7 rows a call: across blocks
        monkeypatch.setattr(stream, "TRANSFORM_BYTES", slice_bytes)
        order, calls[:] = data.order(16, seed=4), []
        data._buffers = []
        batch = data.batch_at(order, 0, 0)
        rows = order.buffer_rows(0, 0)
        assert len(calls) == (1 if per_call is None else -(-len(rows) // per_call))
        np.testing.assert_array_equal(batch["x"].numpy(), forward(x[data.rows[order.rows(0, 0)]]))


def test_streamed_standardize_matches_the_in_memory_fit(tmp_path):
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(500, 3)) * [1, 3, 0.1] + [0, 5, -2]).astype(np.float32)
    path = save(Dataset(x, "continuous"), tmp_path / "c.h5")
    with h5py.File(path, "a") as f:
        del f["samples"]
        f.create_dataset("samples", data=x, chunks=(40, 3))
    source = peek(path)
    for name in ("standardize", "minmax"):
        prep = prepare(source, plan(source, "4KB", 8), transform_name=name, condition=None, val_fraction=0.2,
                       seed=2, batch_size=8)
        from physgen.data.transforms import fit_transform
        ref = fit_transform(name, x[split_rows(500, 0.2, 2)[0]], "continuous")
        for key, value in ref.params().items():
            np.testing.assert_allclose(prep.transform.params()[key], value, rtol=1e-10)


def test_max_memory_parsing_and_auto(tmp_path):
    assert M.parse_bytes("512MiB") == 512 * 2**20 and M.parse_bytes("4GB") == 4 * 10**9
    assert M.parse_bytes(" 1.5 GiB ") == 3 * 2**29 and M.parse_bytes("1000") == 1000
    for bad in ("lots", "0", "-1MB", "3 XB"):
        with pytest.raises(UserError, match="data.max_memory"):
            DataConfig(max_memory=bad)
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:  8000 kB\nMemAvailable:  4000 kB\n")
    assert M.available_memory(meminfo) == 4000 * 1024
    meminfo.write_text("MemTotal:  8000 kB\n")
    assert M.available_memory(meminfo) == 8000 * 1024
    assert M.available_memory(tmp_path / "none") == M.FALLBACK
    assert M.resolve_max_memory("auto").endswith("MiB") and M.resolve_max_memory("2GB") == "2GB"


def test_saved_files_are_chunked_by_rows_and_old_layouts_still_load(tmp_path):
    x = np.ones((40000, 8, 8), np.int8)
    path = save(Dataset(x, "spins"), tmp_path / "s.h5")
    with h5py.File(path) as f:      # whole rows, about 1 MiB a chunk
        assert f["samples"].chunks == (2**20 // 64, 8, 8) and f["samples"].compression == "gzip"
    legacy = tmp_path / "legacy.h5"
    with h5py.File(legacy, "w") as f:              # contiguous, no chunks
        f.create_dataset("samples", data=x)
        f.attrs["kind"] = "spins"
    source = peek(legacy)
    assert source.chunk_rows == 16384 and np.array_equal(source.read(10, 20), x[10:20])


def _weights(run: Path) -> dict:
    return load_file(str(latest(run / "checkpoints").with_suffix(".safetensors")))


def test_cli_streams_resumes_exactly_and_records_it(cli, tmp_path):
    data = _indexed_file(tmp_path / "x.h5", n=400, d=3, chunk=10)
    args = ["--set", "data.max_memory=3KB", "--set", "train.batch_size=16", "--set", "model.noise=0.1", *Q]
    full, part = tmp_path / "full", tmp_path / "part"
    assert cli("train", "toy-gauss", "--data", data, "--out", full, "--steps", "60", *args)[0] == 0
    assert cli("train", "toy-gauss", "--data", data, "--out", part, "--steps", "23", *args)[0] == 0
    assert cli("train", "toy-gauss", "--out", part, "--steps", "60", "--resume", *Q)[0] == 0
    a, b = _weights(full), _weights(part)
    assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)
    summary = json.loads((full / "summary.json").read_text())
    assert summary["streamed"]["max_memory"] == 3000 and summary["streamed"]["n_train"] == 360
    assert 'max_memory = "3KB"' in (full / "config.toml").read_text()
    fits = tmp_path / "fits"   # the same file within the limit: the in-memory path, config.toml shows auto resolved
    assert cli("train", "toy-gauss", "--data", data, "--out", fits, "--steps", "2", *Q)[0] == 0
    assert "streamed" not in json.loads((fits / "summary.json").read_text())
    assert 'max_memory = "' in (fits / "config.toml").read_text() and "MiB" in (fits / "config.toml").read_text()


@pytest.mark.parametrize("value,needle", [("1KB", "below one batch (train.batch_size=64 rows"),
                                          ("much", "is not a memory size")])
def test_bad_max_memory_is_one_line_and_writes_nothing(cli, tmp_path, value, needle):
    data = _indexed_file(tmp_path / "x.h5", n=200, d=3)
    code, _, err = cli("train", "toy-gauss", "--data", data, "--out", tmp_path / "r", "--steps", "2",
                       "--set", f"data.max_memory={value}", "--set", "train.batch_size=64", *Q)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "data.max_memory" in lines[0], err
    assert not (tmp_path / "r").exists()


CHILD = ("import json, resource, sys\n"
         "from physgen.cli import main\n"
         "code = main(sys.argv[1:])\n"
         "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
         "raise SystemExit(code)\n")


def _child_train(data: Path, out: Path, *args: str) -> int:
    """``physgen train vae`` in a child process; returns its peak resident memory in bytes."""
    import subprocess
    import sys

    cmd = [sys.executable, "-c", CHILD, "train", "vae", "--data", str(data), "--out", str(out), *Q,
           "--set", "model.hidden=64", "--set", "model.latent=4", "--set", "train.batch_size=128",
           "--set", "data.val_fraction=0", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout.split("PEAK_KB")[-1].split()[0]) * 1024


@pytest.mark.slow
def test_streamed_training_resumes_exactly_in_bounded_memory(tmp_path):
    """A 82 MB file (40,000 x 512 float32; 1.1 GB in memory) trained through the streamed path with
    data.max_memory=16MiB: stopped at step 15 and resumed to 40, it ends bit-identical to the uninterrupted run,
    and the child's peak RSS exceeds that of an in-memory run on a 2 MB file by less than 64 MiB (the file alone
    would add ~300 MB)."""
    rng = np.random.default_rng(0)
    big = save(Dataset(rng.standard_normal((40_000, 512), dtype=np.float32), "continuous"), tmp_path / "big.h5",
               compression=None)
    small = save(Dataset(rng.standard_normal((1_000, 512), dtype=np.float32), "continuous"), tmp_path / "small.h5",
                 compression=None)
    stream = ["--set", "data.max_memory=16MiB"]
    base = _child_train(small, tmp_path / "mem", "--steps", "40")
    peak = _child_train(big, tmp_path / "full", "--steps", "40", *stream)
    _child_train(big, tmp_path / "part", "--steps", "15", *stream)
    _child_train(big, tmp_path / "part", "--steps", "40", "--resume")
    assert json.loads((tmp_path / "full" / "summary.json").read_text())["streamed"]["n_train"] == 40_000
    a, b = _weights(tmp_path / "full"), _weights(tmp_path / "part")
    assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)
    assert peak - base < 64 * 2**20, (peak / 2**20, base / 2**20)


def test_evaluate_and_analyze_read_a_recorded_seeded_subsample_of_a_large_file(cli, tmp_path):
    rng = np.random.default_rng(0)
    real = save(Dataset(rng.normal(size=(6000, 4)).astype(np.float32), "continuous"), tmp_path / "r.h5")
    fake = save(Dataset(rng.normal(0.1, 1, size=(6000, 4)).astype(np.float32), "continuous"), tmp_path / "f.h5")
    for path in (real, fake):                  # blocks of 512 rows
        with h5py.File(path, "a") as f:
            x = f["samples"][()]
            del f["samples"]
            f.create_dataset("samples", data=x, chunks=(512, 4))
    code, _, err = cli("evaluate", "--real", real, "--fake", fake, "--out", tmp_path / "ev", "--max-memory", "240KB",
                       "--no-plots", "--n-boot", "5", "--metrics", "kl,mmd")
    assert code == 0 and "seeded subsample" in err
    sub = json.loads((tmp_path / "ev" / "metrics.json").read_text())["_meta"]["subsample"]
    assert sub["real"]["rows"] == sub["fake"]["rows"] == 1500         # 120 kB a file, 80 bytes a row
    assert sub["real"]["file_rows"] == 6000 and sub["real"]["seed"] == [0, 0x5B5A]
    from physgen.data import load
    np.testing.assert_allclose(sub["real"]["file_mean"], load(real).samples.mean(0), atol=1e-6)
    np.testing.assert_allclose(sub["real"]["file_std"], load(real).samples.std(0), rtol=1e-5)
    from physgen.metrics.divergences import js_divergence, kl_divergence
    whole = sub["whole_file"]                  # streamed histograms of every row = the in-memory estimator
    np.testing.assert_allclose(whole["kl_per_feature"], kl_divergence(load(real).samples, load(fake).samples),
                               rtol=1e-12)
    np.testing.assert_allclose(whole["js_per_feature"], js_divergence(load(real).samples, load(fake).samples),
                               rtol=1e-12)
    assert whole["n_real"] == whole["n_fake"] == 6000 and whole["bins"] == 50
    assert cli("analyze", "pca", real, "--out", tmp_path / "pca", "--max-memory", "80KB", "--seed", "3")[0] == 0
    analysis = json.loads((tmp_path / "pca" / "analysis.json").read_text())
    assert analysis["n"] == analysis["subsample"]["rows"] == 1000 and analysis["subsample"]["seed"] == [3, 0x5B5A]
    assert cli("analyze", "pca", real, "--out", tmp_path / "whole")[0] == 0   # fits: the whole file, no record
    assert "subsample" not in json.loads((tmp_path / "whole" / "analysis.json").read_text())


@pytest.mark.slow
def test_torchrun_two_processes_stream_and_resume_exactly(tmp_path):
    """Two CPU processes on a streamed file: stopped at step 25 and resumed to 60, the weights equal the
    uninterrupted two-process run's (a model without per-rank state)."""
    import os
    import subprocess
    import sys

    here = Path(__file__).resolve().parent
    data = _indexed_file(tmp_path / "x.h5", n=600, d=3, chunk=10)
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join([str(here.parent / "src"), str(here)]))

    def torchrun(*args):
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               str(here / "trainer_toy_cli.py"), "train", "toy-gauss", *Q, *args]
        res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, res.stderr[-2000:]

    sets = ["--set", "data.max_memory=3KB", "--set", "train.batch_size=16"]
    torchrun("--data", str(data), "--out", str(tmp_path / "full"), "--steps", "60", *sets)
    torchrun("--data", str(data), "--out", str(tmp_path / "part"), "--steps", "25", *sets)
    torchrun("--out", str(tmp_path / "part"), "--steps", "60", "--resume")
    summary = json.loads((tmp_path / "full" / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["streamed"]["n_train"] == 540
    a, b = _weights(tmp_path / "full"), _weights(tmp_path / "part")
    assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)
