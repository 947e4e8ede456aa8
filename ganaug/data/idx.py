"""Reader for the IDX format MNIST-style datasets are distributed in, gzip-compressed or not."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from ganaug.errors import GanaugError

_GZIP_MAGIC = b"\x1f\x8b"

# IDX type byte -> big-endian numpy dtype (the format stores every multi-byte value big-endian).
_DTYPES: dict[int, str] = {
    0x08: ">u1",
    0x09: ">i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed when its content starts with the gzip magic (whatever its name)."""
    raw = path.read_bytes()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise GanaugError(
            f"{path}: corrupt gzip data ({exc}); download the IDX file again"
        ) from None


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file into an array of its declared dtype (native byte order) and shape.

    The header (magic, type code, dimensions) is validated and the payload must hold exactly
    the number of values the header declares, so a truncated or padded file is refused.
    """
    p = Path(path)
    if not p.is_file():
        raise GanaugError(f"{p}: IDX file not found; check the path")
    data = _read_bytes(p)
    fix = "the file is not a valid IDX file; download it again"
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise GanaugError(f"{p}: bad IDX magic {data[:4].hex() or '(empty)'}; {fix}")
    code, ndim = data[2], data[3]
    if code not in _DTYPES:
        raise GanaugError(f"{p}: unknown IDX type code 0x{code:02x}; {fix}")
    if ndim < 1:
        raise GanaugError(f"{p}: IDX header declares 0 dimensions; {fix}")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise GanaugError(f"{p}: IDX header truncated ({len(data)} bytes, need {header_len}); {fix}")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_DTYPES[code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    payload = len(data) - header_len
    if payload != expected:
        raise GanaugError(
            f"{p}: IDX payload is {payload} bytes but the header {shape} declares {expected}; "
            "the file is truncated or corrupt, download it again"
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header_len).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=True)
