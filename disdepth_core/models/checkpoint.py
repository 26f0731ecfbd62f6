"""Model checkpoints: safetensors weights with the architecture in the header, plus a JSON sidecar.

``save_model(path, model, metadata)`` writes ``path`` (safetensors; header metadata
``{"disdepth": json}`` holding the format version, model name, config and user metadata) and
``path.with_suffix(".json")`` (the same JSON, indented, for humans and tools). Both are written
atomically (``disdepth_core.files``).
``load_model(path)`` rebuilds the architecture from the header alone and never unpickles anything.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from disdepth_core.files import atomic_write, atomic_write_text

from .depth_model import DepthModel
from .registry import build_model

HEADER_KEY = "disdepth"
ACCLIMATED_KEY = "disdepth_acclimated"
"""Header key of an acclimated teacher (``disdepth_core.train.acclimated`` writes and loads those)."""
FORMAT_VERSION = 1


def save_model(
    path: str | os.PathLike[str], model: DepthModel, metadata: Mapping[str, Any] | None = None
) -> Path:
    """Write ``model`` to ``path`` (``.safetensors``) and its JSON sidecar; returns the weights path."""
    path = Path(path)
    header = {
        "format_version": FORMAT_VERSION,
        "model": model.name,
        "config": model.config,
        "metadata": dict(metadata or {}),
    }
    try:
        header_json = json.dumps(header, sort_keys=True)
    except TypeError as error:
        raise ValueError(
            f"save_model({path}): config and metadata must be JSON-serialisable: {error}"
        ) from None
    tensors = {key: value.detach().cpu().contiguous() for key, value in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata={HEADER_KEY: header_json}))
    sidecar = json.dumps(header, indent=2, sort_keys=True) + "\n"
    atomic_write_text(path.with_suffix(".json"), sidecar)
    return path


def read_safetensors_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The string metadata of a safetensors file's header (no weights are read); errors name the file."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a directory, not a .safetensors checkpoint file")
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            return dict(handle.metadata() or {})
    except (SafetensorError, OSError) as error:
        raise ValueError(f"{path}: not a readable safetensors checkpoint ({error})") from None


def read_header(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``disdepth`` header (model, config, metadata) of a checkpoint, without loading weights."""
    path = Path(path)
    raw = read_safetensors_metadata(path).get(HEADER_KEY)
    if raw is None:
        raise ValueError(f"{path}: safetensors file has no '{HEADER_KEY}' header; not a disdepth checkpoint")
    try:
        header = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: corrupt '{HEADER_KEY}' header ({error})") from None
    if not isinstance(header, dict) or "model" not in header or "config" not in header:
        raise ValueError(f"{path}: '{HEADER_KEY}' header lacks 'model'/'config'; not a disdepth checkpoint")
    return header


def load_model(
    path: str | os.PathLike[str], device: str | torch.device = "cpu"
) -> tuple[DepthModel, dict[str, Any]]:
    """Rebuild the model named in the header and load its weights (strict): ``(model.eval(), metadata)``."""
    path = Path(path)
    header = read_header(path)
    try:
        model = build_model(header["model"], **header["config"])
    except ValueError as error:
        raise ValueError(f"{path}: cannot rebuild the model from its header: {error}") from None
    try:
        with safe_open(str(path), framework="pt", device=str(device)) as handle:
            state = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 (safe_open API)
    except (SafetensorError, OSError) as error:
        raise ValueError(f"{path}: corrupt checkpoint weights ({error})") from None
    broken = [
        key
        for key, tensor in state.items()
        if tensor.is_floating_point() and not torch.isfinite(tensor).all()
    ]
    if broken:
        raise ValueError(
            f"{path}: {len(broken)} weight tensor(s) contain NaN or inf (first: {broken[0]}); the training "
            "run diverged or the file is damaged: use an earlier checkpoint"
        )
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ValueError(f"{path}: weights do not match model {header['model']!r}: {error}") from None
    return model.to(device).eval(), dict(header.get("metadata", {}))


def is_acclimated(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` holds an acclimated teacher (as opposed to a plain model checkpoint)."""
    return ACCLIMATED_KEY in read_safetensors_metadata(path)


def checkpoint_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The user metadata of a plain or acclimated checkpoint's header."""
    header = read_safetensors_metadata(path)
    raw = header.get(ACCLIMATED_KEY) or header.get(HEADER_KEY)
    if raw is None:
        raise ValueError(f"{path}: neither a disdepth model checkpoint nor an acclimated teacher")
    return dict(json.loads(raw).get("metadata", {}))
