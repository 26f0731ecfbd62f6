"""`disdepth eval-bag`: run a depth model on every frame of a ROS 2 bag and score it against ground truth."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from disdepth_core.cli.runtime_args import add_runtime_arguments, runtime_options
from disdepth_core.cli.scale_args import add_scale_arguments, scale_options
from disdepth_ros.commands.eval_bag.config import EvalConfig


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval-bag",
        help="evaluate a depth model on a ROS 2 bag (metrics, latency, report, optional output bag)",
        description="Run the depth node's per-frame path (decode -> DepthEstimator -> scale source -> "
        "depth limits -> outputs) with the node's runtime options on every image of a ROS 2 bag (sqlite3 "
        "or mcap; Image or CompressedImage), pair ground-truth depth (16UC1 mm or 32FC1 m) by header "
        "stamp, score every alignment mode and the scale source's depth (the camera mount from the bag's "
        "/tf and /tf_static, or --camera-height), and write DIR/summary.json, DIR/frames.csv and "
        "DIR/report.png. A bad message "
        "costs one frame and is listed in the summary. Exit status: 0 ok, 1 nothing could be evaluated "
        "or the bag is damaged part-way, 2 bad arguments/unreadable bag, 130 interrupted. "
        "See docs/eval_bag.md.",
    )
    parser.add_argument("bag", metavar="BAG", type=Path, help="bag directory (metadata.yaml) or .mcap file")
    parser.add_argument(
        "--model", required=True, type=Path, help="model file (.onnx, .engine or .safetensors)"
    )
    parser.add_argument(
        "--image-topic", required=True, help="camera topic (sensor_msgs/Image or CompressedImage)"
    )
    parser.add_argument(
        "--depth-topic", help="ground-truth depth topic (16UC1 mm or 32FC1 m); omit: no metrics"
    )
    parser.add_argument(
        "--camera-info-topic", help="camera_info topic (needed for depth/camera_info and points)"
    )
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="output directory")
    parser.add_argument(
        "--write-bag", type=Path, metavar="OUT", help="also write a bag with depth, camera_info, points"
    )
    parser.add_argument(
        "--write-storage", choices=("mcap", "sqlite3"), default="mcap", help="storage of --write-bag"
    )
    parser.add_argument(
        "--stamp-tolerance",
        type=float,
        default=0.01,
        metavar="S",
        help="max |stamp difference| image<->GT (s)",
    )
    parser.add_argument("--max-frames", type=int, metavar="N", help="evaluate only the first N images")
    parser.add_argument(
        "--min-depth", type=float, help="scored GT range minimum, m (default 0.1, whatever the model)"
    )
    parser.add_argument(
        "--max-depth", type=float, help="scored GT range maximum, m (default 80, whatever the model)"
    )
    parser.add_argument("--crop", choices=("eigen", "garg"), help="evaluation crop (NYU eigen, KITTI garg)")
    parser.add_argument(
        "--cloud-stride",
        type=int,
        default=EvalConfig.cloud_stride,
        help=f"point-cloud stride in --write-bag (default {EvalConfig.cloud_stride}, as the node)",
    )
    parser.add_argument(
        "--points-rgb", action="store_true", help="coloured points (PointXYZRGB) in --write-bag"
    )
    parser.add_argument(
        "--max-input-pixels",
        type=int,
        default=EvalConfig.max_input_pixels,
        help=f"largest image accepted, pixels (default {EvalConfig.max_input_pixels}, as the node)",
    )
    add_runtime_arguments(parser)
    add_scale_arguments(parser)
    parser.add_argument(
        "--sparse-depth-topic",
        help="metric sparse depth topic (LiDAR/ToF, 32FC1 m or 16UC1 mm) for sparse_depth",
    )
    parser.add_argument("--range-topic", help="sensor_msgs/Range topic for scale source range")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from disdepth_core.evaluation import format_summary
    from disdepth_ros.commands.eval_bag.evaluate import evaluate_bag
    from disdepth_ros.commands.eval_bag.results import write_results

    config = EvalConfig(
        bag=args.bag,
        model=args.model,
        image_topic=args.image_topic,
        out_dir=args.out,
        depth_topic=args.depth_topic,
        camera_info_topic=args.camera_info_topic,
        write_bag=args.write_bag,
        write_storage=args.write_storage,
        stamp_tolerance_s=args.stamp_tolerance,
        runtime=runtime_options(args),
        max_frames=args.max_frames,
        min_depth=args.min_depth,
        max_depth=args.max_depth,
        crop=args.crop,
        cloud_stride=args.cloud_stride,
        points_rgb=args.points_rgb,
        max_input_pixels=args.max_input_pixels,
        scale=scale_options(args),
        sparse_depth_topic=args.sparse_depth_topic,
        range_topic=args.range_topic,
    )
    result = evaluate_bag(config, progress=not args.quiet)
    paths = write_results(result, config.out_dir)
    summary = result.summary
    frames = summary["frames"]
    latency = summary["latency_ms"]
    print(
        f"{frames['read']} frames read, {frames['predicted']} predicted, {frames['paired']} paired "
        f"with ground truth, {frames['unpaired']} unpaired, {frames['failed']} failed; latency "
        f"p50 {latency['p50']:.1f} ms p95 {latency['p95']:.1f} ms ({summary['model']['backend']})"
    )
    scale = summary["scale"]
    if scale["warning"]:
        print(f"warning: {scale['warning']}", file=sys.stderr)
    by_source = ", ".join(f"{name} {n}" for name, n in sorted(scale["frames_by_source"].items()))
    print(f"scale source {scale['source']}: {by_source or 'no frame'}; {scale['mount']}")
    failures = {cause: n for cause, n in summary["failures"]["counts"].items() if n}
    if failures:
        first = summary["failures"]["listed"][0]
        print(
            "failures: "
            + ", ".join(f"{cause} {n}" for cause, n in failures.items())
            + f" (first: {first['topic']} @ {first['stamp_ns']}: {first['reason']}; all in summary.json)"
        )
    metrics = summary["metrics"]
    if metrics and metrics["raw"]["n_images"]:
        print(format_summary(metrics))
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    written = summary["written_bag"]
    if written:
        print(f"wrote {written['path']}" if written.get("path") else f"output bag: {written['discarded']}")
    if result.error:
        interrupted = result.error.startswith("interrupted")
        print(
            f"disdepth eval-bag: {'' if interrupted else 'error: '}{result.error} "
            "(results of the frames read were written)",
            file=sys.stderr,
        )
        return 130 if interrupted else 1
    if frames["predicted"] == 0:
        print(
            f"disdepth eval-bag: error: no frame of {config.image_topic} could be evaluated "
            f"({frames['failed']} failed; reasons in {paths['summary.json']})",
            file=sys.stderr,
        )
        return 1
    if config.depth_topic and not (metrics and metrics["raw"]["n_images"]):
        print(
            f"disdepth eval-bag: error: no frame could be scored against {config.depth_topic} "
            f"({frames['paired']} paired; check --stamp-tolerance and the depth range)",
            file=sys.stderr,
        )
        return 1
    return 0
