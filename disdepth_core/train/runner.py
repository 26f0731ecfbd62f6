"""Build and run one training stage from a :class:`TrainConfig` (what the CLI commands call).

``run_stage(config)`` sets up the process (DDP from the ``torchrun`` environment, threads, seeds),
builds the stage's module (:func:`build_stage`), the datasets and the :class:`Trainer`, trains, and
returns the :class:`FitResult`. Under DDP every rank calls it; only rank 0 writes files. A process
group that already exists (a pipeline running several stages, e.g. ``disdepth distill-bag``) is reused
and left open for the next stage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from disdepth_core.models import DepthModel, build_model
from disdepth_core.models.checkpoint import load_model
from disdepth_core.models.teachers.spec import teacher_digest
from disdepth_core.models.weights import load_imagenet_encoder

from . import distributed
from .batches import EpochBatches, PreparedDataset
from .config import TrainConfig
from .datasets import build_labeled, build_unlabeled
from .module import TrainingModule
from .pseudo_labels import PseudoLabelCache, cache_namespace, teacher_key
from .seeding import seed_everything
from .stages.acclimate import AcclimateStage
from .stages.distill import DistillStage
from .stages.supervised import SupervisedStage
from .state import has_state
from .teacher_loading import open_stage_teacher
from .trainer import FitResult, Trainer


def _checkpoint(path: str, role: str, stage: str) -> DepthModel:
    if not path:
        raise ValueError(
            f"the {stage} stage needs a {role} checkpoint (--{role} PATH or `{role}:` in the config)"
        )
    model, _ = load_model(path)
    return model


def _fresh_model(config: TrainConfig) -> DepthModel:
    """``config.model`` built from scratch; ImageNet encoder weights with ``model.pretrained: imagenet``."""
    model = build_model(config.model.name, **config.model.overrides)
    if config.model.pretrained == "imagenet":
        load_imagenet_encoder(model)
    return model


def build_stage(config: TrainConfig) -> TrainingModule:
    """The :class:`TrainingModule` of ``config.stage`` (models built from ``config.model`` or checkpoints)."""
    seed_everything(config.seed)
    if config.stage == "train":
        if config.student:  # start from a checkpoint (its architecture), e.g. a warm-up on pseudo-labels
            return SupervisedStage(_checkpoint(config.student, "student", "train").train(), config.loss)
        return SupervisedStage(_fresh_model(config), config.loss)
    if config.stage == "acclimate":
        student = _checkpoint(config.student, "student", "acclimate")
        target = config.acclimate.target
        bundle = open_stage_teacher(config, student, require_scale=target == "teacher", acclimate=True)
        freeze = config.acclimate.freeze_teacher_encoder
        return AcclimateStage(bundle.teacher, student, config.loss, freeze, target, bundle.spec)
    if config.student:
        student = _checkpoint(config.student, "student", "distill").train()
    else:
        student = _fresh_model(config)
    bundle = open_stage_teacher(config, student, require_scale=True)
    return DistillStage(student, bundle, config.loss, config.distill)


def _attach_pseudo_labels(stage: DistillStage, config: TrainConfig, device: torch.device) -> None:
    cfg = config.distill
    directory = None
    if cfg.cache_pseudo_labels:
        directory = Path(cfg.cache_dir) if cfg.cache_dir else Path(config.out) / "pseudo_labels"
    scale = getattr(stage.teacher, "scale", None)
    key = teacher_key(teacher_digest(stage.teacher_spec), scale.to_dict() if scale is not None else None)
    namespace = cache_namespace(key, cfg.pseudo_labels, config.data.height, config.data.width)
    stage.pseudo_labels = PseudoLabelCache(stage.teacher_depth, directory, namespace)


def _camera(stage: TrainingModule, config: TrainConfig) -> dict[str, Any]:
    """What the batches need to know about the model: its normalisation and depth convention."""
    return {
        "norm": stage.input_norm,
        "canonical_focal": stage.canonical_focal_px,
        "max_zoom": config.data.max_zoom,
    }


def build_batches(config: TrainConfig, info: distributed.DistInfo, stage: TrainingModule) -> EpochBatches:
    """Training batches (labeled + optional unlabeled) for this rank, prepared for ``stage``'s model."""
    data = config.data
    camera = _camera(stage, config)
    labeled = PreparedDataset(
        build_labeled(data.train, data), data.height, data.width, True, config.seed, data.augment, **camera
    )
    unlabeled_samples = build_unlabeled(data.unlabeled, data) if config.stage == "distill" else None
    unlabeled = None
    if unlabeled_samples is not None:
        unlabeled = PreparedDataset(
            unlabeled_samples,
            data.height,
            data.width,
            True,
            config.seed,
            data.augment,
            labeled=False,
            **camera,
        )
    return EpochBatches(
        labeled,
        data.batch_size,
        config.seed,
        info.rank,
        info.world_size,
        data.num_workers,
        config.optim.max_steps_per_epoch,
        unlabeled,
        data.unlabeled.batch_size,
    )


def build_val_loader(config: TrainConfig, stage: TrainingModule) -> DataLoader | None:
    """The validation loader (None when ``runtime.val_every`` is 0); metric depth, see ``batches``."""
    data = config.data
    if config.runtime.val_every <= 0:
        return None
    samples = build_labeled(data.val, data)
    dataset = PreparedDataset(
        samples, data.height, data.width, train=False, seed=config.seed, **_camera(stage, config)
    )
    return DataLoader(dataset, batch_size=data.batch_size, shuffle=False, num_workers=data.num_workers)


def run_stage(config: TrainConfig, resume: bool = False, recipe: str = "") -> FitResult:
    """Train ``config.stage`` end to end; ``recipe`` (e.g. the command line) goes into the metadata."""
    config.validate()
    if config.runtime.threads > 0:
        torch.set_num_threads(config.runtime.threads)
    owns_group = not distributed.is_initialized()
    info = distributed.setup(config.runtime.device)
    try:
        stage = build_stage(config)
        if isinstance(stage, DistillStage) and config.data.unlabeled.kind != "none":
            _attach_pseudo_labels(stage, config, info.device)
        batches = build_batches(config, info, stage)
        trainer = Trainer(config, stage, batches, build_val_loader(config, stage), info, recipe)
        if resume and not has_state(config.out, "last"):
            raise FileNotFoundError(f"--resume: no training state in {config.out} (last.state.json missing)")
        return trainer.fit(resume=resume)
    finally:
        if owns_group:
            distributed.cleanup()
