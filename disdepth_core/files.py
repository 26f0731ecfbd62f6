"""Files the package writes appear whole or not at all: write to a temporary name, verify, rename.

Every writer (checkpoints, training state, ONNX exports, TensorRT engines, reports, bags) goes through
this module. A temporary file is ``.<name>.<random>.tmp`` in the target's directory (same file system,
so ``os.replace`` is atomic on POSIX); it is removed when writing or verification fails, so a failed
write leaves the previous file intact. A process killed mid-write leaves only such hidden temporaries,
which :func:`remove_stale_temporaries` deletes the next time the directory is written.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "TEMP_SUFFIX",
    "atomic_directory",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "remove_stale_temporaries",
    "sha256_file",
    "strict_json",
    "write_csv",
    "write_json",
]

TEMP_SUFFIX = ".tmp"
PARTIAL_MARK = ".partial-"


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a directory be opened
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _umask() -> int:
    """The process umask, read without changing it where Linux reports it (``os.umask`` sets it)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _as_if_created(path: Path, directory: bool = False) -> None:
    """Give a temporary the mode ``open``/``mkdir`` would have (``mkstemp``/``mkdtemp`` make it private)."""
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


def atomic_write(
    path: str | os.PathLike[str],
    write: Callable[[Path], object],
    verify: Callable[[Path], object] | None = None,
) -> Path:
    """Call ``write(tmp)``, then ``verify(tmp)`` (raise to refuse), then move ``tmp`` onto ``path``.

    Returns ``path``. If either call raises, the temporary file is deleted, ``path`` is untouched and the
    exception propagates.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _as_if_created(tmp)
        write(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        if verify is not None:
            verify(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)
    return path


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike[str], replace: bool = False) -> Iterator[Path]:
    """Yield a hidden temporary directory that becomes ``path`` when the block succeeds.

    If the block raises (or the process receives SIGINT/SIGTERM turned into an exception), the temporary
    directory is deleted and ``path`` is never created. An existing ``path`` is an error unless
    ``replace`` is true, in which case it is replaced only once the new directory is complete.
    """
    path = Path(path)
    if path.exists() and not replace:
        raise FileExistsError(f"{path} already exists; remove it or choose another output path")
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent, path.name)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}{PARTIAL_MARK}", dir=path.parent))
    try:
        _as_if_created(tmp, directory=True)
        yield tmp
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}{PARTIAL_MARK}old-", dir=path.parent))
            os.replace(path, old / path.name)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_directory(path.parent)


def remove_stale_temporaries(directory: str | os.PathLike[str], name: str | None = None) -> list[Path]:
    """Delete temporaries left in ``directory`` by killed writers (of ``name`` only, when given).

    Only this module's own patterns are touched: ``.<name>.*.tmp`` files and ``.<name>.partial-*``
    directories. Returns what was removed.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    stem = f".{name}" if name else "."
    removed = []
    for entry in directory.iterdir():
        entry_name = entry.name
        if not entry_name.startswith(stem):
            continue
        if entry.is_file() and entry_name.endswith(TEMP_SUFFIX):
            entry.unlink(missing_ok=True)
            removed.append(entry)
        elif entry.is_dir() and PARTIAL_MARK in entry_name:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def strict_json(value: Any) -> Any:
    """``value`` with non-finite floats replaced by None, recursively (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and not isinstance(value, str):  # numpy scalars
        with contextlib.suppress(TypeError, ValueError):
            return strict_json(value.item())
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def write_json(path: str | os.PathLike[str], payload: Mapping[str, Any]) -> Path:
    """Write ``payload`` as indented strict JSON (NaN/inf become null), atomically."""
    return atomic_write_text(path, json.dumps(strict_json(payload), indent=2) + "\n")


def write_csv(
    path: str | os.PathLike[str], rows: Sequence[Mapping[str, Any]], columns: Sequence[str]
) -> Path:
    """Write ``rows`` with ``columns`` atomically (missing values empty; floats with 6 significant digits)."""

    def cell(value: Any) -> Any:
        if isinstance(value, float):
            return "" if math.isnan(value) else f"{value:.6g}"
        return "" if value is None else value

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row.get(column)) for column in columns])
    return atomic_write_text(path, buffer.getvalue())
