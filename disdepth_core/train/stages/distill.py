"""``disdepth distill``: DisDepth feature KD + Hu et al. output KD on auxiliary unlabeled images.

Per step, for a labeled batch ``x_l`` (ground truth ``y``) and an optional unlabeled batch ``x_u``:

* the student runs once on ``[x_l, x_u]`` (one BatchNorm population);
* ``L = L_depth(student(x_l), y)`` (SILog + bins, :class:`~disdepth_core.train.objective.DepthObjective`);
* ``+ feature_weight * L_feat``: the student's encoder features, through 1x1 adapters, imitate the
  teacher features of ``x_l`` (DisDepth Sec. 3.4). With ``ghost: true`` those are the *acclimated*
  features (teacher encoder -> FAM, at the student's channels and strides, one pair per student scale);
  with ``ghost: false`` (ablation) the raw teacher encoder features, each paired with the student scale
  of the same stride (nearest otherwise), through fresh adapters. ``feature_kd: attentive`` weights the
  imitation with the learned attention of :class:`~disdepth_core.losses.AttentiveKDLoss` (its attention
  target uses the teacher's depth on ``x_l`` against ``y``); ``mse`` is uniform
  (:class:`~disdepth_core.losses.FeatureKDLoss`); ``none`` switches feature KD off.
  ``distill.kd_options`` passes keyword arguments to the loss (e.g. ``attention_weight``, ``floor``).
* ``+ output_weight * SILog(student(x_u), teacher(x_u))`` (Hu et al. 2105.06143, Sec. 3.3; pseudo-labels
  from the teacher's own head or the ghost output, cached by :class:`PseudoLabelCache`); unlabeled images
  are flipped together with their pseudo-labels; ``labeled_output_weight`` adds the same term on ``x_l``.

Choices where the papers are silent: feature KD runs on labeled images only (unlabeled images then cost
no teacher forward once cached); KD terms and the depth loss are summed with fixed weights.

Teacher and student may differ in input normalisation (the batches are normalised for the student and
re-normalised for the teacher) and in depth convention: teacher depth (pseudo-labels, the attentive
loss's teacher depth, labeled output KD) is converted to the student's canonical focal length with each
image's ``fx_in`` (``disdepth_core.geometry.focal_depth_scale``; needs ``K`` only when one of the
two predicts plain metric depth and the other canonical depth).
The teacher (and ghost decoder) is frozen and stays in eval mode. The artifact is the student.

Teachers: any spec of :mod:`disdepth_core.models.teachers.spec`. A foundation teacher without a ghost
gives features and depth from one forward (``encode_and_predict``); an ONNX teacher has no features, so
it teaches by output KD only (``feature_kd: none``, ``ghost: false``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from disdepth_core.losses import AttentiveKDLoss, FeatureKDLoss, OutputKDLoss
from disdepth_core.models import DepthModel
from disdepth_core.models.checkpoint import save_model
from disdepth_core.models.normalization import renormalize

from ..acclimated import TeacherBundle
from ..config import DistillConfig, LossConfig
from ..module import TrainingModule
from ..objective import DepthObjective
from ..pseudo_labels import PseudoLabelCache


def pair_scales(student_strides: Sequence[int], teacher_strides: Sequence[int]) -> list[int]:
    """For each teacher scale, the student scale with the same stride (else the nearest in log2)."""
    return [
        min(range(len(student_strides)), key=lambda i, t=t: abs(math.log2(student_strides[i] / t)))
        for t in teacher_strides
    ]


def build_feature_kd(
    kind: str, student_channels: Sequence[int], teacher_channels: Sequence[int], options: Mapping[str, Any]
) -> nn.Module | None:
    """The feature KD loss named by ``distill.feature_kd`` (None for ``none``)."""
    if kind == "none":
        return None
    cls = AttentiveKDLoss if kind == "attentive" else FeatureKDLoss
    try:
        return cls(list(student_channels), list(teacher_channels), **dict(options))
    except TypeError as error:
        raise ValueError(f"distill.kd_options do not fit {cls.__name__}: {error}") from None


class DistillStage(TrainingModule):
    """Student + KD adapters/attention (trained) and a frozen teacher bundle."""

    stage = "distill"

    def __init__(
        self, student: DepthModel, bundle: TeacherBundle, loss: LossConfig, config: DistillConfig
    ) -> None:
        super().__init__()
        self.depth_range = (student.min_depth, student.max_depth)
        self.input_norm = student.input_norm
        self.canonical_focal_px = student.canonical_focal_px
        self.config = config
        self.student = student
        self.teacher_spec = bundle.spec
        if not bundle.spec.has_features and (config.ghost or config.feature_kd != "none"):
            raise ValueError(
                f"teacher {bundle.spec} (ONNX) exposes no features: it teaches by output KD only; set "
                "distill.feature_kd=none and distill.ghost=false"
            )
        if config.ghost and bundle.ghost is None:
            raise ValueError(
                f"{bundle.spec} is a plain teacher; distill.ghost=true needs an acclimated teacher "
                "(run `disdepth acclimate` first) or set distill.ghost=false"
            )
        # The teacher is registered once: inside the ghost decoder when there is one.
        self.ghost = bundle.ghost if config.ghost else None
        self.raw_teacher = None if self.ghost is not None else bundle.teacher
        self.frozen.requires_grad_(False).eval()
        self.teacher_norm = self.teacher.input_norm
        source = self.ghost if self.ghost is not None and config.pseudo_labels == "ghost" else self.teacher
        self.pseudo_label_focal = float(source.canonical_focal_px)
        self.teacher_depth_focal = float(
            (self.ghost if self.ghost is not None else self.teacher).canonical_focal_px
        )
        if self.ghost is not None:
            self.pairs = list(range(len(student.feature_channels)))
            teacher_channels = list(student.feature_channels)
        elif config.feature_kd != "none":
            self.pairs = pair_scales(student.feature_strides, self.teacher.feature_strides)
            teacher_channels = list(self.teacher.feature_channels)
        else:
            self.pairs, teacher_channels = [], []
        self.feature_kd = build_feature_kd(
            config.feature_kd,
            [student.feature_channels[i] for i in self.pairs],
            teacher_channels,
            config.kd_options,
        )
        self.objective = DepthObjective(loss, student.min_depth, student.max_depth)
        self.output_kd = OutputKDLoss(variance_focus=loss.silog_lambda)
        self.pseudo_labels: PseudoLabelCache | None = None

    frozen_prefixes = ("ghost.", "raw_teacher.")

    @property
    def teacher(self) -> nn.Module:
        """The teacher model (its encoder is the one inside the ghost decoder when there is one)."""
        return self.ghost.teacher if self.ghost is not None else self.raw_teacher

    @property
    def frozen(self) -> nn.Module:
        """The frozen part: the ghost decoder (with the teacher inside) or the raw teacher."""
        return self.ghost if self.ghost is not None else self.raw_teacher

    def train(self, mode: bool = True) -> DistillStage:
        super().train(mode)
        self.frozen.eval()
        return self

    @torch.no_grad()
    def teacher_depth(self, image: Tensor) -> Tensor:
        """Pseudo-depth of ``image`` (student-normalised): the teacher's own head, or the ghost output
        (``pseudo_labels``), in the teacher's depth convention (``pseudo_label_focal``)."""
        image = renormalize(image, self.input_norm, self.teacher_norm)
        if self.config.pseudo_labels == "ghost":
            return self.ghost(image)[0].depth
        return self.teacher(image).depth

    @torch.no_grad()
    def teacher_targets(self, image: Tensor, need_depth: bool) -> tuple[list[Tensor], Tensor | None]:
        """Features the student imitates and (if needed) the matching teacher depth on ``image``
        (student-normalised; depth in the teacher's convention, ``teacher_depth_focal``)."""
        image = renormalize(image, self.input_norm, self.teacher_norm)
        hw = image.shape[-2:]
        if self.ghost is not None:
            features = self.ghost.fam(self.teacher.encode(image), hw)
            depth = self.ghost.head(self.ghost.decoder(features), hw).depth if need_depth else None
            return features, depth
        if isinstance(self.teacher, DepthModel):
            features = self.teacher.encode(image)
            return features, self.teacher.decode(features, hw).depth if need_depth else None
        features, prediction = self.teacher.encode_and_predict(image)
        return features, prediction.depth

    def forward(self, batch: Mapping[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        cfg = self.config
        x_l, gt = batch["image"], batch["depth"]
        n_l = x_l.shape[0]
        images, pseudo = x_l, None
        if "unlabeled_image" in batch:
            if self.pseudo_labels is None:
                raise RuntimeError("unlabeled batches need a pseudo-label cache (set by the stage builder)")
            x_u = batch["unlabeled_image"]
            pseudo = self.pseudo_labels(x_u, batch["unlabeled_index"], batch["unlabeled_key"])
            pseudo = self.to_student_depth(pseudo, batch.get("unlabeled_fx_in"), self.pseudo_label_focal)
            flip = batch["unlabeled_flip"].to(x_u.device).view(-1, 1, 1, 1)
            x_u = torch.where(flip, x_u.flip(-1), x_u)
            pseudo = torch.where(flip, pseudo.flip(-1), pseudo)
            images = torch.cat([x_l, x_u])
        features = self.student.encode(images)
        prediction = self.student.decode(features, images.shape[-2:])
        labeled = type(prediction)(*(t[:n_l] for t in prediction))
        loss, parts = self.objective(labeled, gt)
        need_teacher_depth = self.config.labeled_output_weight > 0 or isinstance(
            self.feature_kd, AttentiveKDLoss
        )
        teacher_depth = None
        if self.feature_kd is not None:
            targets, teacher_depth = self.teacher_targets(x_l, need_teacher_depth)
            if teacher_depth is not None:
                teacher_depth = self.to_student_depth(
                    teacher_depth, batch.get("fx_in"), self.teacher_depth_focal
                )
            student_feats = [features[i][:n_l] for i in self.pairs]
            feat = self.feature_kd(student_feats, targets, teacher_depth=teacher_depth, gt_depth=gt)
            loss = loss + cfg.feature_weight * feat
            parts["feature_kd"] = feat.detach()
        if cfg.labeled_output_weight > 0:
            if teacher_depth is None:
                teacher_depth = self.teacher_targets(x_l, True)[1]
                teacher_depth = self.to_student_depth(
                    teacher_depth, batch.get("fx_in"), self.teacher_depth_focal
                )
            out_l = self.output_kd(labeled.depth, teacher_depth)
            loss = loss + cfg.labeled_output_weight * out_l
            parts["output_kd_labeled"] = out_l.detach()
        if pseudo is not None:
            out_u = self.output_kd(prediction.depth[n_l:], pseudo)
            loss = loss + cfg.output_weight * out_u
            parts["output_kd"] = out_u.detach()
        return loss, parts

    def predict(self, image: Tensor) -> Tensor:
        return self.student(image).depth

    def encoder_parameters(self) -> list[nn.Parameter]:
        return list(self.student.encoder.parameters())

    def save_artifact(self, path: str | os.PathLike[str], metadata: Mapping[str, Any]) -> Path:
        return save_model(path, self.student, {**metadata, "teacher": self.teacher_spec.text})
