"""``model_card.json`` and ``summary.json`` of a distill-bag run (see :mod:`.report` for what they hold)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from disdepth_core.model_info import ModelInfo
from disdepth_core.models.checkpoint import load_model
from disdepth_core.profiling import profile_model
from disdepth_core.provenance import git_revision

from .evaluate import FIDELITY_LABELS, HELDOUT_SETS, fidelity_alignments
from .split import HELDOUT, TRAIN

LICENCE_NOTE = (
    "A student distilled from a teacher is bound by the teacher's licence and by the licences of the "
    "recordings it was trained on: check both before shipping it."
)


def _onnx_info(path: Path) -> ModelInfo:
    import onnx

    props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    return ModelInfo.from_props(props, path)


def build_model_card(pipeline: Any, labels: dict[str, Any], evaluation: dict[str, Any]) -> dict[str, Any]:
    """Everything needed to ship or refuse the student (module docstring of :mod:`.report`)."""
    o, done = pipeline.o, pipeline.state.done
    info = _onnx_info(pipeline.out / "student.onnx")
    model, _ = load_model(pipeline._final_checkpoint())
    cost = profile_model(model, info.input_height, info.input_width)
    split = done["split"]
    return {
        "fidelity": {
            "what": "the student's agreement with its teacher (the teacher's metric output as the "
            "reference), per-image aligned: "
            + ", ".join(FIDELITY_LABELS[a] for a in fidelity_alignments(pipeline.kind)),
            **evaluation["fidelity"],
        },
        "model": {
            "file": "student.onnx",
            "architecture": info.name,
            "params": cost.params,
            "gflops": round(cost.gflops, 3),
            "input_hw": [info.input_height, info.input_width],
            "depth_range_m": [info.min_depth, info.max_depth],
            "camera_aware": info.camera_aware,
            "canonical_focal_px": info.canonical_focal_px,
            "load_with": "depth_node parameter model_path (or disdepth_core.runtime.load_estimator)",
            "start_weights": str(o.student_init)
            if o.student_init
            else ("imagenet encoder" if o.imagenet_encoder() else "random"),
            "encoder_lr_scale": o.encoder_rate(),
        },
        "teacher": {
            "spec": pipeline.spec.text,
            "kind": pipeline.spec.kind,
            "output": pipeline.kind,
            "features": pipeline.spec.has_features,
            "assistant": o.assistant or None,
            "licence": pipeline.licence,
        },
        "licence_note": LICENCE_NOTE,
        "data": {
            "bags": [str(b) for b in o.bags],
            "topics": {"image": o.image_topic, "depth": o.depth_topic, "camera_info": o.camera_info_topic},
            "images": done["pseudo-labels"]["frames"],
            "images_with_depth": done["pseudo-labels"]["with_depth"],
            "every": o.every,
            "train": split["train"],
            "heldout": split["heldout"],
            "dropped_in_gap": split["gap"],
            "split": f"by time: the last {o.heldout:.0%} of each bag held out, {o.gap_s:g} s gap",
        },
        "scale": {
            "source": labels["source"],
            "global": labels["global_scale"],
            "per_frame_fits": labels["per_frame_fits"],
            "global_fallback": labels["global_fallback"],
            "teacher_vs_depth_topic": {part: labels["quality"].get(part) for part in (TRAIN, HELDOUT)},
            "teacher_vs_scale_data": labels["quality"].get("scale_data"),
        },
        "training": {
            stage: {k: v for k, v in done[stage].items() if k in ("steps", "seconds", "skipped")}
            for stage in ("warm-up", "acclimate", "distill")
            if stage in done
        },
        "metrics": {k: evaluation[k] for k in HELDOUT_SETS},
        "eval_data": evaluation["eval_data"],
        "heldout_frames": evaluation["frames"],
        "latency_ms": evaluation["latency_ms"],
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "git_hash": git_revision(),
    }


def build_summary(pipeline: Any, labels: dict[str, Any], evaluation: dict[str, Any]) -> dict[str, Any]:
    """Stages (with their lines, times and results), files and the held-out evaluation."""
    out = pipeline.out
    files = {
        name: str(out / name) for name in ("student.onnx", "report.png", "model_card.json", "summary.json")
    }
    return {
        "stages": {
            stage: {k: v for k, v in result.items() if k != "evaluation"}
            for stage, result in pipeline.state.done.items()
        },
        "files": files,
        "teacher": pipeline.spec.text,
        "scale_source": labels["source"],
        "evaluation": evaluation,
        "options": pipeline.o.recorded(),
    }
