"""`disdepth eval MODEL --dataset nyu|kitti|synthetic`: standard depth metrics of a checkpoint or ONNX."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="evaluate a model (.safetensors or .onnx) on NYU, KITTI or synthetic scenes",
        description="Run a model through the runtime (same pre/post-processing as the robot) and print "
        "AbsRel, SqRel, RMSE, RMSE log, log10, SILog, d1-d3: NYU with the Eigen crop (1e-3..10 m), KITTI "
        "with the Garg crop (1e-3..80 m, BTS list, full frames), synthetic without crop.",
    )
    parser.add_argument("model", help="model file: .safetensors checkpoint or exported .onnx")
    parser.add_argument("--dataset", required=True, choices=("nyu", "kitti", "synthetic"))
    parser.add_argument(
        "--data-root",
        default="",
        help="NYU: directory with nyu_depth_v2_labeled.mat + splits.mat (or the BTS root with --list-file); "
        "KITTI: raw KITTI root; unused for synthetic",
    )
    parser.add_argument("--list-file", default="", help="BTS-style list file (KITTI: required)")
    parser.add_argument("--gt-root", default="", help="ground-truth root if not under --data-root")
    parser.add_argument("--split", default="test", help="NYU .mat split: test (default), train or all")
    parser.add_argument("--max-samples", type=int, default=0, help="evaluate only the first N images")
    parser.add_argument("--backend", default="auto", help="runtime backend (auto, torch, onnxruntime, ...)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--synthetic-size", type=int, default=64, help="synthetic: number of scenes")
    parser.add_argument("--synthetic-seed", type=int, default=10_000, help="synthetic: dataset seed")
    parser.add_argument("--synthetic-kind", action="append", help="synthetic: room and/or street")
    parser.add_argument("--height", type=int, default=240, help="synthetic: rendered image height")
    parser.add_argument("--width", type=int, default=320, help="synthetic: rendered image width")
    parser.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from disdepth_core.runtime import load_estimator
    from disdepth_core.train.evaluation import evaluate_estimator, format_table, protocol_for

    kinds = tuple(args.synthetic_kind or ["room"])
    samples = _open_dataset(args, kinds)
    estimator = load_estimator(args.model, backend=args.backend, device=args.device)
    metrics = evaluate_estimator(
        estimator, samples, protocol_for(args.dataset, kinds), args.max_samples, not args.no_progress
    )
    if args.json:
        print(json.dumps({"model": str(args.model), "dataset": args.dataset, **metrics}))
    else:
        title = f"{args.model} on {args.dataset} ({metrics['n_images']} images): {estimator.describe()}"
        print(format_table(metrics, title))
    return 0


def _open_dataset(args: argparse.Namespace, kinds: tuple[str, ...]) -> object:
    from disdepth_core.train.datasets import open_kitti, open_nyu

    if args.dataset == "nyu":
        if not args.data_root:
            raise ValueError("--dataset nyu needs --data-root")
        return open_nyu(args.data_root, args.split, args.list_file, args.gt_root)
    if args.dataset == "kitti":
        if not args.data_root:
            raise ValueError("--dataset kitti needs --data-root (and --list-file)")
        return open_kitti(args.data_root, args.list_file, args.gt_root, kb_crop=False)
    from disdepth_core.data.synthetic_dataset import SyntheticDepthDataset

    if args.height % 32 or args.width % 32:
        raise ValueError(f"--height/--width must be multiples of 32, got {args.height}x{args.width}")
    return SyntheticDepthDataset(args.synthetic_size, args.height, args.width, args.synthetic_seed, kinds)
