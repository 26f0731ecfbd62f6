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

from disdepth_core.model_info import SIZE_MULTIPLE, check_input_size

FEATURE_KD = ("attentive", "mse", "none")
PRETRAINED = ("auto", "imagenet", "none")
DEFAULT_STUDENT = "disdepth-lite0"
# A student encoder that starts from learned weights (ImageNet, --student-init) trains at this fraction of
# the peak rate unless --encoder-lr-scale says otherwise (AdaBins/BTS; the recipes' optim.encoder_lr_scale).
PRETRAINED_ENCODER_LR_SCALE = 0.1
# Crop + rescale augmentation of the training frames (data.max_zoom), the weight of the
# scale-and-shift-invariant output KD in inverse depth for relative teachers (loss.ssi_weight) and of the
# bin-centre loss (loss.bins_weight; AdaBins' 0.1 pulls the bins towards noisy pseudo-labels). Chosen by
# the real-image ablation in docs/experiments/distill_bag_ablation.md (zoom 1.5 and the 0.1 bins weight
# made the held-out fidelity worse, the SSI loss better).
DEFAULT_MAX_ZOOM = 1.0
RELATIVE_SSI_WEIGHT = 1.0
BINS_WEIGHT = 0.01
# --assistant: the run's own warm-up student stands in for a featureless teacher in the ghost stages.
ASSISTANT_WARMUP = "warm-up"
# Options that do not change what a run computes (may differ between a run and its --resume).
RUNTIME_ONLY = ("resume", "progress", "device", "threads", "eval_threads")


@dataclass
class DistillBagOptions:
    """Everything one run needs; see ``disdepth distill-bag --help`` for each option."""

    bags: list[Path]
    image_topic: str
    teacher: str
    out: Path
    student: str = DEFAULT_STUDENT
    depth_topic: str | None = None
    camera_info_topic: str | None = None
    teacher_output: str = "auto"
    scale: str = ""
    scale_data: Path | None = None
    eval_data: list[Path] = field(default_factory=list)
    student_init: Path | None = None
    pretrained: str = "auto"
    encoder_lr_scale: float | None = None
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
    max_zoom: float = DEFAULT_MAX_ZOOM
    assistant: str = ""
    ssi_weight: float | None = None
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
        from disdepth_core.models import list_models
        from disdepth_core.models.weights import IMAGENET_ENCODERS

        if self.student not in list_models():
            raise ValueError(
                f"--student {self.student}: unknown model {self.student!r}; "
                f"choose one of {', '.join(list_models())}"
            )
        if self.pretrained not in PRETRAINED:
            raise ValueError(f"--pretrained must be one of {', '.join(PRETRAINED)}, got {self.pretrained!r}")
        if self.pretrained == "imagenet" and self.student not in IMAGENET_ENCODERS:
            raise ValueError(
                f"--pretrained imagenet: no packaged ImageNet weights for {self.student} (they exist for "
                f"{', '.join(sorted(IMAGENET_ENCODERS))}); use --pretrained none or another --student"
            )
        if self.encoder_lr_scale is not None and not 0 < self.encoder_lr_scale <= 1:
            raise ValueError(f"--encoder-lr-scale must be in (0, 1], got {self.encoder_lr_scale}")
        if not self.max_zoom >= 1.0:
            raise ValueError(f"--max-zoom must be >= 1 (1: no crop + rescale), got {self.max_zoom}")
        if self.assistant not in ("", ASSISTANT_WARMUP) and not Path(self.assistant).is_file():
            raise ValueError(
                f"--assistant {self.assistant}: not a file; give a disdepth student checkpoint "
                f"(.safetensors) or {ASSISTANT_WARMUP!r} (the run's own warm-up student)"
            )
        if self.ssi_weight is not None and not self.ssi_weight >= 0:
            raise ValueError(f"--ssi-weight must be >= 0, got {self.ssi_weight}")
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
        from disdepth_core.train.config import TrainConfig, apply_override, from_dict

        raw: dict[str, Any] = {}
        for item in self.sets:
            apply_override(raw, item)
        config = from_dict(TrainConfig, raw, "--set").validate()
        try:
            build_model(self.student, **config.model.overrides)
        except ValueError as error:
            raise ValueError(f"--student {self.student}: {error}") from None

    def imagenet_encoder(self) -> bool:
        """Whether the warm-up starts from ImageNet encoder weights (``auto``: when the student has them
        and no ``--student-init`` checkpoint gives the start weights)."""
        from disdepth_core.models.weights import IMAGENET_ENCODERS

        if self.student_init is not None:
            return False
        return self.pretrained == "imagenet" or (
            self.pretrained == "auto" and self.student in IMAGENET_ENCODERS
        )

    def encoder_rate(self) -> float:
        """``optim.encoder_lr_scale`` of the stages that train the student (warm-up, distill):
        ``--encoder-lr-scale`` if given, else ``PRETRAINED_ENCODER_LR_SCALE`` for an encoder that starts
        from learned weights (ImageNet or ``--student-init``) and 1 for a randomly initialised one."""
        if self.encoder_lr_scale is not None:
            return self.encoder_lr_scale
        learned = self.student_init is not None or self.imagenet_encoder()
        return PRETRAINED_ENCODER_LR_SCALE if learned else 1.0

    def ssi_rate(self, output_kind: str) -> float:
        """``loss.ssi_weight``: ``--ssi-weight`` if given, else ``RELATIVE_SSI_WEIGHT`` for a relative
        teacher and 0 for a metric one (whose per-image scale is worth learning as it is)."""
        if self.ssi_weight is not None:
            return self.ssi_weight
        return 0.0 if output_kind == "metric_depth" else RELATIVE_SSI_WEIGHT

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
            k: ([str(p) for p in v] if k in ("bags", "eval_data") else str(v) if isinstance(v, Path) else v)
            for k, v in values.items()
        }
