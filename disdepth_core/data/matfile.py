"""Read numeric variables from MATLAB .mat files: v7.3 (HDF5, via h5py) and v5 (a minimal reader).

The NYU Depth V2 ``splits.mat`` is a v5 file and scipy is not a dependency, so a small v5 reader
handles numeric matrices (optionally zlib-compressed), which is all that file holds. Arrays are
returned in MATLAB's (column-major) shape, e.g. an N x 1 index vector has shape (N, 1).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import h5py
import numpy as np

_MI_DTYPES = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8", 12: "i8", 13: "u8"}
_MI_MATRIX, _MI_COMPRESSED = 14, 15


def load_mat_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """All numeric top-level variables of a v5 or v7.3 .mat file, by name."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such .mat file")
    if h5py.is_hdf5(path):
        with h5py.File(path, "r") as f:
            # h5py sees MATLAB's column-major arrays transposed: transpose back to MATLAB's shape.
            return {k: np.asarray(v).T for k, v in f.items() if isinstance(v, h5py.Dataset)}
    data = path.read_bytes()
    if len(data) < 128 or data[126:128] not in (b"IM", b"MI"):
        raise ValueError(f"{path}: not a MATLAB v5 or v7.3 .mat file")
    endian = "<" if data[126:128] == b"IM" else ">"
    out: dict[str, np.ndarray] = {}
    try:
        _read_elements(data, 128, endian, out)
    except (struct.error, zlib.error, ValueError) as error:
        raise ValueError(f"{path}: damaged MATLAB v5 file ({error}); re-download it") from error
    return out


def _tag(data: bytes, pos: int, endian: str) -> tuple[int, int, int, int]:
    """(type, nbytes, data start, next element start) of the element at ``pos``."""
    first, second = struct.unpack_from(endian + "II", data, pos)
    if first >> 16:  # small data element: type and size packed in 4 bytes, data in the next 4
        return first & 0xFFFF, first >> 16, pos + 4, pos + 8
    end = pos + 8 + second
    return first, second, pos + 8, end + (-end % 8)


def _read_elements(data: bytes, pos: int, endian: str, out: dict[str, np.ndarray]) -> None:
    while pos + 8 <= len(data):
        mtype, nbytes, start, nxt = _tag(data, pos, endian)
        if mtype == _MI_COMPRESSED:
            _read_elements(zlib.decompress(data[start : start + nbytes]), 0, endian, out)
            nxt = start + nbytes  # compressed elements are not padded
        elif mtype == _MI_MATRIX and nbytes:
            name, array = _read_matrix(data[start : start + nbytes], endian)
            if array is not None:
                out[name] = array
        pos = nxt


def _read_matrix(body: bytes, endian: str) -> tuple[str, np.ndarray | None]:
    parts = []
    pos = 0
    while pos < len(body):
        mtype, nbytes, start, nxt = _tag(body, pos, endian)
        parts.append((mtype, body[start : start + nbytes]))
        pos = nxt
    if len(parts) < 4 or parts[3][0] not in _MI_DTYPES:
        return "", None  # cells, structs, sparse, ...: not needed here
    dims = np.frombuffer(parts[1][1], dtype=endian + "i4")
    name = parts[2][1].decode("ascii")
    values = np.frombuffer(parts[3][1], dtype=endian + _MI_DTYPES[parts[3][0]])
    return name, values.reshape(tuple(int(d) for d in dims), order="F")
