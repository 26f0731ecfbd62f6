"""`disdepth make-sample-bag`: a ROS 2 bag of a synthetic moving camera with ground-truth depth."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "make-sample-bag",
        help="write a synthetic ROS 2 bag (camera, camera_info, ground-truth depth)",
        description="Render a camera moving through a procedural scene and record it as a ROS 2 bag "
        "(rosbags; mcap or sqlite3): /camera/image_raw rgb8 (or /camera/image_raw/compressed jpeg), "
        "/camera/camera_info and /camera/depth/image_raw 16UC1 millimetres (0 = invalid), frame_id "
        "camera_optical_frame, and the robot's TF: /tf_static base_footprint -> camera_link -> "
        "camera_optical_frame (the camera mount: height above the ground, pitch, roll) and /tf odom -> "
        "base_footprint per frame. The bag is written atomically; OUT must not exist.",
    )
    parser.add_argument("out", metavar="OUT", help="bag directory to create")
    parser.add_argument("--frames", type=int, default=60, help="number of frames (default 60)")
    parser.add_argument(
        "--storage", choices=("mcap", "sqlite3"), default="mcap", help="bag storage (default mcap)"
    )
    parser.add_argument("--height", type=int, default=240, help="image height in pixels (default 240)")
    parser.add_argument("--width", type=int, default=320, help="image width in pixels (default 320)")
    parser.add_argument(
        "--rate", type=float, default=15.0, help="frame rate of the stamps in Hz (default 15)"
    )
    parser.add_argument(
        "--compressed", action="store_true", help="record jpeg CompressedImage instead of rgb8"
    )
    parser.add_argument("--seed", type=int, default=0, help="scene seed (default 0)")
    parser.add_argument(
        "--kind", choices=("room", "street"), default="room", help="scene kind (default room)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from disdepth_ros.commands.sample_bag.recording import SampleBagSpec, robot_mount, write_sample_bag

    spec = SampleBagSpec(
        frames=args.frames,
        height=args.height,
        width=args.width,
        rate_hz=args.rate,
        storage=args.storage,
        compressed=args.compressed,
        seed=args.seed,
        kind=args.kind,
    )
    out = write_sample_bag(args.out, spec)
    print(
        f"wrote {out} ({spec.storage}): {spec.frames} frames {spec.width}x{spec.height} "
        f"at {spec.rate_hz:g} Hz "
        f"on {spec.image_topic}, /camera/camera_info, /camera/depth/image_raw, /tf, /tf_static "
        f"({robot_mount(spec).describe()})"
    )
    return 0
