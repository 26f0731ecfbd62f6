"""`disdepth distill CONFIG --teacher SPEC [--student-init S]`: DisDepth + Hu et al. distillation."""

from __future__ import annotations

import argparse

from disdepth_core.cli.teacher_arguments import add_teacher_arguments, teacher_overrides
from disdepth_core.cli.training_args import add_common_arguments, run_command


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "distill",
        help="distill a student from an (acclimated) teacher",
        description="Train a student on ground truth + attentive feature KD from an acclimated teacher + "
        "output KD on unlabeled images (teacher pseudo-labels, cached). Ablations via the recipe: "
        "distill.feature_kd, distill.ghost, model.overrides.lgconv, data.unlabeled.kind. A foundation "
        "teacher (hf:DIR, onnx:FILE) without acclimation needs distill.ghost=false; an ONNX teacher also "
        "distill.feature_kd=none (output KD only).",
    )
    add_common_arguments(parser)
    add_teacher_arguments(parser, scale=True)
    parser.add_argument("--student-init", help="optional student checkpoint to start from")
    parser.add_argument(
        "--model", help="student architecture (config key model.name); the one the teacher was acclimated to"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    extra = {**teacher_overrides(args), "student": args.student_init, "model.name": args.model}
    return run_command(args, "distill", extra)
