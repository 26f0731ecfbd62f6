"""The bag layer's errors; every message names the bag file and, where one is involved, the topic."""

from __future__ import annotations

__all__ = ["BagError", "BagReadError", "BagTopicError"]


class BagError(RuntimeError):
    """A bag that cannot be opened, read or written."""


class BagTopicError(BagError):
    """A topic is missing from a bag or has the wrong type; the message lists the bag's topics."""


class BagReadError(BagError):
    """Reading stopped part-way through a bag (corrupt or truncated storage).

    ``messages_read`` messages got through before the damage, so callers can keep what they have.
    """

    def __init__(self, message: str, messages_read: int = 0) -> None:
        super().__init__(message)
        self.messages_read = messages_read
