"""Offline evaluation of a depth model on a ROS 2 bag, through the depth node's own per-frame path.

Every image goes through `disdepth_ros.pipeline.FramePipeline` (the node's decode -> predict -> limits ->
outputs, with the node's runtime options: backend, device, precision, threads, input size); unlike the
live node, no frame is dropped for being late. Ground truth is REP 118 depth (16UC1 millimetres with 0
invalid, or 32FC1 metres with NaN invalid), paired to each image by header stamp: the nearest
ground-truth stamp within `stamp_tolerance_s`. A ground-truth image of another size than the camera
image is compared with the prediction resized to it (nearest neighbour), which assumes depth registered
to the colour camera (e.g. RealSense `aligned_depth_to_color`). Scores come from
`disdepth_core.evaluation.DepthScorer` (every alignment mode, coverage figures), the same scorer as
`disdepth eval`.

Two passes over the bag (read through `disdepth_core.bags`): the first reads only header stamps (to pair
frames and to know which ground-truth frames are needed), the second decodes and predicts in receive
order while holding only the ground-truth frames and predictions still waiting for their partner.
`camera_info` is taken as the node would: the latest one received before the image.

The metric scale comes from `scale.spec` as in the node (`disdepth_core.scale`): the camera mount from
`scale.mount` (measured numbers) or from the bag's own `/tf` and `/tf_static` (`base_frame <- image
frame_id` at each image's stamp), sparse depth from `sparse_depth_topic`, range readings from
`range_topic` (each used once, by the first image within `SCALE_INPUT_MAX_AGE_S` of it). Frames are
scored as the model predicted them (raw, median, ...) and as published with the scale source's factor
(the `scale_source` row); every frame's scale, source and state are in `frames.csv`, and the summary
counts frames per source and state.

A bad message costs one frame, never the run: an undecodable image or ground-truth frame, a malformed
record, an unusable camera_info (the frame is still scored, without camera_info and points in the
output bag) or a failing backend call is counted and listed (topic, stamp, cause, reason) in the summary.
A bag damaged part-way stops reading where the damage is; the results up to there are written and the
error is reported. Interrupting (SIGINT, or SIGTERM from the CLI) does the same and discards the output
bag. Outputs in `out_dir` (each file written atomically): `summary.json`, `frames.csv`, `report.png`;
with `write_bag`, a bag holding the input images and camera_info plus the node's outputs
(`depth/image` 32FC1, `depth/camera_info`, organized `points`) for replay in rviz or Foxglove.
"""

from __future__ import annotations

import time
from collections import defaultdict
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from disdepth_core import interrupts
from disdepth_core.bags import (
    IMAGE_TYPES,
    BagReadError,
    deserialize,
    find_topic,
    open_bag,
    pair_by_stamp,
    read_messages,
    stamp_ns,
)
from disdepth_core.bags.tf import read_tf
from disdepth_core.cli.scale_args import ScaleOptions
from disdepth_core.deployment import open_estimator
from disdepth_core.evaluation import (
    ALIGNMENTS,
    METRIC_KEYS,
    PROTOCOLS,
    DepthScorer,
    EvalRange,
    accuracy_line,
)
from disdepth_core.evaluation.scoring import SCALE_SOURCE
from disdepth_core.evaluation.stats import depth_stats, percentiles
from disdepth_core.files import write_csv, write_json
from disdepth_core.geometry import DEFAULT_CLOUD_STRIDE
from disdepth_core.image_encodings import DEPTH_ENCODINGS
from disdepth_core.runtime import DepthEstimator
from disdepth_core.runtime.options import RuntimeOptions
from disdepth_core.scale import ScaleSettings, ScaleTracker, TrackerSettings, TransformBuffer
from disdepth_core.scale.advice import own_scale_warning
from disdepth_core.scale.mount_source import MountSource
from disdepth_core.scale.rotations import Rigid
from disdepth_core.serving.failures import FAILURE_CAUSES, FrameFailure
from disdepth_core.serving.limits import DEFAULT_MAX_INPUT_PIXELS
from disdepth_core.visualize.preview import render_report
from disdepth_ros.bag_messages import MessageBagWriter, read_message
from disdepth_ros.conversions import depth_msg_to_array
from disdepth_ros.outputs import OUTPUT_TOPICS, OutputSettings
from disdepth_ros.pipeline import FramePipeline, ScaleInputs
from disdepth_ros.scale_inputs import Measurement, range_reading

