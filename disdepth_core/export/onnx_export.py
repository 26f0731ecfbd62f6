"""Export a DepthModel to one self-contained ONNX file with disdepth metadata, verified against PyTorch.

Exporter choice: ``torch.onnx.export(..., dynamo=True)`` (the torch.export-based exporter). The legacy
TorchScript exporter is deprecated in torch >= 2.9 and cannot export the LG-Conv adaptive pooling with
dynamic spatial sizes; the dynamo exporter handles every student statically and dynamic sizes where the
model's shape code is symbolic. ``external_data=False`` keeps weights inside the file (students are far
below the 2 GB protobuf limit). Graph I/O: input ``image`` (B x 3 x H x W, normalised RGB, see
ARCHITECTURE.md "Model input"), outputs ``depth`` and ``uncertainty`` (B x 1 x H x W).
"""

from __future__ import annotations

import contextlib
import io
import logging
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from disdepth_core.files import atomic_write
from disdepth_core.model_info import (
    DEPTH_OUTPUT,
    INPUT_NAME,
    UNCERTAINTY_OUTPUT,
    ModelInfo,
    check_input_size,
)
from disdepth_core.models import DepthModel
from disdepth_core.models.normalization import IMAGENET_NORM, InputNorm
from disdepth_core.provenance import git_revision

DEFAULT_OPSET = 18
"""ONNX opset 18: supported by onnxruntime and by the TensorRT 10.3 (JetPack 6) ONNX parser."""
MAX_DYNAMIC_SIDE = 4096
MAX_DYNAMIC_BATCH = 16


class _ExportWrapper(nn.Module):
    """Return ``(depth, uncertainty)`` instead of the DepthPrediction tuple (bin centres not exported)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        prediction = self.model(image)
        return prediction.depth, prediction.uncertainty


@dataclass(frozen=True)
class ExportReport:
    """Where the model went, what it says about itself, and how closely ONNX Runtime matches PyTorch."""

    path: Path
    info: ModelInfo
    max_abs_error: dict[str, float]
    seconds: float


def write_metadata(path: Path, info: ModelInfo) -> None:
    """Replace the ONNX file's ``metadata_props`` with ``info`` and save it as a single file."""
    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    onnx.helper.set_model_props(proto, info.to_props())
    proto.doc_string = f"disdepth {info.name}: {info.output_meaning}"
    onnx.save(proto, str(path), save_as_external_data=False)


def _dynamic_shapes() -> tuple[dict[int, object], ...]:
    dim = torch.export.Dim
    side = MAX_DYNAMIC_SIDE // 32
    return (
        {
            0: dim("batch", min=1, max=MAX_DYNAMIC_BATCH),
            2: dim("h32", min=1, max=side) * 32,
            3: dim("w32", min=1, max=side) * 32,
        },
    )


def _torch_export(model: nn.Module, path: Path, height: int, width: int, dynamic: bool, opset: int) -> None:
    example = torch.zeros(1, 3, height, width)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        logging.getLogger("torch.onnx").setLevel(logging.ERROR)
        torch.onnx.export(
            _ExportWrapper(model).eval(),
            (example,),
            str(path),
            input_names=[INPUT_NAME],
            output_names=[DEPTH_OUTPUT, UNCERTAINTY_OUTPUT],
            opset_version=opset,
            dynamo=True,
            external_data=False,
            dynamic_shapes=_dynamic_shapes() if dynamic else None,
            verbose=False,
        )


def verification_batches(
    height: int, width: int, count: int = 2, seed: int = 0, norm: InputNorm = IMAGENET_NORM
) -> list[np.ndarray]:
    """1 x 3 x H x W inputs normalised with ``norm``: random noise plus synthetic scenes when the renderer
    exists."""
    from disdepth_core.runtime.image_ops import ResizePlan, preprocess

    rng = np.random.default_rng(seed)
    images = [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(count)]
    try:
        from disdepth_core.data.synthetic import render_scene
    except ImportError:
        render_scene = None
    if render_scene is not None:
        images += [render_scene(seed + i, height, width, "room")["image"] for i in range(count)]
    plan = ResizePlan.create((height, width), (height, width), "resize")
    return [preprocess(image, plan, norm.mean, norm.std) for image in images]


