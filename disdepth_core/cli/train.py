"""`disdepth train CONFIG`: supervised training of a student or teacher (SILog + bins + gradient loss)."""

from __future__ import annotations

import argparse

from disdepth_core.cli.training_args import add_common_arguments, run_command


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="supervised training of a student or teacher",
        description="Train the model of a recipe (config/train/*.yaml, `stage: train`) on ground truth. "
        "Multi-process: torchrun --nproc_per_node N -m disdepth_core.cli.main train CONFIG.",
    )
    add_common_arguments(parser)
    parser.add_argument("--model", help="registered model name (config key model.name)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return run_command(args, "train", {"model.name": args.model})
