"""Atomic writes: the target appears whole or not at all, failures keep the previous file, stale
temporaries of killed writers are cleaned, JSON is strict."""

import json
import math
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from disdepth_core.files import (
    atomic_directory,
    atomic_write,
    atomic_write_bytes,
    atomic_write_text,
    remove_stale_temporaries,
    write_csv,
    write_json,
)


def _entries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_atomic_write_replaces_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "model.onnx"
    atomic_write_bytes(target, b"one")
    atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two" and _entries(tmp_path) == ["model.onnx"]


def test_failed_write_or_verification_keeps_the_previous_file(tmp_path):
    target = tmp_path / "model.onnx"
    atomic_write_bytes(target, b"good")

    def partial(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, partial)

    def refuse(tmp: Path) -> None:
        raise ValueError(f"{tmp.read_bytes()!r} is not a model")

    with pytest.raises(ValueError, match="b'bad' is not a model"):
        atomic_write(target, lambda tmp: tmp.write_bytes(b"bad"), verify=refuse)
    assert target.read_bytes() == b"good" and _entries(tmp_path) == ["model.onnx"]


def test_atomic_directory_appears_only_when_complete(tmp_path):
    out = tmp_path / "eval"
    with pytest.raises(KeyboardInterrupt), atomic_directory(out) as tmp:
        (tmp / "summary.json").write_text("{}")
        raise KeyboardInterrupt
    assert _entries(tmp_path) == []
    with atomic_directory(out) as tmp:
        (tmp / "summary.json").write_text("{}")
    assert _entries(out) == ["summary.json"]
    with pytest.raises(FileExistsError, match="already exists"), atomic_directory(out):
        pass
    with atomic_directory(out, replace=True) as tmp:
        (tmp / "frames.csv").write_text("")
    assert _entries(out) == ["frames.csv"] and _entries(tmp_path) == ["eval"]


def test_stale_temporaries_are_removed_but_nothing_else(tmp_path):
    (tmp_path / ".last.state.json.abc123.tmp").write_text("half")
    (tmp_path / ".out.partial-xyz").mkdir()
    (tmp_path / "notes.tmp").write_text("a user's file")
    (tmp_path / "last.state.json").write_text("{}")
    removed = remove_stale_temporaries(tmp_path)
    assert sorted(p.name for p in removed) == [".last.state.json.abc123.tmp", ".out.partial-xyz"]
    assert _entries(tmp_path) == ["last.state.json", "notes.tmp"]


def test_json_is_strict_and_csv_formats_cells(tmp_path):
    write_json(tmp_path / "s.json", {"a": math.nan, "b": [np.float32(1.5), math.inf], "c": np.int64(3)})
    assert json.loads((tmp_path / "s.json").read_text()) == {"a": None, "b": [1.5, None], "c": 3}
    write_csv(tmp_path / "f.csv", [{"x": 1.23456789, "y": math.nan}, {"x": None}], ["x", "y"])
    assert (tmp_path / "f.csv").read_text().splitlines() == ["x,y", "1.23457,", ","]


def test_written_files_and_directories_get_the_umask_mode_not_a_private_one(tmp_path):
    """mkstemp/mkdtemp create 0600/0700 temporaries; a model or report must be readable like any file."""
    previous = os.umask(0o027)
    try:
        path = atomic_write_text(tmp_path / "report.json", "{}")
        with atomic_directory(tmp_path / "run") as directory:
            (directory / "a").write_text("x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "run").stat().st_mode) == 0o750