__all__ = [
    "DEFAULT_GT_RANGE",
    "FRAME_COLUMNS",
    "EvalConfig",
    "EvalResult",
    "evaluate_bag",
    "output_topic",
    "write_results",
]

DEPTH_TYPES = ("sensor_msgs/msg/Image",)
CAMERA_INFO_TYPES = ("sensor_msgs/msg/CameraInfo",)
RANGE_TYPES = ("sensor_msgs/msg/Range",)
SCALE_INPUT_MAX_AGE_S = 0.2  # as the node's sparse_depth_max_age default
LOOKAHEAD_NS = 1_000_000_000  # after the last wanted image, read on this long (plus the tolerance) for GT
MAX_LISTED_FAILURES = 1000
DEFAULT_GT_RANGE = PROTOCOLS["rgbd"]  # scored ground truth of a recording: real depth sensors, 0.1-80 m
WRITTEN_OUTPUTS = ("depth", "camera_info", "points")
FRAME_COLUMNS = (
    "index",
    "stamp_ns",
    "status",
    "paired",
    "gt_stamp_ns",
    "gt_dt_ms",
    "latency_ms",
    "inference_ms",
    "depth_valid_fraction",
    "depth_min_m",
    "depth_median_m",
    "depth_max_m",
    "n_scored",
    "gt_in_range",
    "prediction",
    "scale",
    "scale_source",
    "scale_state",
    "scale_reason",
    *(f"{alignment}_{key}" for alignment in (*ALIGNMENTS, SCALE_SOURCE) for key in METRIC_KEYS),
)


@dataclass(frozen=True)
class EvalConfig:
    """What to evaluate and where to write it (see `disdepth eval-bag --help` for each option).

    `min_depth`/`max_depth` bound the scored ground truth (None: `DEFAULT_GT_RANGE`'s, never the
    model's, so two models on one bag are scored on the same pixels); `crop` is an evaluation crop (None,
    "eigen", "garg"); `runtime` are the node's runtime options; `scale` the scale source, base frame and
    measured mount; `sparse_depth_topic`/`range_topic` feed those sources.
    """

    bag: Path
    model: Path
    image_topic: str
    out_dir: Path
    depth_topic: str | None = None
    camera_info_topic: str | None = None
    write_bag: Path | None = None
    write_storage: str = "mcap"
    stamp_tolerance_s: float = 0.01
    runtime: RuntimeOptions = field(default_factory=RuntimeOptions)
    max_frames: int | None = None
    min_depth: float | None = None
    max_depth: float | None = None
    crop: str | None = None
    cloud_stride: int = DEFAULT_CLOUD_STRIDE
    points_rgb: bool = False
    output_prefix: str = "/disdepth"
    max_input_pixels: int = DEFAULT_MAX_INPUT_PIXELS
    scale: ScaleOptions = field(default_factory=ScaleOptions)
    tracking: TrackerSettings = field(default_factory=TrackerSettings)
    sparse_depth_topic: str | None = None
    range_topic: str | None = None

    def __post_init__(self) -> None:
        if self.stamp_tolerance_s < 0:
            raise ValueError(f"--stamp-tolerance must be >= 0 s, got {self.stamp_tolerance_s}")
        if self.max_frames is not None and self.max_frames < 1:
            raise ValueError(f"--max-frames must be >= 1, got {self.max_frames}")
        if self.cloud_stride < 1:
            raise ValueError(f"--cloud-stride must be >= 1, got {self.cloud_stride}")
        if self.max_input_pixels < 1:
            raise ValueError(f"--max-input-pixels must be >= 1, got {self.max_input_pixels}")

    @property
    def tolerance_ns(self) -> int:
        return round(self.stamp_tolerance_s * 1e9)


@dataclass
class EvalResult:
    """Summary (what `summary.json` holds), per-frame rows (`frames.csv`) and the report inputs."""

    summary: dict[str, Any]
    rows: list[dict[str, Any]]
    error: str | None = None
    sample: dict[str, Any] | None = None
    error_by_distance: dict[str, list[float]] | None = None
    depth_values: np.ndarray | None = None


