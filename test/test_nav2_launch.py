"""launch/nav2_depth.launch.py and config/nav2_costmap_depth.yaml: the node in Nav2's monocular-depth
slot (inputs ~/input/image and ~/input/camera_info, outputs ~/output/depth_image and
~/output/point_cloud), the costmap reading its cloud, and docs/node.md saying the same.

The file checks need nothing; the launch is parsed and run with the real launch stack where it is
installed (CI: scripts/setup.sh installs ../shared/wheels/ros2_launch_jazzy) and skipped elsewhere.
"""

import ast
import re
from pathlib import Path

import pytest
import yaml
from ament_index_python.packages import get_package_share_directory
from launch_fixtures import (
    camera_launch_probe,
    domain_id,
    requires_launch_stack,
    ros2,
    ros_environment,
    wait_until,
)
from sensor_msgs.msg import Image, PointCloud2

from disdepth_ros.outputs import OUTPUT_TOPICS

ROOT = Path(__file__).resolve().parents[1]
NAV2_LAUNCH = ROOT / "launch" / "nav2_depth.launch.py"
COSTMAP = ROOT / "config" / "nav2_costmap_depth.yaml"
NODE = "/depth_node"
SLOT_INPUTS = {"image": "~/input/image", "camera_info": "~/input/camera_info"}


def _nav2_remaps() -> dict[str, str]:
    """NAV2_REMAPS as written in the launch file (read without importing launch)."""
    tree = ast.parse(NAV2_LAUNCH.read_text())
    (value,) = (
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and node.targets[0].id == "NAV2_REMAPS"
    )
    return dict(ast.literal_eval(value))


def _private(name: str) -> str:
    return NODE + name[1:]  # ~/output/x -> /depth_node/output/x (root namespace)


def test_remaps_put_the_node_outputs_in_the_nav2_slot():
    remaps = _nav2_remaps()
    published = {topic for topic, *_ in OUTPUT_TOPICS.values()}
    assert set(remaps) <= published
    assert remaps["depth/image"] == "~/output/depth_image"
    assert remaps["points"] == "~/output/point_cloud"


def test_costmap_voxel_layer_reads_the_cloud():
    parameters = yaml.safe_load(COSTMAP.read_text())["local_costmap"]["local_costmap"]["ros__parameters"]
    layer = parameters["voxel_layer"]
    assert "voxel_layer" in parameters["plugins"] and layer["plugin"] == "nav2_costmap_2d::VoxelLayer"
    (source_name,) = layer["observation_sources"].split()
    source = layer[source_name]
    assert source["topic"] == _private(_nav2_remaps()["points"])
    assert source["data_type"] == "PointCloud2"
    assert source["marking"] is True and source["clearing"] is True
    assert source["sensor_frame"] == ""  # the cloud's frame_id: the camera optical frame
    assert 0 <= source["min_obstacle_height"] < source["max_obstacle_height"] <= layer["max_obstacle_height"]
    assert (
        layer["max_obstacle_height"] <= layer["origin_z"] + layer["z_voxels"] * layer["z_resolution"] + 1e-9
    )
    assert layer["z_voxels"] <= 16  # the voxel layer's limit
    assert source["obstacle_max_range"] <= source["raytrace_max_range"]
    assert source["inf_is_valid"] is False


def test_docs_state_the_same_remaps_and_topic():
    text = (ROOT / "docs" / "node.md").read_text()
    section = text[text.index("## Nav2") :]
    section = section[: section.find("\n## ", 4)] if "\n## " in section[4:] else section
    rows = dict(re.findall(r"^\| `([^`]+)` \| `(~/[^`]+)` \|", section, flags=re.M))
    assert rows == {**SLOT_INPUTS, **_nav2_remaps()}
    assert "config/nav2_costmap_depth.yaml" in section and _private(_nav2_remaps()["points"]) in section
    assert "`model_path`" in section and "`onnx_path`" in section and "`precision`" in section


@requires_launch_stack
def test_nav2_launch_parses_with_the_depth_launch_arguments():
    from launch.launch_description_sources import PythonLaunchDescriptionSource

    from launch import LaunchContext

    description = PythonLaunchDescriptionSource(str(NAV2_LAUNCH)).get_launch_description(LaunchContext())
    arguments = {argument.name: argument for argument in description.get_launch_arguments()}
    assert arguments["image_topic"].default_value[0].text == SLOT_INPUTS["image"]
    assert arguments["camera_info_topic"].default_value[0].text == SLOT_INPUTS["camera_info"]
    assert {"model_path", "precision", "params_file", "namespace", "autostart"} <= set(arguments)


@pytest.mark.slow
@requires_launch_stack
def test_nav2_launch_runs_the_node_in_the_slot(tmp_path):
    """A camera publishing into ~/input/*, the node launched with defaults plus model_path and precision
    (onnx_path and precision of the slot): depth on ~/output/depth_image, the cloud on
    ~/output/point_cloud, received best effort as Nav2's costmap subscribes."""
    env = ros_environment(domain_id(), tmp_path)
    model = Path(get_package_share_directory("disdepth")) / "models" / "disdepth_default.onnx"
    depth_topic, cloud_topic = (_private(_nav2_remaps()[name]) for name in ("depth/image", "points"))
    inputs = {
        "image_topic": _private(SLOT_INPUTS["image"]),
        "info_topic": _private(SLOT_INPUTS["camera_info"]),
    }
    arguments = (f"model_path:={model}", "precision:=fp32")
    with camera_launch_probe(env, tmp_path, "nav2_depth.launch.py", *arguments, **inputs) as (launch, probe):
        probe.subscribe(Image, depth_topic)
        probe.subscribe(PointCloud2, cloud_topic, reliable=False)
        arrived = wait_until(lambda: probe.received(depth_topic) and probe.received(cloud_topic), 60)
        assert arrived, launch.output()
        assert probe.received(cloud_topic)[-1].header.frame_id == "camera_optical_frame"
        parameters = {
            name: ros2(env, "param", "get", NODE, name).stdout for name in ("model_path", "precision")
        }
        assert str(model) in parameters["model_path"] and "fp32" in parameters["precision"]
