"""TensorRT backend: deserialise an engine and run it with the name-based I/O API (TensorRT 10 and 11).

API used: ``trt.Runtime(logger).deserialize_cuda_engine``, ``engine.num_io_tensors``,
``engine.get_tensor_name/get_tensor_mode/get_tensor_shape/get_tensor_dtype``,
``context.set_input_shape``, ``context.set_tensor_address`` and ``context.execute_async_v3(stream)``.
The engine's sidecar (see :mod:`disdepth_core.runtime.engine_record`) is checked before TensorRT sees
the bytes, so a stale engine (another TensorRT version or GPU: "Version tag does not match") fails with
a message that says what to rebuild.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from disdepth_core.files import sha256_file
from disdepth_core.model_files import ModelFileError
from disdepth_core.model_info import DEPTH_OUTPUT, UNCERTAINTY_OUTPUT, ModelInfo
from disdepth_core.runtime.cuda_memory import DeviceBuffer, DeviceMemory, default_device_memory
from disdepth_core.runtime.engine_record import read_record


def import_tensorrt() -> ModuleType:
    """Import the ``tensorrt`` Python package or explain how to get it."""
    try:
        import tensorrt
    except ImportError as error:
        raise RuntimeError(
            "TensorRT is not installed (JetPack ships it; on x86 `pip install tensorrt`); "
            "use backend=onnxruntime instead"
        ) from error
    return tensorrt


class TensorRTBackend:
    """Runs a serialized TensorRT engine built by ``disdepth build-engine``."""

    name = "tensorrt"

    def __init__(
        self,
        engine_bytes: bytes,
        info: ModelInfo,
        precision: str,
        memory: DeviceMemory,
        trt: ModuleType,
        source: Path,
        reason: str = "",
    ) -> None:
        self.path = source
        self.trt = trt
        self.info = info
        self.memory = memory
        self.precision = precision
        self.reason = reason
        self.engine = self._deserialize(engine_bytes)
        gpu_name, capability = memory.gpu_identity()
        self.provider = f"{gpu_name} (sm{capability}), TensorRT {trt.__version__}"
        self._input_name, input_shape, self._outputs = self._check_io()
        self.fixed_input_hw = (input_shape[2], input_shape[3]) if min(input_shape) > 0 else None
        self.context = self.engine.create_execution_context()
        self._buffers: dict[str, DeviceBuffer] = {}
        self._batch_shape: tuple[int, ...] | None = None

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        device: str = "auto",
        memory: DeviceMemory | None = None,
        trt: ModuleType | None = None,
    ) -> TensorRTBackend:
        """Load an engine after checking its sidecar key against this TensorRT and GPU."""
        path = Path(path)
        trt = trt or import_tensorrt()
        key, info, engine_sha = read_record(path)
        memory = memory or default_device_memory(device)
        gpu_name, capability = memory.gpu_identity()
        stale = []
        if key.trt_version != trt.__version__:
            stale.append(f"TensorRT {key.trt_version} (installed: {trt.__version__})")
        if (key.gpu_name, key.compute_capability) != (gpu_name, capability):
            stale.append(
                f"GPU {key.gpu_name} sm{key.compute_capability} (this GPU: {gpu_name} sm{capability})"
            )
        if stale:
            raise ModelFileError(
                path, "engine was built for " + ", ".join(stale) + "; rebuild it with `disdepth build-engine`"
            )
        if sha256_file(path) != engine_sha:
            raise ModelFileError(path, "engine bytes do not match the sidecar hash (truncated or replaced?)")
        reason = f"engine for TensorRT {key.trt_version} on {key.gpu_name}, {key.precision}"
        return cls(path.read_bytes(), info, key.precision, memory, trt, path, reason)

    def _deserialize(self, data: bytes) -> Any:
        trt = self.trt
        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        try:
            engine = runtime.deserialize_cuda_engine(data)
        except Exception as error:  # TensorRT raises or returns None depending on the failure
            raise ModelFileError(self.path, f"TensorRT could not deserialise the engine: {error}") from error
        if engine is None:
            raise ModelFileError(
                self.path, "TensorRT could not deserialise the engine (corrupted or truncated?)"
            )
        return engine

    def _check_io(self) -> tuple[str, tuple[int, ...], dict[str, Any]]:
        trt, engine = self.trt, self.engine
        inputs, outputs = [], {}
        for index in range(engine.num_io_tensors):
            name = engine.get_tensor_name(index)
            dtype = np.dtype(trt.nptype(engine.get_tensor_dtype(name)))
            if engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT:
                inputs.append((name, tuple(engine.get_tensor_shape(name)), dtype))
            else:
                outputs[name] = dtype
        if len(inputs) != 1 or len(inputs[0][1]) != 4 or inputs[0][1][1] != 3:
            raise ModelFileError(self.path, f"expected one B x 3 x H x W input, engine has {inputs}")
        if DEPTH_OUTPUT not in outputs:
            raise ModelFileError(self.path, f"no {DEPTH_OUTPUT!r} output (outputs: {sorted(outputs)})")
        self._input_dtype = inputs[0][2]
        return inputs[0][0], inputs[0][1], outputs

    def _prepare(self, shape: tuple[int, ...]) -> None:
        """(Re)allocate device buffers and bind addresses when the input shape changes."""
        if shape == self._batch_shape:
            return
        self.context.set_input_shape(self._input_name, shape)
        self._buffers = {self._input_name: self.memory.empty(shape, self._input_dtype)}
        for name, dtype in self._outputs.items():
            self._buffers[name] = self.memory.empty(tuple(self.context.get_tensor_shape(name)), dtype)
        for name, buffer in self._buffers.items():
            self.context.set_tensor_address(name, buffer.ptr)
        self._batch_shape = shape

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Copy in, ``execute_async_v3`` on the memory provider's stream, copy out (float32)."""
        self._prepare(tuple(batch.shape))
        self._buffers[self._input_name].upload(batch)
        if not self.context.execute_async_v3(self.memory.stream_handle):
            raise RuntimeError(f"{self.path}: TensorRT execute_async_v3 failed")
        self.memory.synchronize()
        depth = self._buffers[DEPTH_OUTPUT].download().astype(np.float32, copy=False)
        uncertainty = self._buffers.get(UNCERTAINTY_OUTPUT)
        return depth, None if uncertainty is None else uncertainty.download().astype(np.float32, copy=False)


def open_engine(path: str | Path, device: str = "auto", precision: str = "fp32", threads: int | None = None):
    """The registry's factory (``backends.registry``): an engine runs at the precision it was built with,
    on the GPU's own threads, so ``precision`` and ``threads`` do not apply."""
    del precision, threads
    return TensorRTBackend.from_file(path, device=device)
