"""OpenVINO backend: runs an exported disdepth ONNX file (fp32, or QDQ int8) on an Intel/x86 CPU, GPU or NPU.

Uses the public OpenVINO Python API (``openvino.Core``: ``read_model`` reads ONNX directly,
``compile_model`` with ``INFERENCE_PRECISION_HINT``, ``INFERENCE_NUM_THREADS``, ``PERFORMANCE_HINT``).
The ONNX ``metadata_props`` arrive in the model's ``rt_info["framework"]``, so the same
:class:`~disdepth_core.model_info.ModelInfo` drives pre/post-processing as on ONNX Runtime.

Precision (OpenVINO's CPU plugin *defaults* to bf16 on CPUs that have it, so it is always set explicitly):

* ``fp32``: ``INFERENCE_PRECISION_HINT=f32``: the file's float maths (depth within 1e-3 m of ONNX
  Runtime in the tests; kernels round differently).
* ``bf16`` / ``fp16``: only where the device lists the format in ``OPTIMIZATION_CAPABILITIES`` (bf16:
  AVX-512 BF16 / AMX CPUs; fp16: Intel GPUs/NPUs, AVX-512 FP16 CPUs); refused otherwise. The bins
  head after the last convolution stays fp32 by OpenVINO's own graph-tail rule once the trailing resize
  runs on the host and the bins MLP's vector products are elementwise ops
  (:mod:`~disdepth_core.runtime.backends.openvino_tail`).
* ``int8``: a file quantised by ``disdepth export --precision int8`` (Q/DQ nodes); OpenVINO's low-precision
  transformations run the quantised convolutions in int8 and everything else in fp32.

Dynamic files are compiled once per input shape (a static shape lets the CPU plugin pick its fastest
kernels); the estimator runs one shape, so this is one compilation in practice. Each shape has one
reused infer request; a call shares the caller's input and the request's output memory (no copies but
the host resize, or one copy of an output that has none).
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from disdepth_core.model_files import ModelFileError
from disdepth_core.model_info import DEPTH_OUTPUT, UNCERTAINTY_OUTPUT, ModelInfo
from disdepth_core.runtime.backends.openvino_tail import (
    detach_trailing_resizes,
    resize_output,
    unfold_vector_products,
)

OPENVINO_REQUIREMENT = "openvino==2026.4.1"
"""The version CI tests (the ``openvino`` extra in setup.py, requirements/dev.txt)."""
_HINTS = {"fp32": "f32", "bf16": "bf16", "fp16": "f16", "int8": "f32"}
_CAPABILITY = {"bf16": "BF16", "fp16": "FP16", "int8": "INT8"}
_SHAPE_CACHE_SIZE = 4


def import_openvino() -> Any:
    """Import ``openvino`` or raise a one-line ImportError saying how to install it."""
    try:
        import openvino
    except ImportError as error:
        raise ImportError(
            f"backend=openvino needs the 'openvino' package: pip install {OPENVINO_REQUIREMENT} "
            "(or the disdepth 'openvino' extra), or use backend=onnxruntime"
        ) from error
    return openvino


def device_capabilities(core: Any, device: str) -> list[str]:
    """What OpenVINO ``device`` lists in ``OPTIMIZATION_CAPABILITIES`` (FP32, BF16, FP16, INT8, ...)."""
    return [str(c) for c in core.get_property(device, "OPTIMIZATION_CAPABILITIES")]


def choose_device(available: list[str], device: str) -> tuple[str, str]:
    """Map ``device`` ("auto", "cpu", "gpu", "gpu.N", "npu") to an OpenVINO device name and a reason.

    ``auto`` is the CPU: the depth node shares the robot's computer and a GPU/NPU is a deliberate choice
    (its first compilation takes seconds); other devices OpenVINO reports are named in the reason.
    """
    others = [name for name in available if name != "CPU"]
    if device == "auto":
        if "CPU" not in available:
            raise RuntimeError(
                f"OpenVINO reports no CPU device (available: {available}); pass device=gpu/npu"
            )
        extra = f"; also available: {', '.join(others)} (device=gpu/npu)" if others else ""
        return "CPU", f"device=auto: CPU{extra}"
    if device.startswith("cuda"):
        raise ValueError(
            f"device={device}: OpenVINO does not run on CUDA; use backend=onnxruntime or tensorrt"
        )
    name = device.upper()
    if name not in available and not any(a.startswith(name + ".") for a in available):
        raise RuntimeError(f"device={device} requested but OpenVINO reports only {', '.join(available)}")
    return name, f"device={device} requested"


def check_precision(precision: str, capabilities: list[str], device: str, info: ModelInfo, path: Path) -> str:
    """Refuse a precision the device or the file cannot run; return the precision that will run."""
    if precision == "int8" and info.precision != "int8":
        raise ValueError(
            f"{path}: this file is {info.precision}; make an int8 model with "
            "`disdepth export ... --precision int8` and load that file"
        )
    if info.precision == "int8" and precision != "int8":
        if precision != "fp32":
            raise ValueError(f"{path}: this file is int8; load it with precision=int8 (or fp32)")
        precision = "int8"  # like onnxruntime: the file's own precision runs
    needed = _CAPABILITY.get(precision)
    if needed is not None and needed not in capabilities:
        raise ValueError(
            f"precision={precision} is not supported by OpenVINO device {device} (it reports "
            f"{', '.join(capabilities)}); use precision=fp32"
        )
    return precision


class OpenVinoBackend:
    """Runs an exported disdepth ONNX model with OpenVINO (static shapes compiled per input size)."""

    name = "openvino"

    def __init__(
        self, path: str | Path, device: str = "auto", precision: str = "fp32", threads: int | None = None
    ) -> None:
        ov = import_openvino()
        self.path = Path(path)
        self.core = ov.Core()
        self.device, device_reason = choose_device(list(self.core.available_devices), device)
        try:
            self.model = self.core.read_model(str(self.path))
        except Exception as error:  # OpenVINO raises RuntimeError subclasses of its own for bad files
            raise ModelFileError(
                self.path, f"not a valid ONNX model (corrupted or truncated?): {error}"
            ) from error
        self.info = ModelInfo.from_props(_framework_props(self.model), self.path)
        _check_finite_weights(self.model, self.path)
        capabilities = device_capabilities(self.core, self.device)
        self.precision = check_precision(precision, capabilities, self.device, self.info, self.path)
        full_name = str(self.core.get_property(self.device, "FULL_DEVICE_NAME"))
        formats = [c for c in capabilities if c in ("FP32", "BF16", "FP16", "INT8")]
        self.provider = f"{self.device} ({full_name}; runs {'/'.join(formats).lower()})"
        self.reason = (
            f"OpenVINO {ov.__version__.split('-')[0]} {device_reason}; {self.precision} "
            f"({_precision_note(self.precision, capabilities)})"
        )
        self.fixed_input_hw, self._has_uncertainty = self._check_io()
        self.config = self._config(threads)
        self.threads = threads
        self._compiled: OrderedDict[tuple[int, ...], _Request] = OrderedDict()
        if self.fixed_input_hw is not None:
            self._request(tuple(self.model.inputs[0].get_shape()))  # compile now: fail at load, not later

    def _check_io(self) -> tuple[tuple[int, int] | None, bool]:
        inputs = self.model.inputs
        if len(inputs) != 1:
            raise ModelFileError(self.path, f"expected one image input, found {len(inputs)} inputs")
        shape = inputs[0].get_partial_shape()
        if shape.rank.is_dynamic or shape.rank.get_length() != 4 or shape[1].is_dynamic or shape[1] != 3:
            dims = "?" if shape.rank.is_dynamic else [d.get_length() if d.is_static else "?" for d in shape]
            raise ModelFileError(
                self.path,
                f"input {inputs[0].get_any_name()!r} has shape {dims}; expected B x 3 x H x W (RGB)",
            )
        outputs = [name for output in self.model.outputs for name in output.get_names()]
        if DEPTH_OUTPUT not in outputs:
            raise ModelFileError(self.path, f"no {DEPTH_OUTPUT!r} output (outputs: {outputs})")
        has_uncertainty = UNCERTAINTY_OUTPUT in outputs
        if shape[2].is_dynamic or shape[3].is_dynamic:
            return None, has_uncertainty
        height, width = shape[2].get_length(), shape[3].get_length()
        if (height, width) != (self.info.input_height, self.info.input_width):
            raise ModelFileError(
                self.path,
                f"input is {height}x{width} but metadata says "
                f"{self.info.input_height}x{self.info.input_width}",
            )
        return (height, width), has_uncertainty

    def _config(self, threads: int | None) -> dict[str, Any]:
        """Compile options: one latency-optimised stream; the precision hint; threads when given.

        CPU threads are not pinned to cores: the node shares the CPU with ROS executors and other
        perception, where pinning makes a busy core stall inference.
        """
        config: dict[str, Any] = {
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_PRECISION_HINT": _HINTS[self.precision],
        }
        if self.device == "CPU":
            config["ENABLE_CPU_PINNING"] = False
            if threads is not None:
                config["INFERENCE_NUM_THREADS"] = int(threads)
        return config

    def _request(self, shape: tuple[int, ...]) -> _Request:
        request = self._compiled.get(shape)
        if request is not None:
            self._compiled.move_to_end(shape)
            return request
        model = self.model
        if self.fixed_input_hw is None:
            model = self.model.clone()
            model.reshape({0: list(shape)})
        try:
            request = self._compile(model)
        except Exception as error:  # OpenVINO reports unsupported ops/shapes as RuntimeError subclasses
            raise ModelFileError(
                self.path, f"OpenVINO cannot compile it for {self.device} at {shape}: {error}"
            ) from error
        self._compiled[shape] = request
        while len(self._compiled) > _SHAPE_CACHE_SIZE:
            self._compiled.popitem(last=False)
        return request

    def _compile(self, model: Any) -> _Request:
        """One reused infer request; trailing resizes run on the host and, in bf16/fp16, vector products
        are unfolded so that the bins head stays fp32 (openvino_tail)."""
        graph, host_resizes = detach_trailing_resizes(model)
        if self.precision in ("bf16", "fp16"):
            unfold_vector_products(graph)
        compiled = self.core.compile_model(graph, self.device, self.config)
        names = [DEPTH_OUTPUT] + ([UNCERTAINTY_OUTPUT] if self._has_uncertainty else [])
        ports = [
            next(i for i, out in enumerate(compiled.outputs) if name in out.get_names()) for name in names
        ]
        return _Request(compiled.create_infer_request(), ports, [host_resizes.get(name) for name in names])

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Run one normalised batch; returns float32 (depth, uncertainty or None) the caller owns."""
        request = self._request(tuple(int(d) for d in batch.shape))
        outputs = request.run(np.ascontiguousarray(batch, dtype=np.float32))
        return outputs[0], outputs[1] if len(outputs) > 1 else None


