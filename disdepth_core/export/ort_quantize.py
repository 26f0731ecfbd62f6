"""ONNX Runtime static int8 quantization (QDQ) of an exported model, for CPUs with int8 dot products.

Uses ``onnxruntime.quantization.quant_pre_process`` then ``quantize_static`` with QDQ format, int8
weights (per channel) and activations, MinMax calibration on model inputs produced by the runtime's
own pre-processing (:mod:`disdepth_core.export.calibration`). The ``depth``/``uncertainty`` outputs stay
float32; metadata is copied with ``precision=int8``.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from disdepth_core.export.onnx_export import write_metadata
from disdepth_core.files import atomic_write
from disdepth_core.runtime.model_info import DEPTH_OUTPUT, INPUT_NAME, ModelInfo


@dataclass(frozen=True)
class QuantizationReport:
    """int8 vs fp32 depth on held-out inputs: max/mean abs difference (m) and AbsRel between them."""

    path: Path
    max_abs_diff: float
    mean_abs_diff: float
    abs_rel: float


class _BatchReader:
    """``CalibrationDataReader`` protocol: ``get_next()`` returns a feed dict or None when exhausted."""

    def __init__(self, batches: list[np.ndarray]) -> None:
        self._batches = iter(batches)

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self._batches, None)
        return None if batch is None else {INPUT_NAME: batch}


def quantize_int8(
    fp32_path: str | Path, output: str | Path, info: ModelInfo, calibration: list[np.ndarray]
) -> Path:
    """Write a QDQ int8 copy of ``fp32_path`` to ``output``, calibrated on ``calibration`` batches."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    output = Path(output)
    with tempfile.TemporaryDirectory(prefix="disdepth-quant-") as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quantized = Path(tmp) / "int8.onnx"
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=False)
        quantize_static(
            str(prepared),
            str(quantized),
            _BatchReader(calibration),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            calibrate_method=CalibrationMethod.MinMax,
            extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
        )
        write_metadata(quantized, replace(info, precision="int8"))
        atomic_write(output, lambda target: shutil.copyfile(quantized, target))
    return output


def compare_depth(
    fp32_path: str | Path, int8_path: str | Path, batches: list[np.ndarray]
) -> QuantizationReport:
    """Run both models on ``batches`` (ONNX Runtime CPU) and measure how far int8 depth is from fp32."""
    import onnxruntime as ort

    sessions = [
        ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]) for p in (fp32_path, int8_path)
    ]
    diffs, rels = [], []
    for batch in batches:
        reference, quantized = (s.run([DEPTH_OUTPUT], {INPUT_NAME: batch})[0] for s in sessions)
        diff = np.abs(quantized - reference)
        diffs.append(diff)
        rels.append(diff / np.maximum(reference, 1e-6))
    all_diffs = np.concatenate([d.ravel() for d in diffs])
    return QuantizationReport(
        path=Path(int8_path),
        max_abs_diff=float(all_diffs.max()),
        mean_abs_diff=float(all_diffs.mean()),
        abs_rel=float(np.concatenate([r.ravel() for r in rels]).mean()),
    )
