"""Pair messages of two topics by header stamp (nearest within a tolerance), like an approximate-time sync.

Used to match camera frames with ground-truth depth frames in a bag, and the depth node's outputs with
the frames that were played to it. Each query gets the reference with the nearest stamp if it is within
``tolerance_ns`` (ties go to the earlier reference); one reference may serve several queries (e.g. a
30 Hz camera against 10 Hz ground truth with a generous tolerance).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["pair_by_stamp"]


def pair_by_stamp(queries: Sequence[int], references: Sequence[int], tolerance_ns: int) -> list[int | None]:
    """For each query stamp (ns), the index into ``references`` of its nearest stamp within ``tolerance_ns``.

    Returns None for a query without a reference that close. Stamps need not be sorted.
    """
    if tolerance_ns < 0:
        raise ValueError(f"stamp tolerance must be >= 0, got {tolerance_ns} ns")
    query = np.asarray(queries, dtype=np.int64)
    if len(references) == 0:
        return [None] * len(query)
    reference = np.asarray(references, dtype=np.int64)
    order = np.argsort(reference, kind="stable")
    ordered = reference[order]
    position = np.searchsorted(ordered, query)
    left = np.clip(position - 1, 0, len(ordered) - 1)
    right = np.clip(position, 0, len(ordered) - 1)
    left_gap = np.abs(query - ordered[left])
    right_gap = np.abs(ordered[right] - query)
    nearest = np.where(right_gap < left_gap, right, left)
    gap = np.minimum(left_gap, right_gap)
    return [int(order[n]) if g <= tolerance_ns else None for n, g in zip(nearest, gap, strict=True)]
