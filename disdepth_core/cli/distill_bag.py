"""``disdepth distill-bag BAG... --image-topic T --teacher SPEC --out RUN``: a teacher -> the robot's student.

Multi-GPU: ``torchrun --nproc_per_node N -m disdepth_core.cli.main distill-bag ...`` (every rank runs the
command; the pseudo-label stage is sharded, only rank 0 writes).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from disdepth_core.cli.teacher_arguments import add_teacher_arguments
from disdepth_core.recipes.distill_bag.options import (
    DEFAULT_MAX_ZOOM,
    DEFAULT_STUDENT,
    PRETRAINED,
    PRETRAINED_ENCODER_LR_SCALE,
    RELATIVE_SSI_WEIGHT,
)
from disdepth_core.train.label_scale import label_scale_usage


def _size(text: str) -> tuple[int, int]:
    height, sep, width = text.lower().partition("x")
    if not sep or not height.isdigit() or not width.isdigit():
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH, e.g. 518x686, got {text!r}")
    return int(height), int(width)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "distill-bag",
        help="distill a pretrained teacher into a small student on your own camera bags (no labels)",
        description="Teacher pseudo-labels (cached) -> held-out split by time -> student warm-up -> "
        "label-free ghost-decoder acclimation -> attentive feature KD + output KD -> ONNX export -> "
        "evaluation against the "
        "teacher and the bag's depth topic. Writes RUN/student.onnx (load it as the node's model_path), "
        "RUN/report.png, RUN/summary.json and RUN/model_card.json. Every stage resumes with --resume.",
    )
    parser.add_argument("bags", nargs="+", type=Path, help="ROS 2 bags (directories or .mcap/.db3 files)")
    parser.add_argument("--image-topic", required=True, help="sensor_msgs/Image or CompressedImage topic")
    parser.add_argument(
        "--depth-topic", help="metric depth topic (32FC1 m / 16UC1 mm, sparse or dense): scale and evaluation"
    )
    parser.add_argument("--camera-info-topic", help="CameraInfo topic: intrinsics, camera-aware student")
    add_teacher_arguments(parser, required=True)
    parser.add_argument(
        "--scale",
        default="",
        help=f"metric scale source of a relative teacher: {label_scale_usage()}",
    )
    parser.add_argument(
        "--scale-data", type=Path, help="RGB-D folder (.npz frames) for --scale fit without a depth topic"
    )
    parser.add_argument(
        "--eval-data",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="extra evaluation frames, never trained on: an RGB-D folder (.npz frames); student vs teacher "
        "and both vs its ground truth, per source (repeatable)",
    )
    parser.add_argument(
        "--student",
        default=DEFAULT_STUDENT,
        help=f"student architecture: any registered model (default {DEFAULT_STUDENT}, ImageNet-pretrained; "
        "disdepth profile lists them)",
    )
    parser.add_argument("--student-init", type=Path, help="start the warm-up from this student checkpoint")
    parser.add_argument(
        "--pretrained",
        choices=PRETRAINED,
        default="auto",
        help="ImageNet encoder weights for the warm-up (auto: when the student has packaged ones)",
    )
    parser.add_argument(
        "--encoder-lr-scale",
        type=float,
        help="student encoder learning rate / --lr (default "
        f"{PRETRAINED_ENCODER_LR_SCALE} for a pretrained or --student-init encoder, 1 for a random one)",
    )
    parser.add_argument("--out", type=Path, required=True, help="run directory RUN")
    parser.add_argument("--width", type=int, default=320, help="student input width (multiple of 16)")
    parser.add_argument("--height", type=int, default=0, help="student input height (default: camera aspect)")
    parser.add_argument("--min-depth", type=float, default=0.1, help="student depth range minimum (m)")
    parser.add_argument(
        "--max-depth", type=float, default=0.0, help="maximum (m); default 1.25 x the labels' 99th percentile"
    )
    parser.add_argument(
        "--teacher-size", type=_size, help="teacher input HEIGHTxWIDTH (default: its processor's)"
    )
    parser.add_argument("--every", type=int, default=1, help="keep every N-th image")
    parser.add_argument("--max-frames", type=int, default=0, help="keep at most N images (0: all)")
    parser.add_argument("--heldout", type=float, default=0.2, help="held-out share of each bag's time span")
    parser.add_argument("--gap", type=float, default=1.0, help="seconds dropped before the held-out part")
    parser.add_argument(
        "--stamp-tolerance", type=float, default=0.05, help="image/depth pairing tolerance (s)"
    )
    parser.add_argument("--batch-size", type=int, default=8, help="batch size (per process under torchrun)")
    parser.add_argument("--lr", type=float, default=1e-3, help="peak learning rate of every stage")
    parser.add_argument("--warmup-steps", type=int, default=2000, help="student warm-up steps")
    parser.add_argument("--acclimate-steps", type=int, default=1000, help="ghost-decoder acclimation steps")
    parser.add_argument("--distill-steps", type=int, default=4000, help="distillation steps")
    parser.add_argument(
        "--feature-kd", choices=("attentive", "mse", "none"), default="attentive", help="feature KD loss"
    )
    parser.add_argument("--feature-weight", type=float, default=0.5, help="feature KD weight")
    parser.add_argument(
        "--max-zoom",
        type=float,
        default=DEFAULT_MAX_ZOOM,
        help=f"largest random zoom of the crop + rescale augmentation, K and depth updated (default "
        f"{DEFAULT_MAX_ZOOM:g}; 1: none)",
    )
    parser.add_argument(
        "--ssi-weight",
        type=float,
        help="weight of the scale-and-shift-invariant output KD in inverse depth, beside SILog on the "
        f"metric labels (default {RELATIVE_SSI_WEIGHT:g} for relative teachers, 0 for metric ones)",
    )
    parser.add_argument(
        "--assistant",
        default="",
        help="for a teacher without features (ONNX): a disdepth checkpoint, or 'warm-up' (the run's own "
        "warm-up student), whose features are acclimated to the teacher's labels and distilled (stages 5-6)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of everything random")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--eval-threads", type=int, default=2, help="ONNX Runtime threads for the evaluation")
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a training config key in every stage, e.g. --set model.overrides.width_mult=0.5",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: every stage on a tiny budget (24 frames, 3 steps a stage) to check bags, topics "
        "and teacher; about a minute on a 2-core CPU with an ONNX teacher (docs/distill_bag.md), longer "
        "with a large one; its student is not meant to be good (close to a constant)",
    )
    parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from disdepth_core.recipes.distill_bag.options import DistillBagOptions
    from disdepth_core.recipes.distill_bag.pipeline import run_distill_bag

    options = DistillBagOptions(
        bags=list(args.bags),
        image_topic=args.image_topic,
        teacher=args.teacher,
        out=args.out,
        student=args.student,
        depth_topic=args.depth_topic,
        camera_info_topic=args.camera_info_topic,
        teacher_output=args.teacher_output,
        scale=args.scale,
        scale_data=args.scale_data,
        eval_data=list(args.eval_data),
        student_init=args.student_init,
        pretrained=args.pretrained,
        encoder_lr_scale=args.encoder_lr_scale,
        width=args.width,
        height=args.height,
        min_depth=args.min_depth,
        max_depth=args.max_depth,
        teacher_size=args.teacher_size,
        every=args.every,
        max_frames=args.max_frames,
        heldout=args.heldout,
        gap_s=args.gap,
        stamp_tolerance_s=args.stamp_tolerance,
        batch_size=args.batch_size,
        lr=args.lr,
        warmup_steps=args.warmup_steps,
        acclimate_steps=args.acclimate_steps,
        distill_steps=args.distill_steps,
        feature_kd=args.feature_kd,
        feature_weight=args.feature_weight,
        max_zoom=args.max_zoom,
        ssi_weight=args.ssi_weight,
        assistant=args.assistant,
        seed=args.seed,
        device=args.device,
        threads=args.threads,
        eval_threads=args.eval_threads,
        sets=list(args.sets),
        quick=args.quick,
        resume=args.resume,
        progress=not args.no_progress,
    )
    summary = run_distill_bag(options)
    if summary:
        print(
            f"disdepth distill-bag: student {summary['files']['student.onnx']}; "
            f"report {summary['files']['report.png']}"
        )
    return 0
