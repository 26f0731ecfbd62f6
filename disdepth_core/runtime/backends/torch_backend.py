"""PyTorch backend: eager inference of a :class:`~disdepth_core.models.DepthModel` on CPU or CUDA.

Loads ``.safetensors`` checkpoints with ``disdepth_core.models.checkpoint.load_model`` (never unpickles).
fp16 runs under ``torch.autocast`` on CUDA (softmax/bins stay in fp32 where autocast keeps them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from disdepth_core.model_files import ModelFileError
from disdepth_core.model_info import ModelInfo

DEFAULT_INPUT_HW = (240, 320)
"""Inference size of a checkpoint whose metadata records none (any size that
``model_info.check_input_size`` allows works)."""


def resolve_device(device: str) -> tuple[torch.device, str]:
    """Map "auto"/"cpu"/"cuda"/"cuda:N" to a torch device and a reason."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda"), "CUDA available"
        return torch.device("cpu"), "no CUDA device visible to torch"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device={device} requested but torch sees no CUDA device")
    return torch.device(device), f"device={device} requested"


class TorchBackend:
    """Runs a DepthModel in eval mode under ``torch.inference_mode``."""

    name = "torch"
    fixed_input_hw = None

    def __init__(
        self,
        model: torch.nn.Module,
        info: ModelInfo,
        device: str = "auto",
        precision: str = "fp32",
        threads: int | None = None,
    ) -> None:
        self.device, self.reason = resolve_device(device)
        if precision not in ("fp32", "fp16"):
            raise ValueError(f"the torch backend runs fp32 or fp16 (CUDA), not {precision}")
        if precision == "fp16" and self.device.type != "cuda":
            raise ValueError("fp16 with the torch backend needs a CUDA device; use precision=fp32 on CPU")
        if threads is not None:
            torch.set_num_threads(int(threads))  # process-wide: torch has no per-model thread pool
        self.model = model.eval().to(self.device)
        self.info = info
        self.precision = precision
        self.provider = str(self.device)

    @classmethod
    def from_checkpoint(
        cls, path: str | Path, device: str = "auto", precision: str = "fp32", threads: int | None = None
    ) -> TorchBackend:
        """Load a ``.safetensors`` checkpoint written by ``checkpoint.save_model``; the input size and
        provenance its metadata records (else ``DEFAULT_INPUT_HW``) go into its :class:`ModelInfo`."""
        from disdepth_core.models.checkpoint import load_model

        path = Path(path)
        try:
            model, metadata = load_model(path)
        except (FileNotFoundError, MemoryError):
            raise
        except Exception as error:  # safetensors raises its own SafetensorError for bad headers
            raise ModelFileError(
                path, f"cannot load checkpoint (corrupted or truncated?): {error}"
            ) from error
        info = ModelInfo.from_model(
            model,
            int(metadata.get("input_height", DEFAULT_INPUT_HW[0])),
            int(metadata.get("input_width", DEFAULT_INPUT_HW[1])),
            dynamic=True,
            trained=bool(metadata.get("trained", True)),
            recipe=str(metadata.get("recipe", "")),
            git_hash=str(metadata.get("git_hash", "")),
        )
        return cls(model, info, device, precision, threads)

    @torch.inference_mode()
    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Run one normalised batch; returns float32 host arrays (depth, uncertainty)."""
        x = torch.from_numpy(batch).to(self.device)
        if self.precision == "fp16":
            with torch.autocast(device_type="cuda", dtype=torch.float16):
                prediction = self.model(x)
        else:
            prediction = self.model(x)
        depth = prediction.depth.float().cpu().numpy()
        uncertainty = prediction.uncertainty
        return depth, None if uncertainty is None else uncertainty.float().cpu().numpy()
