"""Training configuration: typed dataclasses loaded from YAML recipes (``config/train/*.yaml``).

One :class:`TrainConfig` describes every stage (``train``, ``acclimate``, ``distill``); a stage reads the
sections it needs. Recipes are strict: an unknown key is an error naming the file and the key, so a typo
never silently falls back to a default. Command-line overrides use dotted paths
(``--set optim.lr=3e-4 --set data.train.size=64``); values are parsed as YAML scalars/lists.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from disdepth_core.model_info import check_input_size
from disdepth_core.teacher_kinds import OUTPUT_KINDS

from .dataset_kinds import LABELED, NO_UNLABELED, UNLABELED, dataset_names

STAGES = ("train", "acclimate", "distill")
FEATURE_KD_KINDS = ("attentive", "mse", "none")
PSEUDO_LABEL_SOURCES = ("teacher", "ghost")
PRETRAINED_SOURCES = ("none", "imagenet")
AMP_MODES = ("off", "bf16", "fp16")
ACCLIMATE_TARGETS = ("ground_truth", "teacher")


@dataclass
class ModelSpec:
    """A registered architecture: ``build_model(name, **overrides)`` (``disdepth_core.models``).

    ``pretrained``: ``imagenet`` loads the packaged ImageNet encoder weights into a model trained from
    scratch (``disdepth_core.models.weights.load_imagenet_encoder``; ``disdepth-lite0``), ``none`` keeps
    the random init. ``overrides.canonical_focal_px`` > 0 makes the model camera-aware.
    """

    name: str = "disdepth-mbv2"
    overrides: dict[str, Any] = field(default_factory=dict)
    pretrained: str = "none"


@dataclass
class DatasetConfig:
    """A labeled dataset.

    ``synthetic``: procedural scenes (``size`` images, ``seed``, ``kinds``; empty = all kinds);
    ``photometric`` adds the renderer's camera effects (``disdepth_core.data.photometric``),
    ``textures`` picks photograph groups of ``disdepth_core.data.synthetic.textures.GROUPS`` (empty = the
    renderer's default bank; ``rtabmap``/``manydepth`` read ``real_unlabeled``), ``cache_dir`` keeps
    renders on disk.
    ``nyu``: ``root`` holding ``nyu_depth_v2_labeled.mat`` + ``splits.mat``, or a BTS file list
    (``list_file``, paths under ``root``). ``kitti``: ``root`` (raw images) + BTS file list
    (``list_file``) + ``gt_root`` (annotated depth, default ``root``). ``max_samples`` > 0 truncates.
    """

    kind: str = "synthetic"
    root: str = ""
    split: str = "train"
    list_file: str = ""
    gt_root: str = ""
    size: int = 256
    seed: int = 0
    kinds: list[str] = field(default_factory=list)
    max_samples: int = 0
    photometric: bool = False
    textures: list[str] = field(default_factory=list)
    real_unlabeled: str = ""
    cache_dir: str = ""


@dataclass
class UnlabeledConfig:
    """Auxiliary unlabeled images for output-level KD (Hu et al. 2021, Sec. 3.3).

    ``synthetic`` (``size``, ``seed``, ``kinds``), ``folder`` (``path``), ``video`` (``path``, every
    ``frame_step``-th frame), ``rosbag`` (``path`` + ``topic``); ``none`` disables them.
    ``batch_size`` 0 uses the labeled batch size.
    """

    kind: str = "none"
    path: str = ""
    topic: str = ""
    size: int = 256
    seed: int = 1000
    kinds: list[str] = field(default_factory=list)
    frame_step: int = 1
    max_samples: int = 0
    batch_size: int = 0


@dataclass
class DataConfig:
    """Input resolution (``model_info.check_input_size``), batching, the datasets; ``augment``:
    BTS/AdaBins train-time augmentation (``disdepth_core.data.augment.Augment``) on labeled images, flips
    on unlabeled ones. ``max_zoom``: the largest random zoom of the crop + resize of labeled training
    images (``disdepth_core.data.focal_augment``; 1 = none): for a camera-aware model it varies the focal
    length, for a plain metric model the target depth is divided by the zoom (``train.batches``)."""

    height: int = 128
    width: int = 160
    batch_size: int = 8
    num_workers: int = 0
    augment: bool = True
    max_zoom: float = 1.0
    train: DatasetConfig = field(default_factory=DatasetConfig)
    val: DatasetConfig = field(default_factory=lambda: DatasetConfig(split="val", size=64, seed=10_000))
    unlabeled: UnlabeledConfig = field(default_factory=UnlabeledConfig)


@dataclass
class OptimConfig:
    """AdamW + OneCycleLR (cosine); ``lr`` is the peak learning rate, ``encoder_lr_scale`` multiplies it
    for the trained model's backbone (0.1 for a pretrained encoder, as AdaBins/BTS do). ``grad_clip`` 0
    disables clipping."""

    epochs: int = 10
    lr: float = 1e-3
    weight_decay: float = 1e-2
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    pct_start: float = 0.3
    div_factor: float = 25.0
    final_div_factor: float = 1e3
    grad_clip: float = 1.0
    max_steps_per_epoch: int = 0
    encoder_lr_scale: float = 1.0


@dataclass
class LossConfig:
    """Supervised depth loss: SILog (``silog_lambda`` variance focus) + chamfer bin loss + gradient loss
    + scale-and-shift-invariant loss in inverse depth (``ssi_weight``; ``disdepth_core.losses.ssi``)."""

    silog_weight: float = 1.0
    silog_lambda: float = 0.85
    bins_weight: float = 0.1
    gradient_weight: float = 0.0
    ssi_weight: float = 0.0


@dataclass
class AcclimateConfig:
    """DisDepth ghost-decoder stage (Zheng et al. 2024, Sec. 3.3).

    ``target``: what the ghost output learns to reproduce: ``ground_truth`` (the paper), or ``teacher``,
    the teacher's own metric depth on the same image (label-free acclimation; batches' depth unused).
    """

    freeze_teacher_encoder: bool = True
    target: str = "ground_truth"


@dataclass
class TeacherOptions:
    """How ``teacher`` (a spec: checkpoint, ``hf:DIR``, ``onnx:FILE``) is opened.

    ``output``: ``auto`` (what the model declares) or ``metric_depth`` / ``relative_depth`` /
    ``relative_inverse_depth``. ``scale`` (relative teachers): ``fixed:S[,SHIFT]``, or ``fit[:median|lsq]``:
    one global scale fitted on the first ``fit_frames`` training samples with ground truth; empty for a
    metric teacher (a relative teacher without one is refused).
    """

    output: str = "auto"
    scale: str = ""
    fit_frames: int = 32


@dataclass
class DistillConfig:
    """Distillation stage: DisDepth feature KD + Hu et al. output-level KD on unlabeled images.

    ``feature_kd``: ``attentive`` (DisDepth attentive loss), ``mse`` (plain feature imitation) or
    ``none``. ``ghost``: imitate the acclimated teacher features (True) or the raw teacher encoder
    features through fresh adapters (False, the "no ghost decoder" ablation). ``labeled_output_weight``
    adds output KD on labeled images too. ``pseudo_labels``: teacher's own head or the ghost output.
    ``cache_dir`` empty = ``<out>/pseudo_labels``. ``kd_options``: keyword arguments of the feature KD
    loss (``disdepth_core.losses.AttentiveKDLoss`` / ``FeatureKDLoss``).
    """

    feature_kd: str = "attentive"
    feature_weight: float = 1.0
    kd_options: dict[str, Any] = field(default_factory=dict)
    ghost: bool = True
    output_weight: float = 1.0
    labeled_output_weight: float = 0.0
    pseudo_labels: str = "teacher"
    cache_pseudo_labels: bool = True
    cache_dir: str = ""


@dataclass
class RuntimeConfig:
    """Device, mixed precision, logging and checkpoint cadence.

    ``amp`` applies only on CUDA (CPU autocast is off); ``checkpoint_every`` > 0 also writes ``last``
    every that many steps (mid-epoch resume); ``threads`` > 0 sets ``torch.set_num_threads``;
    ``best_metric`` picks the ``best`` checkpoint (lower is better except the delta thresholds);
    ``sync_bn`` converts BatchNorm to SyncBatchNorm under DDP on CUDA.
    """

    device: str = "auto"
    amp: str = "bf16"
    log_every: int = 10
    checkpoint_every: int = 0
    val_every: int = 1
    progress: bool = True
    threads: int = 0
    deterministic: bool = True
    best_metric: str = "abs_rel"
    find_unused_parameters: bool = False
    sync_bn: bool = True


@dataclass
class TrainConfig:
    """A full training recipe. ``teacher`` is a teacher spec (``disdepth_core.models.teachers.spec``) for
    acclimate/distill; ``student`` a checkpoint: the trained student for acclimate, the initial weights
    for distill and train (optional; its architecture replaces ``model``)."""

    stage: str = "train"
    out: str = "runs/train"
    seed: int = 0
    model: ModelSpec = field(default_factory=ModelSpec)
    teacher: str = ""
    teacher_options: TeacherOptions = field(default_factory=TeacherOptions)
    student: str = ""
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    acclimate: AcclimateConfig = field(default_factory=AcclimateConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)

    def to_dict(self) -> dict[str, Any]:
        """JSON/YAML-serialisable nested dict (recorded in checkpoint metadata)."""
        return dataclasses.asdict(self)

    def validate(self) -> TrainConfig:
        """Check enumerations and ranges; raise ValueError naming the offending key."""
        _choice("stage", self.stage, STAGES)
        trainable = dataset_names(LABELED, training=True)
        _choice("data.train.kind", self.data.train.kind, trainable)
        _choice("data.val.kind", self.data.val.kind, trainable)
        _choice("data.unlabeled.kind", self.data.unlabeled.kind, (NO_UNLABELED, *dataset_names(UNLABELED)))
        _choice("distill.feature_kd", self.distill.feature_kd, FEATURE_KD_KINDS)
        _choice("distill.pseudo_labels", self.distill.pseudo_labels, PSEUDO_LABEL_SOURCES)
        _choice("runtime.amp", self.runtime.amp, AMP_MODES)
        _choice("acclimate.target", self.acclimate.target, ACCLIMATE_TARGETS)
        _choice("teacher_options.output", self.teacher_options.output, ("auto", *OUTPUT_KINDS))
        _choice("model.pretrained", self.model.pretrained, PRETRAINED_SOURCES)
        if not self.data.max_zoom >= 1.0:
            raise ValueError(f"data.max_zoom must be >= 1, got {self.data.max_zoom}")
        check_input_size(self.data.height, self.data.width, "data.height and data.width")
        if self.data.batch_size < 1:
            raise ValueError(f"data.batch_size must be >= 1, got {self.data.batch_size}")
        if self.optim.epochs < 1:
            raise ValueError(f"optim.epochs must be >= 1, got {self.optim.epochs}")
        if not 0.0 < self.optim.pct_start < 1.0:
            raise ValueError(f"optim.pct_start must be in (0, 1), got {self.optim.pct_start}")
        if len(self.optim.betas) != 2:
            raise ValueError(f"optim.betas must have two values, got {self.optim.betas}")
        if self.distill.pseudo_labels == "ghost" and not self.distill.ghost:
            raise ValueError("distill.pseudo_labels=ghost needs distill.ghost=true")
        return self


def load_config(path: str | os.PathLike[str] | None = None, overrides: Iterable[str] = ()) -> TrainConfig:
    """Read a YAML recipe (or the defaults when ``path`` is None) and apply ``key.sub=value`` overrides."""
    raw: dict[str, Any] = {}
    source = "<defaults>"
    if path is not None:
        path = Path(path)
        source = str(path)
        if not path.is_file():
            raise FileNotFoundError(f"training config not found: {path}")
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as error:
            raise ValueError(f"{path}: invalid YAML: {error}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ValueError(f"{path}: top level must be a mapping, got {type(loaded).__name__}")
        raw = loaded or {}
    for item in overrides:
        apply_override(raw, item)
    return from_dict(TrainConfig, raw, source).validate()


def apply_override(raw: dict[str, Any], item: str) -> None:
    """Set ``raw[a][b] = value`` for ``item == "a.b=value"`` (value parsed as YAML)."""
    key, sep, text = item.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"override {item!r} must look like key.sub=value")
    try:
        value = yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError as error:
        raise ValueError(f"override {item!r}: value is not valid YAML: {error}") from None
    parts = key.strip().split(".")
    node = raw
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ValueError(f"override {item!r}: {part!r} is not a section")
        node = child
    node[parts[-1]] = value


def from_dict(cls: type, raw: Mapping[str, Any], source: str, prefix: str = "") -> Any:
    """Build dataclass ``cls`` from ``raw``; unknown keys and wrong types raise ValueError."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{source}: {prefix.rstrip('.') or 'config'} must be a mapping, got {raw!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise ValueError(f"{source}: unknown key(s) {[prefix + k for k in unknown]}; valid: {sorted(names)}")
    kwargs = {}
    for name, value in raw.items():
        kwargs[name] = _coerce(hints[name], value, source, prefix + name)
    return cls(**kwargs)


def _coerce(hint: Any, value: Any, source: str, key: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value or {}, source, key + ".")
    origin = typing.get_origin(hint)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{source}: {key} must be a list, got {value!r}")
        (item_hint,) = typing.get_args(hint)[:1] or (Any,)
        return [_coerce(item_hint, v, source, key) for v in value]
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ValueError(f"{source}: {key} must be a mapping, got {value!r}")
        return dict(value)
    if origin in (typing.Union, types.UnionType):
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{source}: {key} must be true/false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{source}: {key} must be an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, str):  # YAML 1.1 reads "1e-3" (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{source}: {key} must be a number, got {value!r}")
        return float(value)
    if hint is str:
        if value is None:
            return ""
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ValueError(f"{source}: {key} must be a string, got {value!r}")
        return str(value)
    return value


def _choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{key} must be one of {list(choices)}, got {value!r}")
