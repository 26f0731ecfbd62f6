"""Inference runtime: one :class:`DepthEstimator` over onnxruntime, openvino, torch and TensorRT backends.

Importing this package needs only numpy and OpenCV; each backend imports its own dependency when
it is chosen, so a robot needs only numpy, OpenCV and ONNX Runtime or TensorRT, not the training stack.
"""

from disdepth_core.model_files import ModelFileError
from disdepth_core.model_info import ModelInfo
from disdepth_core.runtime.estimator import DepthEstimator, DepthResult, Timings
from disdepth_core.runtime.image_ops import ResizePlan
from disdepth_core.runtime.loader import load_estimator, select_backend

__all__ = [
    "DepthEstimator",
    "DepthResult",
    "ModelFileError",
    "ModelInfo",
    "ResizePlan",
    "Timings",
    "load_estimator",
    "select_backend",
]
