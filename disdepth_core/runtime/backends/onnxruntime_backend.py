"""ONNX Runtime backend: a disdepth ONNX model in a session from :mod:`disdepth_core.onnx_sessions`
(TensorRT EP > CUDA EP > CPU EP), its metadata from ``get_modelmeta().custom_metadata_map``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from disdepth_core.model_files import ModelFileError
from disdepth_core.model_info import DEPTH_OUTPUT, UNCERTAINTY_OUTPUT, ModelInfo
from disdepth_core.onnx_sessions import TENSORRT, open_session

_NUMPY_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


class OnnxRuntimeBackend:
    """Runs an exported disdepth ONNX model with ONNX Runtime."""

    name = "onnxruntime"

    def __init__(
        self, path: str | Path, device: str = "auto", precision: str = "fp32", threads: int | None = None
    ) -> None:
        self.path = Path(path)
        self.session, self.reason = open_session(self.path, device, precision, threads)
        self.info = ModelInfo.from_props(self.session.get_modelmeta().custom_metadata_map, self.path)
        self.provider = self.session.get_providers()[0]
        if precision == "fp16" and self.provider != TENSORRT:
            raise ValueError(
                f"{self.path}: onnxruntime runs the precision stored in the file ({self.info.precision}); "
                "fp16 needs the TensorRT execution provider (use backend=tensorrt or precision=fp32)"
            )
        if precision == "int8" and self.info.precision != "int8":
            raise ValueError(
                f"{self.path}: this file is {self.info.precision}; make an int8 model with "
                "`disdepth export ... --precision int8` and load that file"
            )
        if self.info.extra.get("int8_backend") == "openvino":
            raise ValueError(
                f"{self.path}: int8 file made for openvino (`--int8-backend openvino`): int8 does not "
                "pay on onnxruntime for this model (docs/runtime.md); use backend=openvino or the fp32 file"
            )
        self.precision = self.info.precision if precision == "fp32" else precision
        self.fixed_input_hw, self._input_name, self._input_type = self._check_io()
        outputs = [output.name for output in self.session.get_outputs()]
        self._outputs = [DEPTH_OUTPUT] + ([UNCERTAINTY_OUTPUT] if UNCERTAINTY_OUTPUT in outputs else [])
        self.threads = threads

    def _check_io(self) -> tuple[tuple[int, int] | None, str, Any]:
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise ModelFileError(self.path, f"expected one image input, found {[i.name for i in inputs]}")
        shape = inputs[0].shape
        if len(shape) != 4 or shape[1] != 3:
            raise ModelFileError(
                self.path, f"input {inputs[0].name!r} has shape {shape}; expected B x 3 x H x W (RGB)"
            )
        if inputs[0].type not in _NUMPY_TYPES:
            raise ModelFileError(self.path, f"input type {inputs[0].type} is not float32/float16")
        outputs = [output.name for output in self.session.get_outputs()]
        if DEPTH_OUTPUT not in outputs:
            raise ModelFileError(self.path, f"no {DEPTH_OUTPUT!r} output (outputs: {outputs})")
        height, width = shape[2], shape[3]
        if isinstance(height, int) and isinstance(width, int):
            if (height, width) != (self.info.input_height, self.info.input_width):
                raise ModelFileError(
                    self.path,
                    f"input is {height}x{width} but metadata says "
                    f"{self.info.input_height}x{self.info.input_width}",
                )
            return (height, width), inputs[0].name, _NUMPY_TYPES[inputs[0].type]
        return None, inputs[0].name, _NUMPY_TYPES[inputs[0].type]

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Run one normalised batch; returns float32 (depth, uncertainty or None)."""
        results = self.session.run(
            self._outputs, {self._input_name: batch.astype(self._input_type, copy=False)}
        )
        depth = np.asarray(results[0], dtype=np.float32)
        uncertainty = np.asarray(results[1], dtype=np.float32) if len(results) > 1 else None
        return depth, uncertainty
