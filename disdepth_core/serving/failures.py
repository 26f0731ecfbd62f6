"""Per-frame failures of a serving loop: classified, counted per cause, logged throttled per cause.

A perception node must never stop on a bad message (a robot would drive on stale depth while everything
looks healthy). Every failure of the per-frame path is one of ``FAILURE_CAUSES``; the node counts it,
logs at most one line per cause every ``throttle_s`` seconds (with how many were suppressed), drops the
frame and keeps serving; its diagnostics show the counters.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

__all__ = ["FAILURE_CAUSES", "FailureLog", "FrameFailure"]

FAILURE_CAUSES: dict[str, str] = {
    "bad_input": "image rejected before decoding (size limit, empty or malformed message)",
    "decode": "image could not be decoded",
    "camera_info": "camera_info unusable for this image (published without camera_info and points)",
    "backend": "inference failed",
    "output": "output messages could not be built",
    "scale": "no metric scale yet (a relative-depth model waits for its scale source)",
}


@dataclass(frozen=True)
class FrameFailure:
    """Why one frame (or one of its outputs) was dropped: a cause of ``FAILURE_CAUSES`` and a message."""

    cause: str
    message: str

    def __post_init__(self) -> None:
        if self.cause not in FAILURE_CAUSES:
            raise ValueError(f"unknown failure cause {self.cause!r}; one of {', '.join(FAILURE_CAUSES)}")


class FailureLog:
    """Thread-safe counters per cause, and the throttling decision for logging each cause."""

    def __init__(self, throttle_s: float = 5.0) -> None:
        self.throttle_s = throttle_s
        self._lock = threading.Lock()
        self.counts: dict[str, int] = dict.fromkeys(FAILURE_CAUSES, 0)
        self.last_message: dict[str, str] = {}
        self._last_logged: dict[str, float] = {}
        self._suppressed: dict[str, int] = dict.fromkeys(FAILURE_CAUSES, 0)

    def record(self, failure: FrameFailure, now: float) -> str | None:
        """Count ``failure``; return the line to log now, or None while its cause is throttled."""
        with self._lock:
            cause = failure.cause
            self.counts[cause] += 1
            self.last_message[cause] = failure.message
            last = self._last_logged.get(cause)
            if last is not None and now - last < self.throttle_s:
                self._suppressed[cause] += 1
                return None
            self._last_logged[cause] = now
            suppressed, self._suppressed[cause] = self._suppressed[cause], 0
            more = f" ({suppressed} more since the last report)" if suppressed else ""
            return f"{FAILURE_CAUSES[cause]}: {failure.message}{more}"

    def snapshot(self) -> dict[str, int]:
        """A copy of the counters."""
        with self._lock:
            return dict(self.counts)

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.counts.values())
