"""The contract between :class:`~disdepth_core.runtime.estimator.DepthEstimator` and a backend."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from disdepth_core.model_info import ModelInfo


class Backend(Protocol):
    """Runs a normalised ``B x 3 x H x W`` float32 batch and returns ``(depth, uncertainty)`` as
    ``B x 1 x H x W`` float32 host arrays (uncertainty ``None`` when the model has no such output).

    ``name`` is the backend ("onnxruntime", "openvino", "torch", "tensorrt"); ``provider`` the device that
    actually runs (e.g. "CPUExecutionProvider", "cuda:0"); ``fixed_input_hw`` is the only accepted input
    size, or ``None`` when the model takes any size allowed by ``model_info.check_input_size``.
    """

    name: str
    provider: str
    precision: str
    info: ModelInfo
    fixed_input_hw: tuple[int, int] | None

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]: ...
