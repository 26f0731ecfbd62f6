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
`range_topic` (each used once: `disdepth_ros.commands.eval_bag.scale_inputs`). Frames are
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
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from disdepth_core import interrupts
from disdepth_core.bags import (
    IMAGE_TYPES,
    BagReadError,
    find_topic,
    open_bag,
    read_messages,
    stamp_ns,
)
from disdepth_core.deployment import open_estimator
from disdepth_core.evaluation import (
    DepthScorer,
    EvalRange,
)
from disdepth_core.evaluation.stats import depth_stats, percentiles
from disdepth_core.runtime import DepthEstimator
from disdepth_core.scale import ScaleSettings, ScaleTracker
from disdepth_core.scale.advice import own_scale_warning
from disdepth_core.serving.failures import FrameFailure
from disdepth_ros.bag_messages import MessageBagWriter, read_message
from disdepth_ros.commands.eval_bag.config import DEFAULT_GT_RANGE, EvalConfig
from disdepth_ros.commands.eval_bag.results import EvalResult, Failures
from disdepth_ros.commands.eval_bag.scale_inputs import BagScaleInputs, bag_mounts
from disdepth_ros.commands.eval_bag.stamps import Pairing, index_stamps, read_window_ns
from disdepth_ros.conversions import depth_msg_to_array
from disdepth_ros.outputs import OUTPUT_TOPICS, OutputSettings
from disdepth_ros.pipeline import FramePipeline

__all__ = ["evaluate_bag", "output_topic"]

DEPTH_TYPES = ("sensor_msgs/msg/Image",)
CAMERA_INFO_TYPES = ("sensor_msgs/msg/CameraInfo",)
RANGE_TYPES = ("sensor_msgs/msg/Range",)
WRITTEN_OUTPUTS = ("depth", "camera_info", "points")


class _Evaluation:
    """Pass 2 state: pipeline, counts, scorer, rows, ground truth and predictions waiting for each other."""

    def __init__(
        self,
        config: EvalConfig,
        estimator: DepthEstimator,
        pairing: Pairing,
        n_images: int,
        scale_inputs: BagScaleInputs,
    ) -> None:
        info = estimator.info
        self.config = config
        self.estimator = estimator
        self.pairing = pairing
        self.scale_inputs = scale_inputs
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
        self.failures = Failures()
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
        inputs, problem = self.scale_inputs.for_image(msg)
        if problem is not None:
            self.failures.add(self.config.sparse_depth_topic or "", stamp, problem)
        outcome = self.pipeline.process(msg, self.camera_info, wanted, inputs)
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
            estimator = open_estimator(config.model, config.runtime)
        window = read_window_ns(config.tolerance_ns)
        index = index_stamps(reader, image_conns, depth_conns, config.bag, config.max_frames, window)
        index.check_encodings(config.image_topic, config.depth_topic)
        inputs = BagScaleInputs(bag_mounts(reader, config.bag, config.scale), config.max_input_pixels)
        state = _Evaluation(config, estimator, Pairing(index, config.tolerance_ns), len(index.images), inputs)
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
            if done and (
                not state.waiting or receive_ns > last_image_ns + read_window_ns(config.tolerance_ns)
            ):
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
                state.scale_inputs.sparse.put(msg, receive_ns)
            elif conn.topic == config.range_topic:
                state.scale_inputs.ranges.put(msg, receive_ns)
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
    estimator, mounts = state.estimator, state.scale_inputs.mounts
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
            "mount": mounts.note,
            "mount_lookup_failures": mounts.failures,
            "last_mount_error": mounts.last_error,
            "frames_by_source": dict(state.scale_states),
            "warning": own_scale_warning(estimator.info, config.scale.spec, mounts.known),
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
