"""Hugging Face ``transformers`` depth models (Depth Anything V2, DPT, GLPN, ZoeDepth) as KD teachers.

:class:`HFDepthTeacher` loads a model from a LOCAL directory (``local_files_only=True``; nothing is
downloaded, ``trust_remote_code`` stays False) and exposes the DepthModel interface the distillation code
uses: ``encode``, ``feature_channels``, ``feature_strides``, ``forward -> DepthPrediction`` in metres,
plus ``raw_output`` (the model's own output, before any scale) and ``processing_size`` (the resolution
its image processor would use).

Features (documented choice): for models with a DPT neck (Depth Anything, DPT, ZoeDepth) the *neck
outputs* (``model.neck``: reassembled + fused multi-scale maps, captured with a forward hook); otherwise
(GLPN) the hierarchical encoder's ``hidden_states``. Each feature is assigned the nearest power-of-two
stride and resampled bilinearly to exactly ``H // stride x W // stride``, so ViT patch sizes such as 14
still give a clean stride pyramid.

Output (:mod:`disdepth_core.models.teachers.output`): GLPN, ZoeDepth and Depth Anything with
``depth_estimation_type="metric"`` predict metres; Depth Anything relative predicts relative inverse
depth; DPT configs do not say, so ``output`` must be given for them. A relative teacher needs a declared
:class:`MetricScale` before ``forward`` gives metres (relative depth is useless to a robot downstream);
``raw_output`` works without one (the distill-bag recipe fits the scale from those raw outputs).
Uncertainty is zero (the HF heads regress one value per pixel) and ``bin_centers`` are ``n_bins``
uniform centres. Resizing to the processing size is bilinear with antialiasing on the normalised
tensor (the processors use bicubic on the image; the difference is sub-pixel and keeps the whole path
in torch).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..layers import resize_to
from ..normalization import IMAGENET_MEAN, IMAGENET_NORM, IMAGENET_STD
from ..prediction import DepthPrediction
from .output import MetricScale, check_output_kind
from .spec import PULL_RECORD, OpenOptions, TeacherLoader, TeacherSpec, readme_licence

_PROBE_SIZE = 64
# Children of a transformers depth model that compute the features; the others only turn them into depth.
_FEATURE_CHILDREN = ("backbone", "dpt", "glpn", "neck")


class HFDepthTeacher(nn.Module):
    """A transformers ``*ForDepthEstimation`` model behind the DepthModel interface (see the module doc)."""

    input_norm = IMAGENET_NORM  # what it takes; mapped to the model's own normalisation inside
    canonical_focal_px = 0.0  # depth for the camera that took the image (not camera-aware)

    def __init__(
        self,
        hf_model: nn.Module,
        *,
        output: str | None = None,
        scale: MetricScale | None = None,
        min_depth: float = 0.1,
        max_depth: float = 10.0,
        n_bins: int = 64,
        image_mean: Sequence[float] = IMAGENET_MEAN,
        image_std: Sequence[float] = IMAGENET_STD,
        processor: Mapping[str, Any] | None = None,
        name: str = "hf-teacher",
    ) -> None:
        super().__init__()
        config = hf_model.config
        output = declared_output(config) if output is None else check_output_kind(output, "teacher output")
        if output is None:
            raise ValueError(
                f"{config.model_type} config does not say whether the model is metric: give the teacher "
                "output (metric_depth, relative_depth or relative_inverse_depth)"
            )
        if scale is not None and scale.kind != output:
            raise ValueError(f"metric scale is for {scale.kind} output but the teacher predicts {output}")
        self.hf_model = hf_model
        self.name = name
        self.output_kind = output
        self.scale = scale if scale is not None or output != "metric_depth" else MetricScale()
        self.min_depth, self.max_depth, self.n_bins = float(min_depth), float(max_depth), n_bins
        self.processor = dict(processor or {})
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
            neck.register_forward_hook(self._capture)
        with torch.no_grad():
            probe, _ = self._run(torch.zeros(1, 3, _PROBE_SIZE, _PROBE_SIZE))
        order = sorted(range(len(probe)), key=lambda i: -probe[i].shape[-2])
        self._order = tuple(order)
        self.feature_channels: tuple[int, ...] = tuple(probe[i].shape[1] for i in order)
        self.feature_strides: tuple[int, ...] = tuple(
            2 ** round(math.log2(_PROBE_SIZE / probe[i].shape[-2])) for i in order
        )

    def _capture(self, _module: nn.Module, _inputs: Any, output: Any) -> None:
        # Depth Anything / DPT necks return the fused maps; ZoeDepth's returns (maps, bottleneck).
        maps = output[0] if isinstance(output, tuple) and isinstance(output[0], (list, tuple)) else output
        self._captured.extend(maps)

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike[str], **kwargs: Any) -> HFDepthTeacher:
        """Load ``AutoModelForDepthEstimation`` from a local directory (no network, no remote code)."""
        from transformers import AutoModelForDepthEstimation
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a per-load weight bar would interleave with our progress lines
        directory = Path(directory)
        if not (directory / "config.json").is_file():
            raise FileNotFoundError(f"{directory}: no config.json; expected a save_pretrained() directory")
        model = AutoModelForDepthEstimation.from_pretrained(
            directory, local_files_only=True, trust_remote_code=False
        ).eval()
        processor_file = directory / "preprocessor_config.json"
        if processor_file.is_file():
            settings = json.loads(processor_file.read_text(encoding="utf-8"))
            kwargs.setdefault("processor", settings)
            if "image_mean" not in kwargs:
                if settings.get("do_normalize", True) and "image_mean" in settings:
                    kwargs.update(image_mean=settings["image_mean"], image_std=settings["image_std"])
                elif not settings.get("do_normalize", True):
                    kwargs.update(image_mean=(0.0, 0.0, 0.0), image_std=(1.0, 1.0, 1.0))
        return cls(model, name=kwargs.pop("name", directory.name), **kwargs)

    def head_modules(self) -> list[nn.Module]:
        """The model's parts that only turn features into depth (not on the feature path)."""
        return [m for name, m in self.hf_model.named_children() if name not in _FEATURE_CHILDREN]

    def processing_size(self, height: int, width: int) -> tuple[int, int]:
        """The size the model's image processor resizes a ``height x width`` image to (DPT/Depth Anything
        rules: ``size``, ``keep_aspect_ratio``, ``ensure_multiple_of``; GLPN: ``size_divisor``); without a
        processor config, the image size rounded to the patch size."""
        return processor_size(self.processor, height, width, self.input_multiple)

    def _run(self, x: Tensor, size: Sequence[int] | None = None) -> tuple[list[Tensor], Tensor]:
        m = self.input_multiple
        h, w = x.shape[-2:]
        size = tuple(size) if size is not None else (max(m, round(h / m) * m), max(m, round(w / m) * m))
        pixels = x * self._gain + self._bias
        if tuple(pixels.shape[-2:]) != size:
            pixels = F.interpolate(pixels, size=size, mode="bilinear", align_corners=False, antialias=True)
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

    def raw_output(self, x: Tensor, size: Sequence[int] | None = None) -> Tensor:
        """The model's own output (``output_kind``, no scale) at the input resolution; the model runs at
        ``size`` (default: the input size rounded to the patch size)."""
        _, raw = self._run(x, size)
        return resize_to(raw, x.shape[-2:])

    def to_metric(self, raw: Tensor) -> Tensor:
        """Raw output -> metres through the declared scale; refuses a relative teacher without one."""
        if self.scale is None:
            raise ValueError(
                f"teacher {self.name} predicts {self.output_kind}: it needs a declared metric scale source "
                "(a depth topic, a fit on frames with ground truth, or a fixed scale)"
            )
        return self.scale.to_metric(raw, self.min_depth, self.max_depth)

    def _prediction(self, raw: Tensor, hw: Sequence[int]) -> DepthPrediction:
        depth = self.to_metric(resize_to(raw, tuple(hw)))
        edges = torch.linspace(self.min_depth, self.max_depth, self.n_bins + 1, device=raw.device)
        centers = (0.5 * (edges[:-1] + edges[1:])).expand(raw.shape[0], -1)
        return DepthPrediction(depth, torch.zeros_like(depth), centers)

    def encode_and_predict(self, x: Tensor) -> tuple[list[Tensor], DepthPrediction]:
        """Features and metric depth from one forward pass."""
        features, raw = self._run(x)
        return self._arrange(features, x.shape[-2:]), self._prediction(raw, x.shape[-2:])

    def forward(self, x: Tensor) -> DepthPrediction:
        _, raw = self._run(x)
        return self._prediction(raw, x.shape[-2:])


