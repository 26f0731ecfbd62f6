"""Validation during training: the standard depth metrics (``disdepth_core.evaluation``) over a loader.

Per-image metrics averaged over the set (monodepth2 / AdaBins protocol) at the training resolution,
ground truth valid in ``[1e-3, max_depth]`` (the model's range), no crop: synthetic and resized data
have no fixed sensor border. A camera-aware model's canonical depth is turned back into metres with
each item's ``metric_scale`` (``disdepth_core.train.batches``) before scoring. The full benchmark
protocol (native resolution, Eigen/Garg crops) is
``disdepth eval``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.utils.data import DataLoader
from tqdm import tqdm

from disdepth_core.evaluation import METRIC_KEYS, DepthScorer, EvalRange

MIN_EVAL_DEPTH = 1e-3


@torch.no_grad()
def evaluate_depth(
    predict: Callable[[Tensor], Tensor],
    loader: DataLoader,
    device: torch.device,
    max_depth: float,
    crop: str | None = None,
    progress: bool = True,
    desc: str = "validate",
) -> dict[str, float]:
    """Mean per-image metrics of ``predict`` (B x 3 x H x W -> B x 1 x H x W metres) over ``loader``."""
    scorer = DepthScorer(EvalRange(MIN_EVAL_DEPTH, max_depth, crop), ("raw",))
    for batch in tqdm(loader, desc=desc, disable=not progress, leave=False, dynamic_ncols=True):
        depth = predict(batch["image"].to(device)).float().cpu()
        if "metric_scale" in batch:
            depth = depth * batch["metric_scale"].float().view(-1, 1, 1, 1)
        for pred, gt in zip(depth, batch["depth"], strict=True):
            scorer.add(pred[0], gt[0])
    raw = scorer.summary()["raw"]
    return {key: float(raw[key]) for key in METRIC_KEYS}
