"""Spin in-process nodes the way `depth_node` spins: one single-threaded executor per group, each in a thread.

rclpy's MultiThreadedExecutor polls its in-flight futures in a loop that holds the GIL; in a process
that also runs the node's inference thread this starved inference (measured with `benchmarks/node.py`,
640x480 at 30 Hz, OpenVINO: 8 Hz out with one MultiThreadedExecutor for node and probe, 30 Hz with
the node and the probe on separate single-threaded executors).

A spin thread that dies (a callback raised, an entity destroyed under it) would leave its nodes deaf
while the run goes on; `check()` (called by the run's loops) and `shutdown()` raise its exception.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

__all__ = ["SpinThreadError", "SpinningExecutors"]


class SpinThreadError(RuntimeError):
    """A spin thread ended with an exception (chained as ``__cause__``); its nodes heard nothing since."""


class SpinningExecutors:
    """Start a SingleThreadedExecutor thread for each group of nodes (a group may start empty: add nodes
    to ``executors[i]`` later); `check()` raises when a thread died, `shutdown()` stops them all."""

    def __init__(
        self, context: Any, groups: Sequence[Sequence[Any]], name: str = "disdepth-executor"
    ) -> None:
        from rclpy.executors import SingleThreadedExecutor

        self.executors = []
        self.threads = []
        self._deaths: list[tuple[str, BaseException]] = []
        for index, nodes in enumerate(groups):
            executor = SingleThreadedExecutor(context=context)
            for node in nodes:
                executor.add_node(node)
            thread = threading.Thread(
                target=self._spin, args=(executor,), name=f"{name}-{index}", daemon=True
            )
            thread.start()
            self.executors.append(executor)
            self.threads.append(thread)

    def _spin(self, executor: Any) -> None:
        from rclpy.executors import ExternalShutdownException

        try:
            executor.spin()
        except ExternalShutdownException:  # the context was shut down: a stop, not a death
            pass
        except BaseException as error:  # kept for check(); raising here would only print it
            self._deaths.append((threading.current_thread().name, error))

    def check(self) -> None:
        """Raise SpinThreadError (caused by the thread's exception) if a spin thread died."""
        if self._deaths:
            name, error = self._deaths[0]
            raise SpinThreadError(
                f"executor thread {name} died ({type(error).__name__}: {error}); its nodes stopped "
                "receiving and publishing"
            ) from error

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop every executor and join its thread; then raise like `check()` if a thread had died."""
        for executor in self.executors:
            executor.shutdown()
        for thread in self.threads:
            thread.join(timeout=timeout)
        self.check()
