"""Hugging Face `transformers` depth models (Depth Anything V2, DPT, GLPN) as distillation teachers.

:class:`HFDepthTeacher` loads a model from a LOCAL directory (``local_files_only=True``; nothing is
downloaded) and exposes the DepthModel interface the distillation code uses: ``encode``,
``feature_channels``, ``feature_strides``, ``forward -> DepthPrediction``.

Features (documented choice): for models with a DPT neck (Depth Anything, DPT) the *neck outputs*
(``model.neck``: reassembled + fused multi-scale maps, captured with a forward hook); otherwise (GLPN)
the hierarchical encoder's ``hidden_states`` (``output_hidden_states=True``). Each feature is assigned
the nearest power-of-two stride and resampled bilinearly to exactly ``H // stride x W // stride``, so
ViT patch sizes such as 14 still give a clean stride pyramid.

Depth is metric, always (relative depth is useless to a robot downstream): GLPN and Depth Anything with
``depth_estimation_type="metric"`` are metric. Relative models (Depth Anything relative, MiDaS-style
DPT) need a declared scale source: ``metric=False`` plus ``depth_scale`` (and ``depth_shift``), e.g.
fitted by least squares on metric ground truth; their output is taken as disparity
(``relative_output="disparity"``: ``depth = 1 / (scale * d + shift)``) or as depth (``"depth"``: ``depth
= scale * d + shift``). DPT configs do not say whether a checkpoint is metric, so ``metric`` must be
given for them. Uncertainty is zero (the HF heads regress one value per pixel) and ``bin_centers`` are
``n_bins`` uniform centres."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from .layers import resize_to
from .normalization import IMAGENET_MEAN, IMAGENET_STD
from .prediction import DepthPrediction

_PROBE_SIZE = 64


class HFDepthTeacher(nn.Module):
    """A transformers ``*ForDepthEstimation`` model behind the DepthModel interface (metric depth)."""

    def __init__(
        self,
        hf_model: nn.Module,
        *,
        metric: bool | None = None,
        depth_scale: float | None = None,
        depth_shift: float = 0.0,
        relative_output: str = "disparity",
        min_depth: float = 0.1,
        max_depth: float = 10.0,
        n_bins: int = 64,
        image_mean: Sequence[float] = IMAGENET_MEAN,
        image_std: Sequence[float] = IMAGENET_STD,
        name: str = "hf-teacher",
    ) -> None:
        super().__init__()
        config = hf_model.config
        metric = _declared_metric(config) if metric is None else metric
        if metric is None:
            raise ValueError(
                f"{config.model_type} config does not say whether the model is metric: pass metric=True "
                "for a metric checkpoint, or metric=False with depth_scale (and depth_shift) if relative"
            )
        if not metric and depth_scale is None:
            raise ValueError(
                "relative-depth teacher needs a declared scale source: pass depth_scale (and depth_shift), "
                "e.g. fitted by least squares against metric ground truth, to turn its output into metres"
            )
        if relative_output not in ("disparity", "depth"):
            raise ValueError(f"relative_output must be 'disparity' or 'depth', got {relative_output!r}")
        self.hf_model = hf_model
        self.name = name
        self.metric = metric
        self.depth_scale, self.depth_shift, self.relative_output = depth_scale, depth_shift, relative_output
        self.min_depth, self.max_depth, self.n_bins = float(min_depth), float(max_depth), n_bins
        self.input_multiple = int(getattr(config, "patch_size", 32))
        # Affine map from ImageNet-normalised input to the model's own normalisation.
        ours_mean, ours_std = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
        theirs_mean, theirs_std = torch.tensor(list(image_mean)), torch.tensor(list(image_std))
        self.register_buffer("_gain", (ours_std / theirs_std).view(1, 3, 1, 1), persistent=False)
        self.register_buffer(
            "_bias", ((ours_mean - theirs_mean) / theirs_std).view(1, 3, 1, 1), persistent=False
        )
        self._captured: list[Tensor] = []
        neck = getattr(hf_model, "neck", None)
        self.feature_source = "neck" if neck is not None else "hidden_states"
        if neck is not None:
            neck.register_forward_hook(lambda _module, _inputs, output: self._captured.extend(output))
        with torch.no_grad():
            probe, _ = self._run(torch.zeros(1, 3, _PROBE_SIZE, _PROBE_SIZE))
        order = sorted(range(len(probe)), key=lambda i: -probe[i].shape[-2])
        self._order = tuple(order)
        self.feature_channels: tuple[int, ...] = tuple(probe[i].shape[1] for i in order)
        self.feature_strides: tuple[int, ...] = tuple(
            2 ** round(math.log2(_PROBE_SIZE / probe[i].shape[-2])) for i in order
        )

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike[str], **kwargs: Any) -> HFDepthTeacher:
        """Load ``AutoModelForDepthEstimation`` from a local directory (no network)."""
        from transformers import AutoModelForDepthEstimation

        directory = Path(directory)
        if not (directory / "config.json").is_file():
            raise FileNotFoundError(f"{directory}: no config.json; expected a save_pretrained() directory")
        model = AutoModelForDepthEstimation.from_pretrained(directory, local_files_only=True).eval()
        processor = directory / "preprocessor_config.json"
        if processor.is_file() and "image_mean" not in kwargs:
            settings = json.loads(processor.read_text(encoding="utf-8"))
            if settings.get("do_normalize", True) and "image_mean" in settings:
                kwargs.update(image_mean=settings["image_mean"], image_std=settings["image_std"])
            elif not settings.get("do_normalize", True):
                kwargs.update(image_mean=(0.0, 0.0, 0.0), image_std=(1.0, 1.0, 1.0))
        return cls(model, name=kwargs.pop("name", directory.name), **kwargs)

    def _run(self, x: Tensor) -> tuple[list[Tensor], Tensor]:
        m = self.input_multiple
        h, w = x.shape[-2:]
        size = (max(m, round(h / m) * m), max(m, round(w / m) * m))
        pixels = resize_to(x * self._gain + self._bias, size)
        self._captured.clear()
        outputs = self.hf_model(
            pixel_values=pixels, output_hidden_states=self.feature_source == "hidden_states"
        )
        features = list(self._captured) if self.feature_source == "neck" else list(outputs.hidden_states)
        self._captured.clear()
        return features, outputs.predicted_depth.unsqueeze(1)

    def encode(self, x: Tensor) -> list[Tensor]:
        """Multi-scale features (finest first) resampled to ``input // feature_strides``."""
        features, _ = self._run(x)
        return self._arrange(features, x.shape[-2:])

    def _arrange(self, features: list[Tensor], hw: Sequence[int]) -> list[Tensor]:
        return [
            resize_to(features[i], (int(hw[0]) // s, int(hw[1]) // s))
            for i, s in zip(self._order, self.feature_strides, strict=True)
        ]

    def to_metric(self, raw: Tensor) -> Tensor:
        """Model output -> metres (identity for metric models; declared scale/shift for relative ones)."""
        if self.metric:
            depth = raw
        elif self.relative_output == "disparity":
            depth = 1.0 / (self.depth_scale * raw + self.depth_shift).clamp_min(1.0 / self.max_depth)
        else:
            depth = self.depth_scale * raw + self.depth_shift
        return depth.clamp(self.min_depth, self.max_depth)

    def forward(self, x: Tensor) -> DepthPrediction:
        _, raw = self._run(x)
        depth = self.to_metric(resize_to(raw, x.shape[-2:]))
        edges = torch.linspace(self.min_depth, self.max_depth, self.n_bins + 1, device=x.device)
        centers = (0.5 * (edges[:-1] + edges[1:])).expand(x.shape[0], -1)
        return DepthPrediction(depth, torch.zeros_like(depth), centers)


def _declared_metric(config: Any) -> bool | None:
    """Whether a transformers config declares metric output; None when it cannot tell (DPT)."""
    if config.model_type == "glpn":
        return True
    if config.model_type == "depth_anything":
        return config.depth_estimation_type == "metric"
    return None
