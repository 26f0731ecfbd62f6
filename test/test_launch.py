"""launch/depth.launch.py, config/depth.yaml and config/depth.rviz: consistency, then the real launch.

The consistency checks need nothing but the files. The others use the real ROS 2 launch stack (a ROS
install, or in CI the wheels scripts/setup.sh installs from ../shared/wheels/ros2_launch_jazzy) and skip
without it: the launch file parsed and run in this process, `ros2 launch` with a camera in another
process (depth, camera_info and points come back; `ros2 param set` takes effect), `rviz:=true` without
rviz2 (the node keeps running and SIGINT leaves no orphan), and `autostart:=false` (a lifecycle node).
"""

import ast
import asyncio
import importlib.util
import math
import re
import stat
import subprocess
import time
import types
from pathlib import Path

import numpy as np
import pytest
import yaml
from launch_fixtures import (
    Probe,
    camera_launch_probe,
    domain_id,
    requires_launch_stack,
    ros2,
    ros_environment,
    start_launch,
    wait_until,
)
from sensor_msgs.msg import CameraInfo, Image, PointCloud2

from disdepth_ros.outputs import OUTPUT_TOPICS
from disdepth_ros.params import PARAMETERS
from disdepth_ros.params_files import fully_qualified, node_parameters, publisher_reliability

ROOT = Path(__file__).resolve().parents[1]
LAUNCH_FILE = ROOT / "launch" / "depth.launch.py"
RVIZ_FILE = ROOT / "config" / "depth.rviz"
LAUNCH_ONLY_ARGUMENTS = {
    "params_file",
    "namespace",
    "image_topic",
    "camera_info_topic",
    "log_level",
    "rviz",
    "fixed_frame",
}
# Launch arguments always passed as the node parameter of the same name (use_sim_time: rclpy's own).
ALWAYS_PARAMETERS = {"autostart", "use_sim_time"}
PARAMETER_ARGUMENTS = {"use_compressed", "model_path", "backend", "precision"}
OUTPUTS = {"/depth/image": Image, "/depth/camera_info": CameraInfo, "/points": PointCloud2}
STARTUP_TIMEOUT = 60  # node start-up (imports, model load) plus discovery on a loaded 2-core machine


def _declared_arguments() -> list[str]:
    tree = ast.parse(LAUNCH_FILE.read_text())
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "DeclareLaunchArgument":
            assert isinstance(node.args[0], ast.Constant)
            names.append(node.args[0].value)
    return names


def test_launch_arguments_are_parameters_or_launch_only():
    names = _declared_arguments()
    assert len(names) == len(set(names))
    assert set(names) == LAUNCH_ONLY_ARGUMENTS | PARAMETER_ARGUMENTS | ALWAYS_PARAMETERS
    assert set(PARAMETERS) >= PARAMETER_ARGUMENTS | {"autostart"}


def test_yaml_documents_every_parameter_with_a_comment():
    text = (ROOT / "config" / "depth.yaml").read_text()
    (section,) = yaml.safe_load(text).values()
    params = section["ros__parameters"]
    assert set(params) == set(PARAMETERS)
    for name, value in params.items():
        assert value == PARAMETERS[name].default, name
        assert type(value) is type(PARAMETERS[name].default), name
    lines = text.splitlines()
    for index, line in enumerate(lines):
        match = re.match(r"\s{4}(\w+):", line)
        if match:
            previous = [entry.strip() for entry in lines[:index] if entry.strip()]
            # the parameter's own comment, or the comment of the group it belongs to (input_height/width)
            assert previous[-1].startswith("#") or re.match(r"\w+:", previous[-1]), match.group(1)


