"""Held-out split by time, never by frame: consecutive frames of a recording are near duplicates.

Per bag, the frames from ``1 - heldout`` of its time span onwards are held out; training frames closer
than ``gap_s`` before that cut are dropped from both sides (so no training frame is a neighbour of a
held-out one). A bag with a single frame goes to training. The split is the same on every rank.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

TRAIN, HELDOUT, GAP = "train", "heldout", "gap"


def split_by_time(frames: Sequence[dict[str, Any]], heldout: float, gap_s: float) -> dict[int, str]:
    """``{frame id: train | heldout | gap}`` for index entries with ``id``, ``bag``, ``stamp_ns``."""
    if not 0.0 < heldout < 1.0:
        raise ValueError(f"--heldout must be in (0, 1), got {heldout}")
    if gap_s < 0:
        raise ValueError(f"--gap must be >= 0 s, got {gap_s}")
    by_bag: dict[int, list[dict[str, Any]]] = {}
    for frame in frames:
        by_bag.setdefault(frame["bag"], []).append(frame)
    split: dict[int, str] = {}
    for bag_frames in by_bag.values():
        stamps = [f["stamp_ns"] for f in bag_frames]
        start, end = min(stamps), max(stamps)
        if end == start:
            split.update({f["id"]: TRAIN for f in bag_frames})
            continue
        cut = start + (1.0 - heldout) * (end - start)
        gap_start = cut - gap_s * 1e9
        for frame in bag_frames:
            stamp = frame["stamp_ns"]
            split[frame["id"]] = HELDOUT if stamp >= cut else GAP if stamp >= gap_start else TRAIN
    return split


def check_split_sizes(split: dict[int, str], min_train: int, min_heldout: int = 1) -> tuple[int, int, int]:
    """``(train, heldout, gap)`` counts; ValueError (one line) when too few frames remain."""
    counts = [sum(1 for s in split.values() if s == kind) for kind in (TRAIN, HELDOUT, GAP)]
    if counts[0] < min_train or counts[1] < min_heldout:
        raise ValueError(
            f"too few frames: {len(split)} kept, {counts[0]} for training (need {min_train}) and "
            f"{counts[1]} held out (need {min_heldout}); record longer, lower --every, raise --max-frames "
            "or lower --batch-size / --gap"
        )
    return counts[0], counts[1], counts[2]
