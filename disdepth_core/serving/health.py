"""Node health bookkeeping for /diagnostics: rates, latency percentiles, counters, stale-input checks.

Pure Python (no rclpy): the node feeds events with a monotonic clock and turns `snapshot()` into a
`diagnostic_msgs/DiagnosticStatus` (REP 107 style key/value pairs). Per-frame failures are counted per
cause by the `FailureLog` it holds (`disdepth_core.serving.failures`).
"""

from __future__ import annotations

import threading
from collections import deque

import numpy as np

from disdepth_core.serving.failures import FailureLog

__all__ = ["EventRate", "LatencyWindow", "NodeHealth"]


class EventRate:
    """Events per second over a sliding time window."""

    def __init__(self, window_s: float = 5.0) -> None:
        self.window_s = window_s
        self._times: deque[float] = deque()

    def add(self, now: float) -> None:
        self._times.append(now)
        self._trim(now)

    def rate(self, now: float) -> float:
        self._trim(now)
        if len(self._times) < 2:
            return 0.0
        span = max(now - self._times[0], self._times[-1] - self._times[0])
        return (len(self._times) - 1) / span if span > 0 else 0.0

    def _trim(self, now: float) -> None:
        while self._times and now - self._times[0] > self.window_s:
            self._times.popleft()


class LatencyWindow:
    """The last `size` latencies in milliseconds, with percentiles."""

    def __init__(self, size: int = 200) -> None:
        self._values: deque[float] = deque(maxlen=size)

    def add(self, milliseconds: float) -> None:
        self._values.append(milliseconds)

    def percentile(self, q: float) -> float:
        """The q-th percentile (0..100); NaN when empty."""
        return float(np.percentile(self._values, q)) if self._values else float("nan")


class NodeHealth:
    """Thread-safe counters and windows fed by the callbacks and the worker."""

    def __init__(self, rate_window_s: float = 5.0) -> None:
        self._lock = threading.Lock()
        self.input_rate = EventRate(rate_window_s)
        self.output_rate = EventRate(rate_window_s)
        self.inference_ms = LatencyWindow()
        self.end_to_end_ms = LatencyWindow()
        self.frames_in = 0
        self.frames_out = 0
        self.failures = FailureLog()
        self.last_image: float | None = None
        self.last_camera_info: float | None = None

    def image_received(self, now: float) -> None:
        with self._lock:
            self.frames_in += 1
            self.last_image = now
            self.input_rate.add(now)

    def camera_info_received(self, now: float) -> None:
        with self._lock:
            self.last_camera_info = now

    def frame_published(self, now: float, inference_ms: float, end_to_end_ms: float) -> None:
        with self._lock:
            self.frames_out += 1
            self.output_rate.add(now)
            self.inference_ms.add(inference_ms)
            self.end_to_end_ms.add(end_to_end_ms)

    @staticmethod
    def silence(last: float | None, started: float, now: float) -> float:
        """Seconds since the last message (or since start when none arrived)."""
        return now - (started if last is None else last)

    def snapshot(self, now: float, dropped: int) -> dict[str, str]:
        """Key/value pairs for the diagnostic status (rates in Hz, latencies in ms)."""
        with self._lock:
            return {
                "input rate (Hz)": f"{self.input_rate.rate(now):.2f}",
                "output rate (Hz)": f"{self.output_rate.rate(now):.2f}",
                "inference latency p50 (ms)": f"{self.inference_ms.percentile(50):.1f}",
                "inference latency p95 (ms)": f"{self.inference_ms.percentile(95):.1f}",
                "end-to-end latency p50 (ms)": f"{self.end_to_end_ms.percentile(50):.1f}",
                "end-to-end latency p95 (ms)": f"{self.end_to_end_ms.percentile(95):.1f}",
                "frames received": str(self.frames_in),
                "frames published": str(self.frames_out),
                "dropped frames": str(dropped),
                **{f"failures: {cause}": str(count) for cause, count in self.failures.snapshot().items()},
            }
