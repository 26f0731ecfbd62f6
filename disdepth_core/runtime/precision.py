"""``precision="auto"`` (the default everywhere): the fastest precision this device runs whose depth stays
within a stated bound of the model's own fp32 depth; an explicit precision always wins.

What auto tries, fastest first (docs/runtime.md, "precision: auto", has the measurements behind the
order), per backend:

* openvino: bf16 where the device reports native bf16 (AVX-512 BF16 / AMX CPUs), else fp16 where it
  reports fp16 (Intel GPUs/NPUs); then int8 when an int8 export lies beside the model
  (:func:`int8_sibling`: ``<stem>.int8.onnx``); else fp32.
* onnxruntime: the int8 file beside the model when it was made for onnxruntime; else fp32.
* tensorrt: an .onnx file becomes an fp16 engine (the engine builder compares it with ONNX Runtime and
  refuses it above AbsRel 0.02: then fp32); an .engine runs at the precision it was built with.
* torch checkpoints and card-described foreign models: fp32.

The model's own check (openvino, onnxruntime): the candidate and the file's fp32 run the same
:data:`CHECK_IMAGES` procedural rooms (``disdepth_core.data.synthetic`` with procedural materials only,
fixed seeds: the same images on every machine, no files or extra packages); the candidate is accepted
when its mean relative depth difference to fp32 (the AbsRel of its depth against the fp32 depth,
monodepth2's formula) is at most :data:`AUTO_TOLERANCE`. Shipped model, bf16: 0.30 % (0.14-0.63 % per
image); bf16 with the bins head rounded too (OpenVINO's own API on the file) 1.3 % (0.46-2.55 %), refused.
The bound on real frames (real_dev AbsRel change < 0.5 % in every alignment) is measured for the shipped
model by ``benchmarks/runtime.py`` (docs/runtime.md); measure your own model the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from disdepth_core.geometry import valid_depth
from disdepth_core.runtime.backends.base import Backend
from disdepth_core.runtime.image_ops import ResizePlan, preprocess

__all__ = ["AUTO", "AUTO_TOLERANCE", "CHECK_IMAGES", "PrecisionChoice", "check_batches", "choose_precision"]

AUTO = "auto"
AUTO_TOLERANCE = 0.01
"""Largest mean relative depth difference to fp32 (AbsRel against the fp32 depth) auto accepts."""
CHECK_IMAGES = 4
_CHECK_SIZE_HW = (96, 128)
_FAST_FIRST = {"openvino": ("bf16", "fp16", "int8"), "onnxruntime": ("int8",)}


def int8_sibling(path: Path) -> Path:
    """Where auto looks for the int8 export of ``path``: ``<stem>.int8.onnx`` beside it (write it with
    ``disdepth export ... --precision int8 -o <stem>.int8.onnx``)."""
    return path.with_name(f"{path.stem}.int8.onnx")


def check_batches(backend: Backend, input_hw: tuple[int, int]) -> list[np.ndarray]:
    """The check images as ``backend``'s normalised 1 x 3 x H x W inputs at ``input_hw``."""
    from disdepth_core.data.synthetic import render_scene
    from disdepth_core.data.synthetic.textures import TextureBank

    info = backend.info
    batches = []
    for seed in range(CHECK_IMAGES):
        image = render_scene(seed, *_CHECK_SIZE_HW, "room", textures=TextureBank(()))["image"]
        plan = ResizePlan.create(image.shape[:2], input_hw, "resize")
        batches.append(preprocess(image, plan, info.mean, info.std, info.color_order))
    return batches


def depth_difference(candidate: Backend, batches: list[np.ndarray], references: list[np.ndarray]) -> float:
    """Mean over ``batches`` of mean |d - d_fp32| / d_fp32 over the pixels where the fp32 depth
    (``references``, one per batch) is finite and positive (AbsRel of ``candidate`` against fp32); inf
    when none are."""
    differences = []
    for batch, reference_depth in zip(batches, references, strict=True):
        valid = valid_depth(reference_depth)
        if not valid.any():
            return float("inf")
        depth = candidate.infer(batch)[0]
        with np.errstate(invalid="ignore"):
            relative = np.abs(depth[valid] - reference_depth[valid]) / reference_depth[valid]
        differences.append(float(np.mean(relative)))  # a NaN candidate pixel makes it NaN: refused below
    return float(np.mean(differences))


@dataclass(frozen=True)
class PrecisionChoice:
    """The backend auto chose and the sentence that says why (every candidate tried, with its figure)."""

    backend: Backend
    reason: str


def choose_precision(
    path: Path, backend: str, make: Callable[[Path, str], Backend], input_hw: tuple[int, int] | None
) -> PrecisionChoice:
    """Auto for ``backend`` (openvino or onnxruntime) on the .onnx ``path``: ``make(file, precision)``
    builds a backend (raising ValueError where the device or file cannot run that precision);
    ``input_hw`` is the inference size asked for a dynamic model (None: the model's)."""
    reference = make(path, "fp32")
    if reference.precision != "fp32":  # an int8 file runs at its own precision
        return PrecisionChoice(reference, f"precision=auto: the file is {reference.precision}")
    tried: list[str] = []
    batches: list[np.ndarray] = []
    references: list[np.ndarray] = []  # the fp32 depth of each check image, computed once
    for precision in _FAST_FIRST.get(backend, ()):
        file = int8_sibling(path) if precision == "int8" else path
        if precision == "int8" and not file.is_file():
            tried.append(f"int8: no {file.name} beside the model")
            continue
        try:
            candidate = make(file, precision)
        except ValueError as error:
            tried.append(f"{precision}: {str(error).split('; ')[0]}")
            continue
        if not batches:
            info = reference.info
            size_hw = reference.fixed_input_hw or input_hw or (info.input_height, info.input_width)
            batches = check_batches(reference, size_hw)
            references = [reference.infer(batch)[0] for batch in batches]
        difference = depth_difference(candidate, batches, references)
        verdict = "within" if difference <= AUTO_TOLERANCE else "over"
        tried.append(
            f"{precision}: depth {difference:.2%} from fp32 on {len(batches)} check images, {verdict} "
            f"the {AUTO_TOLERANCE:.0%} bound"
        )
        if difference <= AUTO_TOLERANCE:
            return PrecisionChoice(candidate, f"precision=auto: {precision} ({'; '.join(tried)})")
    return PrecisionChoice(reference, f"precision=auto: fp32 ({'; '.join(tried) or 'nothing faster to try'})")
