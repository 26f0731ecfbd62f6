"""The `disdepth` command line: one sub-command per module, each exposing `add_parser(subparsers)`.

Sub-command modules import their heavy dependencies (torch, rclpy, onnxruntime) inside the function that
runs the command, so `disdepth --help` stays fast and a robot without the training stack can still run
the runtime commands.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES: tuple[str, ...] = (
    "disdepth_core.cli.profile",
    "disdepth_ros.cli_sample_bag",
    "disdepth_ros.cli_eval_bag",
    "disdepth_ros.cli_demo",
    "disdepth_core.cli.train",
    "disdepth_core.cli.acclimate",
    "disdepth_core.cli.distill",
    "disdepth_core.cli.distill_bag",
    "disdepth_core.cli.teacher",
    "disdepth_core.cli.evaluate",
    "disdepth_core.cli.export",
    "disdepth_core.cli.build_engine",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="disdepth",
        description="Fast metric monocular depth: distill, export, evaluate and run depth models.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("disdepth: interrupted", file=sys.stderr)
        return 130
    except (FileNotFoundError, ValueError, RuntimeError) as error:
        print(f"disdepth {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
