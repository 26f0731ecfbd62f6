"""Frames lost before the node, estimated from gaps in the header stamps of the frames that arrived.

A camera stamps frames at a steady period; frames lost in transport (DDS, a saturated link) or by the
driver leave gaps. The period is the median of the recent stamp differences; a difference of ``g`` > 1.5
periods counts ``round(g / period) - 1`` lost frames. Repeated or backwards stamps (a replayed bag, a
reset clock) restart the estimate instead of counting anything. Frames the node itself drops (its
newest-wins mailbox) are counted elsewhere.
"""

from __future__ import annotations

import threading
from collections import deque

__all__ = ["StampGapCounter"]


class StampGapCounter:
    """Thread-safe running estimate; feed ``add(stamp_ns)`` in arrival order."""

    def __init__(self, window: int = 50) -> None:
        self._deltas: deque[int] = deque(maxlen=window)
        self._last: int | None = None
        self._lock = threading.Lock()
        self.lost = 0

    def add(self, stamp_ns: int) -> None:
        with self._lock:
            last, self._last = self._last, stamp_ns
            if last is None:
                return
            delta = stamp_ns - last
            if delta <= 0:
                self._deltas.clear()
                return
            if len(self._deltas) >= 5:
                period = sorted(self._deltas)[len(self._deltas) // 2]
                if delta > 1.5 * period:
                    self.lost += round(delta / period) - 1
                    return  # a gap is not a sample of the period
            self._deltas.append(delta)

    @property
    def period_s(self) -> float | None:
        """The estimated camera period (seconds), once enough frames arrived."""
        with self._lock:
            if len(self._deltas) < 5:
                return None
            return sorted(self._deltas)[len(self._deltas) // 2] / 1e9
