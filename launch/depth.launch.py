"""Launch the disdepth depth node (and optionally rviz2).

    ros2 launch disdepth depth.launch.py image_topic:=/camera/color/image_raw \
        camera_info_topic:=/camera/color/camera_info rviz:=true

`use_compressed`, `model_path` and `backend` override the params file only when given (empty = keep the
params file's value), so a params file that sets model_path is not silently overridden by a default.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchContext, LaunchDescription

PACKAGE = "disdepth"
# Launch arguments that, when non-empty, override the node parameter of the same name.
PARAMETER_ARGUMENTS = ("use_compressed", "model_path", "backend")


def _depth_node(context: LaunchContext) -> list[Node]:
    overrides = {}
    for name in PARAMETER_ARGUMENTS:
        value = LaunchConfiguration(name).perform(context)
        if value:
            overrides[name] = value.lower() in ("true", "1", "yes") if name == "use_compressed" else value
    image_topic = LaunchConfiguration("image_topic").perform(context)
    return [
        Node(
            package=PACKAGE,
            executable="depth_node",
            name="depth_node",
            namespace=LaunchConfiguration("namespace"),
            output="screen",
            parameters=[LaunchConfiguration("params_file"), overrides],
            remappings=[
                ("image", image_topic),
                # image_transport naming: the compressed stream of <image_topic> is <image_topic>/compressed.
                ("image/compressed", image_topic + "/compressed"),
                ("camera_info", LaunchConfiguration("camera_info_topic")),
            ],
        )
    ]


def generate_launch_description() -> LaunchDescription:
    share = get_package_share_directory(PACKAGE)
    arguments = [
        DeclareLaunchArgument(
            "params_file",
            default_value=os.path.join(share, "config", "depth.yaml"),
            description="Node parameters (YAML with a depth_node: ros__parameters: section).",
        ),
        DeclareLaunchArgument(
            "namespace", default_value="", description="Namespace of the node and its topics."
        ),
        DeclareLaunchArgument(
            "image_topic", default_value="/camera/image_raw", description="Input image topic."
        ),
        DeclareLaunchArgument(
            "camera_info_topic", default_value="/camera/camera_info", description="Input camera_info topic."
        ),
        DeclareLaunchArgument(
            "use_compressed",
            default_value="",
            description="true: subscribe to <image_topic>/compressed (CompressedImage); empty = params file.",
        ),
        DeclareLaunchArgument(
            "model_path",
            default_value="",
            description="Model file; empty = params file (default: shipped model).",
        ),
        DeclareLaunchArgument(
            "backend",
            default_value="",
            description="auto, onnxruntime, tensorrt or torch; empty = params file.",
        ),
        DeclareLaunchArgument(
            "rviz", default_value="false", description="Also start rviz2 with config/depth.rviz."
        ),
    ]
    rviz = Node(
        package="rviz2",
        executable="rviz2",
        name="rviz2",
        namespace=LaunchConfiguration("namespace"),
        arguments=["-d", os.path.join(share, "config", "depth.rviz")],
        condition=IfCondition(LaunchConfiguration("rviz")),
        output="log",
    )
    return LaunchDescription([*arguments, OpaqueFunction(function=_depth_node), rviz])
