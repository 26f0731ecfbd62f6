"""``disdepth export``: checkpoint (or an untrained registered model) -> verified ONNX with metadata.

``--precision int8`` additionally quantizes for CPU (static QDQ, calibrated on ``--calib`` images or
synthetic scenes) and prints the depth difference to fp32. ``--int8-backend`` names the runtime the file
is for: onnxruntime (refused for students where it does not pay, with the reason) or openvino.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from disdepth_core.model_info import SIZE_MULTIPLE

if TYPE_CHECKING:
    from disdepth_core.model_info import ModelInfo


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("export", help="export a checkpoint to ONNX (verified against PyTorch)")
    parser.add_argument("checkpoint", nargs="?", type=Path, help=".safetensors checkpoint")
    parser.add_argument("--model", help="registered model name instead of a checkpoint (untrained weights)")
    parser.add_argument(
        "--height", type=int, required=True, help=f"input height (multiple of {SIZE_MULTIPLE})"
    )
    parser.add_argument("--width", type=int, required=True, help=f"input width (multiple of {SIZE_MULTIPLE})")
    parser.add_argument("-o", "--output", type=Path, required=True, help="output .onnx file")
    parser.add_argument("--dynamic", action="store_true", help="dynamic batch/height/width")
    parser.add_argument("--precision", choices=("fp32", "int8"), default="fp32", help="int8: QDQ for CPU")
    parser.add_argument(
        "--int8-backend",
        choices=("onnxruntime", "openvino"),
        default="onnxruntime",
        help="runtime the int8 file is for",
    )
    parser.add_argument("--calib", type=Path, help="int8 calibration image folder or rosbag")
    parser.add_argument("--calib-topic", help="image topic when --calib is a rosbag")
    parser.add_argument("--calib-count", type=int, default=32, help="int8 calibration images")
    parser.add_argument("--tolerance", type=float, default=1e-3, help="max abs depth error vs PyTorch (m)")
    parser.add_argument("--opset", type=int, default=18, help="ONNX opset (>= 18)")
    parser.add_argument(
        "--training-images",
        choices=("synthetic", "real", "synthetic+real"),
        help="what the model learnt metric depth from, recorded in its metadata (training_images); "
        "synthetic: the node and eval-bag warn when it runs on its own scale",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from disdepth_core.export.onnx_export import export_onnx
    from disdepth_core.scale.advice import TRAINING_IMAGES_KEY

    if (args.checkpoint is None) == (args.model is None):
        raise ValueError("give either a CHECKPOINT or --model NAME")
    if args.model is not None:
        from disdepth_core.models import build_model

        model, trained, recipe = build_model(args.model), False, ""
    else:
        from disdepth_core.models.checkpoint import load_model

        model, metadata = load_model(args.checkpoint)
        trained, recipe = True, str(metadata.get("recipe", ""))
    if args.precision == "int8" and args.int8_backend == "onnxruntime":
        from disdepth_core.export.ort_quantize import onnxruntime_int8_refusal

        refusal = onnxruntime_int8_refusal(model)
        if refusal is not None:
            raise ValueError(refusal)
    target = args.output
    with tempfile.TemporaryDirectory(prefix="disdepth-export-") as tmp:
        fp32_path = Path(tmp) / "fp32.onnx" if args.precision == "int8" else target
        report = export_onnx(
            model,
            fp32_path,
            args.height,
            args.width,
            dynamic=args.dynamic,
            trained=trained,
            recipe=recipe,
            opset=args.opset,
            tolerance=args.tolerance,
            extra={TRAINING_IMAGES_KEY: args.training_images} if args.training_images else None,
        )
        errors = ", ".join(f"{name} {value:.2e}" for name, value in report.max_abs_error.items())
        print(
            f"exported {report.info.name} to {fp32_path} in {report.seconds:.1f} s; "
            f"max abs error vs PyTorch: {errors}"
        )
        if args.precision == "int8":
            _quantize(fp32_path, target, report.info, args)
    return 0


def _quantize(fp32_path: Path, target: Path, info: ModelInfo, args: argparse.Namespace) -> None:
    from disdepth_core.export.calibration import calibration_images, model_batches
    from disdepth_core.export.ort_quantize import compare_depth, quantize_int8

    images = calibration_images(args.calib, args.calib_topic, (info.input_height, info.input_width))
    batches = model_batches(images, info, args.calib_count + 4)
    quantize_int8(fp32_path, target, info, batches[4:] or batches, backend=args.int8_backend)
    report = compare_depth(fp32_path, target, batches[:4])
    print(
        f"int8 model for {args.int8_backend} written to {target}; "
        f"depth vs fp32 on {min(4, len(batches))} held-out images: "
        f"max abs {report.max_abs_diff:.3f} m, mean abs {report.mean_abs_diff:.4f} m, "
        f"AbsRel {report.abs_rel:.4f}"
    )