@torch.inference_mode()
def compare_with_torch(model: nn.Module, path: Path, batches: list[np.ndarray]) -> dict[str, float]:
    """Max abs difference of ``depth`` (m) and ``uncertainty`` between ONNX Runtime (CPU) and PyTorch."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    errors = {DEPTH_OUTPUT: 0.0, UNCERTAINTY_OUTPUT: 0.0}
    for batch in batches:
        reference = model(torch.from_numpy(batch))
        depth, uncertainty = session.run([DEPTH_OUTPUT, UNCERTAINTY_OUTPUT], {INPUT_NAME: batch})
        errors[DEPTH_OUTPUT] = max(errors[DEPTH_OUTPUT], float(np.abs(depth - reference.depth.numpy()).max()))
        errors[UNCERTAINTY_OUTPUT] = max(
            errors[UNCERTAINTY_OUTPUT], float(np.abs(uncertainty - reference.uncertainty.numpy()).max())
        )
    return errors


def export_onnx(
    model: DepthModel,
    output: str | Path,
    height: int,
    width: int,
    *,
    dynamic: bool = False,
    trained: bool = True,
    recipe: str = "",
    opset: int = DEFAULT_OPSET,
    tolerance: float = 1e-3,
    extra: dict[str, str] | None = None,
) -> ExportReport:
    """Export ``model`` to ``output`` and verify it against PyTorch; raise if depth differs > ``tolerance`` m.

    The metadata is :meth:`ModelInfo.from_model` (the model's normalisation, depth range and canonical
    focal length) at the export size; ``extra`` adds string keys (provenance: teacher, licence, data).

    A dynamic export is verified at the export size and at a second size (H+32, W+64), so a model whose
    shape code is not symbolic fails here instead of on the robot. The file is written to a temporary
    name, verified, then renamed (``disdepth_core.files``): a failed or killed export leaves the previous
    ``output`` untouched.
    """
    check_input_size(height, width, "export height and width")
    if opset < DEFAULT_OPSET:
        raise ValueError(f"opset must be >= {DEFAULT_OPSET}, got {opset}")
    path = Path(output)
    start = time.perf_counter()
    model = model.eval()
    info = ModelInfo.from_model(
        model,
        height,
        width,
        dynamic=dynamic,
        trained=trained,
        recipe=recipe,
        git_hash=git_revision(),
        extra=dict(extra or {}),
    )
    norm = model.input_norm
    batches = verification_batches(height, width, norm=norm)
    if dynamic:
        batches += [np.concatenate(verification_batches(height + 32, width + 64, count=1, seed=7, norm=norm))]
    errors: dict[str, float] = {}

    def write(tmp: Path) -> None:
        _torch_export(model, tmp, height, width, dynamic, opset)
        write_metadata(tmp, info)

    def verify(tmp: Path) -> None:
        try:
            errors.update(compare_with_torch(model, tmp, batches))
        except Exception as error:  # onnxruntime raises its own types when a shape does not fit
            sizes = sorted({b.shape[2:] for b in batches})
            raise RuntimeError(
                f"{path}: ONNX Runtime could not run the export at {sizes} ({error}); for --dynamic the "
                "model's shape code must stay symbolic (no int() on tensor sizes). Nothing was written"
            ) from error
        if not errors[DEPTH_OUTPUT] <= tolerance:
            raise RuntimeError(
                f"{path}: ONNX Runtime depth differs from PyTorch by {errors[DEPTH_OUTPUT]:.3g} m "
                f"(tolerance {tolerance:g} m); the export is wrong and was not written"
            )

    atomic_write(path, write, verify)
    return ExportReport(path, info, errors, time.perf_counter() - start)
