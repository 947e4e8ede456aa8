"""IDX reader: plain and gzip files of every dtype, and every corrupt-file path."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from ganaug.data.idx import read_idx
from ganaug.errors import GanaugError

_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(arr: np.ndarray) -> bytes:
    """Encode `arr` as IDX (big-endian header and payload)."""
    code = _CODES[arr.dtype.type]
    header = struct.pack(">BBBB", 0, 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, arr: np.ndarray, compress: bool = False) -> Path:
    """Write `arr` to `path` as IDX, gzip-compressed when `compress`."""
    data = idx_bytes(arr)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_round_trip_every_dtype(tmp_path: Path, dtype: type) -> None:
    arr = (np.arange(2 * 3 * 4) - 5).reshape(2, 3, 4).astype(dtype)
    out = read_idx(write_idx(tmp_path / "a.idx", arr))
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, arr)


def test_gzip_detected_by_content_not_name(tmp_path: Path) -> None:
    arr = np.random.default_rng(0).integers(0, 256, size=(5, 7, 6), dtype=np.uint8)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "plain-name", arr, compress=True)), arr)
    # a .gz name holding uncompressed bytes still reads
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "x.gz", arr)), arr)


def test_one_dimensional_labels(tmp_path: Path) -> None:
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    out = read_idx(write_idx(tmp_path / "labels", labels))
    assert out.shape == (5,)
    np.testing.assert_array_equal(out, labels)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(GanaugError, match="not found"):
        read_idx(tmp_path / "nope")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "bad IDX magic"),
        (b"\x01\x02\x08\x01\x00\x00\x00\x01x", "bad IDX magic"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01x", "unknown IDX type code 0x07"),
        (b"\x00\x00\x08\x00", "0 dimensions"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x01", "header truncated"),
    ],
)
def test_bad_header(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad"
    path.write_bytes(content)
    with pytest.raises(GanaugError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_truncated_and_padded_payload(tmp_path: Path) -> None:
    data = idx_bytes(np.zeros((4, 3, 3), dtype=np.uint8))
    (tmp_path / "short").write_bytes(data[:-1])
    with pytest.raises(GanaugError, match="payload is 35 bytes but the header .* declares 36"):
        read_idx(tmp_path / "short")
    (tmp_path / "long.gz").write_bytes(gzip.compress(data + b"\x00"))
    with pytest.raises(GanaugError, match="truncated or corrupt"):
        read_idx(tmp_path / "long.gz")


def test_corrupt_gzip(tmp_path: Path) -> None:
    data = gzip.compress(idx_bytes(np.zeros((50, 8, 8), dtype=np.uint8)))
    (tmp_path / "cut.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(GanaugError, match="corrupt gzip"):
        read_idx(tmp_path / "cut.gz")
