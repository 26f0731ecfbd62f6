"""Launch the disdepth depth node (and optionally rviz2).

    ros2 launch disdepth depth.launch.py image_topic:=/camera/color/image_raw \
        camera_info_topic:=/camera/color/camera_info rviz:=true fixed_frame:=camera_color_optical_frame

`use_compressed`, `model_path`, `backend` and `precision` override the params file only when given
(empty = keep the params file's value), so a params file that sets model_path is not silently
overridden by a default. `autostart:=false` starts the node as a lifecycle node that waits in
`unconfigured` for `ros2 lifecycle set /depth_node configure` and `activate`. `rviz:=true` on a machine
without rviz2 logs one warning and runs the node alone.

The params file goes to the node as it is (rcl applies it); every other parameter and every default is
the node's (`disdepth_ros.params`). The launch reads the file only through `disdepth_ros.params_files`:
to warn when no section names the node, and to give rviz2 the reliability the node publishes with.
"""

import os

import yaml
from ament_index_python.packages import PackageNotFoundError, get_package_prefix, get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.logging import get_logger, launch_config
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode, Node

from disdepth_core.files import atomic_write_text
from disdepth_ros.params_files import fully_qualified, node_parameters, publisher_reliability
from launch import Action, LaunchContext, LaunchDescription

PACKAGE = "disdepth"
NODE_NAME = "depth_node"
# Launch arguments that, when non-empty, override the node parameter of the same name.
PARAMETER_ARGUMENTS = ("use_compressed", "model_path", "backend", "precision")


def _flag(context: LaunchContext, name: str) -> bool:
    value = LaunchConfiguration(name).perform(context).strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"launch argument {name}:={value!r}: use true or false")


def rviz_config(share: str, parameters: dict, namespace: str) -> str:
    """config/depth.rviz, or a copy in this launch's log directory whose displays subscribe with the
    reliability the node publishes with (`parameters`: the node's, from `node_parameters`). A reliable
    rviz subscription never matches a best-effort publisher; a best-effort one would lose large clouds
    when the node publishes reliably."""
    shipped = os.path.join(share, "config", "depth.rviz")
    with open(shipped, encoding="utf-8") as file:
        config = yaml.safe_load(file)
    changed = False
    for display in config["Visualization Manager"]["Displays"]:
        topic = display.get("Topic")
        if not isinstance(topic, dict):
            continue
        reliability = publisher_reliability(parameters, fully_qualified(namespace, topic["Value"]))
        wanted = "Best Effort" if reliability == "best_effort" else "Reliable"  # system_default: reliable
        changed |= topic["Reliability Policy"] != wanted
        topic["Reliability Policy"] = wanted
    if not changed:
        return shipped
    path = os.path.join(launch_config.log_dir, "depth.rviz")
    atomic_write_text(path, yaml.safe_dump(config, sort_keys=False))
    return path


def rviz_installed() -> bool:
    """Whether `Node(package='rviz2', executable='rviz2')` can start: launch_ros runs
    `<prefix of rviz2 in the ament index>/lib/rviz2/rviz2`."""
    try:
        prefix = get_package_prefix("rviz2")
    except PackageNotFoundError:
        return False
    return os.access(os.path.join(prefix, "lib", "rviz2", "rviz2"), os.X_OK)


def _depth_node(context: LaunchContext, namespace: str, params_file: str) -> Node:
    overrides = {}
    for name in PARAMETER_ARGUMENTS:
        value = LaunchConfiguration(name).perform(context)
        if value:
            overrides[name] = _flag(context, name) if name == "use_compressed" else value
    autostart = _flag(context, "autostart")
    overrides.update(use_sim_time=_flag(context, "use_sim_time"), autostart=autostart)
    image_topic = LaunchConfiguration("image_topic").perform(context)
    node = Node if autostart else LifecycleNode  # a LifecycleNode action lets launch follow transitions
    return node(
        package=PACKAGE,
        executable="depth_node",
        name=NODE_NAME,
        namespace=namespace,
        output="screen",
        parameters=[params_file, overrides],
        remappings=[
            ("image", image_topic),
            # image_transport naming: the compressed stream of <image_topic> is <image_topic>/compressed.
            ("image/compressed", image_topic + "/compressed"),
            ("camera_info", LaunchConfiguration("camera_info_topic").perform(context)),
        ],
        # `arguments`, not `ros_arguments`, so that launch_ros releases without the latter work too
        arguments=["--ros-args", "--log-level", LaunchConfiguration("log_level").perform(context)],
    )


def _rviz(context: LaunchContext, share: str, namespace: str, parameters: dict) -> list[Node]:
    if not _flag(context, "rviz"):
        return []
    if not rviz_installed():
        get_logger("disdepth.launch").warning(
            "rviz:=true but rviz2 is not installed (no package 'rviz2' under AMENT_PREFIX_PATH): the depth "
            "node runs without the viewer. Install ros-$ROS_DISTRO-rviz2, or run "
            f"`rviz2 -d {os.path.join(share, 'config', 'depth.rviz')}` on a machine that has it."
        )
        return []
    return [
        Node(
            package="rviz2",
            executable="rviz2",
            name="rviz2",
            namespace=namespace,
            arguments=[
                "-d",
                rviz_config(share, parameters, namespace),
                "-f",
                LaunchConfiguration("fixed_frame").perform(context),
            ],
            parameters=[{"use_sim_time": _flag(context, "use_sim_time")}],
            output="log",
        )
    ]


def _launch_setup(context: LaunchContext, share: str) -> list[Action]:
    namespace = LaunchConfiguration("namespace").perform(context)
    params_file = LaunchConfiguration("params_file").perform(context)
    node = fully_qualified(namespace, NODE_NAME)
    parameters = node_parameters(params_file, node)
    if not parameters:
        get_logger("disdepth.launch").warning(
            f"params_file {params_file} has no section for {node}, so none of its parameters apply: a "
            f"`{NODE_NAME}:` section names the node in the root namespace only; use `/**/{NODE_NAME}:`"
        )
    return [_depth_node(context, namespace, params_file), *_rviz(context, share, namespace, parameters)]


def _arguments(share: str) -> list[DeclareLaunchArgument]:
    return [
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
            description="auto, onnxruntime, openvino, tensorrt or torch; empty = params file.",
        ),
        DeclareLaunchArgument(
            "precision", default_value="", description="auto, fp32, fp16, bf16 or int8; empty = params file."
        ),
        DeclareLaunchArgument(
            "autostart",
            default_value="true",
            description="true: the node configures and activates itself; false: a lifecycle node waiting for "
            "`ros2 lifecycle set /<namespace>/depth_node configure` (and activate).",
        ),
        DeclareLaunchArgument(
            "use_sim_time",
            default_value="false",
            description="Use /clock (simulation or bag time); node and rviz2.",
        ),
        DeclareLaunchArgument(
            "log_level",
            default_value="info",
            description="Node log level (debug, info, warn, error, fatal), passed as --ros-args --log-level.",
        ),
        DeclareLaunchArgument(
            "rviz",
            default_value="false",
            description="Also start rviz2 with config/depth.rviz (no rviz2: a warning, the node alone).",
        ),
        DeclareLaunchArgument(
            "fixed_frame",
            default_value="camera_optical_frame",
            description="rviz2 fixed frame (-f): the input image's frame_id; realsense2_camera uses "
            "camera_color_optical_frame.",
        ),
    ]


def generate_launch_description() -> LaunchDescription:
    share = get_package_share_directory(PACKAGE)
    return LaunchDescription([*_arguments(share), OpaqueFunction(function=_launch_setup, args=[share])])