def declared_output(config: Any) -> str | None:
    """The output kind a transformers config declares; None when it cannot tell (DPT)."""
    if config.model_type in ("glpn", "zoedepth"):
        return "metric_depth"
    if config.model_type == "depth_anything":
        return "metric_depth" if config.depth_estimation_type == "metric" else "relative_inverse_depth"
    return None


def _multiple(value: float, multiple: int) -> int:
    return max(multiple, round(value / multiple) * multiple)


def processor_size(settings: Mapping[str, Any], height: int, width: int, multiple: int) -> tuple[int, int]:
    """See :meth:`HFDepthTeacher.processing_size` (transformers' DPT ``get_resize_output_image_size``)."""
    divisor = settings.get("size_divisor")
    if divisor:  # GLPN: keep the image size, rounded down to the divisor
        divisor = int(divisor)
        return max(divisor, height // divisor * divisor), max(divisor, width // divisor * divisor)
    size = settings.get("size")
    if not settings.get("do_resize", True) or not isinstance(size, Mapping):
        return _multiple(height, multiple), _multiple(width, multiple)
    multiple = int(settings.get("ensure_multiple_of") or 1)
    if "height" in size and "width" in size:
        scale_h, scale_w = size["height"] / height, size["width"] / width
    elif "shortest_edge" in size:
        scale_h = scale_w = size["shortest_edge"] / min(height, width)
    else:
        return _multiple(height, multiple), _multiple(width, multiple)
    if settings.get("keep_aspect_ratio", False):  # scale as little as possible
        scale_h = scale_w = scale_w if abs(1 - scale_w) < abs(1 - scale_h) else scale_h
    return _multiple(scale_h * height, multiple), _multiple(scale_w * width, multiple)


class HFLoader(TeacherLoader):
    """Kind ``hf``: a local ``save_pretrained()`` directory; a ``disdepth teacher pull`` record says what
    DPT predicts and the licence, else the model card's ``license:`` field does."""

    def open(self, spec: TeacherSpec, options: OpenOptions) -> HFDepthTeacher:
        record = spec.path / PULL_RECORD
        declared = options.declared
        if declared is None and record.is_file():  # `disdepth teacher pull` knows what DPT predicts
            declared = json.loads(record.read_text(encoding="utf-8")).get("output")
        return HFDepthTeacher.from_pretrained(
            spec.path,
            output=declared,
            scale=options.scale,
            min_depth=options.min_depth,
            max_depth=options.max_depth,
        )

    def licence(self, spec: TeacherSpec) -> str:
        record = spec.path / PULL_RECORD
        if record.is_file():
            return str(json.loads(record.read_text(encoding="utf-8")).get("licence", ""))
        readme = spec.path / "README.md"
        if readme.is_file():
            found = readme_licence(readme.read_text(encoding="utf-8", errors="replace"))
            if found:
                return found
        return f"not recorded (no README.md license field in {spec.path}); check the model's page"


HF_LOADER = HFLoader()
