"""Options of ``disdepth distill-bag`` (one dataclass; the CLI fills it) and the ``--quick`` budget.

Budgets are optimizer steps per training stage; each stage runs whole epochs over the training frames
(at most ``steps`` batches per epoch), so the real count is ``steps`` rounded up to a full epoch. Defaults
are for a GPU run on an hour of recording; ``--quick`` runs every stage on a tiny budget (a smoke test of
the whole workflow, about a minute on a 2-core CPU with an ONNX teacher; its student is not a model).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from disdepth_core.runtime.model_info import SIZE_MULTIPLE, check_input_size

FEATURE_KD = ("attentive", "mse", "none")
# Options that do not change what a run computes (may differ between a run and its --resume).
RUNTIME_ONLY = ("resume", "progress", "device", "threads", "eval_threads")


@dataclass
class DistillBagOptions:
    """Everything one run needs; see ``disdepth distill-bag --help`` for each option."""

    bags: list[Path]
    image_topic: str
    teacher: str
    out: Path
    student: str = "disdepth-mbv2"
    depth_topic: str | None = None
    camera_info_topic: str | None = None
    teacher_output: str = "auto"
    scale: str = ""
    scale_data: Path | None = None
    student_init: Path | None = None
    width: int = 320
    height: int = 0
    min_depth: float = 0.1
    max_depth: float = 0.0
    teacher_size: tuple[int, int] | None = None
    every: int = 1
    max_frames: int = 0
    heldout: float = 0.2
    gap_s: float = 1.0
    stamp_tolerance_s: float = 0.05
    batch_size: int = 8
    lr: float = 1e-3
    warmup_steps: int = 2000
    acclimate_steps: int = 1000
    distill_steps: int = 4000
    feature_kd: str = "attentive"
    feature_weight: float = 0.5
    seed: int = 0
    device: str = "auto"
    threads: int = 0
    eval_threads: int = 2
    sets: list[str] = field(default_factory=list)
    quick: bool = False
    resume: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        """Refuse every bad argument here, before the first stage runs (bags, topics and the teacher are
        checked by the pipeline before its first stage too)."""
        if not self.bags:
            raise ValueError("give at least one bag")
        if self.feature_kd not in FEATURE_KD:
            raise ValueError(f"--feature-kd must be one of {', '.join(FEATURE_KD)}, got {self.feature_kd!r}")
        if self.height:
            check_input_size(self.height, self.width, "--height and --width")
        elif self.width <= 0 or self.width % SIZE_MULTIPLE:
            raise ValueError(f"--width must be a positive multiple of {SIZE_MULTIPLE}, got {self.width}")
        if self.batch_size < 1 or min(self.warmup_steps, self.acclimate_steps, self.distill_steps) < 1:
            raise ValueError("--batch-size and every --*-steps must be >= 1")
        if not (self.min_depth > 0 and (self.max_depth == 0 or self.max_depth > self.min_depth)):
            raise ValueError(
                "depth range must satisfy 0 < --min-depth < --max-depth, "
                f"got {self.min_depth}, {self.max_depth}"
            )
        self._check_numbers()
        self._check_paths()
        self._check_student()

    def _check_numbers(self) -> None:
        checks = {
            "--every": (self.every, self.every >= 1, ">= 1"),
            "--max-frames": (self.max_frames, self.max_frames >= 0, ">= 0 (0: all)"),
            "--heldout": (self.heldout, 0 < self.heldout < 1, "in (0, 1)"),
            "--gap": (self.gap_s, self.gap_s >= 0, ">= 0 s"),
            "--stamp-tolerance": (self.stamp_tolerance_s, self.stamp_tolerance_s >= 0, ">= 0 s"),
            "--lr": (self.lr, self.lr > 0, "> 0"),
            "--feature-weight": (self.feature_weight, self.feature_weight >= 0, ">= 0"),
            "--threads": (self.threads, self.threads >= 0, ">= 0 (0: torch's default)"),
            "--eval-threads": (self.eval_threads, self.eval_threads >= 1, ">= 1"),
        }
        if self.teacher_size is not None:
            checks["--teacher-size"] = (self.teacher_size, min(self.teacher_size) > 0, "positive")
        for option, (value, ok, wanted) in checks.items():
            if not ok:
                raise ValueError(f"{option} must be {wanted}, got {value}")

    def _check_paths(self) -> None:
        out = Path(self.out)
        if out.exists() and not out.is_dir():
            raise ValueError(f"--out {out} is an existing file; give a directory for the run (it is created)")
        if self.student_init is not None and not Path(self.student_init).is_file():
            raise FileNotFoundError(
                f"--student-init {self.student_init} does not exist (a .safetensors file)"
            )
        if self.scale_data is not None and not Path(self.scale_data).is_dir():
            raise FileNotFoundError(
                f"--scale-data {self.scale_data} is not a directory (of RGB-D .npz frames)"
            )

    def _check_student(self) -> None:
        """Build the student once with the ``--set`` overrides, as the training stages will."""
        from disdepth_core.models import build_model

        from ..config import TrainConfig, apply_override, from_dict

        raw: dict[str, Any] = {}
        for item in self.sets:
            apply_override(raw, item)
        config = from_dict(TrainConfig, raw, "--set").validate()
        try:
            build_model(self.student, **config.model.overrides)
        except ValueError as error:
            raise ValueError(f"--student {self.student}: {error}") from None

    def with_quick_budget(self) -> DistillBagOptions:
        """The ``--quick`` budget: 24 frames, 64 px wide, 3 steps per stage, batch 2, no split gap."""
        if not self.quick:
            return self
        return dataclasses.replace(
            self,
            width=64,
            height=0,
            max_frames=self.max_frames or 24,
            heldout=0.25,
            gap_s=0.0,
            batch_size=2,
            warmup_steps=3,
            acclimate_steps=3,
            distill_steps=3,
        )

    def recorded(self) -> dict[str, Any]:
        """The options a resumed run must share with the run it continues (JSON-ready)."""
        values = dataclasses.asdict(self)
        for key in RUNTIME_ONLY:
            values.pop(key)
        return {
            k: ([str(b) for b in v] if k == "bags" else str(v) if isinstance(v, Path) else v)
            for k, v in values.items()
        }
