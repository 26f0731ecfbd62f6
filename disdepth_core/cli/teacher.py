"""`disdepth teacher pull|list|info`: fetch a known foundation checkpoint, list them, describe a spec."""

from __future__ import annotations

import argparse
from pathlib import Path

from disdepth_core.teacher_kinds import OUTPUT_KINDS, spec_help


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("teacher", help="fetch, list and inspect distillation teachers")
    commands = parser.add_subparsers(dest="teacher_command", required=True, metavar="ACTION")
    pull = commands.add_parser(
        "pull",
        help="download a known Hugging Face depth checkpoint into a local directory (needs a network)",
        description="The only command that downloads anything. Fetches config, preprocessor config, model "
        "card and safetensors weights with huggingface_hub and records repository, revision, output kind "
        "and licence in DIR/disdepth_teacher.json. Then use --teacher hf:DIR.",
    )
    pull.add_argument("name", help="a name from `disdepth teacher list`")
    pull.add_argument("--out", type=Path, required=True, help="directory to create")
    pull.add_argument("--revision", help="branch, tag or commit (default: main)")
    pull.add_argument("--cache-dir", type=Path, help="Hugging Face cache directory (default: HF_HOME)")
    pull.add_argument("--offline", action="store_true", help="use only files already in the cache")
    pull.set_defaults(func=run_pull)
    listing = commands.add_parser("list", help="known checkpoints for `pull`")
    listing.set_defaults(func=run_list)
    info = commands.add_parser("info", help="what a teacher spec is: kind, output, features, licence")
    info.add_argument("spec", help=spec_help())
    info.add_argument("--teacher-output", choices=("auto", *OUTPUT_KINDS), default="auto")
    info.set_defaults(func=run_info)


def run_pull(args: argparse.Namespace) -> int:
    from disdepth_core.models.teachers.hub import pull_teacher

    out = pull_teacher(args.name, args.out, args.revision, args.cache_dir, args.offline)
    print(f"disdepth teacher pull: {args.name} in {out}; use --teacher hf:{out}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from disdepth_core.models.teachers.hub import KNOWN_TEACHERS

    for name, known in sorted(KNOWN_TEACHERS.items()):
        print(f"{name:40s} {known.repo_id:55s} {known.output}")
    return 0


def run_info(args: argparse.Namespace) -> int:
    from disdepth_core.models.teachers.spec import (
        open_teacher,
        output_kind,
        parse_teacher_spec,
        teacher_digest,
        teacher_licence,
    )

    spec = parse_teacher_spec(args.spec)
    lines = {"spec": spec.text, "kind": spec.kind, "path": str(spec.path)}
    if spec.kind != "acclimated":
        teacher = open_teacher(spec, output=args.teacher_output, require_scale=False)
        lines["output"] = output_kind(teacher)
        if spec.has_features:
            lines["features"] = (
                f"channels {list(teacher.feature_channels)}, strides {list(teacher.feature_strides)}"
            )
        else:
            lines["features"] = "none (output KD only)"
    lines["licence"] = teacher_licence(spec)
    lines["digest"] = teacher_digest(spec)
    for key, value in lines.items():
        print(f"{key:9s} {value}")
    return 0
