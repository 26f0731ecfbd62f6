"""Which model file the depth node loads: the `model_path` parameter, else the shipped default model."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

__all__ = ["DEFAULT_MODEL_FILE", "resolve_model_path"]

DEFAULT_MODEL_FILE = "disdepth_default.onnx"


def resolve_model_path(model_path: str) -> Path:
    """The model file to load: `model_path` if given, else the shipped default model.

    The default is looked up in `share/disdepth/models/` of the ament index (a colcon workspace, or any
    prefix on AMENT_PREFIX_PATH), then of this Python environment's prefix (a pip install, where
    AMENT_PREFIX_PATH may be unset), then in the source tree's `models/`. Raises FileNotFoundError saying
    how to pass a model.
    """
    pass_one = (
        "pass a model file (.onnx, .engine or .safetensors) with `--ros-args -p "
        "model_path:=/path/to/model.onnx` (launch: model_path:=...)"
    )
    if model_path:
        path = Path(model_path).expanduser()
        if path.is_dir():
            raise FileNotFoundError(f"model_path {str(path)!r} is a directory, not a model file; {pass_one}")
        if not path.is_file():
            raise FileNotFoundError(
                f"model_path {str(path)!r} does not exist; {pass_one}, or leave it empty for the shipped "
                "model"
            )
        return path
    shares = []
    # OSError: AMENT_PREFIX_PATH unset (a plain venv without a sourced workspace).
    with contextlib.suppress(PackageNotFoundError, ValueError, OSError):
        shares.append(Path(get_package_share_directory("disdepth")))
    shares += [Path(sys.prefix) / "share" / "disdepth", Path(__file__).resolve().parents[1]]
    candidates = list(dict.fromkeys(share / "models" / DEFAULT_MODEL_FILE for share in shares))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(
        f"no model_path given and no shipped model found (looked in {looked}); {pass_one}, or reinstall "
        "the package (scripts/setup.sh, colcon build) to get the shipped one"
    )
