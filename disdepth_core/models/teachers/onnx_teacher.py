"""An ONNX depth model as a teacher for output-level KD only (it exposes no features).

What the graph expects and returns is not in a generic ONNX file, so a *teacher card* says it
(:mod:`disdepth_core.teacher_card`: ``MODEL.teacher.json`` beside ``MODEL.onnx``). A disdepth export
needs no card: its metadata already says all of this (metric depth, NCHW, ImageNet normalisation).

:class:`ONNXDepthTeacher` takes the training pipeline's ImageNet-normalised batches, undoes that
normalisation, resizes to the card's size (bilinear, antialiased), applies the card's normalisation
and layout, runs ONNX Runtime one image at a time (many exports have a fixed batch of 1) and resizes the
output back. ``forward`` gives metres through a :class:`MetricScale` (required for relative outputs).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from disdepth_core.model_files import ModelFileError
from disdepth_core.model_info import DEPTH_OUTPUT, INPUT_NAME, ModelInfo
from disdepth_core.teacher_card import TeacherCard, card_path, read_card_if_any, single_channel_map

from ..normalization import IMAGENET_MEAN, IMAGENET_NORM, IMAGENET_STD
from ..prediction import DepthPrediction
from .output import MetricScale
from .spec import OpenOptions, TeacherLoader, TeacherSpec


def card_from_disdepth_metadata(info: ModelInfo) -> TeacherCard:
    """The card of a disdepth export: NCHW, its graph names, and what its metadata (``info``) says."""
    return TeacherCard(
        input_height=info.input_height,
        input_width=info.input_width,
        output=info.output_kind,
        licence=info.extra.get("licence", "disdepth export (licence not recorded)"),
        color_order=info.color_order,
        mean=info.mean,
        std=info.std,
        name=info.name,
        input_name=INPUT_NAME,
        output_name=DEPTH_OUTPUT,
    )


class ONNXDepthTeacher(nn.Module):
    """An ONNX Runtime session behind the teacher interface (output KD only; see the module docstring)."""

    has_features = False
    input_norm = IMAGENET_NORM  # what it takes; the card's normalisation is applied inside
    canonical_focal_px = TeacherCard.canonical_focal_px  # a card-described model is not camera-aware

    def __init__(
        self,
        path: str | os.PathLike[str],
        card: TeacherCard,
        *,
        scale: MetricScale | None = None,
        min_depth: float = 0.1,
        max_depth: float = 10.0,
        n_bins: int = 64,
        device: str = "cpu",
        threads: int | None = None,
    ) -> None:
        super().__init__()
        from disdepth_core.onnx_sessions import open_session

        self.path = Path(path)
        self.card = card
        self.name = card.name or self.path.stem
        self.output_kind = card.output
        if scale is not None and scale.kind != card.output:
            raise ValueError(
                f"metric scale is for {scale.kind} output but {self.path} predicts {card.output}"
            )
        self.scale = scale if scale is not None or card.output != "metric_depth" else MetricScale()
        self.min_depth, self.max_depth, self.n_bins = float(min_depth), float(max_depth), n_bins
        self.session, _ = open_session(self.path, device, "fp32", threads)
        self.input_name, self.output_name = card.graph_names(self.path, self.session)
        ours_mean, ours_std = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
        self.register_buffer("_ours_mean", ours_mean.view(1, 3, 1, 1), persistent=False)
        self.register_buffer("_ours_std", ours_std.view(1, 3, 1, 1), persistent=False)
        self.register_buffer("_mean", torch.tensor(card.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("_std", torch.tensor(card.std).view(1, 3, 1, 1), persistent=False)

    def processing_size(self, height: int, width: int) -> tuple[int, int]:
        """The graph's input size (every image is resized to it)."""
        return self.card.input_height, self.card.input_width

    def _graph_input(self, x: Tensor) -> np.ndarray:
        rgb = x * self._ours_std + self._ours_mean  # back to [0, 1]
        size = (self.card.input_height, self.card.input_width)
        if tuple(rgb.shape[-2:]) != size:
            rgb = F.interpolate(rgb, size=size, mode="bilinear", align_corners=False, antialias=True)
        pixels = (rgb.clamp(0.0, 1.0) - self._mean) / self._std
        if self.card.color_order == "bgr":
            pixels = pixels.flip(1)
        if self.card.layout == "NHWC":
            pixels = pixels.permute(0, 2, 3, 1)
        return np.ascontiguousarray(pixels.detach().cpu().numpy(), dtype=np.float32)

    def raw_output(self, x: Tensor, size: Any = None) -> Tensor:
        """The graph's output (``output_kind``, no scale) at the input resolution, B x 1 x H x W."""
        batch = self._graph_input(x)
        maps = []
        for image in batch:
            (result,) = self.session.run([self.output_name], {self.input_name: image[None]})
            maps.append(single_channel_map(np.asarray(result, np.float32), self.path))
        raw = torch.from_numpy(np.stack(maps)[:, None]).to(x.device)
        return F.interpolate(raw, size=tuple(x.shape[-2:]), mode="bilinear", align_corners=False)

    def forward(self, x: Tensor) -> DepthPrediction:
        if self.scale is None:
            raise ValueError(
                f"teacher {self.path} predicts {self.output_kind}: it needs a declared metric scale source "
                "(a depth topic, a fit on frames with ground truth, or a fixed scale)"
            )
        depth = self.scale.to_metric(self.raw_output(x), self.min_depth, self.max_depth)
        edges = torch.linspace(self.min_depth, self.max_depth, self.n_bins + 1, device=x.device)
        centers = (0.5 * (edges[:-1] + edges[1:])).expand(x.shape[0], -1)
        return DepthPrediction(depth, torch.zeros_like(depth), centers)


def read_onnx_card(path: Path) -> TeacherCard:
    """The teacher card of an ONNX model: the file beside it, or a disdepth export's metadata."""
    import onnx

    card = read_card_if_any(path)
    if card is not None:
        return card
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as error:  # protobuf's DecodeError (and onnx's own errors) for a damaged file
        raise ValueError(
            f"{path} is not a readable ONNX model ({type(error).__name__}: {error}); "
            "export or download it again"
        ) from None
    try:
        info = ModelInfo.from_props({p.key: p.value for p in proto.metadata_props}, path)
    except ModelFileError:
        return TeacherCard.read(card_path(path))  # raises: no card and not a disdepth export
    return card_from_disdepth_metadata(info)


class ONNXLoader(TeacherLoader):
    """Kind ``onnx``: an ONNX file with its card (or a disdepth export); output KD only."""

    def open(self, spec: TeacherSpec, options: OpenOptions) -> ONNXDepthTeacher:
        card = read_onnx_card(spec.path)
        if options.declared is not None and options.declared != card.output:
            card = dataclasses.replace(card, output=options.declared)
        return ONNXDepthTeacher(
            spec.path,
            card,
            scale=options.scale,
            min_depth=options.min_depth,
            max_depth=options.max_depth,
            device=options.device,
        )

    def licence(self, spec: TeacherSpec) -> str:
        return read_onnx_card(spec.path).licence

    def files(self, spec: TeacherSpec) -> list[Path]:
        card = card_path(spec.path)
        return [spec.path, card] if card.is_file() else [spec.path]


ONNX_LOADER = ONNXLoader()
