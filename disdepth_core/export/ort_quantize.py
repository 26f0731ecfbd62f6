"""Static int8 quantization (QDQ) of an exported model for ONNX Runtime and OpenVINO on CPU.

``onnxruntime.quantization.quant_pre_process`` then ``quantize_static`` (QDQ format, MinMax calibration
on model inputs made by the runtime's own pre-processing, :mod:`disdepth_core.export.calibration`). The
recipe comes from profiling ONNX Runtime 1.31 on an AVX-512 VNNI CPU (docs/runtime.md, "int8"):

* **U8S8**: uint8 activations (asymmetric), int8 weights (symmetric, per output channel). ONNX Runtime
  fuses DQ -> Conv -> Q into ``QLinearConv`` on x86 only for uint8 activations
  (``QDQIsInt8Allowed()`` is false off ARM); with int8 activations every Conv stayed float and
  dequantized its weights at every run: int8 was 2.7x (disdepth-b0) / 1.8x (disdepth-mbv2) slower.
* **Float islands stay float**: every node inside an LG-Conv (its host's output feeds a float attention
  branch: resize, sigmoid, matmul pooling; quantizing the block only adds Q/DQ and NHWC transposes) and
  the AdaBins head: ``QLinearSoftmax`` over the bins axis ran 1.2-2x slower than float, and uint8
  steps on the bin products ``p_i c_i`` (mostly near 0) biased depth (hu-lite: 99 % AbsRel vs fp32);
  and BatchNormalization that follows an LG-Conv (:data:`FLOAT_OP_TYPES`).

The ``depth``/``uncertainty`` outputs stay float32. OpenVINO runs the same QDQ file natively. Metadata is
copied with ``precision=int8`` and ``int8_backend`` (the runtime it was made for, see
:func:`onnxruntime_int8_refusal`).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from disdepth_core.export.onnx_export import write_metadata
from disdepth_core.files import atomic_write
from disdepth_core.model_info import DEPTH_OUTPUT, INPUT_NAME, ModelInfo

INT8_BACKENDS = ("onnxruntime", "openvino")
FLOAT_MODULES = ("LGConv", "BinsHead")
"""Nodes exported from inside these module classes (dynamo ``namespace`` metadata) stay float."""
FLOAT_OP_TYPES = ("BatchNormalization",)
"""Ops kept float: a BatchNormalization left after pre-processing follows an LG-Conv's add (not a conv it
could fold into); ONNX Runtime has no int8 kernel for it, and uint8 steps on its wide-range input moved
the shipped model's depth by 7 % (0.6 % with it float)."""
ORT_INT8_NOT_FASTER = {"disdepth-b0": "0.94-1.02x", "disdepth-mbv2": "0.98-1.09x"}
"""int8/fp32 speed-up on ONNX Runtime (2 and 1 threads, 240x320 and 480x640; docs/runtime.md) of the
students for which ``disdepth export`` refuses onnxruntime int8. disdepth-lite0 (1.06-1.18x) and hu-lite
(1.6-2.3x) are offered."""


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


def float_nodes(model_path: str | Path) -> list[str]:
    """Names of the nodes :func:`quantize_int8` keeps float: unfolded BatchNormalization and everything
    inside an LG-Conv or the bins head (found through the ``namespace`` metadata the dynamo exporter
    writes on every node)."""
    import onnx

    proto = onnx.load(str(model_path), load_external_data=False)
    names = []
    for node in proto.graph.node:
        namespace = next((p.value for p in node.metadata_props if p.key == "namespace"), "")
        if node.op_type in FLOAT_OP_TYPES or any(f".{module}/" in namespace for module in FLOAT_MODULES):
            names.append(node.name)
    return names


def quantize_int8(
    fp32_path: str | Path,
    output: str | Path,
    info: ModelInfo,
    calibration: list[np.ndarray],
    backend: str = "onnxruntime",
) -> Path:
    """Write a QDQ int8 copy of ``fp32_path`` to ``output``, calibrated on ``calibration`` batches.

    ``backend`` ("onnxruntime" or "openvino") is recorded as ``int8_backend`` in the metadata.
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if backend not in INT8_BACKENDS:
        raise ValueError(f"int8 backend must be one of {INT8_BACKENDS}, got {backend!r}")
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
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            calibrate_method=CalibrationMethod.MinMax,
            nodes_to_exclude=float_nodes(prepared),
            extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
        )
        write_metadata(
            quantized, replace(info, precision="int8", extra={**info.extra, "int8_backend": backend})
        )
        atomic_write(output, lambda target: shutil.copyfile(quantized, target))
    return output


def onnxruntime_int8_refusal(model: Any) -> str | None:
    """Why int8 is not offered on ONNX Runtime for ``model`` (a DepthModel), or None when it is.

    Refused for the students measured no faster in int8 (:data:`ORT_INT8_NOT_FASTER`) when they have
    the cause, LG-Convs on depthwise convs (their attention branch and the bins softmax keep most of the
    ONNX Runtime time in float ops); a checkpoint of the same family with LG-Conv on dense convs only
    (the shipped model) is offered. OpenVINO's int8 still pays for them (``--int8-backend openvino``).
    """
    from disdepth_core.models.lgconv import LGConv

    measured = ORT_INT8_NOT_FASTER.get(model.name)
    depthwise = [
        m for m in model.modules() if isinstance(m, LGConv) and 1 < m.host.groups == m.host.in_channels
    ]
    if measured is None or not depthwise:
        return None
    return (
        f"{model.name}: int8 is not offered for onnxruntime: int8/fp32 speed-up measured {measured} at "
        f"240x320 and 480x640 (benchmarks/runtime.py, docs/runtime.md), its {len(depthwise)} depthwise "
        "LG-Convs keep most of the time in float ops; use --int8-backend openvino or precision fp32"
    )
