"""The ROS environment every benchmark script runs in: its own log directory, the venv as ament prefix, a
domain of its own and loopback-only discovery, exported to this process and returned for subprocesses."""

from __future__ import annotations

import os
import sys
import tempfile


def isolated_ros_environment(name: str) -> dict[str, str]:
    """Set (where unset) and return the environment for benchmark `name`; nodes it starts inherit it."""
    env = dict(os.environ)
    env.setdefault("ROS_LOG_DIR", tempfile.mkdtemp(prefix=f"disdepth-{name}-"))
    env.setdefault("AMENT_PREFIX_PATH", sys.prefix)
    env.setdefault("ROS_DOMAIN_ID", str(100 + os.getpid() % 100))
    env.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
    env.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    os.environ.update(env)
    return env
