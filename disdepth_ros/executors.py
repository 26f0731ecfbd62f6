"""Spin in-process nodes the way `depth_node` spins: one single-threaded executor per group, each in a thread.

rclpy's MultiThreadedExecutor polls its in-flight futures in a loop that holds the GIL; in a process
that also runs the node's inference thread this starved inference (measured with `benchmarks/node.py`,
640x480 at 30 Hz, OpenVINO: 8 Hz out with one MultiThreadedExecutor for node and probe, 30 Hz with
the node and the probe on separate single-threaded executors).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

__all__ = ["SpinningExecutors"]


class SpinningExecutors:
    """Start a SingleThreadedExecutor thread for each group of nodes; `shutdown()` stops them all."""

    def __init__(
        self, context: Any, groups: Sequence[Sequence[Any]], name: str = "disdepth-executor"
    ) -> None:
        from rclpy.executors import SingleThreadedExecutor

        self.executors = []
        self.threads = []
        for index, nodes in enumerate(groups):
            executor = SingleThreadedExecutor(context=context)
            for node in nodes:
                executor.add_node(node)
            thread = threading.Thread(target=executor.spin, name=f"{name}-{index}", daemon=True)
            thread.start()
            self.executors.append(executor)
            self.threads.append(thread)

    def shutdown(self, timeout: float = 5.0) -> None:
        for executor in self.executors:
            executor.shutdown()
        for thread in self.threads:
            thread.join(timeout=timeout)