@dataclass
class _StampIndex:
    """Pass 1: header stamps of the wanted images and of all ground-truth frames, in receive order, and
    the encodings seen on each topic (raw images only)."""

    images: list[int] = field(default_factory=list)
    depths: list[int] = field(default_factory=list)
    image_encodings: set[str] = field(default_factory=set)
    depth_encodings: set[str] = field(default_factory=set)

    def check_encodings(self, config: EvalConfig) -> None:
        """Refuse a colour topic given as --depth-topic and a depth topic given as --image-topic."""
        if self.depth_encodings and not self.depth_encodings & DEPTH_ENCODINGS:
            raise ValueError(
                f"--depth-topic {config.depth_topic} carries {', '.join(sorted(self.depth_encodings))} "
                "images, not depth: ground truth must be 16UC1 (millimetres) or 32FC1 (metres), REP 118 "
                "(e.g. a RealSense's /camera/aligned_depth_to_color/image_raw)"
            )
        if self.image_encodings and self.image_encodings <= DEPTH_ENCODINGS:
            raise ValueError(
                f"--image-topic {config.image_topic} carries depth images "
                f"({', '.join(sorted(self.image_encodings))}), not camera images: give the colour camera's "
                "topic, and this one as --depth-topic"
            )


class _Pairing:
    """Which ground-truth stamp each image stamp uses, and how many images still need each one."""

    def __init__(self, index: _StampIndex, tolerance_ns: int) -> None:
        self._depths = index.depths
        self._tolerance = tolerance_ns
        self.needed: dict[int, int] = defaultdict(int)
        for match in pair_by_stamp(index.images, index.depths, tolerance_ns):
            if match is not None:
                self.needed[index.depths[match]] += 1

    def partner(self, image_stamp: int) -> int | None:
        match = pair_by_stamp([image_stamp], self._depths, self._tolerance)[0]
        return None if match is None else self._depths[match]


