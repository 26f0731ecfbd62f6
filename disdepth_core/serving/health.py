"""Node health bookkeeping for /diagnostics: rates, latency percentiles, counters, stale-input checks.

Pure Python (no rclpy): the node feeds events with a monotonic clock and turns `snapshot()` into a
`diagnostic_msgs/DiagnosticStatus` (REP 107 style key/value pairs). Per-frame failures are counted per
cause by the `FailureLog` it holds (`disdepth_core.serving.failures`).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

import numpy as np

from disdepth_core.serving.failures import FailureLog

__all__ = ["RESTART_ERROR_WINDOW_S", "Assessment", "EventRate", "LatencyWindow", "NodeHealth"]

RESTART_ERROR_WINDOW_S = 60.0
"""Diagnostics stay at ERROR this long after the inference worker had to be restarted."""
LEVELS = ("OK", "WARN", "ERROR")


@dataclass(frozen=True)
class Assessment:
    """The node's health in one word (`LEVELS`) and one sentence naming the cause."""

    level: str
    message: str


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
        self.last_published: float | None = None
        self.worker_restarts = 0
        self.last_restart: float | None = None
        self.last_restart_reason = ""
        self._at_last_publish: tuple[int, dict[str, int]] = (0, self.failures.snapshot())

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
            self.last_published = now
            self._at_last_publish = (self.frames_in, self.failures.snapshot())
            self.output_rate.add(now)
            self.inference_ms.add(inference_ms)
            self.end_to_end_ms.add(end_to_end_ms)

    def worker_restarted(self, now: float, reason: str) -> None:
        with self._lock:
            self.worker_restarts += 1
            self.last_restart = now
            self.last_restart_reason = reason

    def assess(
        self,
        now: float,
        started: float,
        output_timeout: float,
        stale_timeout: float,
        inputs: list[tuple[str, str, float | None]],
        qos_text: str,
    ) -> Assessment:
        """The diagnostic level and message (REP 107): ERROR after a worker restart or while the backend
        keeps failing; WARN while input arrives but nothing is published for longer than
        ``max(output_timeout, 3 x inference p95)`` (naming the failure counters that grew), or when an
        input in ``inputs`` (label, topic, last arrival) is silent longer than ``stale_timeout``."""
        with self._lock:
            errors: list[str] = []
            warnings: list[str] = []
            if self.last_restart is not None and now - self.last_restart < RESTART_ERROR_WINDOW_S:
                ago = now - self.last_restart
                errors.append(
                    f"inference worker restarted {self.worker_restarts}x (last {ago:.0f} s ago: "
                    f"{self.last_restart_reason})"
                )
            self._assess_output(now, started, output_timeout, errors, warnings)
            for label, topic, last in inputs:
                silent = NodeHealth.silence(last, started, now)
                if silent > stale_timeout:
                    warnings.append(
                        f"no {label} on {topic} for {silent:.1f} s (subscribed {qos_text}; "
                        "check the topic name/remapping and that the camera publishes)"
                    )
            rate = self.output_rate.rate(now)
        if errors:
            return Assessment("ERROR", "; ".join(errors + warnings))
        if warnings:
            return Assessment("WARN", "; ".join(warnings))
        return Assessment("OK", f"publishing depth at {rate:.2f} Hz")

    def _assess_output(
        self, now: float, started: float, output_timeout: float, errors: list[str], warnings: list[str]
    ) -> None:
        p95 = self.inference_ms.percentile(95)
        timeout = max(output_timeout, 3e-3 * p95) if p95 == p95 else output_timeout  # NaN: no frame yet
        frames_before, failures_before = self._at_last_publish
        arrived = self.frames_in - frames_before
        quiet = NodeHealth.silence(self.last_published, started, now)
        receiving = self.last_image is not None and now - self.last_image <= timeout
        if not (receiving and arrived > 0 and quiet > timeout):
            return
        counts = self.failures.snapshot()
        grown = {cause: counts[cause] - failures_before.get(cause, 0) for cause in counts}
        grown = {cause: n for cause, n in grown.items() if n > 0}
        since = "since start" if self.last_published is None else f"for {quiet:.1f} s"
        head = f"no depth published {since} while {arrived} frames arrived"
        if not grown:
            warnings.append(f"{head}: no frame finished processing (inference slower than {timeout:.1f} s?)")
            return
        worst = max(grown, key=grown.get)
        detail = ", ".join(f"{cause} failures +{n}" for cause, n in sorted(grown.items()))
        last = self.failures.last_message.get(worst, "")
        if worst == "backend":
            errors.append(f"{head}: backend keeps failing ({detail}; last: {last})")
        else:
            warnings.append(f"{head}: {detail} (last {worst}: {last})")

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
