"""PNG figures of the offline tools (matplotlib, Agg backend: no display needed; written atomically).

Both figures start with the same row: camera image | predicted depth | ground-truth depth | absolute
error. Predicted and ground-truth depth (and the demo's points) share one colour scale (turbo, near =
blue, up to the 99th percentile of the ground truth, else of the prediction) with one colour bar that
says so; white pixels are pixels without a depth (no ground truth, or no valid prediction), which the
legend under the colour bar states.

- `render_report` (eval-bag): that row, then the error against ground-truth distance over all scored
  frames (or the predicted depth histogram when the bag has no ground truth).
- `render_preview` (demo): that row, then the node's point cloud seen from an oblique viewpoint
  (subsampled scatter, coloured by depth on the shared scale).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from disdepth_core.files import atomic_write
from disdepth_core.geometry import valid_depth

__all__ = ["cloud_points", "preview_figure", "render_preview", "render_report", "report_figure"]

MAX_SCATTER_POINTS = 6000
NO_DEPTH_LABEL = "white: no depth\n(no ground truth, or no valid prediction)"


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


def _colour_max(gt: np.ndarray | None, pred: np.ndarray) -> float:
    """The shared colour scale's top: the 99th percentile of the ground truth, else of the prediction."""
    reference = pred if gt is None else gt
    finite = reference[valid_depth(reference)]
    return float(np.percentile(finite, 99)) if finite.size else 1.0


