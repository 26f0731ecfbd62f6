"""Arguments shared by the training commands (``disdepth train|acclimate|distill``) and their handling.

Every command takes a YAML recipe plus overrides: ``--set key.sub=value`` (repeatable, any config key)
and the common shortcuts ``--epochs``, ``--out``, ``--seed``, ``--batch-size``, ``--lr``, ``--device``,
``--resume``. Shortcuts are applied after ``--set``, so they win. Parsing stays light (no torch import).
"""

from __future__ import annotations

import argparse
from typing import Any


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """CONFIG positional + overrides + shortcuts."""
    parser.add_argument("config", help="training recipe (YAML), e.g. config/train/student_synthetic.yaml")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key with a dotted path, e.g. --set optim.lr=3e-4 (repeatable)",
    )
    parser.add_argument("--epochs", type=int, help="optim.epochs")
    parser.add_argument("--out", help="output directory for checkpoints and logs (config key `out`)")
    parser.add_argument("--seed", type=int, help="seed of everything random (config key `seed`)")
    parser.add_argument("--batch-size", type=int, help="data.batch_size (per process under torchrun)")
    parser.add_argument("--lr", type=float, help="peak learning rate (optim.lr)")
    parser.add_argument("--device", help="runtime.device: auto, cpu or cuda")
    parser.add_argument("--resume", action="store_true", help="continue from <out>/last.state.*")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (runtime.progress)")


def collect_overrides(args: argparse.Namespace, extra: dict[str, Any] | None = None) -> list[str]:
    """``--set`` items followed by the shortcuts and command-specific ``extra`` keys that were given."""
    overrides = list(args.overrides)
    shortcuts = {
        "optim.epochs": args.epochs,
        "out": args.out,
        "seed": args.seed,
        "data.batch_size": args.batch_size,
        "optim.lr": args.lr,
        "runtime.device": args.device,
        "runtime.progress": False if args.no_progress else None,
        **(extra or {}),
    }
    for key, value in shortcuts.items():
        if value is not None:
            overrides.append(f"{key}={_yaml_scalar(value)}")
    return overrides


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def run_command(args: argparse.Namespace, stage: str, extra: dict[str, Any] | None = None) -> int:
    """Load the recipe, check its stage, train, and print where the checkpoints went."""
    from disdepth_core.train.config import load_config
    from disdepth_core.train.runner import run_stage

    config = load_config(args.config, collect_overrides(args, extra))
    if config.stage != stage:
        raise ValueError(
            f"{args.config} is a recipe for `disdepth {config.stage}`, not `disdepth {stage}` "
            f"(set `stage: {stage}` or use the matching command)"
        )
    result = run_stage(config, resume=args.resume, recipe=f"disdepth {stage} {args.config}")
    metrics = ", ".join(f"{k} {v:.4f}" for k, v in result.best_metrics.items())
    print(f"disdepth {stage}: done after {result.step} steps; last: {result.last}; best: {result.best}")
    if metrics:
        print(f"best validation: {metrics}")
    return 0
