"""The ROS 2 package itself: package.xml, the console scripts, and a real colcon build/test cycle."""

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


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
