"""Test fixtures: tiny randomly initialised Hugging Face depth models saved locally, synthetic camera bags.

Nothing is downloaded: every model is built from a small config with random weights and written with
``save_pretrained``; bags are rendered by the synthetic scene renderer and written with
``disdepth_core.bags.BagWriter``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from disdepth_core.bags import BagWriter
from disdepth_core.bags.messages import CAMERA_INFO, IMAGE, camera_info_cdr, depth_image_cdr, rgb_image_cdr
from disdepth_core.data.synthetic import intrinsics_matrix, make_scene, render_view

HF_KINDS = ("depth_anything_metric", "depth_anything_relative", "dpt", "glpn", "zoedepth")
TOPICS = {"image": "/cam/image_raw", "depth": "/cam/depth", "camera_info": "/cam/camera_info"}
START_NS = 1_700_000_000 * 1_000_000_000


def _dinov2():
    import transformers

    return transformers.Dinov2Config(
        hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=64, patch_size=14,
        image_size=56, out_features=["stage1", "stage2", "stage3", "stage4"], reshape_hidden_states=False,
    )  # fmt: skip


def hf_config(kind: str):
    """A tiny config of ``kind`` (one of :data:`HF_KINDS`)."""
    import transformers

    if kind.startswith("depth_anything"):
        return transformers.DepthAnythingConfig(
            backbone_config=_dinov2(), patch_size=14, reassemble_hidden_size=32,
            neck_hidden_sizes=[8, 16, 32, 32], fusion_hidden_size=16, head_hidden_size=8,
            depth_estimation_type=kind.rsplit("_", 1)[1], max_depth=10,
        )  # fmt: skip
    if kind == "dpt":
        return transformers.DPTConfig(
            hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=64, image_size=64,
            patch_size=16, neck_hidden_sizes=[8, 16, 32, 32], fusion_hidden_size=16,
            backbone_out_indices=[0, 1, 2, 3],
        )  # fmt: skip
    if kind == "glpn":
        return transformers.GLPNConfig(
            hidden_sizes=[8, 16, 32, 32], depths=[1, 1, 1, 1], num_attention_heads=[1, 1, 2, 2],
            decoder_hidden_size=16,
        )  # fmt: skip
    if kind == "zoedepth":
        return transformers.ZoeDepthConfig(
            backbone_config=_dinov2(), neck_hidden_sizes=[8, 16, 32, 32], fusion_hidden_size=16,
            reassemble_hidden_size=32, bottleneck_features=16, num_attractors=[4, 4, 4, 4],
            bin_embedding_dim=16, num_relative_features=8, patch_size=14,
            bin_configurations=[{"n_bins": 8, "min_depth": 1e-3, "max_depth": 10.0, "name": "nyu"}],
        )  # fmt: skip
    raise ValueError(kind)


def save_tiny_hf(
    kind: str, directory: Path, readme_licence: str | None = "apache-2.0", seed: int = 0
) -> Path:
    """Save a randomly initialised ``kind`` model (+ a model card with a licence) into ``directory``."""
    import torch
    import transformers

    torch.manual_seed(seed)
    transformers.AutoModelForDepthEstimation.from_config(hf_config(kind)).save_pretrained(directory)
    if readme_licence is not None:
        (directory / "README.md").write_text(f"---\nlicense: {readme_licence}\n---\n# tiny {kind}\n")
    return directory


def write_camera_bag(
    path: Path,
    frames: int = 16,
    height: int = 48,
    width: int = 64,
    depth: str | None = "dense",
    camera_info: bool = True,
    rate_hz: float = 5.0,
    seed: int = 0,
    depth_of: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> Path:
    """A synthetic camera recording: rgb8 images, optional 32FC1 depth (``dense`` or ``sparse``: a few % of
    pixels, like a LiDAR) and camera info, one stamp per frame. ``depth_of(image, true_depth)`` replaces
    the renderer's depth (e.g. depth consistent with a given teacher)."""
    scene, poses, (fx_n, cx_n, cy_n) = make_scene(seed, "room", frames)
    k = intrinsics_matrix(fx_n, cx_n, cy_n, height, width)
    rng = np.random.default_rng(seed)
    with BagWriter(path, "mcap") as writer:
        writer.add_topic(TOPICS["image"], IMAGE)
        if depth:
            writer.add_topic(TOPICS["depth"], IMAGE)
        if camera_info:
            writer.add_topic(TOPICS["camera_info"], CAMERA_INFO)
        for index, pose in enumerate(poses):
            view = render_view(scene, pose, k, height, width)
            stamp = START_NS + round(index * 1e9 / rate_hz)
            if camera_info:
                writer.write(TOPICS["camera_info"], camera_info_cdr(view["K"], width, height, stamp), stamp)
            writer.write(TOPICS["image"], rgb_image_cdr(view["image"], stamp), stamp)
            if depth:
                metres = view["depth"] if depth_of is None else depth_of(view["image"], view["depth"])
                if depth == "sparse":
                    metres = np.where(rng.random(metres.shape) < 0.05, metres, np.nan)
                writer.write(TOPICS["depth"], depth_image_cdr(metres, stamp), stamp)
    return path
