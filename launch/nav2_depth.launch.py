"""The depth node in Nav2's monocular-depth slot, feeding a costmap voxel layer from its point cloud.

    ros2 launch disdepth nav2_depth.launch.py image_topic:=/camera/color/image_raw \
        camera_info_topic:=/camera/color/camera_info model_path:=/models/robot.onnx precision:=fp16

Nav2's tutorial "AI Depth Estimation with Nav2 Costmap" puts a monocular depth node between the camera
and a costmap voxel layer: it reads `~/input/image` and `~/input/camera_info`, publishes metric depth on
`~/output/depth_image` and a cloud on `~/output/point_cloud`, and is configured with `onnx_path` and
`precision`. This launch includes depth.launch.py with the node's topics remapped to those names
(NAV2_REMAPS); the node's parameters `model_path` and `precision` are the `onnx_path` and `precision` of
that slot. A costmap configured like config/nav2_costmap_depth.yaml then marks and clears obstacles from
`/<namespace>/depth_node/output/point_cloud`.

Inputs default to the slot's names (`image_topic:=~/input/image`); pass the camera's topics to connect
it directly. Every other depth.launch.py argument is accepted (model_path, precision, params_file,
namespace, autostart, use_sim_time, log_level, ...); rviz is off (Nav2's rviz shows the costmap).
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, GroupAction, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import SetRemap

from launch import LaunchDescription

# depth_node topic -> Nav2 monocular-depth slot topic (private names: /<namespace>/depth_node/...).
NAV2_REMAPS = (
    ("depth/image", "~/output/depth_image"),
    ("depth/camera_info", "~/output/camera_info"),
    ("points", "~/output/point_cloud"),
)


def generate_launch_description() -> LaunchDescription:
    share = get_package_share_directory("disdepth")
    depth_launch = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(os.path.join(share, "launch", "depth.launch.py")),
        launch_arguments={
            "image_topic": LaunchConfiguration("image_topic"),
            "camera_info_topic": LaunchConfiguration("camera_info_topic"),
            "rviz": "false",
        }.items(),
    )
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "image_topic",
                default_value="~/input/image",
                description="Input image topic; default: the slot's ~/input/image.",
            ),
            DeclareLaunchArgument(
                "camera_info_topic",
                default_value="~/input/camera_info",
                description="Input camera_info topic; default: the slot's ~/input/camera_info.",
            ),
            GroupAction([*(SetRemap(src=src, dst=dst) for src, dst in NAV2_REMAPS), depth_launch]),
        ]
    )
