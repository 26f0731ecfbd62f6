"""The scale in force, frame after frame: source selection, smoothing, gating, hold and fallback.

One :class:`ScaleTracker` per camera stream. Each frame it asks one source (``auto``: the first of
:data:`~disdepth_core.scale.sources.AUTO_ORDER` whose input arrived within ``hold_s``) for an
observation and folds it into one tracked scale, in log space:

- the first estimate (at start, or after a fallback) is taken as it is;
- later ones move the scale by ``smoothing * confidence`` of the way (an exponential moving average),
  never more than ``max_step`` per frame (scale that jumps between frames breaks mapping);
- an estimate more than ``gate`` away from the tracked scale is a suspect and is ignored until
  ``confirm_frames`` suspects in a row agree with each other (one frame seeing a table top as the
  floor must not move the scale; a real change is followed, at ``max_step`` per frame);
- a frame on which the source cannot decide holds the last good scale for ``hold_s`` seconds (stamp
  time); after that a metric model falls back to its own scale (factor 1) and says so; a relative-depth
  model has no scale of its own and keeps holding (before its first scale it has none: ``scale`` None).

Every frame returns a :class:`ScaleDecision` saying which scale is in force and why (the node's
/diagnostics, eval-bag's per-frame rows).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from disdepth_core.scale.sources import (
    AUTO,
    AUTO_ORDER,
    FrameContext,
    ScaleObservation,
    ScaleSettings,
    ScaleSource,
    build_scale_source,
    relative_source_names,
)

__all__ = ["STATES", "ScaleDecision", "ScaleTracker", "TrackerSettings"]

STATES = {
    "measuring": "the scale comes from this frame's source",
    "gated": "this frame's estimate disagrees with the tracked scale and waits for confirmation",
    "holding": "the source cannot decide; the last good scale is held",
    "fallback": "the model's own metric scale (no source decided for longer than hold_s)",
    "waiting": "a relative-depth model without any metric scale yet: no depth is published",
}


@dataclass(frozen=True)
class TrackerSettings:
    """Temporal rules of the module docstring (fractions are relative changes: 0.1 = 10 %)."""

    smoothing: float = 0.3
    max_step: float = 0.1
    gate: float = 0.25
    confirm_frames: int = 3
    hold_s: float = 10.0

    def __post_init__(self) -> None:
        if not 0.0 < self.smoothing <= 1.0:
            raise ValueError(f"scale smoothing must be in (0, 1], got {self.smoothing}")
        if not self.max_step > 0:
            raise ValueError(f"scale max step must be > 0, got {self.max_step}")
        if not self.gate > 0:
            raise ValueError(f"scale gate must be > 0, got {self.gate}")
        if self.confirm_frames < 1:
            raise ValueError(f"scale confirm frames must be >= 1, got {self.confirm_frames}")
        if not self.hold_s >= 0:
            raise ValueError(f"scale hold time must be >= 0 s, got {self.hold_s}")


@dataclass(frozen=True)
class ScaleDecision:
    """The factor applied to this frame's model depth (None: no metric scale, see ``waiting``), the
    source whose scale it is, the state (:data:`STATES`), why, and this frame's own observation."""

    scale: float | None
    source: str
    state: str
    reason: str
    frame_scale: float | None = None
    confidence: float = 0.0
    support: int = 0

    def describe(self) -> str:
        """One line for logs and /diagnostics."""
        value = "none" if self.scale is None else f"{self.scale:.4g}"
        return f"scale {value} from {self.source} ({self.state}): {self.reason}"


