"""`disdepth acclimate CONFIG --teacher T --student S`: DisDepth ghost-decoder feature acclimation."""

from __future__ import annotations

import argparse

from disdepth_core.cli.training_args import add_common_arguments, run_command


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "acclimate",
        help="acclimate a teacher to a student through the ghost decoder (DisDepth)",
        description="Train the feature acclimation module (and optionally the teacher encoder) so the "
        "teacher's features drive a frozen copy of the trained student's decoder; writes an acclimated "
        "teacher for `disdepth distill`.",
    )
    add_common_arguments(parser)
    parser.add_argument("--teacher", help="trained teacher checkpoint (.safetensors)")
    parser.add_argument("--student", help="trained student checkpoint whose decoder becomes the ghost")
    parser.add_argument(
        "--finetune-teacher", action="store_true", help="also train the teacher encoder (default: frozen)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    extra = {
        "teacher": args.teacher,
        "student": args.student,
        "acclimate.freeze_teacher_encoder": False if args.finetune_teacher else None,
    }
    return run_command(args, "acclimate", extra)
