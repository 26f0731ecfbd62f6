"""The ROS 2 package itself: package.xml and the requirements, the console scripts and the launcher, and
a real colcon build/test cycle."""

import ast
import os
import re
import shutil
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
# ROS packages imported in Python that no PyPI ROS wheel provides here (the others are recognised by
# their `ros-*` distribution or their interface-package name).
ROS_PACKAGES_NOT_ON_PYPI = {
    "launch",
    "launch_ros",
    "launch_testing",
    "launch_testing_ros",
    "cv_bridge",
    "image_geometry",
    "message_filters",
    "rosbag2_py",
    "sensor_msgs_py",
    "tf2_py",
    "tf2_ros",
    "tf2_geometry_msgs",
}
# ROS packages imported only where installed, deliberately not declared.
OPTIONAL_ROS_IMPORTS = {
    "cv_bridge": "disdepth_ros/conversions.py decodes rare encodings with it when present; its binaries "
    "break with NumPy 2, so the package must not pull it in",
}
# rosdep keys of the Python distributions the package installs with (setup.py install_requires) that the
# ROS distributions ship; the others come from requirements/ros_workspace.txt.
ROSDEP_KEYS = {
    "numpy": "python3-numpy",
    "opencv-python-headless": "python3-opencv",
    "pyyaml": "python3-yaml",
    "matplotlib": "python3-matplotlib",
    "tqdm": "python3-tqdm",
    "setuptools": "python3-setuptools",
}


def test_package_xml_is_format3_ament_python_with_valid_maintainer():
    root = ET.parse(REPO / "package.xml").getroot()
    assert root.get("format") == "3"
    assert root.findtext("name") == "disdepth"
    assert root.findtext("export/build_type") == "ament_python"
    email = root.find("maintainer").get("email")
    local, _, domain = email.partition("@")
    assert local and "." in domain, "colcon ignores packages whose maintainer e-mail is invalid"
    exec_depends = {e.text for e in root.findall("exec_depend")}
    assert {"rclpy", "sensor_msgs", "std_msgs", "diagnostic_msgs", "launch_ros"} <= exec_depends
    assert {"python3-numpy", "python3-opencv"} <= exec_depends
    assert "python3-pytest" in {e.text for e in root.findall("test_depend")}


def _declared(*tags: str) -> set[str]:
    root = ET.parse(REPO / "package.xml").getroot()
    return {element.text for tag in tags for element in root.findall(tag)}


def test_package_xml_is_valid_for_colcon():
    """catkin_pkg (what colcon-ros reads package.xml with) accepts it, e-mail included."""
    package_module = pytest.importorskip("catkin_pkg.package", reason="catkin_pkg (colcon-ros) not installed")
    package = package_module.parse_package(str(REPO / "package.xml"))
    package.validate()
    assert package.get_build_type() == "ament_python"


def _is_ros_package(module: str, distributions: dict[str, list[str]]) -> bool:
    return (
        module in ROS_PACKAGES_NOT_ON_PYPI
        or module.endswith(("_msgs", "_srvs", "_interfaces"))
        or any(name.startswith("ros-") for name in distributions.get(module, []))
    )


