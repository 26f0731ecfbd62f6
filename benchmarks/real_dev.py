"""Score model files on the real RGB-D frames of ``real_dev`` (evaluation only; never training data).

Every model runs through the runtime (``load_estimator``: the robot's pre/post-processing; a
camera-aware model gets each frame's fx from ``K``) and is scored by ``disdepth_core.evaluation`` with
the ``rgbd`` protocol (GT 0.1-80 m, no crop) in every alignment mode, for all frames, per source and for
the indoor sources together (frame-weighted mean of their per-source means, which is the mean over
their frames). Prints the tables and writes one JSON file per run.

    python benchmarks/real_dev.py MODEL [MODEL ...] --out runs/real_dev.json \
        [--root ../shared/data/real_dev] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

INDOOR_SOURCES = ("realsense_ty", "sevenscenes", "graspnet")
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


def evaluate_file(path: str, root: Path, threads: int) -> dict[str, Any]:
    """Summary, per-source and indoor results of one model file on the folder ``root``."""
    from disdepth_core.data.rgbd_folder import RGBDFolder
    from disdepth_core.evaluation import PROTOCOLS, evaluate_estimator
    from disdepth_core.runtime import load_estimator

    frames = RGBDFolder(root)
    samples = [frame.sample() for frame in frames]
    estimator = load_estimator(path, threads=threads)
    result = evaluate_estimator(estimator, samples, PROTOCOLS["rgbd"], progress=False)
    return {
        "model": path,
        "describe": estimator.describe(),
        "summary": result.summary,
        "groups": result.groups,
        "indoor": combined(result.groups, INDOOR_SOURCES),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help=".safetensors checkpoints or .onnx files")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="the real_dev folder")
    parser.add_argument("--out", type=Path, required=True, help="JSON file with every result")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        parser.error(f"--root {args.root}: no such folder (real_dev lives in ../shared/data/real_dev)")
    from disdepth_core.evaluation import format_summary, format_table
    from disdepth_core.files import write_json

    results = []
    for path in args.models:
        result = evaluate_file(path, args.root, args.threads)
        results.append(result)
        print(format_summary(result["summary"], title=f"{path}: all frames"))
        for name, summary in [*result["groups"].items(), ("indoor", result["indoor"])]:
            rows = [(mode, metrics) for mode, metrics in summary.items() if "abs_rel" in metrics]
            print(format_table(rows, title=f"{path}: {name}"))
        sys.stdout.flush()
    write_json(args.out, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
