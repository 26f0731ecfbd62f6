"""Ctrl-C / SIGTERM that long loops notice even when the KeyboardInterrupt itself is lost.

Python raises a signal handler's exception wherever the main thread happens to be. When that is Python
code called back from a C extension (rclpy's message deserialiser calls the message class's
``__init__``), the extension may discard the exception and carry on: eval-bag then ran to its end after
a SIGTERM (about 1 in 30 signals in a test). So the handler also records the request, and loops that
must stop check ``requested()`` once per item. A loop that polls anyway (the depth node's spin loop) uses
``record``, which raises nothing: the stop then happens between callbacks, never inside one.
"""

from __future__ import annotations

import threading

__all__ = ["clear", "handle", "record", "requested"]

_REQUESTED = threading.Event()


def handle(signum: int, frame: object) -> None:
    """Signal handler: record the request, then raise KeyboardInterrupt where the main thread is."""
    _REQUESTED.set()
    raise KeyboardInterrupt(f"signal {signum}")


def record(signum: int, frame: object) -> None:
    """Signal handler: record the request only (for loops that poll ``requested()``)."""
    _REQUESTED.set()


def requested() -> bool:
    """Whether an interrupt arrived since the last ``clear()``."""
    return _REQUESTED.is_set()


def clear() -> None:
    _REQUESTED.clear()
