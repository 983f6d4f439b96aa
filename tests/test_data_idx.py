"""MNIST IDX files: tiny files written by the tests (never downloaded), raw and gzip, both spellings."""
import gzip

import numpy as np
import pytest

from physgen.data import load
from physgen.data.idx import (IMAGES_MAGIC, LABELS_MAGIC, find_idx_files, load_mnist, parse_idx, read_idx,
                              write_idx)
from physgen.errors import UserError


def _mnist_like(n=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8), rng.integers(0, 10, size=n, dtype=np.uint8)


def _write_split(folder, prefix="train", n=6, seed=0, spelling="-idx", gz=False):
    images, labels = _mnist_like(n, seed)
    suffix = ".gz" if gz else ""
    write_idx(folder / f"{prefix}-images{spelling}3-ubyte{suffix}", images)
    write_idx(folder / f"{prefix}-labels{spelling}1-ubyte{suffix}", labels)
    return images, labels


def test_known_bytes_decode():
    # magic 0x00000801, one dimension of size 3, then the bytes 7 8 9
    data = bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9])
    np.testing.assert_array_equal(parse_idx(data, "mem", magic=LABELS_MAGIC), [7, 8, 9])
    images = bytes([0, 0, 8, 3]) + (1).to_bytes(4, "big") + (2).to_bytes(4, "big") * 2 + bytes([1, 2, 3, 4])
    assert parse_idx(images, "mem", magic=IMAGES_MAGIC).tolist() == [[[1, 2], [3, 4]]]


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32, np.float64])
def test_write_read_round_trip(tmp_path, dtype):
    x = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype == np.uint8:
        x = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    for name in ("a.idx", "a.idx.gz"):
        back = read_idx(write_idx(tmp_path / name, x))
        assert back.dtype == np.dtype(dtype) and back.shape == x.shape
        np.testing.assert_array_equal(back, x)
    assert (tmp_path / "a.idx.gz").read_bytes()[:2] == b"\x1f\x8b"


@pytest.mark.parametrize("spelling,gz", [("-idx", False), ("-idx", True), (".idx", False), (".idx", True)])
def test_load_mnist_train_all_spellings(tmp_path, spelling, gz):
    images, labels = _write_split(tmp_path, spelling=spelling, gz=gz)
    ds = load_mnist(tmp_path, "train")
    assert ds.kind == "image" and ds.samples.shape == (6, 28, 28) and ds.samples.dtype == np.float32
    np.testing.assert_allclose(ds.samples, images / 255.0, rtol=1e-6)
    assert ds.labels.dtype == np.int64 and ds.labels.tolist() == labels.tolist()
    assert ds.attrs["split"] == "train"


def test_split_test_picks_t10k_and_binarize(cli, tmp_path):
    _write_split(tmp_path, "train", n=4, seed=1)
    images, labels = _write_split(tmp_path, "t10k", n=3, seed=2, gz=True)
    assert find_idx_files(tmp_path, "test")[0].name == "t10k-images-idx3-ubyte.gz"
    out = tmp_path / "m.h5"
    code, _, err = cli("data", "mnist", "--idx-dir", tmp_path, "--split", "test", "--binarize", "0.5",
                       "--out", out)
    assert code == 0, err
    ds = load(out)
    assert ds.kind == "binary" and ds.samples.dtype == np.uint8 and ds.samples.shape == (3, 28, 28)
    np.testing.assert_array_equal(ds.samples, (images > 127.5).astype(np.uint8))
    assert ds.labels.tolist() == labels.tolist() and ds.attrs["binarize"] == 0.5


@pytest.mark.parametrize("corrupt,msg", [
    (lambda b: b[:-5], r"truncated: header says 6x28x28 \(4720 bytes\), file has 4715 bytes"),
    (lambda b: b + b"\0\0", "size does not match header 6x28x28: 2 extra bytes"),
    (lambda b: b[:2], "truncated IDX file"),
    (lambda b: b[:10], "truncated IDX header"),
    (lambda b: bytes([0, 0, 8, 1]) + b[4:], "wrong magic number 0x00000801, expected 0x00000803"),
    (lambda b: b"GIF89a" + b[6:], "wrong magic number 0x47494638"),
])
def test_bad_images_file(tmp_path, corrupt, msg):
    _write_split(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(corrupt(path.read_bytes()))
    with pytest.raises(UserError, match=f"train-images-idx3-ubyte: {msg}"):
        load_mnist(tmp_path)


def test_bad_gzip_and_count_mismatch(tmp_path):
    _write_split(tmp_path, gz=True)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(UserError, match="images-idx3-ubyte.gz: corrupt or truncated gzip data"):
        load_mnist(tmp_path)
    path.write_bytes(gzip.compress(path.read_bytes()[:0]))  # a valid gzip holding nothing
    with pytest.raises(UserError, match="truncated IDX file"):
        load_mnist(tmp_path)
    images, _ = _mnist_like(5)
    write_idx(path, images)
    with pytest.raises(UserError, match="labels-idx1-ubyte.gz: 6 labels for 5 images"):
        load_mnist(tmp_path)


def test_missing_directory_and_files(tmp_path):
    with pytest.raises(UserError, match="idx_dir=.*nowhere: no such directory"):
        load_mnist(tmp_path / "nowhere")
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="idx_dir=.*file: not a directory"):
        load_mnist(tmp_path / "file")
    _write_split(tmp_path, "train")
    with pytest.raises(UserError, match=r"no images file t10k-images-idx3-ubyte\[.gz\]"):
        load_mnist(tmp_path, "test")
    (tmp_path / "train-labels-idx1-ubyte").unlink()
    with pytest.raises(UserError, match="no labels file train-labels-idx1-ubyte"):
        load_mnist(tmp_path, "train")
    with pytest.raises(UserError, match="^split: unknown split 'valid'"):
        load_mnist(tmp_path, "valid")
    with pytest.raises(UserError, match=r"^binarize: threshold 1.0 must be in \[0, 1\)"):
        load_mnist(tmp_path, binarize=1.0)
