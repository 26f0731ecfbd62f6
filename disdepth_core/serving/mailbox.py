"""A single-slot, newest-wins mailbox between the subscription callback and the inference worker."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

__all__ = ["LatestMailbox"]

T = TypeVar("T")


class LatestMailbox(Generic[T]):
    """Holds at most one item: `put` replaces an unprocessed item (counted in `dropped`), `get` takes it.

    This keeps latency bounded when inference is slower than the camera: the worker always processes the
    newest frame and stale ones are dropped, never queued.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._item: T | None = None
        self._closed = False
        self.dropped = 0

    def put(self, item: T) -> bool:
        """Store `item`; returns True when it replaced an item the worker had not taken yet."""
        with self._condition:
            replaced = self._item is not None
            if replaced:
                self.dropped += 1
            self._item = item
            self._condition.notify()
            return replaced

    def get(self, timeout: float | None = None) -> T | None:
        """Take the newest item, waiting up to `timeout` seconds; None on timeout or after `close`."""
        with self._condition:
            self._condition.wait_for(lambda: self._item is not None or self._closed, timeout)
            item, self._item = self._item, None
            return None if self._closed else item

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Wake and release a waiting `get` for good (shutdown)."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
