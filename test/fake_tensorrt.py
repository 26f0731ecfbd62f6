"""A fake ``tensorrt`` module (10.x or 11.x API surface) and host memory standing in for CUDA buffers.

The fake parses real ONNX bytes and "executes" engines with ONNX Runtime, reading inputs from and
writing outputs to the raw addresses given to ``set_tensor_address``, so the real TensorRT backend and
builder code paths run end to end on a CPU-only machine. ``depth_bias`` makes engines wrong on purpose.
"""

from __future__ import annotations

import ctypes
import json
import types
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort

MAGIC = b"FAKETRT\0"


class HostBuffer:
    def __init__(self, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self.shape, self.dtype = tuple(shape), np.dtype(dtype)
        self.array = np.zeros(self.shape, dtype=self.dtype)
        self.ptr = int(self.array.ctypes.data)

    def upload(self, array: np.ndarray) -> None:
        self.array[...] = array

    def download(self) -> np.ndarray:
        return self.array.copy()


class HostMemory:
    """DeviceMemory protocol on host arrays (pointers are host addresses)."""

    name = "host"
    stream_handle = 0

    def __init__(self, gpu: tuple[str, str] = ("Fake GPU", "8.7")) -> None:
        self.gpu = gpu

    def empty(self, shape: tuple[int, ...], dtype: np.dtype) -> HostBuffer:
        return HostBuffer(shape, dtype)

    def synchronize(self) -> None:
        pass

    def gpu_identity(self) -> tuple[str, str]:
        return self.gpu


def _view(ptr: int, shape: tuple[int, ...]) -> np.ndarray:
    count = int(np.prod(shape))
    return np.ctypeslib.as_array((ctypes.c_float * count).from_address(ptr)).reshape(shape)


def make_fake_tensorrt(version: str, has_flags: bool, depth_bias: float = 0.0) -> types.ModuleType:
    """Build a fake ``tensorrt`` module; ``trt.calls`` records builder activity for assertions."""
    trt = types.ModuleType("tensorrt")
    trt.__version__ = version
    trt.calls = []
    trt.parsed = []

    class Logger:
        WARNING = 2

        def __init__(self, severity: int = 2) -> None:
            self.severity = severity

    flag_names = ["TF32", "FP16", "INT8"] if has_flags else ["TF32"]
    trt.BuilderFlag = types.SimpleNamespace(**{name: name for name in flag_names})
    trt.NetworkDefinitionCreationFlag = types.SimpleNamespace(STRONGLY_TYPED=5)
    trt.MemoryPoolType = types.SimpleNamespace(WORKSPACE="WORKSPACE")
    trt.TensorIOMode = types.SimpleNamespace(INPUT="INPUT", OUTPUT="OUTPUT")
    trt.DataType = types.SimpleNamespace(FLOAT="FLOAT")
    trt.Logger = Logger
    trt.nptype = lambda dtype: np.float32

    if has_flags:

        class IInt8EntropyCalibrator2:
            def __init__(self) -> None:
                pass

        trt.IInt8EntropyCalibrator2 = IInt8EntropyCalibrator2

    class Network:
        def __init__(self, flags: int) -> None:
            self.flags = flags
            self.model: onnx.ModelProto | None = None

        def get_input(self, index: int) -> Any:
            return types.SimpleNamespace(name=self.model.graph.input[index].name)

    class Parser:
        def __init__(self, network: Network, logger: Logger) -> None:
            self.network, self.num_errors = network, 0

        def parse(self, data: bytes) -> bool:
            try:
                self.network.model = onnx.load_from_string(data)
            except Exception:
                self.num_errors = 1
                return False
            trt.parsed.append(self.network.model)
            return True

        def get_error(self, index: int) -> str:
            return "not an ONNX model"

    class TimingCache:
        def __init__(self, data: bytes) -> None:
            self.data = data

        def serialize(self) -> bytes:
            return self.data + b"t"

    class Config:
        def __init__(self) -> None:
            self.flags: list[str] = []
            self.int8_calibrator = None
            self.profiles: list[Any] = []

        def set_memory_pool_limit(self, pool: str, size: int) -> None:
            pass

        def create_timing_cache(self, data: bytes) -> TimingCache:
            trt.calls.append(("timing_cache_loaded", len(data)))
            return TimingCache(data)

        def set_timing_cache(self, cache: TimingCache, ignore_mismatch: bool) -> None:
            self.timing_cache = cache

        def get_timing_cache(self) -> TimingCache:
            return self.timing_cache

        def set_flag(self, flag: str) -> None:
            self.flags.append(flag)

        def add_optimization_profile(self, profile: Any) -> None:
            self.profiles.append(profile)

        def set_calibration_profile(self, profile: Any) -> None:
            self.calibration_profile = profile

    class Profile:
        def set_shape(self, name: str, low: tuple, opt: tuple, high: tuple) -> None:
            self.shapes = (name, low, opt, high)

    class Builder:
        def __init__(self, logger: Logger) -> None:
            pass

        def create_network(self, flags: int) -> Network:
            return Network(flags)

        def create_builder_config(self) -> Config:
            return Config()

        def create_optimization_profile(self) -> Profile:
            return Profile()

        def build_serialized_network(self, network: Network, config: Config) -> bytes:
            calibrated = 0
            if config.int8_calibrator is not None:
                while config.int8_calibrator.get_batch(["image"]) is not None:
                    calibrated += 1
                config.int8_calibrator.write_calibration_cache(b"calib")
            trt.calls.append(
                {"network_flags": network.flags, "config_flags": list(config.flags), "calibrated": calibrated}
            )
            header = json.dumps({"bias": depth_bias}).encode()
            return MAGIC + len(header).to_bytes(4, "little") + header + network.model.SerializeToString()

    class Context:
        def __init__(self, engine: Engine) -> None:
            self.engine, self.addresses, self.input_shape = engine, {}, None

        def set_input_shape(self, name: str, shape: tuple[int, ...]) -> None:
            self.input_shape = tuple(shape)

        def get_tensor_shape(self, name: str) -> tuple[int, ...]:
            batch, _, height, width = self.input_shape
            return (batch, 1, height, width)

        def set_tensor_address(self, name: str, ptr: int) -> None:
            self.addresses[name] = ptr

        def execute_async_v3(self, stream: int) -> bool:
            feed = {"image": _view(self.addresses["image"], self.input_shape).copy()}
            for name, value in zip(
                self.engine.outputs, self.engine.session.run(self.engine.outputs, feed), strict=True
            ):
                if name == "depth":
                    value = value + self.engine.bias
                _view(self.addresses[name], value.shape)[...] = value
            return True

    class Engine:
        def __init__(self, bias: float, model_bytes: bytes) -> None:
            self.bias = bias
            self.session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
            self.inputs = [i.name for i in self.session.get_inputs()]
            self.outputs = [o.name for o in self.session.get_outputs()]
            self.num_io_tensors = len(self.inputs) + len(self.outputs)

        def get_tensor_name(self, index: int) -> str:
            return (self.inputs + self.outputs)[index]

        def get_tensor_mode(self, name: str) -> str:
            return "INPUT" if name in self.inputs else "OUTPUT"

        def get_tensor_shape(self, name: str) -> tuple[int, ...]:
            items = {i.name: i for i in self.session.get_inputs() + self.session.get_outputs()}
            return tuple(d if isinstance(d, int) else -1 for d in items[name].shape)

        def get_tensor_dtype(self, name: str) -> str:
            return "FLOAT"

        def create_execution_context(self) -> Context:
            return Context(self)

    class Runtime:
        def __init__(self, logger: Logger) -> None:
            pass

        def deserialize_cuda_engine(self, data: bytes) -> Engine | None:
            if not data.startswith(MAGIC):
                return None
            size = int.from_bytes(data[len(MAGIC) : len(MAGIC) + 4], "little")
            header = json.loads(data[len(MAGIC) + 4 : len(MAGIC) + 4 + size])
            return Engine(header["bias"], data[len(MAGIC) + 4 + size :])

    trt.Builder, trt.OnnxParser, trt.Runtime = Builder, Parser, Runtime
    return trt
