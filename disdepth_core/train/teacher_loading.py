"""Open the teacher of an acclimate or distill stage from its spec and ``teacher_options``.

The spec (``config.teacher``) is any of :mod:`disdepth_core.models.teachers.spec`. A relative foundation
teacher gets its metric scale here from ``teacher_options.scale`` (:mod:`disdepth_core.train.label_scale`):
a fixed value, or one global fit on the first ``fit_frames`` training samples (resized and centre-cropped
to the training size, ground truth in the student's depth range). The scale used is printed in one line
and recorded in the acclimated checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from disdepth_core.models import DepthModel
from disdepth_core.models.teachers.spec import output_kind, parse_teacher_spec
from disdepth_core.teacher_kinds import spec_help

from .acclimated import TeacherBundle, load_teacher
from .batches import PreparedDataset
from .config import TrainConfig
from .datasets import build_labeled
from .label_scale import label_scale_usage, parse_label_scale


def open_stage_teacher(
    config: TrainConfig, student: DepthModel, require_scale: bool, acclimate: bool = False
) -> TeacherBundle:
    """The teacher bundle of ``config`` for ``student`` (its depth range bounds the teacher's metres)."""
    if not config.teacher:
        raise ValueError(f"the {config.stage} stage needs a teacher: --teacher with {spec_help()}")
    spec = parse_teacher_spec(config.teacher)
    if acclimate and spec.kind == "acclimated":
        raise ValueError(f"teacher {spec} is already acclimated; give the teacher it was made from")
    if acclimate and not spec.has_features:
        raise ValueError(
            f"teacher {spec} (ONNX) exposes no features: acclimation needs a checkpoint or hf:DIR teacher; "
            "an ONNX teacher teaches by output KD only (disdepth distill with distill.feature_kd=none)"
        )
    options = config.teacher_options
    depth_range = (student.min_depth, student.max_depth)
    bundle = load_teacher(spec, output=options.output, depth_range=depth_range, require_scale=False)
    if options.scale:
        source = parse_label_scale(options.scale, in_bag=False)
        teacher = bundle.teacher
        if not hasattr(teacher, "raw_output"):
            raise ValueError(
                f"teacher_options.scale: teacher {spec} is a disdepth model (metric depth); a scale source "
                "applies to foundation teachers (hf:DIR, onnx:FILE)"
            )
        pairs, where = training_pairs(teacher, config) if source.fits else ((), "")
        teacher.scale = source.global_scale(output_kind(teacher), pairs, depth_range, where)
        print(f"[{config.stage}] teacher scale: {teacher.scale.describe()}", flush=True)
    if require_scale and getattr(bundle.teacher, "scale", True) is None:
        raise ValueError(
            f"teacher {spec} predicts {output_kind(bundle.teacher)}: declare a metric scale source "
            f"with --teacher-scale: {label_scale_usage(in_bag=False)}"
        )
    return bundle


def training_pairs(
    teacher: nn.Module, config: TrainConfig
) -> tuple[Iterator[tuple[np.ndarray, np.ndarray]], str]:
    """``(raw teacher output, ground truth)`` of the first ``teacher_options.fit_frames`` training
    samples (computed as they are read) and those frames in words."""
    data = config.data
    samples = PreparedDataset(
        build_labeled(data.train, data), data.height, data.width, train=False, seed=config.seed
    )
    count = min(config.teacher_options.fit_frames, len(samples))
    if count < 1:
        raise ValueError("teacher_options.fit_frames must be >= 1 to fit a scale")

    def pairs() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for index in range(count):
            item = samples[index]
            with torch.no_grad():
                raw = teacher.raw_output(item["image"][None])[0, 0].cpu().numpy()
            yield raw, item["depth"][0].numpy()

    return pairs(), f"{count} training frames"
