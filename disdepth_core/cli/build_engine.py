"""``disdepth build-engine``: ONNX -> validated, cached TensorRT engine (TensorRT 10.x and 11.x)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("build-engine", help="build a TensorRT engine from an exported ONNX model")
    parser.add_argument("onnx", type=Path, help="model exported with `disdepth export`")
    parser.add_argument("--precision", choices=("fp32", "fp16", "int8"), default="fp16")
    parser.add_argument("--calib", type=Path, help="image folder or rosbag for int8 calibration and checks")
    parser.add_argument("--calib-topic", help="image topic when --calib is a rosbag")
    parser.add_argument("--calib-count", type=int, default=64, help="int8 calibration images")
    parser.add_argument("--cache-dir", type=Path, help="engine cache (default ~/.cache/disdepth/engines)")
    parser.add_argument("-o", "--output", type=Path, help="engine path instead of the cache")
    parser.add_argument(
        "--tolerance", type=float, help="max depth AbsRel vs ONNX Runtime (default per precision)"
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if a valid cached engine exists")
    parser.add_argument("--device", default="auto", help="cuda or cuda:N")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from disdepth_core.export.tensorrt_builder import build_engine

    result = build_engine(
        args.onnx,
        args.precision,
        cache_dir=args.cache_dir,
        output=args.output,
        calib=args.calib,
        calib_topic=args.calib_topic,
        calib_count=args.calib_count,
        tolerance=args.tolerance,
        force=args.force,
        device=args.device,
    )
    state = (
        f"built ({result.reason}); AbsRel vs ONNX Runtime {result.abs_rel:.4g}"
        if result.built
        else result.reason
    )
    print(f"{result.engine_path}: {result.api.describe()}; {state}")
    return 0
