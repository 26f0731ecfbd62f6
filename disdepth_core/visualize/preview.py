"""PNG figures of the offline tools (matplotlib, Agg backend: no display needed; written atomically).

- `render_report` (eval-bag): sample RGB | predicted depth | ground truth | absolute error, and the
  error against ground-truth distance over all evaluated frames (or the predicted depth histogram when
  the bag has no ground truth).
- `render_preview` (demo): image | predicted depth | ground truth | error | point cloud seen from an
  oblique viewpoint (subsampled scatter, coloured by depth), from the node's own `points` message.

Depth panels share one colour scale (turbo, near = blue) from the evaluation range.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from disdepth_core.files import atomic_write

__all__ = ["cloud_points", "render_preview", "render_report"]

MAX_SCATTER_POINTS = 6000


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> None:
    """Write the figure as PNG atomically (a killed run never leaves a truncated image) and close it."""
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", bbox_inches="tight"))
    finally:
        _pyplot().close(fig)


def _depth_panel(ax: Any, depth: np.ndarray, title: str, vmax: float) -> Any:
    shown = np.ma.masked_invalid(np.where(depth > 0, depth, np.nan))
    image = ax.imshow(shown, cmap="turbo", vmin=0.0, vmax=vmax, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.axis("off")
    return image


def render_report(
    path: Path,
    sample: dict[str, Any] | None,
    error_by_distance: dict[str, list[float]] | None,
    depth_values: np.ndarray | None,
    title: str,
    max_depth: float,
) -> None:
    """Write the eval-bag report figure to `path`.

    `sample` holds `rgb`, `pred` and optionally `gt` (metres, NaN/0 invalid) and `index`;
    `error_by_distance` is `DepthScorer.error_by_distance()` (None without ground truth), in which case
    `depth_values` (valid predicted depths, metres) are shown as a histogram.
    """
    plt = _pyplot()
    has_gt = sample is not None and sample.get("gt") is not None
    fig = plt.figure(figsize=(14, 6.5), dpi=100)
    grid = fig.add_gridspec(2, 4, height_ratios=(1.0, 0.8), hspace=0.35, wspace=0.08)
    fig.suptitle(title, fontsize=10)
    if sample is not None:
        ax = fig.add_subplot(grid[0, 0])
        ax.imshow(sample["rgb"])
        ax.set_title(f"frame {sample['index']}", fontsize=9)
        ax.axis("off")
        pred_ax = fig.add_subplot(grid[0, 1])
        image = _depth_panel(pred_ax, sample["pred"], "prediction (m)", max_depth)
        fig.colorbar(image, ax=pred_ax, fraction=0.046, pad=0.02)
        if has_gt:
            gt = np.where(sample["gt"] > 0, sample["gt"], np.nan)
            _depth_panel(fig.add_subplot(grid[0, 2]), gt, "ground truth (m)", max_depth)
            ax = fig.add_subplot(grid[0, 3])
            error = np.abs(sample["pred"] - gt)
            limit = float(np.nanpercentile(error, 99)) if np.isfinite(error).any() else 1.0
            shown = ax.imshow(np.ma.masked_invalid(error), cmap="magma", vmin=0.0, vmax=max(limit, 1e-3))
            ax.set_title("|prediction - ground truth| (m)", fontsize=9)
            ax.axis("off")
            fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.02)
    bottom = fig.add_subplot(grid[1, :])
    if error_by_distance is not None and any(error_by_distance["pixels"]):
        _plot_error_by_distance(bottom, error_by_distance)
    elif depth_values is not None and depth_values.size:
        bottom.hist(depth_values, bins=50, range=(0.0, max_depth), color="tab:blue")
        bottom.set_xlabel("predicted depth (m)")
        bottom.set_ylabel("pixels")
        bottom.set_title("predicted depth distribution (no ground truth)", fontsize=9)
    else:
        bottom.text(0.5, 0.5, "no valid depth", ha="center", va="center")
        bottom.axis("off")
    _save(fig, path)


def _plot_error_by_distance(ax: Any, bins: dict[str, list[float]]) -> None:
    distance = np.asarray(bins["distance_m"])
    pixels = np.asarray(bins["pixels"])
    used = pixels > 0
    ax.plot(distance[used], np.asarray(bins["mean_abs_error_m"])[used], "o-", color="tab:red")
    ax.set_xlabel("ground-truth distance (m)")
    ax.set_ylabel("mean |error| (m)", color="tab:red")
    twin = ax.twinx()
    twin.plot(distance[used], np.asarray(bins["abs_rel"])[used], "s--", color="tab:blue")
    twin.set_ylabel("AbsRel", color="tab:blue")
    ax.set_title("error vs distance (all evaluated frames, raw metric depth)", fontsize=9)
    ax.grid(alpha=0.3)


def cloud_points(cloud: Any) -> np.ndarray:
    """N x 3 finite xyz points of a `sensor_msgs/PointCloud2` with float32 x, y, z fields."""
    offsets = {field.name: field.offset for field in cloud.fields}
    if not {"x", "y", "z"} <= offsets.keys():
        raise ValueError(f"point cloud has fields {sorted(offsets)}; expected x, y, z")
    dtype = np.dtype(
        {
            "names": ["x", "y", "z"],
            "formats": ["<f4" if not cloud.is_bigendian else ">f4"] * 3,
            "offsets": [offsets["x"], offsets["y"], offsets["z"]],
            "itemsize": cloud.point_step,
        }
    )
    count = cloud.width * cloud.height
    records = np.frombuffer(bytes(cloud.data), dtype=dtype, count=count)
    xyz = np.stack([records["x"], records["y"], records["z"]], axis=1).astype(np.float32)
    return xyz[np.isfinite(xyz).all(axis=1)]


def render_preview(
    path: Path,
    rgb: np.ndarray,
    depth: np.ndarray,
    gt: np.ndarray | None,
    points: np.ndarray,
    title: str,
) -> None:
    """Write the demo preview: camera | predicted depth | ground truth | |error| | point cloud.

    Prediction and ground truth share one colour scale (the 99th percentile of the ground truth, else of
    the prediction), so a flattened or mis-scaled prediction is visible at a glance. `points` are N x 3
    in the camera optical frame (x right, y down, z forward), shown in a z-up view (forward, left, up),
    subsampled to at most `MAX_SCATTER_POINTS`. Without `gt` the two ground-truth panels are omitted.
    """
    plt = _pyplot()
    gt = None if gt is None else np.where(gt > 0, gt, np.nan)
    reference = depth if gt is None else gt
    finite = reference[np.isfinite(reference)]
    vmax = float(np.percentile(finite, 99)) if finite.size else 1.0
    panels = 3 if gt is None else 5
    fig = plt.figure(figsize=(4.2 * panels, 4.0), dpi=100)
    fig.suptitle(title, fontsize=10)
    ax = fig.add_subplot(1, panels, 1)
    ax.imshow(rgb)
    ax.set_title("camera image", fontsize=9)
    ax.axis("off")
    depth_ax = fig.add_subplot(1, panels, 2)
    image = _depth_panel(depth_ax, depth, "predicted depth/image (m)", vmax)
    if gt is not None:
        _depth_panel(fig.add_subplot(1, panels, 3), gt, "ground truth (m)", vmax)
        error_ax = fig.add_subplot(1, panels, 4)
        error = np.abs(depth - gt)
        limit = float(np.nanpercentile(error, 99)) if np.isfinite(error).any() else 1.0
        shown = error_ax.imshow(np.ma.masked_invalid(error), cmap="magma", vmin=0.0, vmax=max(limit, 1e-3))
        error_ax.set_title("|prediction - ground truth| (m)", fontsize=9)
        error_ax.axis("off")
        fig.colorbar(shown, ax=error_ax, fraction=0.046, pad=0.02)
    fig.colorbar(image, ax=depth_ax, fraction=0.046, pad=0.02)
    ax3d = fig.add_subplot(1, panels, panels, projection="3d")
    if len(points):
        step = max(1, len(points) // MAX_SCATTER_POINTS)
        sub = points[::step]
        forward, left, up = sub[:, 2], -sub[:, 0], -sub[:, 1]
        ax3d.scatter(forward, left, up, c=sub[:, 2], cmap="turbo", vmin=0.0, vmax=vmax, s=1.5, linewidths=0)
        ax3d.set_xlabel("forward (m)", fontsize=8)
        ax3d.set_ylabel("left (m)", fontsize=8)
        ax3d.set_zlabel("up (m)", fontsize=8)
        ax3d.set_box_aspect((np.ptp(forward) + 1e-3, np.ptp(left) + 1e-3, np.ptp(up) + 1e-3))
    ax3d.view_init(elev=25, azim=-140)
    ax3d.set_title(f"points ({len(points)} valid, oblique view)", fontsize=9)
    _save(fig, path)
