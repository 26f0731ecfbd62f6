"""``--teacher SPEC`` and the options saying how to open it (acclimate, distill, distill-bag)."""

from __future__ import annotations

import argparse

from disdepth_core.teacher_kinds import OUTPUT_KINDS, spec_help
from disdepth_core.train.label_scale import label_scale_usage


def add_teacher_arguments(
    parser: argparse.ArgumentParser, required: bool = False, scale: bool = False
) -> None:
    """``--teacher``, ``--teacher-output`` and (with ``scale``) ``--teacher-scale``."""
    parser.add_argument("--teacher", required=required, help=f"the teacher: {spec_help()}")
    parser.add_argument(
        "--teacher-output",
        choices=("auto", *OUTPUT_KINDS),
        default="auto",
        help="what the teacher predicts (auto: what its config or card declares; DPT needs it)",
    )
    if scale:
        parser.add_argument(
            "--teacher-scale",
            help=f"metric scale of a relative teacher: {label_scale_usage(in_bag=False)}; a fit uses the "
            "first teacher_options.fit_frames training frames",
        )


def teacher_overrides(args: argparse.Namespace) -> dict[str, object]:
    """Config overrides (``teacher``, ``teacher_options.*``) of the teacher arguments that were given."""
    return {
        "teacher": args.teacher,
        "teacher_options.output": None if args.teacher_output == "auto" else args.teacher_output,
        "teacher_options.scale": getattr(args, "teacher_scale", None),
    }
