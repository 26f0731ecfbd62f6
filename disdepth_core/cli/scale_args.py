"""The scale-source options every command shares (``eval``, ``eval-bag``, ``demo``, the node benchmark):
``--scale-source``, ``--base-frame`` and a measured mount ``--camera-height/--camera-pitch/--camera-roll``,
the node's ``scale_source``, ``base_frame`` and ``camera_*`` parameters under other names."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from disdepth_core.scale import AUTO, CameraMount, build_scale_source, mount_from_angles, scale_source_help

__all__ = ["ScaleOptions", "add_scale_arguments", "scale_options"]


@dataclass(frozen=True)
class ScaleOptions:
    """A checked scale spec, the base frame for TF lookups and the measured mount (None: use TF)."""

    spec: str = AUTO
    base_frame: str = "base_footprint"
    mount: CameraMount | None = None


def add_scale_arguments(parser: argparse.ArgumentParser, default: str = AUTO) -> None:
    group = parser.add_argument_group("metric scale (docs/scale_sources.md)")
    group.add_argument(
        "--scale-source", default=default, metavar="SPEC", help=f"{scale_source_help()} (default {default})"
    )
    group.add_argument(
        "--base-frame",
        default="base_footprint",
        help="TF frame with z up and its origin on the floor, for ground_plane (default base_footprint)",
    )
    group.add_argument(
        "--camera-height",
        type=float,
        metavar="M",
        help="camera height above the floor (m): a measured mount instead of TF",
    )
    group.add_argument(
        "--camera-pitch",
        type=float,
        default=0.0,
        metavar="DEG",
        help="with --camera-height: pitch, > 0 looks down",
    )
    group.add_argument(
        "--camera-roll",
        type=float,
        default=0.0,
        metavar="DEG",
        help="with --camera-height: roll about the forward axis",
    )


def scale_options(args: argparse.Namespace) -> ScaleOptions:
    """The checked options; ValueError naming the option for a bad spec or mount."""
    if args.scale_source != AUTO:
        build_scale_source(args.scale_source)  # validates
    mount = None
    if args.camera_height is not None:
        if not args.camera_height > 0:
            raise ValueError(f"--camera-height must be > 0 m, got {args.camera_height}")
        mount = mount_from_angles(
            args.camera_height,
            args.camera_pitch,
            args.camera_roll,
            "--camera-height/--camera-pitch/--camera-roll",
        )
    elif args.camera_pitch or args.camera_roll:
        raise ValueError(
            "--camera-pitch/--camera-roll need --camera-height (the mount's height above the floor)"
        )
    return ScaleOptions(args.scale_source, args.base_frame, mount)