def test_rviz_config_matches_published_topics():
    config = yaml.safe_load(RVIZ_FILE.read_text())
    displays = {d["Class"]: d for d in config["Visualization Manager"]["Displays"]}
    image = displays["rviz_default_plugins/Image"]["Topic"]
    cloud = displays["rviz_default_plugins/PointCloud2"]["Topic"]
    assert image["Value"] == OUTPUT_TOPICS["colorized"][0]
    assert cloud["Value"] == OUTPUT_TOPICS["points"][0]
    assert PARAMETERS["qos_reliability"].default == "reliable"
    assert image["Reliability Policy"] == cloud["Reliability Policy"] == "Reliable"


def test_rviz_view_looks_from_the_camera_along_the_optical_axis():
    """rviz2's Orbit view (OrbitViewController::updateCamera): eye = focal point + distance *
    (cos yaw cos pitch, sin yaw cos pitch, sin pitch), yaw and pitch negated and the yaw axis -Z when
    `Invert Z Axis`; Ogre's fixed-yaw-axis camera makes screen-up the yaw axis projected on the image
    plane. In the optical frame (x right, y down, z forward) the eye must sit at the camera, look along +z,
    with -y up on screen and the pitch inside rviz's clamp (|pitch| <= pi/2 - 0.001)."""
    view = yaml.safe_load(RVIZ_FILE.read_text())["Visualization Manager"]["Views"]["Current"]
    assert view["Class"] == "rviz_default_plugins/Orbit" and view["Target Frame"] == "<Fixed Frame>"
    yaw, pitch, distance = view["Yaw"], view["Pitch"], view["Distance"]
    yaw_axis = np.array([0.0, 0.0, 1.0])
    if view["Invert Z Axis"]:
        yaw, pitch, yaw_axis = -yaw, -pitch, -yaw_axis
    assert abs(view["Pitch"]) <= math.pi / 2 - 0.001
    focal = np.array([view["Focal Point"][axis] for axis in "XYZ"], dtype=float)
    eye = focal + distance * np.array(
        [math.cos(yaw) * math.cos(pitch), math.sin(yaw) * math.cos(pitch), math.sin(pitch)]
    )
    forward = (focal - eye) / np.linalg.norm(focal - eye)
    up = yaw_axis - yaw_axis.dot(forward) * forward
    up /= np.linalg.norm(up)
    assert np.linalg.norm(eye) < 0.05, eye  # at the camera
    assert forward.dot([0, 0, 1]) > 0.999, forward  # along the optical axis
    assert up.dot([0, -1, 0]) > 0.99, up  # image up (-y) is screen up
    assert np.cross(forward, up).dot([1, 0, 0]) > 0.99  # screen right (forward x up) is +x


