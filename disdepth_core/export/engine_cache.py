"""A TensorRT engine cache: keyed, locked, atomic, and never trusted blindly.

Engines that fail on another TensorRT version ("Version tag does not match"), engines rebuilt at every
launch (minutes on a Jetson) and fp16 engines giving wrong depth are what this guards against.

``get_or_build`` holds an exclusive ``fcntl.flock`` on ``<engine>.lock`` (two node launches do not both
build), reuses the engine only if its sidecar key equals the wanted :class:`EngineKey`, the bytes match
the recorded sha256 and TensorRT can deserialise them; otherwise it builds, validates the new engine
(the caller compares it with ONNX Runtime) and moves it into place with ``os.replace`` after writing it
to a temporary file in the same directory (``disdepth_core.files``), then writes the sidecar the same way.
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from disdepth_core.files import atomic_write_bytes
from disdepth_core.model_files import ModelFileError
from disdepth_core.model_info import ModelInfo
from disdepth_core.runtime.engine_record import EngineKey, read_record, record_json, sidecar_path


@dataclass(frozen=True)
class CacheResult:
    """The usable engine, whether it was (re)built now, and why."""

    engine_path: Path
    built: bool
    reason: str


@contextmanager
def file_lock(path: Path) -> Iterator[Path]:
    """Hold an exclusive ``fcntl.flock`` on ``<path>.lock`` for the duration of the block."""
    lock_path = path.with_name(path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield lock_path
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _reusable(engine_path: Path, key: EngineKey, deserializes: Callable[[bytes], bool]) -> str | None:
    """None if the cached engine can be used, else the reason it cannot."""
    if not engine_path.is_file() or not sidecar_path(engine_path).is_file():
        return "no cached engine"
    try:
        cached_key, _, engine_sha = read_record(engine_path)
    except ModelFileError as error:
        return f"unreadable sidecar ({error.problem})"
    differences = cached_key.mismatches(key)
    if differences:
        return "key mismatch: " + "; ".join(differences)
    data = engine_path.read_bytes()
    if hashlib.sha256(data).hexdigest() != engine_sha:
        return "engine bytes do not match the sidecar hash"
    if not deserializes(data):
        return "TensorRT could not deserialise the cached engine"
    return None


def get_or_build(
    engine_path: Path,
    key: EngineKey,
    info: ModelInfo,
    build: Callable[[], bytes],
    validate: Callable[[bytes], None],
    deserializes: Callable[[bytes], bool],
    force: bool = False,
) -> CacheResult:
    """Return a valid engine at ``engine_path`` for ``key``, building it if needed.

    ``validate(engine_bytes)`` must raise if the new engine is not accurate enough; nothing is written
    then (and a stale engine at ``engine_path`` is removed so it cannot be picked up later).
    """
    with file_lock(engine_path):
        reason = "rebuild forced" if force else _reusable(engine_path, key, deserializes)
        if reason is None:
            return CacheResult(engine_path, False, "cache hit: key, hash and deserialisation check passed")
        data = build()
        try:
            validate(data)
        except Exception:
            engine_path.unlink(missing_ok=True)
            sidecar_path(engine_path).unlink(missing_ok=True)
            raise
        atomic_write_bytes(engine_path, data)
        engine_sha = hashlib.sha256(data).hexdigest()
        atomic_write_bytes(sidecar_path(engine_path), record_json(key, info, engine_sha).encode())
        return CacheResult(engine_path, True, reason)
