"""Shared test setup: an isolated ROS 2 environment per test session (log dir, ament prefix, domain id)."""

import os
import signal
import sys
import tempfile

import pytest

_LOG_DIR = tempfile.mkdtemp(prefix="disdepth-roslog-")
os.environ.setdefault("ROS_LOG_DIR", _LOG_DIR)
os.environ.setdefault("ROS_HOME", _LOG_DIR)
# ament_index_python needs a prefix; the virtual environment is one (the package's data_files go there).
os.environ.setdefault("AMENT_PREFIX_PATH", sys.prefix)
# A unique domain per test process so parallel runs on one machine never see each other's topics.
os.environ["ROS_DOMAIN_ID"] = str(os.environ.get("DISDEPTH_TEST_DOMAIN_ID", 1 + os.getpid() % 100))
os.environ.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
# Keep the 2-core CI machine responsive: one intra-op thread per torch/ORT session unless a test asks.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# A shell starts a background job with SIGINT ignored, and a child process inherits that: `ros2 launch`
# (which relies on Python's own SIGINT handler) would then ignore the Ctrl-C the launch tests send it.
# Python's default handler here makes every child start with SIGINT at its default again.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session", autouse=True)
def _torch_threads():
    try:
        import torch
    except ImportError:
        yield
        return
    torch.set_num_threads(1)
    yield
