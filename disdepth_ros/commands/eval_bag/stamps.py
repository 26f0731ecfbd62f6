"""Pass 1 of ``eval-bag``: the header stamps of the wanted images and of every ground-truth frame, the
encodings on each topic, and which ground-truth frame each image is paired with (nearest stamp within
the tolerance, ``disdepth_core.bags.pair_by_stamp``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from disdepth_core.bags import BagReadError, deserialize, pair_by_stamp, read_messages, stamp_ns
from disdepth_core.image_encodings import DEPTH_ENCODINGS

__all__ = ["LOOKAHEAD_NS", "Pairing", "StampIndex", "index_stamps", "read_window_ns"]

LOOKAHEAD_NS = 1_000_000_000  # after the last wanted image, read on this long (plus the tolerance) for GT


def read_window_ns(tolerance_ns: int) -> int:
    """How long (receive time) to keep reading after the last wanted image, for late ground truth."""
    return LOOKAHEAD_NS + tolerance_ns


@dataclass
class StampIndex:
    """Header stamps of the wanted images and of all ground-truth frames, in receive order, and the
    encodings seen on each topic (raw images only)."""

    images: list[int] = field(default_factory=list)
    depths: list[int] = field(default_factory=list)
    image_encodings: set[str] = field(default_factory=set)
    depth_encodings: set[str] = field(default_factory=set)

    def check_encodings(self, image_topic: str, depth_topic: str | None) -> None:
        """Refuse a colour topic given as --depth-topic and a depth topic given as --image-topic."""
        if self.depth_encodings and not self.depth_encodings & DEPTH_ENCODINGS:
            raise ValueError(
                f"--depth-topic {depth_topic} carries {', '.join(sorted(self.depth_encodings))} "
                "images, not depth: ground truth must be 16UC1 (millimetres) or 32FC1 (metres), REP 118 "
                "(e.g. a RealSense's /camera/aligned_depth_to_color/image_raw)"
            )
        if self.image_encodings and self.image_encodings <= DEPTH_ENCODINGS:
            raise ValueError(
                f"--image-topic {image_topic} carries depth images "
                f"({', '.join(sorted(self.image_encodings))}), not camera images: give the colour camera's "
                "topic, and this one as --depth-topic"
            )


class Pairing:
    """Which ground-truth stamp each image stamp uses, and how many images still need each one."""

    def __init__(self, index: StampIndex, tolerance_ns: int) -> None:
        self._depths = index.depths
        self._tolerance = tolerance_ns
        self.needed: dict[int, int] = defaultdict(int)
        for match in pair_by_stamp(index.images, index.depths, tolerance_ns):
            if match is not None:
                self.needed[index.depths[match]] += 1

    def partner(self, image_stamp: int) -> int | None:
        match = pair_by_stamp([image_stamp], self._depths, self._tolerance)[0]
        return None if match is None else self._depths[match]


def index_stamps(
    reader: Any, images: list, depths: list, bag: Path, max_frames: int | None, window_ns: int
) -> StampIndex:
    """Pass 1 (header stamps only; rosbags deserialisation is zero-copy for the pixel data): the first
    ``max_frames`` images (None: all) and the ground truth up to ``window_ns`` after the last of them.

    Malformed records and storage damage are skipped here; pass 2 meets them again and reports them.
    """
    index = StampIndex()
    image_ids = {c.id for c in images}
    depth_ids = {c.id for c in depths}
    last_image_ns: int | None = None
    try:
        for conn, receive_ns, raw in read_messages(reader, images + depths, bag):
            full = max_frames is not None and len(index.images) >= max_frames
            if full and last_image_ns is not None and receive_ns > last_image_ns + window_ns:
                break
            try:
                msg = deserialize(reader, raw, conn, bag)
            except BagReadError:
                continue
            stamp = stamp_ns(msg.header.stamp)
            encoding = getattr(msg, "encoding", None)  # CompressedImage has a format instead
            if conn.id in depth_ids:
                index.depths.append(stamp)
                index.depth_encodings.add(encoding)
            if conn.id in image_ids and not full:
                index.images.append(stamp)
                last_image_ns = receive_ns
                if encoding is not None:
                    index.image_encodings.add(encoding)
    except BagReadError:
        pass
    return index
