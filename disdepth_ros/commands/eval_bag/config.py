"""What ``eval-bag`` evaluates and where it writes it: one frozen config, validated where it is made."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from disdepth_core.cli.scale_args import ScaleOptions
from disdepth_core.evaluation import PROTOCOLS
from disdepth_core.geometry import DEFAULT_CLOUD_STRIDE
from disdepth_core.runtime.options import RuntimeOptions
from disdepth_core.scale import TrackerSettings
from disdepth_core.serving.limits import DEFAULT_MAX_INPUT_PIXELS

__all__ = ["DEFAULT_GT_RANGE", "EvalConfig"]

DEFAULT_GT_RANGE = PROTOCOLS["rgbd"]  # scored ground truth of a recording: real depth sensors, 0.1-80 m


@dataclass(frozen=True)
class EvalConfig:
    """What to evaluate and where to write it (see `disdepth eval-bag --help` for each option).

    `min_depth`/`max_depth` bound the scored ground truth (None: `DEFAULT_GT_RANGE`'s, 0.1-80 m; never
    the model's, so two models on one bag are scored on the same pixels); `crop` is an evaluation crop (None,
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