def _depth_panel(ax: Any, depth: np.ndarray, title: str, vmax: float) -> Any:
    shown = np.ma.masked_invalid(np.where(depth > 0, depth, np.nan))
    image = ax.imshow(shown, cmap="turbo", vmin=0.0, vmax=vmax, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.axis("off")
    return image


def _image_row(fig: Any, grid: Any, sample: dict[str, Any], vmax: float, shared_with: str) -> None:
    """Camera | predicted depth | ground truth | error in ``grid[0, :4]`` (two panels without ground truth),
    the shared depth colour bar and the error's colour bar in ``grid[1, 1:4]`` (``grid[2]`` is left for
    their labels), the legend under the camera image in ``grid[1:3, 0]``.

    ``sample`` holds ``rgb``, ``pred``, optional ``gt`` (metres, NaN/0 invalid) and ``index``.
    """
    from matplotlib.patches import Patch

    gt = sample.get("gt")
    gt = None if gt is None else np.where(gt > 0, gt, np.nan)
    ax = fig.add_subplot(grid[0, 0])
    ax.imshow(sample["rgb"])
    ax.set_title(f"camera image (frame {sample['index']})", fontsize=9)
    ax.axis("off")
    depth_image = _depth_panel(fig.add_subplot(grid[0, 1]), sample["pred"], "predicted depth (m)", vmax)
    depth_columns = slice(1, 2)
    if gt is not None:
        _depth_panel(fig.add_subplot(grid[0, 2]), gt, "ground-truth depth (m)", vmax)
        depth_columns = slice(1, 3)
        error_ax = fig.add_subplot(grid[0, 3])
        error = np.abs(sample["pred"] - gt)
        limit = float(np.nanpercentile(error, 99)) if np.isfinite(error).any() else 1.0
        shown = error_ax.imshow(np.ma.masked_invalid(error), cmap="magma", vmin=0.0, vmax=max(limit, 1e-3))
        error_ax.set_title("|predicted - ground truth| (m)", fontsize=9)
        error_ax.axis("off")
        bar = fig.colorbar(shown, cax=fig.add_subplot(grid[1, 3]), orientation="horizontal")
        bar.set_label("absolute error (m)", fontsize=8)
        bar.ax.tick_params(labelsize=7)
    bar = fig.colorbar(depth_image, cax=fig.add_subplot(grid[1, depth_columns]), orientation="horizontal")
    bar.set_label(f"depth (m): one colour scale for {shared_with}", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    legend_ax = fig.add_subplot(grid[1:3, 0])
    legend_ax.axis("off")
    legend_ax.legend(
        handles=[Patch(facecolor="white", edgecolor="0.4", label=NO_DEPTH_LABEL)],
        loc="center",
        frameon=False,
        fontsize=8,
    )


def report_figure(
    sample: dict[str, Any] | None,
    error_by_distance: dict[str, list[float]] | None,
    depth_values: np.ndarray | None,
    title: str,
) -> Any:
    """The eval-bag report (see the module docstring) as a matplotlib figure; `render_report` writes it.

    `sample` holds `rgb`, `pred` and optionally `gt` (metres, NaN/0 invalid) and `index`;
    `error_by_distance` is `DepthScorer.error_by_distance()` (None without ground truth), in which case
    `depth_values` (valid predicted depths, metres) are shown as a histogram.
    """
    plt = _pyplot()
    fig = plt.figure(figsize=(14, 7.2), dpi=100)
    grid = fig.add_gridspec(4, 4, height_ratios=(1.0, 0.05, 0.14, 0.8), hspace=0.2, wspace=0.08)
    fig.suptitle(title, fontsize=10)
    values = depth_values if depth_values is not None and depth_values.size else None
    if sample is not None:
        pred = sample["pred"] if values is None else values
        vmax = _colour_max(sample.get("gt"), pred)
        shared = "predicted and ground-truth depth" if sample.get("gt") is not None else "predicted depth"
        _image_row(fig, grid, sample, vmax, shared)
    bottom = fig.add_subplot(grid[3, :])
    if error_by_distance is not None and any(error_by_distance["pixels"]):
        _plot_error_by_distance(bottom, error_by_distance)
    elif values is not None:
        bottom.hist(values, bins=50, range=(0.0, float(np.percentile(values, 99.5))), color="tab:blue")
        bottom.set_xlabel("predicted depth (m)")
        bottom.set_ylabel("pixels")
        bottom.set_title("predicted depth distribution (no ground truth)", fontsize=9)
    else:
        bottom.text(0.5, 0.5, "no valid depth", ha="center", va="center")
        bottom.axis("off")
    return fig


def render_report(
    path: Path,
    sample: dict[str, Any] | None,
    error_by_distance: dict[str, list[float]] | None,
    depth_values: np.ndarray | None,
    title: str,
) -> None:
    """Write the eval-bag report (`report_figure`) to `path`."""
    _save(report_figure(sample, error_by_distance, depth_values, title), path)


def _plot_error_by_distance(ax: Any, bins: dict[str, list[float]]) -> None:
    distance = np.asarray(bins["distance_m"])
    pixels = np.asarray(bins["pixels"])
    used = pixels > 0
    ax.plot(distance[used], np.asarray(bins["mean_abs_error_m"])[used], "o-", color="tab:red")
    ax.set_xscale("log")
    ax.set_xlabel("ground-truth distance (m, log scale)")
    ax.set_ylabel("mean |error| (m)", color="tab:red")
    twin = ax.twinx()
    twin.plot(distance[used], np.asarray(bins["abs_rel"])[used], "s--", color="tab:blue")
    twin.set_ylabel("AbsRel", color="tab:blue")
    ax.set_title("error against distance (all scored frames, raw metric depth)", fontsize=9)
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


def _cloud_panel(ax: Any, points: np.ndarray, vmax: float) -> None:
    """The points in a z-up view (forward, left, up), subsampled, three ticks per axis so labels never
    collide."""
    from matplotlib.ticker import MaxNLocator

    if len(points):
        step = max(1, len(points) // MAX_SCATTER_POINTS)
        sub = points[::step]
        forward, left, up = sub[:, 2], -sub[:, 0], -sub[:, 1]
        ax.scatter(forward, left, up, c=sub[:, 2], cmap="turbo", vmin=0.0, vmax=vmax, s=1.5, linewidths=0)
        ax.set_box_aspect((np.ptp(forward) + 1e-3, np.ptp(left) + 1e-3, np.ptp(up) + 1e-3))
    for axis, name in ((ax.xaxis, "forward"), (ax.yaxis, "left"), (ax.zaxis, "up")):
        axis.set_major_locator(MaxNLocator(3))
        axis.set_label_text(f"{name} (m)", fontsize=8)
        axis.labelpad = 2
    ax.tick_params(labelsize=7, pad=0)
    ax.view_init(elev=25, azim=-140)
    ax.set_title(f"point cloud: {len(points)} points, coloured by depth", fontsize=9)


def preview_figure(
    rgb: np.ndarray, depth: np.ndarray, gt: np.ndarray | None, points: np.ndarray, title: str, index: int
) -> Any:
    """The demo preview (see the module docstring) as a matplotlib figure; `render_preview` writes it.

    `points` are N x 3 in the camera optical frame (x right, y down, z forward), at most
    `MAX_SCATTER_POINTS` of them drawn; without `gt` the ground-truth and error panels are omitted.
    """
    plt = _pyplot()
    fig = plt.figure(figsize=(22, 4.6), dpi=100)
    grid = fig.add_gridspec(
        3, 5, width_ratios=(1, 1, 1, 1, 1.25), height_ratios=(1.0, 0.05, 0.14), hspace=0.15, wspace=0.12
    )
    fig.suptitle(title, fontsize=10)
    shared = "predicted depth, ground truth and points" if gt is not None else "predicted depth and points"
    vmax = _colour_max(gt, depth)
    _image_row(fig, grid, {"rgb": rgb, "pred": depth, "gt": gt, "index": index}, vmax, shared)
    _cloud_panel(fig.add_subplot(grid[:, 4], projection="3d"), points, vmax)
    return fig


def render_preview(
    path: Path,
    rgb: np.ndarray,
    depth: np.ndarray,
    gt: np.ndarray | None,
    points: np.ndarray,
    title: str,
    index: int,
) -> None:
    """Write the demo preview (`preview_figure`) to `path`."""
    _save(preview_figure(rgb, depth, gt, points, title, index), path)
