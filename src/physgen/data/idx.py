"""MNIST-style IDX files (raw or gzip): reader, writer and the ``physgen data mnist`` loader.

IDX layout (LeCun, Cortes & Burges, "The MNIST database of handwritten digits",
http://yann.lecun.com/exdb/mnist/): a 4-byte magic number ``0x00 0x00 <type> <ndim>`` (type ``0x08`` is
unsigned byte), then ``ndim`` big-endian uint32 sizes, then the data in C order.  MNIST images are
``0x00000803`` (N, 28, 28) and labels ``0x00000801`` (N,).

Every problem (missing directory or file, wrong magic number, a size that does not match the header,
image/label count mismatch) is a one-line :class:`~physgen.errors.UserError` naming the file.
"""
from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from physgen.data.io import Dataset
from physgen.errors import UserError

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801
GZIP_MAGIC = b"\x1f\x8b"
_TYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
          0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_CODES = {np.dtype(v).newbyteorder("="): k for k, v in _TYPES.items()}
SPLITS = {"train": "train", "test": "t10k"}


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when it starts with the gzip magic."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not data.startswith(GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except (EOFError, OSError, zlib.error) as exc:
        raise UserError(f"{path}: corrupt or truncated gzip data ({str(exc).splitlines()[0][:120]})") from None


def parse_idx(data: bytes, where: str, *, magic: int | None = None) -> np.ndarray:
    """Decode IDX ``data``; check the magic number (if given) and that the size matches the header."""
    if len(data) < 4:
        raise UserError(f"{where}: truncated IDX file ({len(data)} bytes, no complete magic number)")
    found = int.from_bytes(data[:4], "big")
    if magic is not None and found != magic:
        raise UserError(f"{where}: wrong magic number 0x{found:08x}, expected 0x{magic:08x}")
    if data[0] != 0 or data[1] != 0 or data[2] not in _TYPES:
        raise UserError(f"{where}: not an IDX file (magic number 0x{found:08x})")
    dtype, ndim = _TYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise UserError(f"{where}: truncated IDX header ({len(data)} bytes, {ndim} sizes need {header})")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    dims = "x".join(map(str, shape))
    if len(data) < expected:
        raise UserError(f"{where}: truncated: header says {dims} ({expected} bytes), file has {len(data)} bytes")
    if len(data) > expected:
        raise UserError(f"{where}: size does not match header {dims}: {len(data) - expected} extra bytes")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike, *, magic: int | None = None) -> np.ndarray:
    """Read an IDX file (raw or gzip) into an array of its header's shape and type."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: {'is a directory' if path.is_dir() else 'no such file'}")
    return parse_idx(_read_bytes(path), str(path), magic=magic)


def write_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file (gzip-compressed if ``path`` ends in ``.gz``); used by tests."""
    array = np.ascontiguousarray(array)
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None or array.ndim > 255:
        raise UserError(f"{path}: cannot write dtype {array.dtype} / {array.ndim} dims as IDX")
    header = bytes([0, 0, code, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    data = header + array.astype(_TYPES[code]).tobytes()
    path = Path(path)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def find_idx_files(idx_dir: str | os.PathLike, split: str = "train") -> tuple[Path, Path]:
    """Locate the images and labels files of ``split`` in ``idx_dir``.

    Accepts the official names (``train-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``), the common
    ``train-images.idx3-ubyte`` spelling, each raw or with ``.gz``.
    """
    if split not in SPLITS:
        raise UserError(f"unknown split {split!r}, expected train or test", key="split")
    folder = Path(idx_dir)
    if not folder.is_dir():
        raise UserError("not a directory" if folder.exists() else "no such directory", key="idx_dir", value=folder)
    prefix = SPLITS[split]
    return (_find(folder, prefix, "images", 3), _find(folder, prefix, "labels", 1))


def _find(folder: Path, prefix: str, what: str, ndim: int) -> Path:
    names = [f"{prefix}-{what}-idx{ndim}-ubyte", f"{prefix}-{what}.idx{ndim}-ubyte"]
    for name in names:
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    raise UserError(f"no {what} file {names[0]}[.gz] (or {names[1]}[.gz])", key="idx_dir", value=folder)


def load_mnist(idx_dir: str | os.PathLike, split: str = "train", *, binarize: float | None = None) -> Dataset:
    """MNIST ``split`` from IDX files as a Dataset with labels.

    Images: kind ``image``, float32 ``(N, H, W)`` = pixel / 255 in [0, 1]; with ``binarize=T`` kind
    ``binary``, uint8 ``pixel / 255 > T`` (the fixed-threshold binarization; Salakhutdinov & Murray 2008
    use stochastic binarization instead).
    """
    check_threshold(binarize)
    images_path, labels_path = find_idx_files(idx_dir, split)
    images = read_idx(images_path, magic=IMAGES_MAGIC)
    labels = read_idx(labels_path, magic=LABELS_MAGIC)
    if len(images) != len(labels):
        raise UserError(f"{labels_path}: {len(labels)} labels for {len(images)} images in {images_path}")
    if len(images) == 0:
        raise UserError(f"{images_path}: holds no images")
    attrs = {"source": os.path.abspath(images_path), "labels_source": os.path.abspath(labels_path),
             "split": split, "binarize": binarize}
    return Dataset(*scale_pixels(images, 255.0, binarize), labels=labels.astype(np.int64),
                   attrs=attrs).validate(str(images_path))


def check_threshold(binarize: float | None) -> None:
    """``--binarize`` must be a threshold on the [0, 1] intensity scale: 0 <= T < 1."""
    if binarize is not None and not (0.0 <= float(binarize) < 1.0):
        raise UserError(f"threshold {binarize} must be in [0, 1) (intensities are scaled to [0, 1])", key="binarize")


def scale_pixels(pixels: np.ndarray, full_scale: float, binarize: float | None) -> tuple[np.ndarray, str]:
    """``(samples, kind)``: float32 ``pixels / full_scale`` (kind image) or uint8 ``> binarize`` (binary)."""
    x = pixels.astype(np.float32) / np.float32(full_scale)
    if binarize is None:
        return x, "image"
    return (x > binarize).astype(np.uint8), "binary"