def _launch_module():
    spec = importlib.util.spec_from_file_location("depth_launch_under_test", LAUNCH_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@requires_launch_stack
def test_launch_file_with_real_launch_packages():
    from launch.launch_description_sources import PythonLaunchDescriptionSource

    from launch import LaunchContext, LaunchDescription, LaunchService

    description = PythonLaunchDescriptionSource(str(LAUNCH_FILE)).get_launch_description(LaunchContext())
    assert isinstance(description, LaunchDescription)
    arguments = {argument.name: argument for argument in description.get_launch_arguments()}
    assert set(arguments) == LAUNCH_ONLY_ARGUMENTS | PARAMETER_ARGUMENTS | ALWAYS_PARAMETERS
    assert arguments["autostart"].default_value[0].text == "true"
    assert arguments["fixed_frame"].default_value[0].text == "camera_optical_frame"
    assert "camera_color_optical_frame" in arguments["fixed_frame"].description
    LaunchService().include_launch_description(description)


@requires_launch_stack
def test_launch_setup_builds_node_or_lifecycle_node_and_warns(tmp_path, monkeypatch):
    """The launch's OpaqueFunction evaluated in a real LaunchContext: a plain Node by default, a
    LifecycleNode for autostart:=false, one warning (and no viewer) for rviz:=true without rviz2, one for
    a params file with no section for the node, and a one-line error for a malformed flag."""
    from launch_ros.actions import LifecycleNode, Node

    from launch import LaunchContext

    launch_module = _launch_module()
    warnings = []
    monkeypatch.setattr(
        launch_module, "get_logger", lambda name: types.SimpleNamespace(warning=warnings.append)
    )
    monkeypatch.setattr(launch_module, "rviz_installed", lambda: False)

    def actions(**arguments: str) -> list:
        context = LaunchContext()
        context.launch_configurations.update(arguments)
        for argument in launch_module._arguments(str(ROOT)):
            argument.visit(context)  # the default where the argument was not given
        return launch_module._launch_setup(context, str(ROOT))

    (node,) = actions()
    assert type(node) is Node and not warnings
    (node,) = actions(autostart="false")
    assert type(node) is LifecycleNode
    (node,) = actions(rviz="true")
    assert len(warnings) == 1 and "rviz2 is not installed" in warnings[0]
    root_only = _params_file(tmp_path / "root.yaml", section="depth_node")
    actions(namespace="cam", params_file=str(root_only))
    assert len(warnings) == 2 and "no section for /cam/depth_node" in warnings[1]
    with pytest.raises(ValueError, match="autostart:='maybe'"):
        actions(autostart="maybe")


def test_shipped_params_apply_to_a_namespaced_node():
    assert node_parameters(str(ROOT / "config" / "depth.yaml"), "/cam/depth_node")


def test_params_file_sections_follow_rcl_matching(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(
        yaml.safe_dump(
            {
                "/**": {"ros__parameters": {"qos_reliability": "best_effort", "cloud_stride": 1}},
                "depth_node": {"ros__parameters": {"cloud_stride": 2}},
                "/*/depth_node": {"ros__parameters": {"cloud_stride": 3}},
                "cam": {
                    "depth_node": {
                        "ros__parameters": {
                            "qos_overrides": {"/cam/points": {"publisher": {"reliability": "reliable"}}}
                        }
                    }
                },
                "/other/depth_node": {"ros__parameters": {"cloud_stride": 9}},
            }
        )
    )
    root = node_parameters(str(params), "/depth_node")
    assert root == {"qos_reliability": "best_effort", "cloud_stride": 2}
    cam = node_parameters(str(params), "/cam/depth_node")
    assert cam["cloud_stride"] == 3
    assert publisher_reliability(cam, "/cam/points") == "reliable"
    assert publisher_reliability(cam, "/cam/depth/colorized") == "best_effort"
    assert publisher_reliability({}, "/points") == PARAMETERS["qos_reliability"].default
    assert fully_qualified("/cam/", "depth_node") == "/cam/depth_node"
    assert fully_qualified("", "points") == "/points"
    with pytest.raises(RuntimeError, match=r"params_file .*missing\.yaml"):
        node_parameters(str(tmp_path / "missing.yaml"), "/depth_node")


def _params_file(path: Path, section: str = "/**/depth_node", **overrides) -> Path:
    """config/depth.yaml's parameters with some changed, in a section for the node in any namespace."""
    (parameters,) = yaml.safe_load((ROOT / "config" / "depth.yaml").read_text()).values()
    parameters["ros__parameters"].update(overrides)
    path.write_text(yaml.safe_dump({section: parameters}))
    return path


def _rviz_reliabilities(path: str) -> dict[str, str]:
    displays = yaml.safe_load(Path(path).read_text())["Visualization Manager"]["Displays"]
    return {d["Topic"]["Value"]: d["Topic"]["Reliability Policy"] for d in displays if "Topic" in d}


@requires_launch_stack
def test_rviz_config_follows_the_node_publisher_reliability(tmp_path, monkeypatch):
    from launch.logging import launch_config

    launch_module = _launch_module()
    monkeypatch.setattr(type(launch_config), "log_dir", property(lambda self: str(tmp_path)))
    share = str(ROOT)  # <share>/config/depth.rviz is the repository's

    def config_for(namespace: str, **overrides) -> str:
        params = _params_file(tmp_path / "params.yaml", **overrides)
        node = fully_qualified(namespace, "depth_node")
        return launch_module.rviz_config(share, node_parameters(str(params), node), namespace)

    assert config_for("") == str(RVIZ_FILE)
    best_effort = config_for("cam", qos_reliability="best_effort")
    assert Path(best_effort).parent == tmp_path
    assert _rviz_reliabilities(best_effort) == {"depth/colorized": "Best Effort", "points": "Best Effort"}
    per_topic = config_for("/cam", **{"qos_overrides./cam/points.publisher.reliability": "best_effort"})
    assert _rviz_reliabilities(per_topic) == {"depth/colorized": "Reliable", "points": "Best Effort"}
    # everything else in the copy is the shipped config
    shipped, copy = (yaml.safe_load(Path(p).read_text()) for p in (RVIZ_FILE, per_topic))
    for display in copy["Visualization Manager"]["Displays"]:
        if "Topic" in display:
            display["Topic"]["Reliability Policy"] = "Reliable"
    assert copy == shipped


def _fake_rviz2_prefix(root: Path) -> Path:
    """An ament prefix holding a package `rviz2` whose executable records its arguments and sleeps."""
    (root / "share" / "ament_index" / "resource_index" / "packages").mkdir(parents=True)
    (root / "share" / "ament_index" / "resource_index" / "packages" / "rviz2").write_text("")
    executable = root / "lib" / "rviz2" / "rviz2"
    executable.parent.mkdir(parents=True)
    executable.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {root}/arguments\nexec sleep 300\n')
    executable.chmod(executable.stat().st_mode | stat.S_IXUSR)
    return root


def _ros2_param(env: dict, verb: str, *args: str) -> str:
    result = ros2(env, "param", verb, *args, "--timeout", "10")
    return result.stdout + result.stderr


@pytest.mark.slow
@requires_launch_stack
def test_launch_runs_in_process_with_remaps_parameters_and_rviz(tmp_path, monkeypatch):
    """(a) The launch file run by the real LaunchService in this process: remapped inputs, namespaced
    outputs, parameter arguments, and rviz2 (a stand-in package) started with -d and -f."""
    import launch.logging
    from launch.actions import IncludeLaunchDescription
    from launch.launch_description_sources import PythonLaunchDescriptionSource

    from launch import LaunchService

    domain = domain_id()
    rviz_prefix = _fake_rviz2_prefix(tmp_path / "rviz_prefix")
    env = ros_environment(domain, tmp_path, extra_prefix=rviz_prefix)
    for name in (
        "ROS_DOMAIN_ID",
        "ROS_LOG_DIR",
        "ROS_AUTOMATIC_DISCOVERY_RANGE",
        "AMENT_PREFIX_PATH",
        "PATH",
    ):
        monkeypatch.setenv(name, env[name])
    arguments = {
        "namespace": "cam",
        "image_topic": "/sensors/front/image_raw",
        "camera_info_topic": "/sensors/front/camera_info",
        "backend": "onnxruntime",
        "use_sim_time": "true",
        "params_file": str(_params_file(tmp_path / "params.yaml", qos_reliability="best_effort")),
        "rviz": "true",
        "fixed_frame": "camera_color_optical_frame",
    }
    launch.logging.reset()  # this launch's log directory (for the rviz config copy) under ROS_LOG_DIR
    service = LaunchService()
    service.include_launch_description(
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(str(LAUNCH_FILE)), launch_arguments=arguments.items()
        )
    )

    inputs = {"/sensors/front/image_raw", "/sensors/front/camera_info"}
    outputs = {"/cam/depth/image", "/cam/depth/camera_info", "/cam/points"}

    def endpoints(probe: Probe) -> tuple[set, set]:
        """Topics /cam/depth_node subscribes and publishes (empty until discovered)."""
        if ("depth_node", "/cam") not in probe.node.get_node_names_and_namespaces():
            return set(), set()
        graph = probe.node
        return (
            {name for name, _ in graph.get_subscriber_names_and_types_by_node("depth_node", "/cam")},
            {name for name, _ in graph.get_publisher_names_and_types_by_node("depth_node", "/cam")},
        )

    def observe() -> dict:
        probe = Probe(domain)
        try:  # endpoints are discovered after the node itself: wait for the expected ones
            found = wait_until(lambda: inputs <= endpoints(probe)[0] and outputs <= endpoints(probe)[1], 60)
            subscriptions, publications = endpoints(probe)
        finally:
            probe.close()
        wait_until(lambda: (rviz_prefix / "arguments").exists(), 30)
        parameters = {
            name: _ros2_param(env, "get", "/cam/depth_node", name) for name in ("backend", "use_sim_time")
        }
        return dict(
            found=found, subscriptions=subscriptions, publications=publications, parameters=parameters
        )

    async def run() -> tuple[dict, int]:
        launch_task = asyncio.ensure_future(service.run_async())
        try:
            observed = await asyncio.get_running_loop().run_in_executor(None, observe)
        finally:
            if (pending := service.shutdown()) is not None:
                await pending
        return observed, await asyncio.wait_for(launch_task, 30)

    observed, code = asyncio.new_event_loop().run_until_complete(run())
    assert code == 0
    assert observed["found"], observed
    assert "onnxruntime" in observed["parameters"]["backend"]
    assert "True" in observed["parameters"]["use_sim_time"]
    rviz_arguments = (rviz_prefix / "arguments").read_text().split("\n")
    assert rviz_arguments[2:4] == ["-f", "camera_color_optical_frame"]
    assert rviz_arguments[0] == "-d" and Path(rviz_arguments[1]).is_relative_to(tmp_path)
    assert set(_rviz_reliabilities(rviz_arguments[1]).values()) == {"Best Effort"}


@requires_launch_stack
def test_rviz_without_rviz2_keeps_the_node_and_stops_cleanly(tmp_path):
    """(d) `rviz:=true` where rviz2 is not installed: one warning, the node runs (at the requested log
    level), and SIGINT to `ros2 launch` ends everything it started."""
    launch_module = _launch_module()
    if launch_module.rviz_installed():
        pytest.skip("rviz2 is installed here: this test needs a machine without it")
    env = ros_environment(domain_id(), tmp_path)
    launch = start_launch(env, tmp_path, "depth.launch.py", "rviz:=true", "log_level:=debug")
    try:
        assert launch.wait_for_output("[depth_node-1] [DEBUG]", STARTUP_TIMEOUT), launch.output()
        listed = wait_until(lambda: "/depth_node" in ros2(env, "node", "list").stdout.split(), 30)
        assert listed, launch.output()
        assert len(launch.descendants()) >= 1 and launch.process.poll() is None
    finally:
        code = launch.stop()
    output = launch.output()
    assert code == 0, output
    assert output.count("rviz:=true but rviz2 is not installed") == 1
    assert "process has died" not in output and "package 'rviz2' not found" not in output


@pytest.mark.slow
@requires_launch_stack
def test_autostart_false_starts_a_lifecycle_node(tmp_path):
    """`autostart:=false`: the node waits unconfigured, publishes nothing, and `ros2 lifecycle set`
    configures and activates it."""
    env = ros_environment(domain_id(), tmp_path)
    with camera_launch_probe(env, tmp_path, "depth.launch.py", "autostart:=false") as (launch, probe):
        probe.subscribe(Image, "/depth/image")
        graph = probe.node
        assert wait_until(lambda: ("depth_node", "/") in graph.get_node_names_and_namespaces(), 60), (
            launch.output()
        )
        state = wait_until(lambda: ros2(env, "lifecycle", "get", "/depth_node").stdout, 30)
        assert "unconfigured" in state, state
        time.sleep(2)
        assert not probe.received("/depth/image")
        for transition in ("configure", "activate"):
            # A CLI that has not discovered the node within its spin time says so and changes nothing.
            result = wait_until(lambda t=transition: _lifecycle_set(env, t), 60)
            assert result and "Transitioning successful" in result.stdout, result and result.stdout
        state = wait_until(lambda: ros2(env, "lifecycle", "get", "/depth_node").stdout, 30)
        assert "active [3]" in state, state
        assert wait_until(lambda: probe.received("/depth/image"), 30), launch.output()


def _lifecycle_set(env: dict[str, str], transition: str) -> subprocess.CompletedProcess | None:
    """`ros2 lifecycle set /depth_node TRANSITION`, or None when the CLI did not find the node."""
    result = ros2(env, "lifecycle", "set", "/depth_node", transition, timeout=60)
    return None if "Node not found" in result.stderr else result


@pytest.fixture(scope="module")
def camera_and_launch(tmp_path_factory):
    """`ros2 launch disdepth depth.launch.py` and a 640x480 10 Hz camera, each in its own process."""
    log_dir = tmp_path_factory.mktemp("launch")
    env = ros_environment(domain_id(), log_dir)
    with camera_launch_probe(env, log_dir, "depth.launch.py") as (launch, probe):
        for topic, message_type in OUTPUTS.items():
            probe.subscribe(message_type, topic)
        yield env, launch, probe


@requires_launch_stack
def test_ros2_launch_publishes_depth_camera_info_and_points(camera_and_launch):
    """(b) Frames from a camera in another process come back as depth, camera_info and points."""
    _, launch, probe = camera_and_launch
    arrived = wait_until(lambda: all(probe.received(topic) for topic in OUTPUTS), STARTUP_TIMEOUT)
    assert arrived, f"received { {t: len(probe.received(t)) for t in OUTPUTS} }\n{launch.output()}"
    depth, info, cloud = (probe.received(topic)[-1] for topic in OUTPUTS)
    assert (depth.encoding, depth.height, depth.width) == ("32FC1", 480, 640)
    assert depth.header.frame_id == info.header.frame_id == cloud.header.frame_id == "camera_optical_frame"
    assert (info.height, info.width) == (480, 640)
    assert (cloud.height, cloud.width) == (240, 320)  # cloud_stride 2 from config/depth.yaml


def _cloud_ranges(cloud) -> np.ndarray:
    points = np.frombuffer(bytes(cloud.data), np.float32).reshape(-1, cloud.point_step // 4)[:, :3]
    ranges = np.linalg.norm(points, axis=1)
    return ranges[np.isfinite(ranges)]


@pytest.mark.slow
@requires_launch_stack
def test_ros2_param_set_max_range_takes_effect(camera_and_launch):
    """(c) `ros2 param set /depth_node max_range R` with R the median range of the cloud: accepted, and
    later clouds keep the nearer points only; an out-of-range value is refused."""
    env, launch, probe = camera_and_launch
    assert wait_until(lambda: probe.received("/points"), STARTUP_TIMEOUT), launch.output()
    before = _cloud_ranges(probe.received("/points")[-1])
    limit = round(float(np.median(before)), 2)
    assert before.max() > limit
    assert "Set parameter successful" in _ros2_param(env, "set", "/depth_node", "max_range", str(limit))
    after = time.monotonic()
    # skip the first cloud after the change: it may have been built before the parameter changed
    clouds = wait_until(lambda: probe.received("/points", since=after)[1:], 30)
    assert clouds, launch.output()
    ranges = _cloud_ranges(clouds[-1])
    assert ranges.size > 0 and ranges.max() <= limit + 1e-4
    assert "Setting parameter failed" in _ros2_param(env, "set", "/depth_node", "max_range", "-1.0")
    assert "Set parameter successful" in _ros2_param(env, "set", "/depth_node", "max_range", "0.0")
