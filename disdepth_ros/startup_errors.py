"""The one line a user sees when `depth_node` cannot start: no traceback, no rcl source locations, and what
to do about it."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from rclpy.exceptions import InvalidParameterTypeException

__all__ = ["ros_arguments_error", "startup_error"]


def startup_error(error: BaseException) -> str:
    """The one line for a node that cannot start (bad parameter, model file, backend), with what to do."""
    if isinstance(error, InvalidParameterTypeException):
        return (
            f"{error}; in a params file a whole number such as `5` is an integer: write `5.0` for a "
            "double parameter (the expected type is in config/depth.yaml)"
        )
    return str(error)


def ros_arguments_error(error: Exception, argv: list[str]) -> str:
    """The one line for ROS arguments rcl refused (`--ros-args ...`): a missing params file named as such,
    otherwise rcl's message without its source locations."""
    ros_args = argv[argv.index("--ros-args") + 1 :] if "--ros-args" in argv else []
    for flag, path in itertools.pairwise(ros_args):
        if flag == "--params-file" and not Path(path).is_file():
            return (
                f"params file {path!r} does not exist (--params-file; relative to {Path.cwd()}); "
                "config/depth.yaml of the package is a complete example"
            )
    message = re.sub(r",? at \S+:\d+", "", str(error)).strip()
    return f"invalid ROS arguments: {message}; see `depth_node --help` for the node's parameters"
