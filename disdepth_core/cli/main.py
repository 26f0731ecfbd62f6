"""The `disdepth` command line: one sub-command per module, each exposing `add_parser(subparsers)`.

The core's own commands are listed in `CORE_COMMANDS`. Other installed packages contribute commands
through the `disdepth.commands` entry-point group (name = command, value = its module; the ROS package
registers `make-sample-bag`, `eval-bag` and `demo` this way in setup.py), so the core never imports them
by name and still lists them all in `disdepth --help`.

Sub-command modules import their heavy dependencies (torch, rclpy, onnxruntime) inside the function that
runs the command, so `disdepth --help` stays fast and a robot without the training stack can still run
the runtime commands.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from importlib.metadata import entry_points
from types import ModuleType

from disdepth_core import interrupts

__all__ = ["CORE_COMMANDS", "ENTRY_POINT_GROUP", "build_parser", "command_modules", "main"]

CORE_COMMANDS: tuple[str, ...] = (
    "disdepth_core.cli.profile",
    "disdepth_core.cli.train",
    "disdepth_core.cli.acclimate",
    "disdepth_core.cli.distill",
    "disdepth_core.cli.distill_bag",
    "disdepth_core.cli.teacher",
    "disdepth_core.cli.evaluate",
    "disdepth_core.cli.export",
    "disdepth_core.cli.build_engine",
)
ENTRY_POINT_GROUP = "disdepth.commands"


def command_modules() -> list[ModuleType]:
    """The core command modules, then those registered under `ENTRY_POINT_GROUP` (by command name)."""
    modules = [importlib.import_module(name) for name in CORE_COMMANDS]
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        modules.append(entry.load())
    return modules


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="disdepth",
        description="Fast metric monocular depth: distill, export, evaluate and run depth models.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in command_modules():
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # SIGTERM (systemd, `timeout`, a supervisor) is handled like Ctrl-C: commands stop cleanly, keep
    # what is complete and remove their temporary files.
    interrupts.clear()
    previous = {sig: signal.signal(sig, interrupts.handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"disdepth {args.command}: interrupted", file=sys.stderr)
        return 130
    except (FileNotFoundError, ValueError, RuntimeError, OSError) as error:
        print(f"disdepth {args.command}: error: {error}", file=sys.stderr)
        return 2
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
