"""The demo preview and the eval-bag report explain themselves: one colour bar shared by predicted and
ground-truth depth that says so, a legend entry for white pixels, titles in words, no text on text."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from disdepth_core.data.synthetic import render_scene
from disdepth_core.evaluation import DepthScorer, EvalRange
from disdepth_core.geometry import CameraIntrinsics, depth_to_points
from disdepth_core.visualize.preview import preview_figure, render_preview, report_figure

H, W = 240, 320


@pytest.fixture(scope="module")
def frame() -> dict:
    sample = render_scene(5, H, W, "room")
    gt = sample["depth"].copy()
    gt[:40, :60] = 0.0  # no ground truth there
    pred = 0.8 * np.where(gt > 0, gt, 3.0).astype(np.float32)
    pred[-30:, -50:] = np.nan  # no valid prediction there
    k = sample["K"]
    intrinsics = CameraIntrinsics(k[0, 0], k[1, 1], k[0, 2], k[1, 2], W, H)
    points = depth_to_points(pred, intrinsics).reshape(-1, 3)
    return {"rgb": sample["image"], "gt": gt, "pred": pred, "points": points[np.isfinite(points).all(1)]}


def _drawn_texts(fig) -> list:
    """(text, extent, axes) of every drawn text: titles, legend entries, axis labels and the tick labels of
    ticks inside the view (a 3D axis keeps stale labels for the others)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = [fig._suptitle]
    for ax in fig.axes:
        texts.append(ax.title)
        if ax.get_legend():
            texts += ax.get_legend().get_texts()
        if not ax.axison:
            continue
        axes = (ax.xaxis, ax.yaxis, *([ax.zaxis] if hasattr(ax, "zaxis") else []))
        for axis in (axis for axis in axes if axis.get_visible()):  # a twin's shared axis is hidden
            low, high = sorted(axis.get_view_interval())
            ticks = zip(axis.get_ticklocs(), axis.get_ticklabels(), strict=True)
            texts += [axis.label, *(label for location, label in ticks if low <= location <= high)]
    drawn = [t for t in texts if t is not None and t.get_visible() and t.get_text().strip()]
    return [(t.get_text(), t.get_window_extent(renderer), t.axes) for t in drawn]


def _check_explains_itself(fig, shared_with: str) -> None:
    images = {ax.get_title(): ax.images[0] for ax in fig.axes if ax.get_title() and ax.images}
    predicted, truth = images["predicted depth (m)"], images["ground-truth depth (m)"]
    assert predicted.get_clim() == truth.get_clim() and predicted.get_cmap().name == truth.get_cmap().name
    depth_bars = [ax for ax in fig.axes if "one colour scale" in ax.get_xlabel()]
    assert len(depth_bars) == 1 and f"one colour scale for {shared_with}" in depth_bars[0].get_xlabel()
    legends = [text.get_text() for ax in fig.axes if ax.get_legend() for text in ax.get_legend().get_texts()]
    assert legends == ["white: no depth\n(no ground truth, or no valid prediction)"]
    assert not any("/" in ax.get_title().replace("|predicted - ground truth|", "") for ax in fig.axes)
    texts = _drawn_texts(fig)
    pairs = itertools.combinations(texts, 2)
    overlapping = [(a, b) for (a, box_a, _), (b, box_b, _) in pairs if box_a.overlaps(box_b)]
    assert not overlapping, overlapping
    pictures = [ax for ax in fig.axes if ax.images or ax.name == "3d"]
    on_pictures = [
        (text, picture.get_title())
        for text, box, owner in texts
        for picture in pictures
        if picture is not owner and box.overlaps(picture.get_window_extent())
    ]
    assert not on_pictures, on_pictures


def test_demo_preview(frame, tmp_path):
    fig = preview_figure(frame["rgb"], frame["pred"], frame["gt"], frame["points"], "demo", 3)
    titles = {ax.get_title() for ax in fig.axes} - {""}
    assert titles == {
        "camera image (frame 3)",
        "predicted depth (m)",
        "ground-truth depth (m)",
        "|predicted - ground truth| (m)",
        f"point cloud: {len(frame['points'])} points, coloured by depth",
    }
    _check_explains_itself(fig, "predicted depth, ground truth and points")
    render_preview(
        tmp_path / "preview.png", frame["rgb"], frame["pred"], frame["gt"], frame["points"], "t", 3
    )
    assert (tmp_path / "preview.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_eval_bag_report(frame):
    scorer = DepthScorer(EvalRange(0.1, 80.0))
    scorer.add(frame["pred"], frame["gt"])
    sample = {"rgb": frame["rgb"], "pred": frame["pred"], "gt": frame["gt"], "index": 7}
    fig = report_figure(sample, scorer.error_by_distance(), None, "bag: model\nraw metric: AbsRel ...")
    _check_explains_itself(fig, "predicted and ground-truth depth")
    assert any(ax.get_xlabel() == "ground-truth distance (m, log scale)" for ax in fig.axes)