class _Request:
    """A compiled model's infer request with shared input/output memory, its output ports (depth,
    uncertainty) and the host resize of each (None: the graph's own output size)."""

    def __init__(self, request: Any, ports: list[int], resizes: list[tuple[int, int] | None]) -> None:
        self.request = request
        self.ports = ports
        self.resizes = resizes

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        results = self.request.infer({0: batch}, share_inputs=True, share_outputs=True)
        # Shared outputs are the request's own buffers, reused by the next call: resize into a new
        # array, or copy.
        return [
            np.array(results[port], dtype=np.float32) if size is None else resize_output(results[port], size)
            for port, size in zip(self.ports, self.resizes, strict=True)
        ]


def _check_finite_weights(model: Any, path: Path) -> None:
    """Refuse NaN/inf weights up front: OpenVINO's graph optimisations do not keep IEEE NaN semantics
    (``x * NaN + 1`` folded to ``x`` in a test), so the loader's finite-output probe alone could pass."""
    for op in model.get_ops():
        real = op.get_type_name() == "Constant" and op.get_output_element_type(0).is_real()
        if real and not np.all(np.isfinite(op.get_data())):
            raise ModelFileError(
                path,
                f"weight {op.get_friendly_name()!r} contains NaN or inf (a diverged training run or a "
                "damaged file); export it again from a good checkpoint",
            )


def _framework_props(model: Any) -> dict[str, str]:
    """The ONNX ``metadata_props`` that OpenVINO's ONNX frontend keeps under ``rt_info["framework"]``."""
    if not model.has_rt_info(["framework"]):
        return {}
    keys = model.get_rt_info(["framework"]).astype(dict).keys()
    return {key: model.get_rt_info(["framework", key]).astype(str) for key in keys}


def _precision_note(precision: str, capabilities: list[str]) -> str:
    if precision == "int8":
        native = "native int8 kernels" if "INT8" in capabilities else "int8 emulated: device lists no INT8"
        return f"quantised file, {native}, fp32 elsewhere"
    if precision == "fp32":
        others = [c.lower() for c in capabilities if c in ("BF16", "FP16")]
        return "full precision" + (f"; {'/'.join(others)} also supported here" if others else "")
    return f"the device reports native {precision}; bins head in fp32"
