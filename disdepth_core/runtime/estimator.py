"""One inference interface for every backend: image in, metric depth out (ARCHITECTURE.md, runtime)."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from disdepth_core.geometry import focal_depth_scale
from disdepth_core.model_info import ModelInfo
from disdepth_core.runtime.backends.base import Backend
from disdepth_core.runtime.image_ops import ResizeMode, ResizePlan, invalidate, preprocess, restore


@dataclass(frozen=True)
class Timings:
    """Milliseconds spent in each stage of one :meth:`DepthEstimator.predict` call."""

    preprocess_ms: float
    inference_ms: float
    postprocess_ms: float

    @property
    def total_ms(self) -> float:
        return self.preprocess_ms + self.inference_ms + self.postprocess_ms


@dataclass(frozen=True)
class DepthResult:
    """Depth (float32 H x W metres at the input resolution, NaN = invalid), its uncertainty (variance, m^2,
    NaN where depth is invalid; ``None`` if the model has none) and the stage timings. ``bounds``: every
    valid depth ``v`` satisfies ``bounds[0] <= v <= bounds[1]`` (the range check's limits)."""

    depth: np.ndarray
    uncertainty: np.ndarray | None
    timings: Timings
    bounds: tuple[float, float] = (0.0, math.inf)


class DepthEstimator:
    """Pre-process, run a backend, post-process. Build it with :func:`disdepth_core.runtime.load_estimator`.

    ``resize_mode`` is "resize" (stretch to the model input) or "letterbox" (keep the aspect ratio, pad,
    crop back); ``input_hw`` picks the inference size of a dynamic model (checked by ``RuntimeOptions``),
    defaulting to the size stored in the model's metadata. Resize plans are cached for the
    ``PLAN_CACHE_SIZE`` most recent image sizes. ``predict`` may be called from several threads: backend
    calls are serialised (one camera is one stream; OpenVINO and TensorRT requests are not thread-safe).
    """

    PLAN_CACHE_SIZE = 8

    def __init__(
        self,
        backend: Backend,
        selection_reason: str,
        resize_mode: ResizeMode = "resize",
        input_hw: tuple[int, int] | None = None,
    ) -> None:
        self.backend = backend
        self.selection_reason = selection_reason
        self.resize_mode: ResizeMode = resize_mode
        self.input_hw = self._choose_input_hw(backend, input_hw)
        self._plans: OrderedDict[tuple[int, int], ResizePlan] = OrderedDict()
        self._lock = threading.Lock()
        ResizePlan.create(self.input_hw, self.input_hw, resize_mode)  # validates resize_mode early

    @staticmethod
    def _choose_input_hw(backend: Backend, requested: tuple[int, int] | None) -> tuple[int, int]:
        fixed = backend.fixed_input_hw
        if requested is None:
            return fixed or (backend.info.input_height, backend.info.input_width)
        requested = (int(requested[0]), int(requested[1]))
        if fixed is not None and requested != fixed:
            raise ValueError(
                f"model {backend.info.name} has a static input {fixed[0]}x{fixed[1]}; cannot run at "
                f"{requested[0]}x{requested[1]} (export with --dynamic or at that size)"
            )
        return requested

    @property
    def info(self) -> ModelInfo:
        return self.backend.info

    def describe(self) -> str:
        """One line naming the model, backend, provider, precision, input size and why it was chosen."""
        info = self.info
        trained = "" if info.trained else " (UNTRAINED weights)"
        return (
            f"{info.name}{trained}: backend={self.backend.name} provider={self.backend.provider} "
            f"precision={self.backend.precision} input={self.input_hw[0]}x{self.input_hw[1]} "
            f"{self.resize_mode} depth=[{info.min_depth:g}, {info.max_depth:g}] m; {self.selection_reason}"
        )

    def predict(self, image: np.ndarray, fx: float | None = None, uncertainty: bool = True) -> DepthResult:
        """Metric depth for one uint8 H x W x 3 RGB (or H x W mono) image, at the image's resolution.

        ``fx`` is the image's horizontal focal length in pixels (from CameraInfo / K). A camera-aware
        model's depth is multiplied by ``fx_in / canonical_focal_px``, where ``fx_in`` is ``fx`` at the
        model input resolution (Metric3D's canonical-camera transform); without ``fx`` it keeps the
        training focal. Other models ignore ``fx``. ``uncertainty=False`` skips restoring the model's
        uncertainty map to the image size (the result's ``uncertainty`` is then None).
        """
        start = time.perf_counter()
        info = self.info
        source_hw = (int(image.shape[0]), int(image.shape[1]))
        with self._lock:
            plan = self._plan(source_hw)
        scale = self.focal_scale(plan, fx)
        batch = preprocess(image, plan, info.mean, info.std, info.color_order)
        after_pre = time.perf_counter()
        with self._lock:  # OpenVINO infer requests and TensorRT contexts are not thread-safe
            depth_map, uncertainty_map = self.backend.infer(batch)
        after_infer = time.perf_counter()
        depth = restore(depth_map[0, 0], plan)
        if scale != 1.0:
            depth *= np.float32(scale)
        if info.relative:  # no metric range to check before the scale source: only finite and > 0
            bounds = (float(np.finfo(np.float32).tiny), math.inf)
        else:
            bounds = (info.min_depth * scale, info.max_depth * scale)
        invalidate(depth, *bounds)
        variance = None
        if uncertainty and uncertainty_map is not None:
            variance = restore(uncertainty_map[0, 0], plan)
            if scale != 1.0:
                variance *= np.float32(scale * scale)  # a variance scales with the square
            np.copyto(variance, np.nan, where=np.isnan(depth))
        end = time.perf_counter()
        timings = Timings(
            preprocess_ms=(after_pre - start) * 1e3,
            inference_ms=(after_infer - after_pre) * 1e3,
            postprocess_ms=(end - after_infer) * 1e3,
        )
        return DepthResult(depth=depth, uncertainty=variance, timings=timings, bounds=bounds)

    def _plan(self, source_hw: tuple[int, int]) -> ResizePlan:
        plan = self._plans.get(source_hw)
        if plan is None:
            plan = self._plans[source_hw] = ResizePlan.create(source_hw, self.input_hw, self.resize_mode)
            while len(self._plans) > self.PLAN_CACHE_SIZE:
                self._plans.popitem(last=False)
        else:
            self._plans.move_to_end(source_hw)
        return plan

    def focal_scale(self, plan: ResizePlan, fx: float | None) -> float:
        """Depth multiplier of a camera-aware model for an image with focal ``fx`` (1 otherwise)."""
        canonical = self.info.canonical_focal_px
        if canonical <= 0 or fx is None:
            return 1.0
        if not (math.isfinite(fx) and fx > 0):
            raise ValueError(f"focal length must be finite and positive, got fx={fx}")
        return focal_depth_scale(fx * plan.width / plan.source_hw[1], canonical, 0.0)
