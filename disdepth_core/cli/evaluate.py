"""`disdepth eval MODEL --dataset nyu|kitti|rgbd|synthetic`: standard depth metrics of any model file."""

from __future__ import annotations

import argparse
import json

from disdepth_core.cli.runtime_args import add_runtime_arguments, runtime_options
from disdepth_core.cli.scale_args import add_scale_arguments, scale_options
from disdepth_core.model_info import check_input_size
from disdepth_core.train.dataset_kinds import LABELED, dataset_kind, dataset_names


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="evaluate a model file on NYU, KITTI, RGB-D frames (real_dev) or synthetic scenes",
        description="Run a model through the runtime (same pre/post-processing as the robot, with the "
        "node's runtime options) and print AbsRel, SqRel, RMSE, RMSE log, log10, SILog, d1-d3 in every "
        "alignment mode (raw metric, median scale, least-squares scale, least-squares scale+shift in "
        "inverse depth) with coverage figures: NYU with the Eigen crop (1e-3..10 m), KITTI with the Garg "
        "crop (1e-3..80 m, BTS list, full frames), an RGB-D folder of .npz frames such as real_dev "
        "(0.1..80 m, also per source), synthetic scenes without crop. Scored exactly as eval-bag. With "
        "--scale-source, also the depth a robot publishes with that source (e.g. ground_plane with the "
        "frames' mount from an RGB-D folder's index.json; frames without one use the fallback and are "
        "counted separately).",
    )
    parser.add_argument(
        "model", help="model file: .safetensors checkpoint, exported .onnx or TensorRT engine"
    )
    evaluated = [dataset_kind(LABELED, name) for name in dataset_names(LABELED, evaluated=True)]
    parser.add_argument(
        "--dataset",
        required=True,
        choices=[kind.name for kind in evaluated],
        help="; ".join(f"{kind.name}: {kind.summary}" for kind in evaluated),
    )
    parser.add_argument(
        "--data-root",
        default="",
        help="; ".join(f"{kind.name}: {kind.root}" for kind in evaluated if kind.root),
    )
    parser.add_argument("--list-file", default="", help="BTS-style list file (KITTI: required)")
    parser.add_argument("--gt-root", default="", help="ground-truth root if not under --data-root")
    parser.add_argument("--split", default="test", help="NYU .mat split: test (default), train or all")
    parser.add_argument("--max-samples", type=int, default=0, help="evaluate only the first N images")
    parser.add_argument("--min-depth", type=float, help="evaluated GT minimum, m (default: the dataset's)")
    parser.add_argument("--max-depth", type=float, help="evaluated GT maximum, m (default: the dataset's)")
    parser.add_argument("--synthetic-size", type=int, default=64, help="synthetic: number of scenes")
    parser.add_argument("--synthetic-seed", type=int, default=10_000, help="synthetic: dataset seed")
    parser.add_argument("--synthetic-kind", action="append", help="synthetic: room and/or street")
    parser.add_argument("--height", type=int, default=240, help="synthetic: rendered image height")
    parser.add_argument("--width", type=int, default=320, help="synthetic: rendered image width")
    add_runtime_arguments(parser)
    add_scale_arguments(parser, default="model")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from disdepth_core.deployment import open_estimator
    from disdepth_core.evaluation import evaluate_estimator, format_summary

    kinds = tuple(args.synthetic_kind or ["room"])
    samples = _open_dataset(args, kinds)
    eval_range = dataset_kind(LABELED, args.dataset).eval_range(kinds)
    if args.min_depth is not None:
        eval_range = replace(eval_range, min_depth=args.min_depth)
    if args.max_depth is not None:
        eval_range = replace(eval_range, max_depth=args.max_depth)
    scale = scale_options(args)
    if scale.mount is not None:
        raise ValueError(
            "disdepth eval takes each frame's mount from the dataset; --camera-height is for bags"
        )
    estimator = open_estimator(args.model, runtime_options(args))
    spec = None if scale.spec == "model" else scale.spec
    result = evaluate_estimator(estimator, samples, eval_range, args.max_samples, not args.no_progress, spec)
    if args.json:
        payload = {
            "model": str(args.model),
            "dataset": args.dataset,
            **result.summary,
            "groups": result.groups,
            "scale_decisions": result.decisions,
        }
        print(json.dumps(payload))
        return 0
    n = result.summary["raw"]["n_images"]
    print(
        format_summary(result.summary, f"{args.model} on {args.dataset} ({n} images): {estimator.describe()}")
    )
    for group, summary in result.groups.items():
        print()
        print(format_summary(summary, f"source {group} ({summary['raw']['n_images']} images)"))
    for decision, summary in (result.decisions or {}).items():
        print()
        print(format_summary(summary, f"frames {decision} ({summary['raw']['n_images']} images)"))
    return 0


def _open_dataset(args: argparse.Namespace, kinds: tuple[str, ...]) -> object:
    """The ``--dataset`` kind opened as for evaluation (full KITTI frames: the Garg crop is the
    protocol's)."""
    from disdepth_core.train.config import DatasetConfig

    kind = dataset_kind(LABELED, args.dataset)
    if kind.root and not args.data_root:
        raise ValueError(f"--dataset {kind.name} needs --data-root: {kind.root}")
    check_input_size(args.height, args.width, "--height/--width")
    spec = DatasetConfig(
        kind=kind.name,
        root=args.data_root,
        split=args.split,
        list_file=args.list_file,
        gt_root=args.gt_root,
        size=args.synthetic_size,
        seed=args.synthetic_seed,
        kinds=list(kinds),
    )
    return kind.open(spec, args.height, args.width, False)
