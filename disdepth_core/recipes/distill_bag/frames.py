"""Camera frames of the distill-bag recipe, read from ROS 2 bags through :mod:`disdepth_core.bags` only.

Per bag: the image topic (``sensor_msgs/Image`` or ``CompressedImage``), optionally a metric depth topic
(REP 118 ``sensor_msgs/Image``: 32FC1 metres or 16UC1 millimetres, sparse or dense) paired with each
image by header stamp (:func:`disdepth_core.bags.pair_by_stamp`, nearest within a tolerance), and
optionally a ``CameraInfo`` topic for the intrinsics. Every ``every``-th image is kept, at most
``max_frames`` in all (bags in the order given).

Two passes per bag: the first deserialises headers only (stamps of images and depth frames, to pair
them); the second decodes the kept images and the depth frames some kept image pairs with, in receive
order, and yields :class:`BagFrame` records. Topics are checked up front (:func:`check_topics`) so a bag
without the topic fails before any teacher runs, with one line naming the bag, the topic and the topics
it has.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from disdepth_core.bags import (
    IMAGE_TYPES,
    decode_image_message,
    deserialize,
    find_topic,
    open_bag,
    pair_by_stamp,
    read_camera_k,
    read_messages,
    stamp_ns,
)
from disdepth_core.bags.images import CAMERA_INFO_TYPE
from disdepth_core.image_encodings import decode_depth

DEPTH_TYPES = ("sensor_msgs/msg/Image",)


@dataclass(frozen=True)
class Topics:
    """The topics a run reads from every bag (depth and camera info optional)."""

    image: str
    depth: str | None = None
    camera_info: str | None = None


@dataclass
class BagFrame:
    """One kept image: which bag, its stamp, the RGB image, and its paired metric depth (or None)."""

    bag: int
    stamp_ns: int
    image: np.ndarray
    depth: np.ndarray | None = None
    depth_stamp_ns: int | None = None


def check_topics(bag: Path, topics: Topics) -> None:
    """One-line BagTopicError-style ValueError unless ``bag`` has every topic of ``topics`` (right types)."""
    wanted = [(topics.image, IMAGE_TYPES, "--image-topic")]
    if topics.depth:
        wanted.append((topics.depth, DEPTH_TYPES, "--depth-topic"))
    if topics.camera_info:
        wanted.append((topics.camera_info, (CAMERA_INFO_TYPE,), "--camera-info-topic"))
    with open_bag(bag) as reader:
        available = {name: info.msgtype for name, info in reader.topics.items()}
    for topic, types, option in wanted:
        if topic not in available:
            listing = ", ".join(
                f"{name} ({kind.rsplit('/', 1)[-1]})" for name, kind in sorted(available.items())
            )
            raise ValueError(f"bag {bag} has no topic {topic!r} ({option}); it has: {listing or 'no topics'}")
        if available[topic] not in types:
            raise ValueError(
                f"bag {bag}: {option} {topic} is {available[topic]}, expected {' or '.join(types)}"
            )


def camera_matrix(bag: Path, topics: Topics) -> np.ndarray | None:
    """The bag's intrinsics (first calibrated CameraInfo) or None without a camera-info topic."""
    return read_camera_k(bag, topics.camera_info) if topics.camera_info else None


def _stamps(bag: Path, topic: str, types: Sequence[str]) -> list[int]:
    with open_bag(bag) as reader:
        connections = find_topic(reader, topic, types, bag)
        return [
            _header_stamp(deserialize(reader, raw, connection, bag), receive)
            for connection, receive, raw in read_messages(reader, connections, bag)
        ]


def _header_stamp(msg: object, receive_ns: int) -> int:
    stamp = stamp_ns(msg.header.stamp)
    return stamp if stamp > 0 else int(receive_ns)


def count_images(bags: Sequence[Path], topics: Topics) -> list[int]:
    """Number of messages on the image topic of each bag (from the bag index, no decoding)."""
    counts = []
    for bag in bags:
        with open_bag(bag) as reader:
            counts.append(sum(c.msgcount for c in find_topic(reader, topics.image, IMAGE_TYPES, bag)))
    return counts


