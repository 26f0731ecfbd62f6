"""launch/depth.launch.py, config/depth.yaml and config/depth.rviz agree with the node's parameters/topics.

The consistency checks run everywhere by loading the launch file against small stand-ins for the
`launch`/`launch_ros` modules (they record the actions); executing it with the real packages is skipped
when they are not installed (they are not on PyPI).
"""

import ast
import importlib.util
import re
import sys
import types
from pathlib import Path

import pytest
import yaml

from disdepth_ros.outputs import OUTPUT_TOPICS
from disdepth_ros.params import PARAMETERS

ROOT = Path(__file__).resolve().parents[1]
LAUNCH_FILE = ROOT / "launch" / "depth.launch.py"
LAUNCH_ONLY_ARGUMENTS = {"params_file", "namespace", "image_topic", "camera_info_topic", "rviz"}
PARAMETER_ARGUMENTS = {"use_compressed", "model_path", "backend"}


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
    assert set(names) == LAUNCH_ONLY_ARGUMENTS | PARAMETER_ARGUMENTS
    assert set(PARAMETERS) >= PARAMETER_ARGUMENTS


def test_yaml_documents_every_parameter_with_a_comment():
    text = (ROOT / "config" / "depth.yaml").read_text()
    params = yaml.safe_load(text)["depth_node"]["ros__parameters"]
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


class _Recorder:
    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


class _LaunchConfiguration(_Recorder):
    def perform(self, context):
        return context[self.args[0]]


def _fake_launch_modules() -> dict[str, types.ModuleType]:
    modules = {
        name: types.ModuleType(name)
        for name in (
            "launch",
            "launch.actions",
            "launch.conditions",
            "launch.substitutions",
            "launch_ros",
            "launch_ros.actions",
        )
    }
    modules["launch"].LaunchDescription = lambda entities: list(entities)
    modules["launch"].LaunchContext = dict
    for name in ("DeclareLaunchArgument", "OpaqueFunction"):
        setattr(modules["launch.actions"], name, type(name, (_Recorder,), {}))
    modules["launch.conditions"].IfCondition = type("IfCondition", (_Recorder,), {})
    modules["launch.substitutions"].LaunchConfiguration = _LaunchConfiguration
    modules["launch_ros.actions"].Node = type("Node", (_Recorder,), {})
    return modules


def test_launch_file_with_recorded_actions(monkeypatch):
    for name, module in _fake_launch_modules().items():
        monkeypatch.setitem(sys.modules, name, module)
    spec = importlib.util.spec_from_file_location("depth_launch_under_test", LAUNCH_FILE)
    launch_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(launch_module)
    entities = launch_module.generate_launch_description()
    defaults = {
        e.args[0]: e.kwargs["default_value"] for e in entities if type(e).__name__ == "DeclareLaunchArgument"
    }
    assert Path(defaults["params_file"]).name == "depth.yaml"
    rviz = next(e for e in entities if type(e).__name__ == "Node")
    assert rviz.kwargs["executable"] == "rviz2" and rviz.kwargs["arguments"][1].endswith("depth.rviz")
    opaque = next(e for e in entities if type(e).__name__ == "OpaqueFunction")

    context = {**defaults, "image_topic": "/cam/image_raw", "camera_info_topic": "/cam/camera_info"}
    (node,) = opaque.kwargs["function"](context)
    assert (node.kwargs["package"], node.kwargs["executable"]) == ("disdepth", "depth_node")
    assert node.kwargs["parameters"][1] == {}  # empty arguments keep the params file's values
    remaps = {
        key: value if isinstance(value, str) else value.perform(context)
        for key, value in node.kwargs["remappings"]
    }
    assert remaps == {
        "image": "/cam/image_raw",
        "image/compressed": "/cam/image_raw/compressed",
        "camera_info": "/cam/camera_info",
    }

    context.update(use_compressed="true", model_path="/m.onnx", backend="onnxruntime")
    (node,) = opaque.kwargs["function"](context)
    assert node.kwargs["parameters"][1] == {
        "use_compressed": True,
        "model_path": "/m.onnx",
        "backend": "onnxruntime",
    }


def test_launch_file_with_real_launch_packages():
    try:  # the repository's launch/ folder is a namespace package named `launch`: import a real name
        from launch.launch_description_sources import PythonLaunchDescriptionSource
        from launch_ros.actions import Node  # noqa: F401

        from launch import LaunchDescription, LaunchService
    except ImportError:
        pytest.skip("the ROS `launch`/`launch_ros` packages are not installed here (not on PyPI)")

    description = PythonLaunchDescriptionSource(str(LAUNCH_FILE)).get_launch_description(None)
    assert isinstance(description, LaunchDescription)
    arguments = {arg.name for arg in description.get_launch_arguments()}
    assert arguments == LAUNCH_ONLY_ARGUMENTS | PARAMETER_ARGUMENTS
    service = LaunchService()
    service.include_launch_description(description)  # parses; running would start processes


def test_rviz_config_matches_published_topics():
    config = yaml.safe_load((ROOT / "config" / "depth.rviz").read_text())
    displays = {d["Class"]: d for d in config["Visualization Manager"]["Displays"]}
    image = displays["rviz_default_plugins/Image"]["Topic"]
    cloud = displays["rviz_default_plugins/PointCloud2"]["Topic"]
    assert image["Value"] == OUTPUT_TOPICS["colorized"][0]
    assert cloud["Value"] == OUTPUT_TOPICS["points"][0]
    assert PARAMETERS["qos_reliability"].default == "reliable"
    assert image["Reliability Policy"] == cloud["Reliability Policy"] == "Reliable"