def _imports(path: Path) -> set[str]:
    """Top-level names of the absolute imports in one Python file."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_every_imported_ros_package_is_declared():
    """Every ROS package imported by the installed code is an exec_depend (test code: or a
    test_depend), except the documented optional imports; disdepth_core imports no ROS package."""
    distributions = packages_distributions()
    run_time, test_time = _declared("exec_depend", "depend"), _declared("test_depend")
    missing = []
    for folder in ("disdepth_core", "disdepth_ros", "launch", "scripts", "benchmarks", "test"):
        declared = run_time | test_time if folder in ("test", "benchmarks") else run_time
        for path in sorted((REPO / folder).rglob("*.py")):
            for module in sorted(_imports(path)):
                if not _is_ros_package(module, distributions) or module in OPTIONAL_ROS_IMPORTS:
                    continue
                assert folder != "disdepth_core", f"{path.relative_to(REPO)} imports ROS package {module}"
                if module not in declared:
                    missing.append(f"{path.relative_to(REPO)}: {module}")
    assert not missing, f"imported ROS packages missing from package.xml: {missing}"


def _requirement_names(name: str) -> list[str]:
    lines = (REPO / "requirements" / name).read_text().splitlines()
    entries = [line.split("#")[0].strip() for line in lines]
    return [
        re.split(r"[<>=!~;\[ ]", entry)[0].lower() for entry in entries if entry and not entry.startswith("-")
    ]


def _install_requires() -> list[str]:
    tree = ast.parse((REPO / "setup.py").read_text())
    (value,) = (k.value for k in ast.walk(tree) if isinstance(k, ast.keyword) and k.arg == "install_requires")
    return [re.split(r"[<>=!~;\[ ]", item)[0].lower() for item in ast.literal_eval(value)]


def test_ros_wheels_stay_out_of_every_requirement_file_but_their_own():
    """The PyPI ROS wheels are for the pip-only .venv (scripts/setup.sh installs ros_wheels.txt); a ROS
    workspace installing runtime.txt or ros_workspace.txt must not get a second rclpy."""
    ros_wheels = _requirement_names("ros_wheels.txt")
    assert ros_wheels and all(name.startswith("ros-jazzy-") for name in ros_wheels)
    for path in (REPO / "requirements").glob("*.txt"):
        if path.name != "ros_wheels.txt":
            assert not any(name.startswith("ros-") for name in _requirement_names(path.name)), path.name
    assert "-r requirements/ros_wheels.txt" in (REPO / "scripts" / "setup.sh").read_text()


def test_ros_workspace_gets_every_runtime_dependency_once():
    """Each install_requires distribution reaches a ROS workspace exactly one way: rosdep (its key in
    package.xml) or pip (requirements/ros_workspace.txt), never NumPy or OpenCV from pip."""
    declared, workspace = (
        _declared("exec_depend", "depend", "buildtool_depend"),
        _requirement_names("ros_workspace.txt"),
    )
    for distribution in _install_requires():
        from_rosdep = ROSDEP_KEYS.get(distribution) in declared
        assert from_rosdep != (distribution in workspace), distribution
    assert not {"numpy", "opencv-python", "opencv-python-headless"} & set(workspace)


def _fake_prefix(root: Path, with_python: bool) -> Path:
    """A prefix with the launcher in lib/disdepth and, optionally, a bin/python3 recording its arguments."""
    launcher = root / "lib" / "disdepth" / "depth_node"
    launcher.parent.mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "depth_node", launcher)
    if with_python:
        _recording_python(root / "bin" / "python3", "prefix")
    return launcher


def _recording_python(path: Path, label: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\nprintf "%s\\n" {label} "$@" > "$RECORD"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def _run_launcher(launcher: Path, tmp_path: Path) -> list[str]:
    """Run the launcher as launch_ros does (by path), with another python3 first on PATH."""
    _recording_python(tmp_path / "decoy" / "python3", "path")
    record = tmp_path / "record"
    env = {"PATH": f"{tmp_path / 'decoy'}:/usr/bin:/bin", "RECORD": str(record)}
    subprocess.run([str(launcher), "--ros-args", "-p", "a:=b c"], env=env, check=True, timeout=30)
    return record.read_text().splitlines()


def test_launcher_runs_the_python_of_its_prefix(tmp_path):
    launcher = _fake_prefix(tmp_path / "prefix", with_python=True)
    assert _run_launcher(launcher, tmp_path) == [
        "prefix",
        "-m",
        "disdepth_ros.depth_node",
        "--ros-args",
        "-p",
        "a:=b c",
    ]


def test_launcher_falls_back_to_python3_on_path(tmp_path):
    launcher = _fake_prefix(tmp_path / "prefix", with_python=False)
    assert _run_launcher(launcher, tmp_path)[:3] == ["path", "-m", "disdepth_ros.depth_node"]


def test_console_scripts_installed_in_venv_and_launch_prefix():
    assert (VENV_BIN / "disdepth").exists()
    assert (VENV_BIN / "depth_node").exists()
    # launch_ros.actions.Node looks in <prefix>/lib/<package>/ for executables.
    launcher = Path(sys.prefix) / "lib" / "disdepth" / "depth_node"
    assert launcher.exists() and os.access(launcher, os.X_OK)


def test_disdepth_cli_help_lists_commands():
    result = subprocess.run(
        [str(VENV_BIN / "disdepth"), "--help"], capture_output=True, text=True, timeout=60, check=True
    )
    assert "profile" in result.stdout


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("colcon", path=str(VENV_BIN)) is None, reason="colcon not installed")
def test_colcon_build_and_test_pick_up_the_package(tmp_path):
    """colcon sees an ament_python package, builds it with --symlink-install and runs its pytest suite."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "disdepth").symlink_to(REPO)
    env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")
    colcon = str(VENV_BIN / "colcon")

    listed = subprocess.run(
        [colcon, "list"], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    assert "(ros.ament_python)" in listed.stdout

    subprocess.run(
        [colcon, "build", "--symlink-install", "--event-handlers", "console_direct-"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    assert (tmp_path / "install" / "disdepth" / "lib" / "disdepth" / "depth_node").exists()
    assert (tmp_path / "install" / "disdepth" / "share" / "disdepth" / "package.xml").exists()

    # Run only this file's quick checks inside colcon (the full suite already runs in this session).
    subprocess.run(
        [
            colcon,
            "test",
            "--packages-select",
            "disdepth",
            "--event-handlers",
            "console_direct-",
            "--pytest-args",
            "test/test_package.py",
            "-k",
            "not colcon",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    results = subprocess.run(
        [colcon, "test-result", "--all", "--test-result-base", str(tmp_path / "build")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert "0 errors, 0 failures" in results.stdout, results.stdout
    assert "tests" in results.stdout
