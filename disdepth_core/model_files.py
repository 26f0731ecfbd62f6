"""Errors about model files (every message names the file and the problem), shared by the runtime, the
exporters and the ONNX teacher, so none of them imports another for it."""

from __future__ import annotations

from pathlib import Path

__all__ = ["ModelFileError", "require_file"]


class ModelFileError(ValueError):
    """A model file exists but is unusable (corrupted, truncated, wrong inputs/outputs, stale engine)."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def require_file(path: str | Path) -> Path:
    """Return ``path`` as a Path, raising FileNotFoundError naming it when it does not exist."""
    path = Path(path)
    if path.is_dir():
        raise FileNotFoundError(f"{path} is a directory, not a model file (.onnx, .engine or .safetensors)")
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    return path
