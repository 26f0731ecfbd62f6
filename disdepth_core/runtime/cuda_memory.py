"""CUDA device buffers and GPU identity for TensorRT, via torch (if installed) or cuda-python.

A robot without the training stack (gigabytes of torch) can run TensorRT with cuda-python alone;
with torch installed its CUDA tensors are used. Both expose the same small interface so the TensorRT
backend and the INT8 calibrator only deal with device pointers and a stream handle.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np


class DeviceBuffer(Protocol):
    """A device allocation of a fixed shape/dtype; ``ptr`` is what ``set_tensor_address`` takes."""

    ptr: int
    shape: tuple[int, ...]
    dtype: np.dtype

    def upload(self, array: np.ndarray) -> None: ...

    def download(self) -> np.ndarray: ...


class DeviceMemory(Protocol):
    """Allocates buffers on one device and owns the stream that TensorRT enqueues on."""

    name: str
    stream_handle: int

    def empty(self, shape: tuple[int, ...], dtype: np.dtype) -> DeviceBuffer: ...

    def synchronize(self) -> None: ...

    def gpu_identity(self) -> tuple[str, str]: ...


class _TorchBuffer:
    def __init__(self, memory: TorchCudaMemory, shape: tuple[int, ...], dtype: np.dtype) -> None:
        import torch

        self._memory = memory
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        torch_dtype = torch.from_numpy(np.empty(0, dtype=self.dtype)).dtype
        self.tensor = torch.empty(self.shape, dtype=torch_dtype, device=memory.device)
        self.ptr = int(self.tensor.data_ptr())

    def upload(self, array: np.ndarray) -> None:
        import torch

        with torch.cuda.stream(self._memory.stream):
            self.tensor.copy_(
                torch.from_numpy(np.ascontiguousarray(array, dtype=self.dtype)), non_blocking=False
            )

    def download(self) -> np.ndarray:
        import torch

        with torch.cuda.stream(self._memory.stream):
            return self.tensor.cpu().numpy()


class TorchCudaMemory:
    """Device memory from torch CUDA tensors, on a dedicated torch CUDA stream."""

    name = "torch"

    def __init__(self, device_index: int = 0) -> None:
        import torch

        if not torch.cuda.is_available():
            raise RuntimeError("torch sees no CUDA device")
        self.device = torch.device("cuda", device_index)
        self.stream = torch.cuda.Stream(device=self.device)
        self.stream_handle = int(self.stream.cuda_stream)

    def empty(self, shape: tuple[int, ...], dtype: np.dtype) -> DeviceBuffer:
        return _TorchBuffer(self, shape, dtype)

    def synchronize(self) -> None:
        self.stream.synchronize()

    def gpu_identity(self) -> tuple[str, str]:
        import torch

        major, minor = torch.cuda.get_device_capability(self.device)
        return torch.cuda.get_device_name(self.device), f"{major}.{minor}"


def _cudart() -> Any:
    try:
        from cuda.bindings import runtime as cudart  # cuda-python >= 12.6
    except ImportError:
        from cuda import cudart  # older cuda-python
    return cudart


def _check(result: tuple[Any, ...]) -> Any:
    error, *values = result
    if int(error) != 0:
        raise RuntimeError(f"CUDA runtime error {error}")
    return values[0] if len(values) == 1 else values


class _CudaPythonBuffer:
    def __init__(self, memory: CudaPythonMemory, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self._memory = memory
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.nbytes = int(np.prod(self.shape)) * self.dtype.itemsize
        self.ptr = int(_check(memory.cudart.cudaMalloc(self.nbytes)))

    def upload(self, array: np.ndarray) -> None:
        host = np.ascontiguousarray(array, dtype=self.dtype)
        kind = self._memory.cudart.cudaMemcpyKind.cudaMemcpyHostToDevice
        _check(
            self._memory.cudart.cudaMemcpyAsync(
                self.ptr, host.ctypes.data, self.nbytes, kind, self._memory.stream
            )
        )
        self._memory.synchronize()  # host array may be freed once we return

    def download(self) -> np.ndarray:
        host = np.empty(self.shape, dtype=self.dtype)
        kind = self._memory.cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        _check(
            self._memory.cudart.cudaMemcpyAsync(
                host.ctypes.data, self.ptr, self.nbytes, kind, self._memory.stream
            )
        )
        self._memory.synchronize()
        return host

    def __del__(self) -> None:
        self._memory.cudart.cudaFree(self.ptr)


class CudaPythonMemory:
    """Device memory from the CUDA runtime through cuda-python (no torch needed)."""

    name = "cuda-python"

    def __init__(self, device_index: int = 0) -> None:
        self.cudart = _cudart()
        self.device_index = device_index
        _check(self.cudart.cudaSetDevice(device_index))
        self.stream = _check(self.cudart.cudaStreamCreate())
        self.stream_handle = int(self.stream)

    def empty(self, shape: tuple[int, ...], dtype: np.dtype) -> DeviceBuffer:
        return _CudaPythonBuffer(self, shape, dtype)

    def synchronize(self) -> None:
        _check(self.cudart.cudaStreamSynchronize(self.stream))

    def gpu_identity(self) -> tuple[str, str]:
        props = _check(self.cudart.cudaGetDeviceProperties(self.device_index))
        name = props.name.decode() if isinstance(props.name, bytes) else str(props.name)
        return name.rstrip("\x00"), f"{props.major}.{props.minor}"


def default_device_memory(device: str = "auto") -> DeviceMemory:
    """torch CUDA memory if torch with CUDA is importable, else cuda-python; clear error if neither."""
    index = int(device.split(":", 1)[1]) if device.startswith("cuda:") else 0
    if device == "cpu":
        raise ValueError("the TensorRT backend runs on a CUDA GPU; device=cpu is not possible")
    errors = []
    try:
        return TorchCudaMemory(index)
    except (ImportError, RuntimeError) as error:
        errors.append(f"torch: {error}")
    try:
        return CudaPythonMemory(index)
    except (ImportError, RuntimeError) as error:
        errors.append(f"cuda-python: {error}")
    raise RuntimeError("no CUDA memory provider for TensorRT (" + "; ".join(errors) + ")")
