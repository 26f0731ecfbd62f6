"""The default model's selection rule (scripts/train_default_model.sh, steps 4 and 5), in one place.

``select RUN STAGE...`` prints the stage to export: the lowest mean of (the ground_plane row's AbsRel on
real_dev's mounted frames, the median-scaled AbsRel on all real_dev frames), from each stage's
``scores.json`` (``benchmarks/score_models.py``); the synthetic scenes' raw AbsRel when there is no
real_dev. ``decide RUN STAGE`` exits 0 when ``RUN/candidate.onnx`` may replace the current file: not
worse than ``RUN/current/scores.json`` in either real_dev figure and a lower published-depth AbsRel
(the scale-source row) on the held-out recording (``RUN/eval_heldout_{candidate,current}``); it prints
every figure and the reason either way.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def real_dev_figures(scores: Path) -> dict[str, float] | None:
    """ground_plane AbsRel on the mounted frames and median AbsRel on all frames of a scores.json."""
    results = _read(scores)
    if "real_dev" not in results:
        return None
    result = results["real_dev"][0]
    return {
        "mounted_ground_plane": result["mounted"]["scale_source"]["abs_rel"],
        "all_median": result["summary"]["median"]["abs_rel"],
    }


def select(run: Path, stages: list[str]) -> str:
    """The stage to export (module docstring)."""

    def score(name: str) -> float:
        figures = real_dev_figures(run / name / "scores.json")
        if figures is None:
            return _read(run / name / "scores.json")["synthetic"][0]["summary"]["raw"]["abs_rel"]
        return (figures["mounted_ground_plane"] + figures["all_median"]) / 2

    for name in stages:
        print(f"[default_model] {name}: selection score {score(name):.4f}", file=sys.stderr)
    return min(stages, key=score)


def decide(run: Path, stage: str) -> bool:
    """Whether the candidate ships (module docstring); says why on stderr."""
    candidate = real_dev_figures(run / stage / "scores.json")
    current_scores = run / "current" / "scores.json"
    current = real_dev_figures(current_scores) if current_scores.is_file() else None
    if candidate is None or current is None or not (run / "eval_heldout_current").is_dir():
        print(
            "[default_model] nothing to compare with (no current file or no real_dev): ships", file=sys.stderr
        )
        return True
    held = {
        who: _read(run / f"eval_heldout_{who}" / "summary.json")["metrics"]["scale_source"]["abs_rel"]
        for who in ("candidate", "current")
    }
    for key, value in candidate.items():
        print(
            f"[default_model] real_dev {key}: candidate {value:.4f}, current {current[key]:.4f}",
            file=sys.stderr,
        )
    print(
        f"[default_model] held-out recording, published depth AbsRel: candidate {held['candidate']:.4f}, "
        f"current {held['current']:.4f}",
        file=sys.stderr,
    )
    worse = [key for key in candidate if candidate[key] > current[key]]
    if worse:
        print(f"[default_model] worse on real_dev ({', '.join(worse)}): not shipped", file=sys.stderr)
        return False
    if held["candidate"] >= held["current"]:
        print("[default_model] not better on the held-out recording: not shipped", file=sys.stderr)
        return False
    return True


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] not in ("select", "decide"):
        print("usage: default_model_rule.py select RUN STAGE... | decide RUN STAGE", file=sys.stderr)
        return 2
    run = Path(argv[1])
    if argv[0] == "select":
        print(select(run, argv[2:]))
        return 0
    return 0 if decide(run, argv[2]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
