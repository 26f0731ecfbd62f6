"""Score model files on real RGB-D frames (``real_dev``) and on held-out synthetic scenes.

Every model runs through the runtime (``load_estimator``: the robot's pre/post-processing; a
camera-aware model gets each frame's fx from ``K``) and is scored by ``disdepth_core.evaluation`` in
every alignment mode:

* ``real_dev`` (evaluation only, never training data): the ``rgbd`` protocol (GT 0.1-80 m, no crop), all
  frames, per source, and the indoor sources together (frame-weighted mean of their per-source means,
  i.e. the mean over their frames), with the ``--scale-source`` row (default ``ground_plane``: each
  frame's index.json mount) and that row on the frames with a mount (``mounted``);
* ``--synthetic N``: N renderer scenes (seed ``--synthetic-seed``, rooms and streets alternating, at
  ``--height`` x ``--width``), GT 1e-3-80 m, per scene kind.

Prints the tables and writes every result to one JSON file.

    python benchmarks/score_models.py MODEL [MODEL ...] --out runs/scores.json \
        [--real-dev ../shared/data/real_dev] [--synthetic 128 --synthetic-seed 30000] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

INDOOR_SOURCES = ("realsense_ty", "sevenscenes", "graspnet")
SYNTHETIC_KINDS = ("room", "street")
DEFAULT_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real_dev"


def combined(groups: Mapping[str, Mapping[str, Any]], names: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """Per alignment, the mean over the frames of ``names`` from their per-group means."""
    present = [groups[name] for name in names if name in groups]
    out: dict[str, dict[str, float]] = {}
    for mode, first in present[0].items() if present else ():
        if not isinstance(first, Mapping) or "n_images" not in first:
            continue
        total = sum(group[mode]["n_images"] for group in present)
        out[mode] = {
            key: sum(group[mode][key] * group[mode]["n_images"] for group in present) / total
            for key in first
            if key not in ("n_images", "n_skipped")
        }
        out[mode]["n_images"] = total
    return out


class SyntheticScenes:
    """Renderer scenes as evaluation samples (``image``, ``depth``, ``K``, ``group`` = scene kind)."""

    def __init__(self, size: int, seed: int, height: int, width: int) -> None:
        from disdepth_core.data.synthetic_dataset import SyntheticDepthDataset

        self.scenes = SyntheticDepthDataset(size, height, width, seed=seed, kinds=SYNTHETIC_KINDS)

    def __len__(self) -> int:
        return len(self.scenes)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return {**self.scenes[index], "group": SYNTHETIC_KINDS[index % len(SYNTHETIC_KINDS)]}


def evaluate_file(
    path: str, samples: Any, eval_range: Any, threads: int, scale: str | None
) -> dict[str, Any]:
    """Summary, per-group and indoor results of one model file on ``samples``; with ``scale``, also the
    scale source's row on the frames that have a mount (``mounted``)."""
    from disdepth_core.evaluation import evaluate_estimator
    from disdepth_core.runtime import load_estimator

    estimator = load_estimator(path, threads=threads)
    result = evaluate_estimator(estimator, samples, eval_range, progress=False, scale=scale)
    decisions = result.decisions or {}
    mounted = [name for name in decisions if name.startswith("mounted")]
    return {
        "model": path,
        "describe": estimator.describe(),
        "summary": result.summary,
        "groups": result.groups,
        "indoor": combined(result.groups, INDOOR_SOURCES),
        "mounted": combined(decisions, tuple(mounted)) if mounted else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help=".safetensors checkpoints or .onnx files")
    parser.add_argument("--real-dev", type=Path, default=DEFAULT_ROOT, help="the real_dev folder")
    parser.add_argument("--no-real-dev", action="store_true", help="skip real_dev")
    parser.add_argument("--synthetic", type=int, default=0, help="also score N synthetic scenes")
    parser.add_argument("--synthetic-seed", type=int, default=30_000)
    parser.add_argument("--height", type=int, default=240, help="synthetic scene height")
    parser.add_argument("--width", type=int, default=320, help="synthetic scene width")
    parser.add_argument("--out", type=Path, required=True, help="JSON file with every result")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--scale-source", default="ground_plane", help="scale source row (real_dev; 'model': none)"
    )
    args = parser.parse_args(argv)
    from disdepth_core.data.rgbd_folder import RGBDFolder
    from disdepth_core.evaluation import PROTOCOLS, EvalRange, format_summary, format_table
    from disdepth_core.files import write_json

    sets: dict[str, tuple[Any, Any]] = {}
    if not args.no_real_dev:
        if not args.real_dev.is_dir():
            parser.error(f"--real-dev {args.real_dev}: no such folder (use --no-real-dev without it)")
        sets["real_dev"] = ([frame.sample() for frame in RGBDFolder(args.real_dev)], PROTOCOLS["rgbd"])
    if args.synthetic > 0:
        scenes = SyntheticScenes(args.synthetic, args.synthetic_seed, args.height, args.width)
        sets["synthetic"] = (scenes, EvalRange(1e-3, 80.0))
    scale = None if args.scale_source == "model" else args.scale_source
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in sets}
    for path in args.models:
        for name, (samples, eval_range) in sets.items():
            result = evaluate_file(
                path, samples, eval_range, args.threads, scale if name == "real_dev" else None
            )
            results[name].append(result)
            print(format_summary(result["summary"], title=f"{path} on {name}: all"))
            groups = (
                [*result["groups"].items()]
                + ([("indoor", result["indoor"])] if result["indoor"] else [])
                + ([(f"mounted frames, {scale}", result["mounted"])] if result["mounted"] else [])
            )
            for group, summary in groups:
                rows = [(mode, metrics) for mode, metrics in summary.items() if "abs_rel" in metrics]
                print(format_table(rows, title=f"{path} on {name}: {group}"))
            sys.stdout.flush()
    write_json(args.out, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
