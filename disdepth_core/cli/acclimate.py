"""`disdepth acclimate CONFIG --teacher SPEC --student S`: DisDepth ghost-decoder feature acclimation."""

from __future__ import annotations

import argparse

from disdepth_core.cli.teacher_arguments import add_teacher_arguments, teacher_overrides
from disdepth_core.cli.training_args import add_common_arguments, run_command


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "acclimate",
        help="acclimate a teacher to a student through the ghost decoder (DisDepth)",
        description="Train the feature acclimation module (and optionally the teacher encoder) so the "
        "teacher's features drive a frozen copy of the trained student's decoder; writes an acclimated "
        "teacher for `disdepth distill`. The teacher is a disdepth checkpoint or a Hugging Face directory "
        "(its acclimated file stores the directory's spec, not its weights).",
    )
    add_common_arguments(parser)
    add_teacher_arguments(parser, scale=True)
    parser.add_argument("--student", help="trained student checkpoint whose decoder becomes the ghost")
    parser.add_argument(
        "--finetune-teacher", action="store_true", help="also train the teacher encoder (default: frozen)"
    )
    parser.add_argument(
        "--target",
        choices=("ground_truth", "teacher"),
        help="what the ghost output learns: ground truth (default) or the teacher's own metric depth "
        "(label-free acclimation)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    extra = {
        **teacher_overrides(args),
        "student": args.student,
        "acclimate.freeze_teacher_encoder": False if args.finetune_teacher else None,
        "acclimate.target": args.target,
    }
    return run_command(args, "acclimate", extra)
