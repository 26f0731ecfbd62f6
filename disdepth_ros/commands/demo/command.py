"""`disdepth demo`: play a (cached) synthetic camera bag into the real depth node and summarise the result."""

from __future__ import annotations

import argparse
from pathlib import Path

from disdepth_core.cli.runtime_args import add_runtime_arguments, runtime_options


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the depth node on a synthetic camera recording; print rate, latency and accuracy",
        description="Make a synthetic sample bag (cached in DIR), start the real depth node in-process "
        "with the default model (or --model), play the camera topics to it at their recorded rate, "
        "record its outputs, and write DIR/summary.json and DIR/preview.png. No camera or GPU needed. "
        "See docs/demo.md.",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("disdepth_demo"), metavar="DIR", help="output directory"
    )
    parser.add_argument("--frames", type=int, help="frames to play (default 60; 20 with --quick)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 20 frames at 160x120")
    parser.add_argument("--model", type=Path, help="model file (default: the shipped disdepth_default.onnx)")
    parser.add_argument(
        "--scale-source",
        default="ground_plane",
        metavar="SPEC",
        help="the node's scale_source (default ground_plane: the recording's camera mount; model: the "
        "network's own scale)",
    )
    add_runtime_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from disdepth_core.evaluation import ALIGNMENT_LABELS, accuracy_line
    from disdepth_ros.commands.demo.session import DemoConfig, run_demo

    if args.model is not None and not args.model.is_file():
        raise FileNotFoundError(
            f"--model {args.model} is not a model file; give an .onnx, .engine or .safetensors file, or "
            "omit --model for the shipped model"
        )
    config = DemoConfig.quick_config(args.out) if args.quick else DemoConfig(out_dir=args.out)
    config = replace(config, model=args.model, runtime=runtime_options(args), scale_source=args.scale_source)
    if args.frames is not None:
        if args.frames < 2:
            raise ValueError(f"--frames must be >= 2, got {args.frames}")
        config = replace(config, frames=args.frames)
    summary = run_demo(config)
    frames = summary["frames"]
    latency = summary["latency_ms"]
    metrics = summary["metrics"]
    rate = summary["output_rate_hz"]
    model = summary["model"]
    trained = "" if model["trained"] else " (UNTRAINED weights: accuracy is meaningless)"
    print(f"model: {model['path']} [{model['backend']}]{trained}")
    print(
        f"frames in {frames['in']}, depth out {frames['out_depth']}, points out {frames['out_points']} "
        f"(dropped by the node: {frames['dropped_by_node']}); output rate "
        f"{rate if rate is None else round(rate, 1)} Hz for {summary['input_rate_hz']:g} Hz input"
    )
    print(
        "end-to-end latency (publish -> depth received): "
        f"p50 {latency['p50']:.1f} ms, p95 {latency['p95']:.1f} ms"
    )
    scale = summary["scale"]
    last = scale["last"]
    print(
        f"metric scale: scale_source {scale['source']}, last frame {last['source']} ({last['state']}): "
        f"{last['reason']}"
    )
    labels = {"raw": "published depth (with its scale source)", "median": ALIGNMENT_LABELS["median"]}
    for name, label in labels.items():
        scored = (metrics[name], metrics["coverage"], metrics["range"])
        print(accuracy_line(f"vs ground truth, {label}", *scored))
    print("wrote " + ", ".join(summary["files"]))
    return 0