class ScaleTracker:
    """Tracks one stream's scale from ``spec`` (a source name, ``name:ARG`` or ``auto``)."""

    def __init__(
        self,
        spec: str = AUTO,
        settings: ScaleSettings | None = None,
        tracking: TrackerSettings | None = None,
        relative_model: bool = False,
    ) -> None:
        settings = settings or ScaleSettings()
        self.spec = spec
        self.tracking = tracking or TrackerSettings()
        self.relative_model = relative_model
        names = AUTO_ORDER if spec == AUTO else (spec,)
        self.sources: list[ScaleSource] = [build_scale_source(name, settings) for name in names]
        if relative_model and not any(source.relative_ok for source in self.sources):
            raise ValueError(
                f"scale_source={spec} cannot give a relative-depth model metres; use "
                f"{', '.join(relative_source_names())} or {AUTO}"
            )
        self._log_scale: float | None = None
        self._scale_source = ""
        self._last_good_ns: int | None = None
        self._last_input_ns: dict[str, int] = {}
        self._suspects: list[float] = []
        self._following = False
        self.last: ScaleDecision | None = None

    @property
    def scale(self) -> float | None:
        """The tracked scale (None before the first one)."""
        return None if self._log_scale is None else math.exp(self._log_scale)

    def update(self, depth: np.ndarray, context: FrameContext) -> ScaleDecision:
        """Fold one frame in (see the module docstring) and return the decision for it."""
        now = context.stamp_ns
        if self._last_good_ns is not None and now < self._last_good_ns:
            self._reset()  # time went backwards (a bag played again): start over
        source = self._select(context)
        if source.name != "model":
            decision = self._fold(source, source.observe(depth, context), now)
        elif self.relative_model:
            reason = "no scale source has its input (a relative-depth model has no metric scale of its own)"
            decision = self._fold(source, ScaleObservation.undecided(reason), now)
        else:
            self._reset()
            decision = ScaleDecision(1.0, "model", "measuring", "the model's own metric scale", 1.0, 1.0)
        self.last = decision
        return decision

    def _select(self, context: FrameContext) -> ScaleSource:
        if len(self.sources) == 1:
            return self.sources[0]
        hold_ns = self.tracking.hold_s * 1e9
        for source in self.sources:
            if source.has_input(context):
                self._last_input_ns[source.name] = context.stamp_ns
            last = self._last_input_ns.get(source.name)
            if last is not None and context.stamp_ns - last <= hold_ns:
                return source
        return self.sources[-1]

    def _fold(self, source: ScaleSource, observation: ScaleObservation, now: int) -> ScaleDecision:
        if observation.scale is not None:
            accepted = self._accept(math.log(observation.scale), observation.confidence)
            if accepted:
                self._last_good_ns, self._scale_source = now, source.name
                return self._decision("measuring", source.name, observation.reason, observation)
            ratio = observation.scale / math.exp(self._log_scale or 0.0)
            reason = (
                f"this frame's estimate is {ratio:.2f}x the tracked scale ({observation.reason}); "
                f"followed only when {self.tracking.confirm_frames} frames in a row agree"
            )
            return self._decision("gated", self._scale_source, reason, observation)
        held_for = None if self._last_good_ns is None else (now - self._last_good_ns) / 1e9
        if held_for is not None and (self.relative_model or held_for <= self.tracking.hold_s):
            limit = "" if self.relative_model else f" of {self.tracking.hold_s:g} s"
            reason = (
                f"{source.name} cannot decide ({observation.reason}); holding for {held_for:.1f} s{limit}"
            )
            return self._decision("holding", self._scale_source, reason, observation)
        if self.relative_model:
            return ScaleDecision(
                None, source.name, "waiting", f"{source.name} cannot decide: {observation.reason}"
            )
        self._reset()
        reason = f"{source.name} cannot decide ({observation.reason})" + (
            f" for longer than {self.tracking.hold_s:g} s" if held_for is not None else ""
        )
        return ScaleDecision(1.0, "model", "fallback", reason, None, 0.0, observation.support)

    def _accept(self, log_scale: float, confidence: float) -> bool:
        """Gate and smooth one estimate; False when it is a suspect still waiting for confirmation."""
        tracking = self.tracking
        if self._log_scale is None:
            self._log_scale = log_scale
            return True
        gate = math.log1p(tracking.gate)
        difference = log_scale - self._log_scale
        if abs(difference) > gate and not self._following:
            if self._suspects and abs(log_scale - float(np.median(self._suspects))) > gate:
                self._suspects = []
            self._suspects.append(log_scale)
            if len(self._suspects) < tracking.confirm_frames:
                return False
            difference = float(np.median(self._suspects)) - self._log_scale
            self._following = True
        self._suspects = []
        if abs(difference) <= gate:
            self._following = False
        step = math.log1p(tracking.max_step)
        weight = tracking.smoothing * max(0.0, min(1.0, confidence))
        self._log_scale += max(-step, min(step, weight * difference))
        return True

    def _decision(self, state: str, source: str, reason: str, observation: ScaleObservation) -> ScaleDecision:
        return ScaleDecision(
            self.scale, source, state, reason, observation.scale, observation.confidence, observation.support
        )

    def _reset(self) -> None:
        self._log_scale = None
        self._last_good_ns = None
        self._suspects = []
        self._following = False
