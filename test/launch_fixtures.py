"""The real ROS 2 launch stack in tests: `ros2` commands, launch processes, a camera process, a probe.

Needs launch, launch_ros and ros2cli (ros2launch, ros2node, ros2param, ros2lifecycle, ros2service): a ROS
install has them; in CI scripts/setup.sh installs them into .venv from ../shared/wheels/ros2_launch_jazzy.
Without them the tests marked `requires_launch_stack` skip and say what is missing.

Every process runs in its own ROS domain (`domain_id()`), discovery limited to this machine, logs in
ROS_LOG_DIR, the package found through AMENT_PREFIX_PATH, and PATH without this interpreter's bin
directory (as a user who did not activate the virtual environment).
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

try:  # a dependency of launch: present whenever the tests that start processes run
    import psutil
except ImportError:
    psutil = None

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CLI_PACKAGES = (
    "launch_ros",
    "ros2cli",
    "ros2launch",
    "ros2node",
    "ros2param",
    "ros2lifecycle",
    "ros2service",
)
# ROS_DOMAIN_ID must stay within 0..101 for Fast DDS's port arithmetic; conftest picks this process's base.
_DOMAINS = itertools.count(1)


def ros2_executable() -> str | None:
    """`ros2` next to this interpreter (the venv), else on PATH (a ROS install)."""
    beside = BIN / "ros2"
    return str(beside) if beside.exists() else shutil.which("ros2")


def _launch_stack_missing() -> str | None:
    missing = [name for name in CLI_PACKAGES if importlib.util.find_spec(name) is None]
    if missing or ros2_executable() is None:
        return (
            f"the ROS 2 launch stack is not installed ({', '.join(missing) or 'the ros2 command'} missing): "
            "a ROS install provides it; in CI scripts/setup.sh installs ../shared/wheels/ros2_launch_jazzy"
        )
    return None


LAUNCH_STACK_MISSING = _launch_stack_missing()
requires_launch_stack = pytest.mark.skipif(
    LAUNCH_STACK_MISSING is not None, reason=LAUNCH_STACK_MISSING or ""
)


def domain_id() -> int:
    """A ROS domain no other caller in this process uses (offset from conftest's per-process domain)."""
    return (int(os.environ.get("ROS_DOMAIN_ID", os.getpid() % 100)) + next(_DOMAINS)) % 101 + 1


def ros_environment(domain: int, log_dir: Path, extra_prefix: Path | None = None) -> dict[str, str]:
    """The environment of every process a launch test starts (see the module docstring)."""
    prefixes = [str(extra_prefix)] if extra_prefix else []
    path = [entry for entry in os.environ.get("PATH", "").split(os.pathsep) if Path(entry) != BIN]
    return dict(
        os.environ,
        ROS_DOMAIN_ID=str(domain),
        ROS_LOG_DIR=str(log_dir),
        ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
        AMENT_PREFIX_PATH=os.pathsep.join([*prefixes, os.environ.get("AMENT_PREFIX_PATH", sys.prefix)]),
        PATH=os.pathsep.join(path) or "/usr/bin:/bin",
        PYTHONUNBUFFERED="1",
    )


def ros2(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run `ros2 ARGS` without the daemon (none may outlive a test), waiting up to 3 s for discovery."""
    return subprocess.run(
        [ros2_executable(), *args, "--no-daemon", "--spin-time", "3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def wait_until(condition: Callable[[], object], timeout: float, interval: float = 0.2) -> object:
    """The first truthy value of `condition()` within `timeout` seconds, else None."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value or None
        time.sleep(interval)


class RosProcess:
    """A command started in its own session with its output in a file; `stop()` sends SIGINT to the
    command only (as to `ros2 launch`) and fails the test when it or any process it started survives."""

    def __init__(self, command: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        with open(log_path, "w") as log:
            self.process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._leader = psutil.Process(self.process.pid)
        self._seen: dict[int, psutil.Process] = {}

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def descendants(self) -> list:
        """Processes the command started (remembered, so that `stop()` can find orphans)."""
        try:
            children = self._leader.children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        self._seen.update((child.pid, child) for child in children)
        return children

    def wait_for_output(self, text: str, timeout: float) -> bool:
        return bool(wait_until(lambda: self.descendants() is not None and text in self.output(), timeout))

    def stop(self, timeout: float = 30) -> int:
        self.descendants()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"{self.process.args[:3]} ignored SIGINT for {timeout} s:\n{self.output()}"
            ) from None
        # launch waits for its children before exiting; a moment of grace for processes being reaped
        wait_until(lambda: not any(p.is_running() for p in self._seen.values()), 5)
        survivors = [p for p in self._seen.values() if p.is_running()]
        if survivors:
            self.kill()
            raise AssertionError(
                f"orphaned after SIGINT: {[p.cmdline()[:4] for p in survivors]}\n{self.output()}"
            )
        return code

    def kill(self) -> None:
        """SIGKILL the command and every process it was seen to start (test cleanup)."""
        self.descendants()
        for process in [self._leader, *self._seen.values()]:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        self.process.wait(10)


def start_camera(env: dict[str, str], log_dir: Path, **options: str) -> RosProcess:
    """test/camera_publisher.py in its own process (640x480 bgr8 + camera_info on /camera/*; options
    are its command-line options, e.g. rate=30, image_topic=...)."""
    command = [sys.executable, str(REPO / "test" / "camera_publisher.py")]
    for name, value in options.items():
        command += ["--" + name.replace("_", "-"), str(value)]
    return RosProcess(command, env, log_dir / "camera.log")


def start_launch(env: dict[str, str], log_dir: Path, launch_file: str, *arguments: str) -> RosProcess:
    """`ros2 launch disdepth LAUNCH_FILE ARGUMENTS` as a user runs it."""
    command = [ros2_executable(), "launch", "disdepth", launch_file, *arguments]
    return RosProcess(command, env, log_dir / f"{launch_file}.log")


@contextlib.contextmanager
def camera_launch_probe(
    env: dict[str, str], log_dir: Path, launch_file: str, *arguments: str, **camera_options: str
) -> Iterator[tuple[RosProcess, Probe]]:
    """A camera process, `ros2 launch disdepth LAUNCH_FILE ARGUMENTS` and a Probe in the domain of `env`.
    On exit the probe closes and both processes stop; the launch must end with code 0 and no orphan."""
    camera = start_camera(env, log_dir, **camera_options)
    launch = start_launch(env, log_dir, launch_file, *arguments)
    probe = Probe(int(env["ROS_DOMAIN_ID"]), f"launch_probe_{env['ROS_DOMAIN_ID']}")
    try:
        yield launch, probe
    finally:
        probe.close()
        try:
            code = launch.stop()
        finally:
            camera.stop()
    assert code == 0, f"ros2 launch exited with {code}:\n{launch.output()}"


class Probe:
    """An rclpy node in its own context and domain, spun in a thread, keeping every message it receives."""

    def __init__(self, domain: int, name: str = "launch_probe") -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        self.context = rclpy.context.Context()
        rclpy.init(context=self.context, domain_id=domain)
        self.node = rclpy.create_node(name, context=self.context)
        self.messages: dict[str, list] = {}
        self._lock = threading.Lock()
        self._executor = SingleThreadedExecutor(context=self.context)
        self._executor.add_node(self.node)
        self._thread = threading.Thread(target=self._executor.spin, daemon=True)
        self._thread.start()

    def subscribe(self, message_type: type, topic: str, reliable: bool = True) -> None:
        from rclpy.qos import QoSProfile, ReliabilityPolicy

        reliability = ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT
        self.messages[topic] = []

        def keep(message, topic=topic) -> None:
            with self._lock:
                self.messages[topic].append((time.monotonic(), message))

        self.node.create_subscription(message_type, topic, keep, QoSProfile(depth=5, reliability=reliability))

    def received(self, topic: str, since: float = 0.0) -> list:
        with self._lock:
            return [message for stamp, message in self.messages[topic] if stamp >= since]

    def close(self) -> None:
        import rclpy

        self._executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)
        self._thread.join(5)