def iter_frames(
    bags: Sequence[Path],
    topics: Topics,
    every: int = 1,
    max_frames: int = 0,
    tolerance_ns: int = 50_000_000,
    wanted: set[int] | None = None,
) -> Iterator[tuple[int, BagFrame]]:
    """``(frame_id, frame)`` for the kept images of ``bags`` (ids count kept images over all bags).

    ``wanted`` limits decoding to those frame ids (the others are skipped without decoding: resume and
    DDP shards); their depth partners are decoded only when needed.
    """
    if every < 1:
        raise ValueError(f"--every must be >= 1, got {every}")
    frame_id = 0
    for bag_index, bag in enumerate(bags):
        image_stamps = _stamps(bag, topics.image, IMAGE_TYPES)
        kept = list(range(0, len(image_stamps), every))
        if max_frames > 0:
            kept = kept[: max(0, max_frames - frame_id)]
        ids = {position: frame_id + n for n, position in enumerate(kept)}
        frame_id += len(kept)
        if wanted is not None:
            ids = {position: fid for position, fid in ids.items() if fid in wanted}
        if not ids:
            continue
        partners: dict[int, int] = {}
        if topics.depth:
            depth_stamps = _stamps(bag, topics.depth, DEPTH_TYPES)
            queries = [image_stamps[p] for p in ids]
            for position, match in zip(ids, pair_by_stamp(queries, depth_stamps, tolerance_ns), strict=True):
                if match is not None:
                    partners[position] = depth_stamps[match]
        yield from _decode(bag, bag_index, topics, ids, partners)
        if max_frames > 0 and frame_id >= max_frames:
            return


def _decode(
    bag: Path, bag_index: int, topics: Topics, ids: dict[int, int], partners: dict[int, int]
) -> Iterator[tuple[int, BagFrame]]:
    """Second pass: decode wanted images and their depth partners in receive order; a depth frame is
    held only until every image paired with it has been yielded."""
    remaining = Counter(partners.values())
    depth_frames: dict[int, np.ndarray] = {}
    waiting: dict[int, list[tuple[int, BagFrame]]] = {}
    with open_bag(bag) as reader:
        connections = find_topic(reader, topics.image, IMAGE_TYPES, bag)
        if topics.depth:
            connections = connections + find_topic(reader, topics.depth, DEPTH_TYPES, bag)
        position = -1
        for connection, receive, raw in read_messages(reader, connections, bag):
            msg = deserialize(reader, raw, connection, bag)
            stamp = _header_stamp(msg, receive)
            if connection.topic == topics.image:
                position += 1
                if position not in ids:
                    continue
                try:
                    image = decode_image_message(msg, connection.msgtype)
                except ValueError as error:
                    raise ValueError(f"bag {bag}, {topics.image} message {position}: {error}") from None
                frame = BagFrame(bag_index, stamp, image)
                partner = partners.get(position)
                if partner is None:
                    yield ids[position], frame
                elif partner in depth_frames:
                    yield ids[position], _attach(frame, depth_frames, remaining, partner)
                else:
                    waiting.setdefault(partner, []).append((ids[position], frame))
            elif remaining.get(stamp) and stamp not in depth_frames:
                data = msg.data.tobytes() if hasattr(msg.data, "tobytes") else msg.data
                depth_frames[stamp] = decode_depth(
                    msg.encoding, msg.height, msg.width, msg.step, data, bool(msg.is_bigendian)
                )
                for fid, frame in waiting.pop(stamp, []):
                    yield fid, _attach(frame, depth_frames, remaining, stamp)
    for frames in waiting.values():  # partners that never arrived (damaged bag): frames without depth
        yield from frames


def _attach(frame: BagFrame, depth_frames: dict[int, np.ndarray], remaining: Counter, stamp: int) -> BagFrame:
    frame.depth, frame.depth_stamp_ns = depth_frames[stamp], stamp
    remaining[stamp] -= 1
    if remaining[stamp] <= 0:
        del depth_frames[stamp]
    return frame
