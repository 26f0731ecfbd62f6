"""Metric pseudo-labels of the cached frames: the scale stage, and the dataset the training stages read.

The scale stage turns every cached raw teacher output into metres (:mod:`disdepth_core.train.scale_fit`)
and writes ``ROOT/labels.json``: the source, the global :class:`MetricScale`, per frame its own scale
(``topic``: frames paired with a usable depth frame; others use the global fit over the paired
*training* frames), the split and the depth range; plus how well the aligned teacher matches the depth
topic where it exists (the evaluation package's summary), on training and held-out frames. Nothing in a
global fit looks at held-out frames.

Samples carry ``K`` at the cached size when the bag has camera info, so a camera-aware student
(``canonical_focal_px``) is trained on canonical depth by the ordinary batch preparation.

:class:`CachedFrames` (dataset kind ``pseudo_labels``) serves ``image`` + ``depth`` (the metric label) of
one split to the ordinary training stages.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from disdepth_core.evaluation import EvalRange
from disdepth_core.files import write_json
from disdepth_core.geometry import focal_of_matrix
from disdepth_core.models.teachers.output import MetricScale
from disdepth_core.train.label_scale import LabelScaleSource
from disdepth_core.train.scale_fit import alignment_quality

from .cache import FrameCache
from .split import HELDOUT, TRAIN

LABELS_FILE = "labels.json"
WIDE_RANGE = (1e-3, 1e4)


def to_depth_grid(values: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize a dense map to a depth image's grid (nearest neighbour: no value invented at edges). A depth
    image of another size than the colour image is taken to cover the same field of view (registered
    depth, e.g. RealSense ``aligned_depth_to_color``)."""
    return cv2.resize(values, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)


@dataclass
class ScaleReport:
    """What the scale stage decided and measured (written to ``labels.json``)."""

    source: str
    global_scale: MetricScale
    per_frame: int
    fallback: int
    quality: dict[str, Any]


def _paired(cache: FrameCache, ids: list[int]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(raw teacher output on the depth grid, depth)`` for frames with a depth partner."""
    for frame_id in ids:
        arrays = cache.load(frame_id, ("raw", "depth"))
        if "depth" in arrays:
            yield to_depth_grid(arrays["raw"], arrays["depth"].shape), arrays["depth"]


def fit_labels(
    cache: FrameCache,
    split: dict[int, str],
    output_kind: str,
    source: LabelScaleSource | None,
    depth_range: tuple[float, float],
    fit_frames: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> tuple[dict[int, MetricScale], ScaleReport]:
    """Per-frame metric scales of the cached frames and the report (see the module docstring).

    ``fit_frames``: ``(raw, gt)`` pairs from outside the bag for ``fit`` without a depth topic.
    """
    train = [f["id"] for f in cache.frames if split[f["id"]] == TRAIN]
    if source is None:
        global_scale = MetricScale(output_kind, 1.0, 0.0, "metric teacher, no scale source")
    else:
        pairs = fit_frames if fit_frames is not None else _paired(cache, train)
        where = f"{len(fit_frames)} RGB-D frames" if fit_frames is not None else "the paired training frames"
        global_scale = source.global_scale(output_kind, pairs, depth_range, where)
    scales = dict.fromkeys(split, global_scale)
    per_frame = 0
    if source is not None and source.per_frame:
        for frame in cache.frames:
            pairs = list(_paired(cache, [frame["id"]]))
            fitted = pairs and source.frame_scale(*pairs[0], output_kind, depth_range)
            if fitted:
                scales[frame["id"]] = fitted
                per_frame += 1
    return scales, ScaleReport(
        str(source) if source else "none", global_scale, per_frame, len(split) - per_frame, {}
    )


def measure_alignment(
    cache: FrameCache, split: dict[int, str], scales: dict[int, MetricScale], eval_range: EvalRange
) -> dict[str, Any]:
    """The aligned teacher against the depth topic, per split (None where no frame has depth)."""
    quality = {}
    for part in (TRAIN, HELDOUT):
        ids = [f["id"] for f in cache.frames if split[f["id"]] == part and f["has_depth"]]

        def metric_pairs(ids: list[int] = ids) -> Iterator[tuple[np.ndarray, np.ndarray]]:
            for frame_id in ids:
                for raw, depth in _paired(cache, [frame_id]):
                    yield scales[frame_id].to_metric_numpy(raw, *WIDE_RANGE), depth

        quality[part] = alignment_quality(metric_pairs(), eval_range)
    return quality


def canonical_focal(cache: FrameCache) -> float:
    """The first frame's fx at the input size (Metric3D's canonical camera); 0 without camera info (or an
    uncalibrated one, fx 0)."""
    return next((focal_of_matrix(f["K"]) for f in cache.frames if f["K"]), 0.0)


def write_labels(
    root: Path,
    split: dict[int, str],
    scales: dict[int, MetricScale],
    report: ScaleReport,
    depth_range: tuple[float, float],
) -> None:
    """``ROOT/labels.json`` (the single source of the metric labels the training stages read)."""
    frames = {str(i): {"split": split[i], "scale": scales[i].to_dict()} for i in sorted(split)}
    write_json(
        root / LABELS_FILE,
        {
            "source": report.source,
            "global_scale": report.global_scale.to_dict(),
            "per_frame_fits": report.per_frame,
            "global_fallback": report.fallback,
            "quality": report.quality,
            "min_depth": depth_range[0],
            "max_depth": depth_range[1],
            "frames": frames,
        },
    )


def read_labels(root: str | Path) -> dict[str, Any]:
    path = Path(root) / LABELS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} missing: the distill-bag scale stage writes it")
    return json.loads(path.read_text(encoding="utf-8"))


def label_percentile(cache: FrameCache, ids: list[int], scales: dict[int, MetricScale], q: float) -> float:
    """The ``q``-th percentile of the metric labels of frames ``ids`` (every 8th pixel of each frame)."""
    values = [
        scales[i].to_metric_numpy(cache.load(i, ("raw",))["raw"], *WIDE_RANGE)[::8, ::8].ravel() for i in ids
    ]
    return float(np.percentile(np.concatenate(values), q)) if values else 0.0


def open_pseudo_labels(spec: Any, height: int, width: int, training: bool) -> CachedFrames:
    """Dataset kind ``pseudo_labels``: the ``split`` frames of the run's cache at ``root``."""
    return CachedFrames(spec.root, spec.split)


class CachedFrames:
    """The frames of one split with their metric pseudo-labels (``image`` uint8, ``depth`` metres, ``K``)."""

    def __init__(self, root: str | Path, split: str) -> None:
        self.cache = FrameCache(root)
        labels = read_labels(root)
        self.min_depth, self.max_depth = labels["min_depth"], labels["max_depth"]
        self.entries = [
            (int(i), MetricScale.from_dict(v["scale"]))
            for i, v in labels["frames"].items()
            if v["split"] == split
        ]
        self.entries.sort(key=lambda entry: entry[0])
        self.intrinsics = {
            f["id"]: None if f["K"] is None else np.asarray(f["K"], np.float32) for f in self.cache.frames
        }
        if not self.entries:
            raise ValueError(f"{root}: no {split} frames in {LABELS_FILE}")

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> dict[str, Any]:
        frame_id, scale = self.entries[index]
        arrays = self.cache.load(frame_id)
        depth = scale.to_metric_numpy(arrays["raw"], self.min_depth, self.max_depth)
        sample = {"image": arrays["image"], "depth": depth.astype(np.float32), "frame_id": frame_id}
        if self.intrinsics[frame_id] is not None:
            sample["K"] = self.intrinsics[frame_id]
        return sample
