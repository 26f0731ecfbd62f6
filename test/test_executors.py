"""SpinningExecutors: a spin thread that dies ends the run with its exception (real rclpy nodes)."""

from __future__ import annotations

import time

import pytest

rclpy = pytest.importorskip("rclpy")

from disdepth_ros.executors import SpinningExecutors, SpinThreadError  # noqa: E402


def test_a_dead_spin_thread_is_raised_by_check_and_shutdown():
    context = rclpy.Context()
    rclpy.init(context=context)
    healthy = rclpy.create_node("healthy", context=context)
    broken = rclpy.create_node("broken", context=context)
    ticks = []
    healthy.create_timer(0.01, lambda: ticks.append(1))

    def explode() -> None:
        raise ValueError("callback exploded")

    broken.create_timer(0.01, explode)
    executors = SpinningExecutors(context, [[healthy], [broken]], name="test-spin")
    try:
        deadline = time.monotonic() + 10
        while executors.threads[1].is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(
            SpinThreadError, match=r"test-spin-1 died \(ValueError: callback exploded\)"
        ) as raised:
            executors.check()
        assert isinstance(raised.value.__cause__, ValueError)
        assert executors.threads[0].is_alive() and ticks  # the other group keeps spinning
    finally:
        with pytest.raises(SpinThreadError):
            executors.shutdown()
        healthy.destroy_node()
        broken.destroy_node()
        rclpy.shutdown(context=context)
    assert not any(thread.is_alive() for thread in executors.threads)


def test_an_orderly_stop_raises_nothing():
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("quiet", context=context)
    executors = SpinningExecutors(context, [[node]])
    executors.check()
    executors.shutdown()
    node.destroy_node()
    rclpy.shutdown(context=context)
