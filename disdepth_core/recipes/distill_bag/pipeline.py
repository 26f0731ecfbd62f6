"""``disdepth distill-bag``: a foundation teacher distilled into the robot's own student on its own bags.

Stages, each printing one progress line and resumable (``--resume`` continues where a run stopped):

1. **pseudo-labels**: the teacher's raw output for every kept frame, cached (:mod:`.cache`);
2. **split**: held-out frames by time, never by frame (:mod:`.split`);
3. **scale**: metric labels (relative teachers need a scale source; :mod:`.labels`), and how well the
   aligned teacher matches the depth topic where the bag has one;
4. **warm-up**: the student trained on the teacher's metric pseudo-labels (Hu et al. 2021 output KD);
   with no ground truth this replaces DisDepth's supervised student, whose decoder the ghost copies;
5. **acclimate** (teachers with features): the ghost decoder (frozen copy of the warmed-up student's
   decoder) + FAM learn to reproduce the teacher's own metric depth from its features (DisDepth Sec.
   3.3 with the teacher's output as the target, i.e. label-free acclimation);
6. **distill** (teachers with features): attentive feature KD from the acclimated teacher + output KD on
   the pseudo-labels (DisDepth Sec. 3.4 + Hu et al.); an ONNX teacher has no features, its student is
   the warm-up's (output KD only, with the distill budget added to the warm-up), unless ``--assistant``
   names a disdepth checkpoint (or the run's own warm-up student) that stands in for it in stages 5-6:
   the assistant's features are acclimated to reproduce the featureless teacher's pseudo-labels, and the
   student imitates them beside the output KD (a teacher assistant, Mirzadeh et al. 2020, through the
   ghost decoder: our choice, the papers distill from the teacher's own features);
7. **export**: ``RUN/student.onnx`` with the teacher, data, licence and scale in its metadata;
8. **evaluate**: the exported student on the held-out frames against the teacher and the depth topic;
   ``RUN/report.png``, ``RUN/summary.json``, ``RUN/model_card.json``.

Training stages are the ordinary ``disdepth train|acclimate|distill`` stages (:func:`run_stage`) on the
``pseudo_labels`` dataset, so CUDA, AMP and ``torchrun`` DDP work as for every recipe: under ``torchrun``
every rank runs this function, the pseudo-label stage is sharded over ranks and only rank 0 writes.
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from disdepth_core.evaluation import EvalRange
from disdepth_core.files import remove_stale_temporaries, write_json
from disdepth_core.model_info import SIZE_MULTIPLE
from disdepth_core.models.teachers.output import MetricScale
from disdepth_core.models.teachers.spec import (
    open_teacher,
    output_kind,
    parse_teacher_spec,
    teacher_digest,
    teacher_licence,
)
from disdepth_core.train import distributed
from disdepth_core.train.config import TrainConfig, apply_override, from_dict
from disdepth_core.train.label_scale import label_scale_usage, parse_label_scale
from disdepth_core.train.scale_fit import alignment_quality
from disdepth_core.train.state import has_state

from .cache import CacheKey, FrameCache, build_cache, teacher_raw_for
from .frames import Topics, camera_matrix, check_topics
from .labels import (
    canonical_focal,
    fit_labels,
    label_percentile,
    measure_alignment,
    read_labels,
    write_labels,
)
from .options import ASSISTANT_WARMUP, BINS_WEIGHT, DistillBagOptions
from .report import headline, render_report, summary_lines
from .split import HELDOUT, TRAIN, check_split_sizes, split_by_time

STAGES = ("pseudo-labels", "split", "scale", "warm-up", "acclimate", "distill", "export", "evaluate")
MIN_TRAIN_BATCHES = 2


class RunState:
    """``RUN/run.json`` (the options) and ``RUN/progress.json`` (finished stages with their results).

    Rank 0 checks and creates the run (:meth:`open`); the other ranks read it after a barrier.
    """

    def __init__(self, out: Path, is_main: bool) -> None:
        self.out = out
        self.progress_path = out / "progress.json"
        self.is_main = is_main
        self.done: dict[str, Any] = (
            json.loads(self.progress_path.read_text(encoding="utf-8")) if self.progress_path.is_file() else {}
        )

    @staticmethod
    def open(out: Path, options: DistillBagOptions, teacher_digest: str) -> None:
        """Refuse an existing run without ``--resume`` and a resume with other options or teacher files;
        create ``run.json`` for a new run."""
        run_path = out / "run.json"
        if run_path.is_file() and not options.resume:
            raise ValueError(
                f"{out} holds a distill-bag run; pass --resume to continue it or choose another --out"
            )
        if options.resume and not run_path.is_file():
            raise FileNotFoundError(f"--resume: {out} holds no distill-bag run (run.json missing)")
        if run_path.is_file():
            run = json.loads(run_path.read_text(encoding="utf-8"))
            changed = sorted(k for k, v in options.recorded().items() if run["options"].get(k) != v)
            if changed:
                raise ValueError(f"--resume: options differ from the run in {out}: {', '.join(changed)}")
            if run["teacher_digest"] != teacher_digest:
                raise ValueError(f"--resume: the teacher's files changed since the run in {out} started")
        else:
            out.mkdir(parents=True, exist_ok=True)
            write_json(run_path, {"options": options.recorded(), "teacher_digest": teacher_digest})

    def finish(self, stage: str, result: dict[str, Any]) -> None:
        self.done[stage] = result
        if self.is_main:
            write_json(self.progress_path, self.done)


def _say(index: int, stage: str, text: str, is_main: bool = True) -> None:
    """The one progress line of a stage (rank 0 only under DDP)."""
    if is_main:
        print(f"[distill-bag] {index}/{len(STAGES)} {stage}: {text}", flush=True)


def run_distill_bag(options: DistillBagOptions) -> dict[str, Any]:
    """Run (or resume) every stage; returns the summary written to ``RUN/summary.json``."""
    options = options.with_quick_budget()
    if options.threads > 0:
        torch.set_num_threads(options.threads)
    info = distributed.setup(options.device)
    try:
        return _Pipeline(options, info).run()
    finally:
        distributed.cleanup()


class _Pipeline:
    def __init__(self, options: DistillBagOptions, info: distributed.DistInfo) -> None:
        self.o = options
        self.info = info
        self.out = Path(options.out)
        self.cache_dir = self.out / "pseudo_labels"
        self.spec = parse_teacher_spec(options.teacher)
        self.topics = Topics(options.image_topic, options.depth_topic, options.camera_info_topic)
        self.scale_source = parse_label_scale(options.scale) if options.scale else None

    def barrier(self) -> None:
        distributed.barrier(self.info)

    # ------------------------------------------------------------------------------------- checks
    def _check_inputs(self) -> None:
        for bag in self.o.bags:
            check_topics(Path(bag), self.topics)
        source = self.scale_source
        problem = source and source.missing_input(bool(self.o.depth_topic), bool(self.o.scale_data))
        if problem:
            raise ValueError(problem)
        if self.o.assistant and self.spec.has_features:
            raise ValueError(
                f"--assistant stands in for a teacher without features; {self.spec} has its own: "
                "drop --assistant"
            )
        from disdepth_core.data.rgbd_folder import RGBDFolder

        for folder in self.o.eval_data:  # fails now, not after training, on a missing or empty folder
            RGBDFolder(folder)

    def _teacher_model(self) -> torch.nn.Module:
        """The teacher with its raw output (metres come from the run's scale, not from the teacher)."""
        return open_teacher(
            self.spec, output=self.o.teacher_output, device=str(self.info.device), require_scale=False
        )

    def _open_teacher(self) -> torch.nn.Module:
        teacher = self._teacher_model()
        kind = output_kind(teacher)
        if kind != "metric_depth" and self.scale_source is None:
            raise ValueError(
                f"teacher {self.spec} predicts {kind}: declare a metric scale source with --scale: "
                f"{label_scale_usage()}"
            )
        return teacher

    def _input_size(self) -> tuple[int, int]:
        if self.o.height:
            return self.o.height, self.o.width
        from disdepth_core.bags import iter_bag_images

        _, first = next(iter_bag_images(self.o.bags[0], self.o.image_topic))
        m = SIZE_MULTIPLE
        height = max(m, round(self.o.width * first.shape[0] / first.shape[1] / m) * m)
        return height, self.o.width

    # ------------------------------------------------------------------------------------- stages
    def run(self) -> dict[str, Any]:
        self._check_inputs()
        teacher = self._open_teacher()
        self.kind = output_kind(teacher)
        self.licence = teacher_licence(self.spec)
        if self.info.is_main:
            RunState.open(self.out, self.o, teacher_digest(self.spec))
            remove_stale_temporaries(self.out)
        self.barrier()
        self.state = RunState(self.out, self.info.is_main)
        self.height, self.width = self._input_size()
        self._stage(1, functools.partial(self._pseudo_labels, teacher))
        del teacher  # free its memory before training (the stages reopen it)
        self._stage(2, self._split)
        self._stage(3, self._scale)
        features = self._feature_teacher() is not None
        self._stage(4, lambda: self._train("warm-up", "train", self._warmup_steps(features)))
        if features:
            self._stage(5, lambda: self._train("acclimate", "acclimate", self.o.acclimate_steps))
            self._stage(6, lambda: self._train("distill", "distill", self.o.distill_steps))
        else:
            reason = "skipped: the ONNX teacher exposes no features (output KD only, in the warm-up)"
            for index in (5, 6):
                if STAGES[index - 1] not in self.state.done:
                    self.state.finish(STAGES[index - 1], {"skipped": reason})
                _say(index, STAGES[index - 1], reason, self.info.is_main)
        if not self.info.is_main:
            return {}
        self._stage(7, self._export)
        self._stage(8, self._evaluate)
        from .model_card import build_summary

        labels = read_labels(self.cache_dir)
        summary = build_summary(self, labels, self.state.done["evaluate"]["evaluation"])
        write_json(self.out / "summary.json", summary)
        return summary

    def _stage(self, index: int, body: Callable[[], dict[str, Any]]) -> None:
        """Run stage ``index`` unless it finished before; every rank runs stages 1-6 (and waits for the
        others after each), only rank 0 runs export and evaluation."""
        name = STAGES[index - 1]
        done = self.state.done.get(name)
        if done is not None:
            _say(index, name, f"done ({done.get('line', 'resumed')})", self.info.is_main)
            return
        start = time.perf_counter()
        result = body()
        result["seconds"] = round(time.perf_counter() - start, 1)
        if index <= STAGES.index("distill") + 1:
            self.barrier()
        self.state.finish(name, result)
        _say(index, name, f"{result['line']} [{result['seconds']:.1f} s]", self.info.is_main)

    def _pseudo_labels(self, teacher: torch.nn.Module) -> dict[str, Any]:
        key = CacheKey(
            teacher=teacher_digest(self.spec),
            height=self.height,
            width=self.width,
            teacher_size=self.o.teacher_size,
            teacher_max_side=2 * max(self.height, self.width) if self.o.quick else 0,
            bags=tuple(str(Path(b).resolve()) for b in self.o.bags),
            topics=(self.o.image_topic, self.o.depth_topic),
            every=self.o.every,
            max_frames=self.o.max_frames,
            tolerance_ns=round(self.o.stamp_tolerance_s * 1e9),
        )
        intrinsics = [camera_matrix(Path(bag), self.topics) for bag in self.o.bags]
        report = build_cache(
            self.cache_dir,
            key,
            [Path(b) for b in self.o.bags],
            self.topics,
            teacher,
            intrinsics,
            self.info.device,
            self.info.rank,
            self.info.world_size,
            self.o.progress,
            self.barrier,
        )
        if report.frames == 0:
            raise ValueError(f"no frames on {self.o.image_topic} in {', '.join(map(str, self.o.bags))}")
        line = (
            f"{report.frames} frames from {len(self.o.bags)} bag(s), {report.with_depth} with depth "
            f"(computed {report.computed}, cached before {report.reused}); teacher {self.spec.kind} "
            f"{self.kind}, student input {self.height}x{self.width}"
        )
        return {"line": line, "frames": report.frames, "with_depth": report.with_depth}

    def _split(self) -> dict[str, Any]:
        cache = FrameCache(self.cache_dir)
        split = split_by_time(cache.frames, self.o.heldout, self.o.gap_s)
        train, heldout, gap = check_split_sizes(
            split, MIN_TRAIN_BATCHES * self.o.batch_size * self.info.world_size
        )
        if self.info.is_main:
            write_json(self.out / "split.json", {str(k): v for k, v in sorted(split.items())})
        line = (
            f"{train} training / {heldout} held-out frames (last {self.o.heldout:.0%} of each bag's "
            "time span, "
            f"{gap} frames dropped in the {self.o.gap_s:g} s gap)"
        )
        return {"line": line, "train": train, "heldout": heldout, "gap": gap}

    def _scale(self) -> dict[str, Any]:
        cache = FrameCache(self.cache_dir)
        split = {
            int(k): v for k, v in json.loads((self.out / "split.json").read_text(encoding="utf-8")).items()
        }
        train_ids = [i for i, s in split.items() if s == TRAIN]
        fit_frames = (
            self._scale_data_pairs() if self.scale_source and self.scale_source.takes_scale_data else None
        )
        max_depth = self.o.max_depth
        if not max_depth:  # from the labels: fit in a wide range first, then refit in the final one
            scales, _ = fit_labels(cache, split, self.kind, self.scale_source, (1e-3, 1e4), fit_frames)
            max_depth = _auto_max_depth(label_percentile(cache, train_ids, scales, 99.0))
        depth_range = (self.o.min_depth, max_depth)
        scales, report = fit_labels(cache, split, self.kind, self.scale_source, depth_range, fit_frames)
        report.quality = measure_alignment(cache, split, scales, EvalRange(*depth_range))
        if fit_frames:  # the RGB-D frames the global scale was fitted on
            aligned = ((report.global_scale.to_metric_numpy(raw, *depth_range), gt) for raw, gt in fit_frames)
            report.quality["scale_data"] = alignment_quality(aligned, EvalRange(*depth_range))
        if self.info.is_main:
            write_labels(self.cache_dir, split, scales, report, depth_range)
        where = next((part for part in (HELDOUT, TRAIN, "scale_data") if report.quality.get(part)), None)
        quality = report.quality.get(where) if where else None
        line = (
            f"{report.global_scale.describe()}; {report.per_frame} per-frame fits; "
            f"depth range {self.o.min_depth:g}-{max_depth:g} m"
        )
        if quality:
            line += f"; aligned teacher vs ground truth ({where} frames): {headline(quality)}"
        return {"line": line, "source": report.source, "max_depth": max_depth}

    def _scale_data_pairs(self) -> list[tuple[np.ndarray, np.ndarray]] | None:
        """``(raw, gt)`` of ``--scale-data`` RGB-D frames for ``fit`` without a depth topic."""
        if self.o.depth_topic or not self.o.scale_data:
            return None
        from disdepth_core.data.rgbd_folder import RGBDFolder

        teacher = self._teacher_model()
        return [
            (
                teacher_raw_for(
                    teacher, frame.image, frame.depth.shape, self.info.device, self.o.teacher_size
                ),
                frame.depth,
            )
            for frame in RGBDFolder(self.o.scale_data)
        ]

    def _feature_teacher(self) -> str | None:
        """Spec of the teacher whose features stages 5-6 use: the teacher itself, the ``--assistant``
        standing in for a featureless one, or None (no ghost-decoder stages)."""
        if self.spec.has_features:
            return self.spec.text
        if self.o.assistant == ASSISTANT_WARMUP:
            return str(self.out / "warm-up" / "last.safetensors")
        return self.o.assistant or None

    def _warmup_steps(self, features: bool) -> int:
        return self.o.warmup_steps + (0 if features else self.o.distill_steps)

    def _train(self, name: str, stage: str, steps: int) -> dict[str, Any]:
        from disdepth_core.train.runner import run_stage

        out = self.out / name
        config = self._stage_config(stage, out, steps)
        resume = has_state(out, "last")
        result = run_stage(config, resume=resume, recipe=f"disdepth distill-bag {name}")
        metrics = result.metrics
        line = f"{result.step} steps -> {out / 'last.safetensors'}"
        if metrics:
            line += f"; vs teacher on held-out: AbsRel {metrics['abs_rel']:.3f}"
        return {"line": line, "steps": result.step, "checkpoint": str(result.last), "validation": metrics}

    def _stage_config(self, stage: str, out: Path, steps: int) -> TrainConfig:
        labels = read_labels(self.cache_dir)
        n_train = sum(1 for v in labels["frames"].values() if v["split"] == TRAIN)
        per_epoch = max(1, min(steps, -(-n_train // self.info.world_size) // self.o.batch_size))
        pseudo = {"kind": "pseudo_labels", "root": str(self.cache_dir)}
        overrides = {"min_depth": labels["min_depth"], "max_depth": labels["max_depth"]}
        canonical = canonical_focal(FrameCache(self.cache_dir))
        if canonical > 0:  # camera info: a camera-aware student (Metric3D's canonical camera)
            overrides["canonical_focal_px"] = canonical
        raw: dict[str, Any] = {
            "stage": stage,
            "out": str(out),
            "seed": self.o.seed,
            "model": {
                "name": self.o.student,
                "overrides": overrides,
                "pretrained": "imagenet" if self.o.imagenet_encoder() else "none",
            },
            "data": {
                "height": self.height,
                "width": self.width,
                "batch_size": self.o.batch_size,
                "max_zoom": self.o.max_zoom,
                "train": {**pseudo, "split": TRAIN},
                "val": {**pseudo, "split": HELDOUT},
            },
            "optim": {
                "epochs": max(1, math.ceil(steps / per_epoch)),
                "lr": self.o.lr,
                "encoder_lr_scale": self.o.encoder_rate(),
                "max_steps_per_epoch": per_epoch,
            },
            "loss": {"ssi_weight": self.o.ssi_rate(self.kind), "bins_weight": BINS_WEIGHT},
            "runtime": {
                "device": self.o.device,
                "progress": self.o.progress,
                "checkpoint_every": 200,
                "log_every": 10,
            },
        }
        warmup = str(self.out / "warm-up" / "last.safetensors")
        scale = labels["global_scale"]
        if stage == "train" and self.o.student_init:
            raw["student"] = str(self.o.student_init)
        elif stage in ("acclimate", "distill"):
            raw["student"] = warmup
            raw["teacher"] = (
                self._feature_teacher()
                if stage == "acclimate"
                else str(self.out / "acclimate" / "last.safetensors")
            )
            if self.spec.has_features:  # an assistant is a disdepth model: metric, no scale
                raw["teacher_options"] = {"output": self.kind}
                if not (scale["kind"] == "metric_depth" and scale["scale"] == 1.0 and scale["shift"] == 0.0):
                    raw["teacher_options"]["scale"] = f"fixed:{scale['scale']!r},{scale['shift']!r}"
        if stage == "distill":
            raw["distill"] = {
                "feature_kd": self.o.feature_kd,
                "feature_weight": self.o.feature_weight,
                "ghost": True,
            }
        for item in self.o.sets:
            apply_override(raw, item)
        return from_dict(TrainConfig, raw, "disdepth distill-bag").validate()

    def _final_checkpoint(self) -> Path:
        stage = "distill" if self._feature_teacher() is not None else "warm-up"
        return self.out / stage / "last.safetensors"

    def _export(self) -> dict[str, Any]:
        from disdepth_core.export.onnx_export import export_onnx
        from disdepth_core.models.checkpoint import load_model

        labels = read_labels(self.cache_dir)
        model, metadata = load_model(self._final_checkpoint())
        provenance = {
            "teacher": self.spec.text,
            "teacher_kind": self.spec.kind,
            "teacher_output": self.kind,
            "teacher_licence": self.licence,
            "training_data": json.dumps(
                {"bags": [str(b) for b in self.o.bags], "image_topic": self.o.image_topic}
            ),
            "scale_source": labels["source"],
        }
        report = export_onnx(
            model,
            self.out / "student.onnx",
            self.height,
            self.width,
            recipe=str(metadata.get("recipe", "disdepth distill-bag")),
            extra=provenance,
        )
        error = report.max_abs_error["depth"]
        return {
            "line": f"{report.path} ({model.name}, max depth error vs PyTorch {error:.1e} m)",
            "file": str(report.path),
        }

    def _evaluate(self) -> dict[str, Any]:
        from .evaluate import EvalFrames, evaluate_heldout
        from .model_card import build_model_card

        labels = read_labels(self.cache_dir)
        eval_frames = None
        if self.o.eval_data:
            scale = MetricScale.from_dict(labels["global_scale"])
            eval_frames = EvalFrames(
                list(self.o.eval_data), self._teacher_model(), scale, self.info.device, self.o.teacher_size
            )
        result = evaluate_heldout(
            self.out / "student.onnx", FrameCache(self.cache_dir), labels, self.o.eval_threads, eval_frames
        )
        card = build_model_card(self, labels, result.summary)
        write_json(self.out / "model_card.json", card)
        title = f"{self.o.student} from {self.spec.kind} teacher {Path(self.spec.path).name} ({self.licence})"
        render_report(self.out / "report.png", result.examples, result.summary, title)
        latency = result.summary["latency_ms"]
        line = "; ".join(summary_lines(result.summary))
        line += f"; {latency['total_p50']:.1f} ms/frame; wrote report.png, model_card.json"
        return {"line": line, "evaluation": result.summary}


def _auto_max_depth(p99: float) -> float:
    """A depth range covering the training labels: 1.25 x their 99th percentile, rounded up to 1 m."""
    return float(max(1.0, math.ceil(1.25 * p99)))