class _Failures:
    """Every message that cost a frame (or part of one): counted per cause, the first ones listed."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = dict.fromkeys(FAILURE_CAUSES, 0)
        self.listed: list[dict[str, Any]] = []

    def add(self, topic: str, stamp: int | None, failure: FrameFailure) -> None:
        self.counts[failure.cause] += 1
        if len(self.listed) < MAX_LISTED_FAILURES:
            self.listed.append(
                {"topic": topic, "stamp_ns": stamp, "cause": failure.cause, "reason": failure.message}
            )

    def summary(self) -> dict[str, Any]:
        total = sum(self.counts.values())
        return {"counts": self.counts, "listed": self.listed, "not_listed": total - len(self.listed)}


class _Evaluation:
    """Pass 2 state: pipeline, counts, scorer, rows, ground truth and predictions waiting for each other."""

    def __init__(
        self,
        config: EvalConfig,
        estimator: DepthEstimator,
        pairing: _Pairing,
        n_images: int,
        mounts: MountSource,
    ) -> None:
        info = estimator.info
        self.config = config
        self.estimator = estimator
        self.pairing = pairing
        self.mounts = mounts
        self.sparse, self.ranges = Measurement(), Measurement()
        settings = OutputSettings(
            min_depth=0.0,
            max_depth=float("inf"),
            publish_colorized=False,
            publish_points=True,
            points_rgb=config.points_rgb,
            cloud_stride=config.cloud_stride,
        )
        tracker = ScaleTracker(
            config.scale.spec, ScaleSettings(), config.tracking, relative_model=info.relative
        )
        self.pipeline = FramePipeline(
            estimator, settings, compressed=False, max_input_pixels=config.max_input_pixels, scale=tracker
        )
        self.scorer = DepthScorer(
            EvalRange(
                DEFAULT_GT_RANGE.min_depth if config.min_depth is None else config.min_depth,
                DEFAULT_GT_RANGE.max_depth if config.max_depth is None else config.max_depth,
                config.crop,
            ),
            scale_source=config.scale.spec,
        )
        self.scale_states: dict[str, int] = defaultdict(int)
        self.counts = dict.fromkeys(("read", "predicted", "paired", "unpaired", "failed", "gt_read"), 0)
        self.failures = _Failures()
        self.rows: list[dict[str, Any]] = []
        self.latencies: list[float] = []
        self.inference: list[float] = []
        self.gt_frames: dict[int, np.ndarray | None] = {}  # None: that ground truth was unreadable
        self.waiting: dict[int, list[tuple[dict[str, Any], tuple[np.ndarray, float], np.ndarray]]] = (
            defaultdict(list)
        )
        self.camera_info: Any = None
        self.sample: dict[str, Any] | None = None
        self.sample_target = n_images // 2
        self.depth_values: list[np.ndarray] = []

    # -- ground truth -------------------------------------------------------------------------------
    def on_depth(self, msg: Any) -> None:
        self.counts["gt_read"] += 1
        stamp = stamp_ns(msg.header.stamp)
        if not self.pairing.needed.get(stamp):
            return
        try:
            gt = depth_msg_to_array(msg, self.config.max_input_pixels)
        except ValueError as error:
            self.failures.add(
                self.config.depth_topic or "", stamp, FrameFailure("decode", f"ground truth: {error}")
            )
            gt = None
        for row, depth, rgb in self.waiting.pop(stamp, []):
            self._pair(row, depth, rgb, gt, stamp)
        if self.pairing.needed.get(stamp):
            self.gt_frames[stamp] = gt

    # -- images -------------------------------------------------------------------------------------
    def on_image(self, msg: Any, writer: MessageBagWriter | None, receive_ns: int) -> None:
        index = self.counts["read"]
        self.counts["read"] += 1
        stamp = stamp_ns(msg.header.stamp)
        row: dict[str, Any] = {"index": index, "stamp_ns": stamp, "paired": False}
        self.rows.append(row)
        wanted = ("points",) if writer is not None else ()
        outcome = self.pipeline.process(msg, self.camera_info, wanted, self._scale_inputs(msg, stamp))
        decision = outcome.scale
        if decision is not None:
            self.scale_states[f"{decision.source} ({decision.state})"] += 1
            row.update(
                scale=decision.scale,
                scale_source=decision.source,
                scale_state=decision.state,
                scale_reason=decision.reason,
            )
        for problem in outcome.problems:
            self.failures.add(self.config.camera_info_topic or self.config.image_topic, stamp, problem)
        if outcome.failure is not None:
            self.counts["failed"] += 1
            row["status"] = f"{outcome.failure.cause}: {outcome.failure.message}"
            self.failures.add(self.config.image_topic, stamp, outcome.failure)
            return
        depth, rgb, model_depth = outcome.depth, outcome.rgb, outcome.model_depth
        assert depth is not None and rgb is not None and model_depth is not None and decision is not None
        row["latency_ms"] = outcome.timings.total_ms
        row["inference_ms"] = outcome.timings.inference_ms
        self.latencies.append(row["latency_ms"])
        self.inference.append(row["inference_ms"])
        self.counts["predicted"] += 1
        row["status"] = "ok" if not outcome.problems else f"ok ({outcome.problems[0].cause} unusable)"
        row.update({f"depth_{key}": value for key, value in depth_stats(depth).items()})
        self._keep_depth_values(depth)
        if writer is not None:
            writer.write_message(self.config.image_topic, msg, receive_ns)
            for name in WRITTEN_OUTPUTS:
                if name in outcome.messages:
                    writer.write_message(output_topic(self.config, name), outcome.messages[name], receive_ns)
        if index >= self.sample_target and self.sample is None:
            self.sample = {"index": index, "rgb": rgb, "pred": depth, "gt": None}
        partner = self.pairing.partner(stamp)
        scored = (model_depth, decision.scale)  # scored as predicted, and with the source's factor
        if partner is None:
            self.counts["unpaired"] += 1
        elif partner in self.gt_frames:
            self._pair(row, scored, rgb, self.gt_frames[partner], partner)
        else:
            self.waiting[partner].append((row, scored, rgb))

    def _scale_inputs(self, msg: Any, stamp: int) -> ScaleInputs:
        """The mount at this image, and the sparse depth and range reading no earlier image used."""
        sparse = None
        sparse_msg = self.sparse.take(stamp, SCALE_INPUT_MAX_AGE_S)
        if sparse_msg is not None:
            try:
                sparse = depth_msg_to_array(sparse_msg, self.config.max_input_pixels)
            except ValueError as error:
                self.failures.add(
                    self.config.sparse_depth_topic or "",
                    stamp,
                    FrameFailure("bad_input", f"sparse depth: {error}"),
                )
        reading = None
        range_msg = self.ranges.take(stamp, SCALE_INPUT_MAX_AGE_S)
        if range_msg is not None:
            reading = range_reading(range_msg, self._camera_from_range(msg.header.frame_id, range_msg))
        return ScaleInputs(self.mounts.mount_for(msg.header), sparse, reading)

    def _camera_from_range(self, camera_frame: str, msg: Any) -> Rigid:
        """The range sensor in the camera frame from the bag's TF; co-located and looking along the
        optical axis when the bag has no such transform."""
        if self.mounts.lookup is not None:
            try:
                return self.mounts.lookup(camera_frame, msg.header.frame_id, stamp_ns(msg.header.stamp))
            except Exception:  # TransformLookupError: no transform for the range frame in this bag
                pass
        return Rigid(np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]), np.zeros(3))

    def _keep_depth_values(self, depth: np.ndarray) -> None:
        """A bounded subsample of valid predicted depths for the no-ground-truth histogram."""
        valid = depth[np.isfinite(depth)]
        self.depth_values.append(valid[:: max(1, valid.size // 2000)])

    def _pair(
        self,
        row: dict[str, Any],
        scored: tuple[np.ndarray, float],
        rgb: np.ndarray,
        gt: np.ndarray | None,
        gt_stamp: int,
    ) -> None:
        """Score (model depth, the scale source's factor) of one image against its ground truth."""
        depth, factor = scored
        remaining = self.pairing.needed[gt_stamp] = self.pairing.needed[gt_stamp] - 1
        if remaining <= 0:
            self.gt_frames.pop(gt_stamp, None)
        if gt is None:
            row["status"] = "ground truth unreadable"
            self.counts["unpaired"] += 1
            return
        if depth.shape != gt.shape:
            depth = cv2.resize(depth, (gt.shape[1], gt.shape[0]), interpolation=cv2.INTER_NEAREST)
            row["status"] = "ok (prediction resized to ground truth)"
        row.update(self.scorer.add(depth, gt, source_scale=factor).row())
        row.update({"paired": True, "gt_stamp_ns": gt_stamp, "gt_dt_ms": (row["stamp_ns"] - gt_stamp) / 1e6})
        self.counts["paired"] += 1
        if row["index"] >= self.sample_target and (self.sample is None or self.sample["gt"] is None):
            self.sample = {"index": row["index"], "rgb": rgb, "pred": depth * np.float32(factor), "gt": gt}

    def finish(self) -> None:
        """Predictions whose ground truth never arrived (damaged bag, `max_frames` cut) are unpaired."""
        for waiting in self.waiting.values():
            for row, _, _ in waiting:
                row["status"] = "ground truth not read"
                self.counts["unpaired"] += 1
        self.waiting.clear()


def output_topic(config: EvalConfig, name: str) -> str:
    """Topic of node output `name` in the written bag: `<output_prefix>/<node topic>`."""
    return f"{config.output_prefix.rstrip('/')}/{OUTPUT_TOPICS[name][0]}"


def _index_stamps(reader: Any, images: list, depths: list, config: EvalConfig) -> _StampIndex:
    """Pass 1 (header stamps only; rosbags deserialisation is zero-copy for the pixel data).

    Malformed records and storage damage are skipped here; pass 2 meets them again and reports them.
    """
    index = _StampIndex()
    image_ids = {c.id for c in images}
    depth_ids = {c.id for c in depths}
    last_image_ns: int | None = None
    try:
        for conn, receive_ns, raw in read_messages(reader, images + depths, config.bag):
            full = config.max_frames is not None and len(index.images) >= config.max_frames
            if full and last_image_ns is not None and receive_ns > last_image_ns + _window_ns(config):
                break
            try:
                msg = deserialize(reader, raw, conn, config.bag)
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


def evaluate_bag(
    config: EvalConfig, estimator: DepthEstimator | None = None, progress: bool = True
) -> EvalResult:
    """Evaluate `config.model` (or a ready `estimator`) on `config.bag`; nothing is written here.

    Raises FileNotFoundError for a missing bag or model, BagError for an unreadable bag or a missing
    topic (listing the bag's topics). A bag damaged part-way, bad messages and an interruption are not
    exceptions: the result carries what was evaluated, the failures and `error`.
    """
    with open_bag(config.bag) as reader:
        image_conns = find_topic(reader, config.image_topic, IMAGE_TYPES, config.bag)
        depth_conns = (
            find_topic(reader, config.depth_topic, DEPTH_TYPES, config.bag) if config.depth_topic else []
        )
        info_conns = (
            find_topic(reader, config.camera_info_topic, CAMERA_INFO_TYPES, config.bag)
            if config.camera_info_topic
            else []
        )
        sparse_conns = (
            find_topic(reader, config.sparse_depth_topic, DEPTH_TYPES, config.bag)
            if config.sparse_depth_topic
            else []
        )
        range_conns = (
            find_topic(reader, config.range_topic, RANGE_TYPES, config.bag) if config.range_topic else []
        )
        compressed = image_conns[0].msgtype.endswith("CompressedImage")
        if estimator is None:
            if not config.model.is_file():
                raise FileNotFoundError(f"model {config.model} does not exist; pass --model PATH")
            estimator = open_estimator(config.model, config.runtime)
        index = _index_stamps(reader, image_conns, depth_conns, config)
        index.check_encodings(config)
        mounts = _bag_mounts(reader, config)
        state = _Evaluation(
            config, estimator, _Pairing(index, config.tolerance_ns), len(index.images), mounts
        )
        state.pipeline.compressed = compressed
        started = time.perf_counter()
        connections = image_conns + depth_conns + info_conns + sparse_conns + range_conns
        error, written = _run(reader, config, state, connections, compressed, len(index.images), progress)
        elapsed = time.perf_counter() - started
    state.finish()
    return EvalResult(
        summary=_summary(config, state, error, elapsed, compressed, written),
        rows=state.rows,
        error=error,
        sample=state.sample,
        error_by_distance=state.scorer.error_by_distance() if config.depth_topic else None,
        depth_values=np.concatenate(state.depth_values) if state.depth_values else None,
    )


def _bag_mounts(reader: Any, config: EvalConfig) -> MountSource:
    """The measured mount when given, else the bag's own TF (all of it, read once), else none."""
    options = config.scale
    if options.mount is not None:
        return MountSource(options.base_frame, options.mount)
    buffer = TransformBuffer(cache_s=None)
    if read_tf(reader, config.bag, buffer) == 0:
        return MountSource(
            options.base_frame,
            missing=f"no camera mount: {config.bag} has no /tf or /tf_static and no --camera-height given",
        )
    return MountSource(options.base_frame, lookup=buffer.lookup, transport="the bag's /tf and /tf_static")


class _InterruptedError(Exception):
    """Raised inside the output-bag context so an interrupted run discards the bag it was writing."""


def _run(
    reader: Any,
    config: EvalConfig,
    state: _Evaluation,
    connections: list,
    compressed: bool,
    total: int,
    progress: bool,
) -> tuple[str | None, dict[str, Any] | None]:
    """Pass 2; returns (error message if the bag was damaged or reading was interrupted, written bag)."""
    image_ids = {c.id for c in connections if c.topic == config.image_topic}
    error: str | None = None
    written: dict[str, Any] | None = None
    writer_context = (
        MessageBagWriter(config.write_bag, config.write_storage) if config.write_bag else nullcontext()
    )
    try:
        with (
            writer_context as writer,
            tqdm(total=total, desc=f"eval {config.bag.name}", unit="frame", disable=not progress) as bar,
        ):
            if writer is not None:
                _declare_output_topics(writer, config, compressed)
            error = _read_loop(reader, config, state, connections, image_ids, writer, bar)
            if error is not None and error.startswith("interrupted"):
                raise _InterruptedError(error)
            if writer is not None:
                written = {"path": str(config.write_bag), "messages": dict(writer.counts)}
    except (_InterruptedError, KeyboardInterrupt):  # the latter: interrupted before the read loop began
        error = error or f"interrupted after {state.counts['read']} frames"
        written = {"path": None, "discarded": "run interrupted; the output bag was not kept"}
    return error, written


def _read_loop(
    reader: Any,
    config: EvalConfig,
    state: _Evaluation,
    connections: list,
    image_ids: set[int],
    writer: MessageBagWriter | None,
    bar: Any,
) -> str | None:
    last_image_ns = 0
    try:
        for conn, receive_ns, raw in read_messages(reader, connections, config.bag):
            if interrupts.requested():  # a KeyboardInterrupt raised inside a C extension can be lost
                raise KeyboardInterrupt
            done = config.max_frames is not None and state.counts["read"] >= config.max_frames
            if done and (not state.waiting or receive_ns > last_image_ns + _window_ns(config)):
                break
            is_image = conn.id in image_ids
            if is_image and done:
                continue
            try:
                msg = read_message(raw, conn.msgtype, conn.topic, config.bag)
            except BagReadError as malformed:
                state.failures.add(conn.topic, None, FrameFailure("bad_input", str(malformed)))
                if is_image:
                    state.counts["read"] += 1
                    state.counts["failed"] += 1
                    bar.update(1)
                continue
            if conn.topic == config.sparse_depth_topic:
                state.sparse.put(msg, receive_ns)
            elif conn.topic == config.range_topic:
                state.ranges.put(msg, receive_ns)
            elif conn.topic == config.camera_info_topic:
                state.camera_info = msg
                if writer is not None:
                    writer.write_message(conn.topic, msg, receive_ns)
            elif is_image:
                state.on_image(msg, writer, receive_ns)
                last_image_ns = receive_ns
                bar.update(1)
            else:
                state.on_depth(msg)
    except BagReadError as damaged:
        return str(damaged)
    except KeyboardInterrupt:
        return f"interrupted after {state.counts['read']} frames"
    return None


def _window_ns(config: EvalConfig) -> int:
    """How long (receive time) to keep reading after the last wanted image, for late ground truth."""
    return LOOKAHEAD_NS + config.tolerance_ns


def _declare_output_topics(writer: MessageBagWriter, config: EvalConfig, compressed: bool) -> None:
    from sensor_msgs.msg import CameraInfo, CompressedImage, Image

    writer.add_message_topic(config.image_topic, CompressedImage if compressed else Image)
    if config.camera_info_topic:
        writer.add_message_topic(config.camera_info_topic, CameraInfo)
    for name in WRITTEN_OUTPUTS:
        writer.add_message_topic(output_topic(config, name), OUTPUT_TOPICS[name][1])


def _summary(
    config: EvalConfig,
    state: _Evaluation,
    error: str | None,
    elapsed: float,
    compressed: bool,
    written: dict[str, Any] | None,
) -> dict[str, Any]:
    estimator = state.estimator
    counts = dict(state.counts)
    runtime = config.runtime
    return {
        "complete": error is None,
        "error": error,
        "bag": str(config.bag),
        "topics": {
            "image": config.image_topic,
            "image_type": "CompressedImage" if compressed else "Image",
            "depth": config.depth_topic,
            "camera_info": config.camera_info_topic,
            "sparse_depth": config.sparse_depth_topic,
            "range": config.range_topic,
        },
        "model": {
            "path": str(config.model),
            "name": estimator.info.name,
            "trained": estimator.info.trained,
            "backend": estimator.backend.name,
            "provider": str(estimator.backend.provider),
            "input_hw": list(estimator.input_hw),
            "describe": estimator.describe(),
        },
        "runtime": {
            "backend": runtime.backend,
            "device": runtime.device,
            "precision": runtime.precision,
            "threads": runtime.threads,
            "input_hw": list(runtime.input_hw) if runtime.input_hw else None,
        },
        "frames": counts,
        "scale": {
            "source": config.scale.spec,
            "mount": state.mounts.note,
            "mount_lookup_failures": state.mounts.failures,
            "last_mount_error": state.mounts.last_error,
            "frames_by_source": dict(state.scale_states),
            "warning": own_scale_warning(estimator.info, config.scale.spec, state.mounts.known),
        },
        "failures": state.failures.summary(),
        "stamp_tolerance_s": config.stamp_tolerance_s,
        "latency_ms": percentiles(state.latencies),
        "inference_ms": percentiles(state.inference),
        "throughput_fps": counts["predicted"] / elapsed if elapsed > 0 else None,
        "depth": {
            key: percentiles([row[f"depth_{key}"] for row in state.rows if f"depth_{key}" in row])["mean"]
            for key in ("valid_fraction", "min_m", "median_m", "max_m")
        },
        "metrics": state.scorer.summary() if config.depth_topic else None,
        "written_bag": written,
    }


def write_results(result: EvalResult, out_dir: Path) -> dict[str, Path]:
    """Write `summary.json`, `frames.csv` and `report.png` into `out_dir` (each atomically); returns paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out_dir / name for name in ("summary.json", "frames.csv", "report.png")}
    write_json(paths["summary.json"], result.summary)
    write_csv(paths["frames.csv"], result.rows, FRAME_COLUMNS)
    model = result.summary["model"]
    metrics = result.summary.get("metrics")
    title = f"{Path(result.summary['bag']).name}: {model['name']} ({model['backend']})"
    if metrics and metrics["raw"]["n_images"]:
        title += "\n" + accuracy_line("raw metric", metrics["raw"], metrics["coverage"], metrics["range"])
    render_report(paths["report.png"], result.sample, result.error_by_distance, result.depth_values, title)
    return paths
