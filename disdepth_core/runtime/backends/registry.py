"""The runtime backends, one registration each (the ``register_model`` pattern of ``models.registry``).

A kind names the file types it opens, the explicit precisions it runs and where its factory lives
(``module:callable``, imported only when that backend is chosen, so the ONNX path never imports torch).
The loader's choices, the ``--backend`` choices and the error lists come from here. A new backend is one
module with a factory ``(path, device, precision, threads) -> Backend`` plus one ``register_backend``
line below.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from disdepth_core.lazy_reference import resolve

__all__ = ["BackendKind", "backend_kind", "backend_names", "backends_for_suffix", "register_backend"]


@dataclass(frozen=True)
class BackendKind:
    """One backend: its name, the file suffixes it opens, the explicit precisions it runs, its factory."""

    name: str
    suffixes: tuple[str, ...]
    precisions: tuple[str, ...]
    factory: str
    summary: str

    def make(self, path: Path, device: str, precision: str, threads: int | None) -> Any:
        """Import the factory and build the backend."""
        return resolve(self.factory)(path, device=device, precision=precision, threads=threads)


_KINDS: dict[str, BackendKind] = {}


def register_backend(kind: BackendKind) -> BackendKind:
    """Add ``kind``; a name registered twice is a programming error."""
    if kind.name in _KINDS or kind.name == "auto":
        raise ValueError(f"backend {kind.name!r} is already registered (or reserved)")
    _KINDS[kind.name] = kind
    return kind


def backend_names() -> tuple[str, ...]:
    """Registered backends, in registration order (the order ``auto`` prefers for non-ONNX files)."""
    return tuple(_KINDS)


def backend_kind(name: str) -> BackendKind:
    """The kind called ``name``; ValueError listing the registered ones otherwise."""
    try:
        return _KINDS[name]
    except KeyError:
        raise ValueError(f"unknown backend {name!r}; choose auto or one of {', '.join(_KINDS)}") from None


def backends_for_suffix() -> dict[str, tuple[str, ...]]:
    """File suffix -> the backends that open it, in registration order."""
    table: dict[str, tuple[str, ...]] = {}
    for kind in _KINDS.values():
        for suffix in kind.suffixes:
            table[suffix] = (*table.get(suffix, ()), kind.name)
    return table


_BACKENDS = "disdepth_core.runtime.backends"
register_backend(
    BackendKind(
        "onnxruntime",
        (".onnx",),
        ("fp32", "fp16", "int8"),
        f"{_BACKENDS}.onnxruntime_backend:OnnxRuntimeBackend",
        "ONNX Runtime: TensorRT EP > CUDA EP > CPU; fp16 through its TensorRT EP, int8 files",
    )
)
register_backend(
    BackendKind(
        "openvino",
        (".onnx",),
        ("fp32", "fp16", "bf16", "int8"),
        f"{_BACKENDS}.openvino_backend:OpenVinoBackend",
        "OpenVINO on x86 CPUs (bf16 on AVX-512 BF16 / AMX), Intel GPUs and NPUs; int8 files",
    )
)
register_backend(
    BackendKind(
        "tensorrt",
        (".onnx", ".engine", ".plan"),
        ("fp32", "fp16", "int8"),
        f"{_BACKENDS}.tensorrt_backend:open_engine",
        "TensorRT engines on NVIDIA GPUs; an .onnx file is built into a cached engine first",
    )
)
register_backend(
    BackendKind(
        "torch",
        (".safetensors",),
        ("fp32", "fp16"),
        f"{_BACKENDS}.torch_backend:TorchBackend.from_checkpoint",
        "PyTorch eager on a checkpoint (needs the training stack); fp16 on CUDA",
    )
)
