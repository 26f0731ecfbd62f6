"""`depth_node --help`: topics and every parameter with its default and description (from the one table)."""

from __future__ import annotations

import textwrap

from disdepth_ros.outputs import OUTPUT_TOPICS
from disdepth_ros.params import PARAMETERS

__all__ = ["help_text"]


def help_text() -> str:
    lines = [
        "usage: depth_node [--help] [--ros-args -p NAME:=VALUE ... | --params-file FILE | -r FROM:=TO ...]",
        "",
        "Monocular metric depth (disdepth). A lifecycle node that configures and activates itself unless "
        "autostart:=false.",
        "",
        "subscribes: image (sensor_msgs/Image) or image/compressed (use_compressed:=true), camera_info,",
        "            sparse_depth (scale_source auto or sparse_depth), range (scale_source:=range);",
        "            QoS matched to the publisher, override with",
        "            qos_overrides./<topic>.subscription.reliability:=reliable|best_effort|auto",
        "publishes:  " + ", ".join(f"{topic} ({cls.__name__})" for topic, cls in OUTPUT_TOPICS.values()),
        "            and /diagnostics",
        "",
        "parameters ((ro) = read-only, set at start-up):",
    ]
    for name, spec in PARAMETERS.items():
        head = f"  {name} = {spec.default!r}{' (ro)' if spec.read_only else ''}"
        lines.append(head)
        lines += textwrap.wrap(
            spec.description, width=100, initial_indent="      ", subsequent_indent="      "
        )
    lines += ["", "Docs: docs/node.md; every parameter is also in config/depth.yaml."]
    return "\n".join(lines)
