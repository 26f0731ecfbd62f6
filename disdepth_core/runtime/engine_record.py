"""The identity of a TensorRT engine (cache key) and its JSON sidecar.

An engine is only valid for the ONNX file, TensorRT version, GPU, precision and input shape it was
built for; the sidecar ``<engine>.json`` stores that key and the model's metadata so the runtime can
refuse a stale engine with a clear message instead of failing inside TensorRT.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from disdepth_core.model_files import ModelFileError
from disdepth_core.model_info import ModelInfo

SIDECAR_SUFFIX = ".json"


@dataclass(frozen=True)
class EngineKey:
    """Everything an engine depends on. ``input_shape`` is ``"1x3x240x320"`` or a min/opt/max profile."""

    onnx_sha256: str
    trt_version: str
    gpu_name: str
    compute_capability: str
    precision: str
    input_shape: str

    def mismatches(self, other: EngineKey) -> list[str]:
        """Human-readable differences ``field: self -> other``."""
        mine, theirs = asdict(self), asdict(other)
        return [f"{name}: {mine[name]} -> {theirs[name]}" for name in mine if mine[name] != theirs[name]]

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()


def sidecar_path(engine_path: Path) -> Path:
    return engine_path.with_name(engine_path.name + SIDECAR_SUFFIX)


def record_json(key: EngineKey, info: ModelInfo, engine_sha256: str) -> str:
    """Sidecar content: the key, the engine's own hash and the model metadata."""
    return json.dumps(
        {"key": asdict(key), "engine_sha256": engine_sha256, "model": info.to_props()},
        indent=2,
        sort_keys=True,
    )


def read_record(engine_path: Path) -> tuple[EngineKey, ModelInfo, str]:
    """Read an engine's sidecar: (key, model info, engine sha256); errors name the engine file."""
    path = sidecar_path(engine_path)
    if not path.is_file():
        raise ModelFileError(
            engine_path,
            f"no sidecar {path.name}; engines must be built with `disdepth build-engine` so their "
            "TensorRT version, GPU and model metadata are known",
        )
    try:
        data: dict[str, Any] = json.loads(path.read_text())
        key = EngineKey(**data["key"])
        info = ModelInfo.from_props(data["model"], engine_path)
        return key, info, str(data["engine_sha256"])
    except (ValueError, KeyError, TypeError) as error:
        raise ModelFileError(engine_path, f"unreadable sidecar {path.name}: {error}") from error
