"""Run logging on rank 0: TensorBoard scalars (``<out>/tb``) + JSON-lines history (``<out>/history.jsonl``).

The history file is what scripts read (benchmarks, tests); TensorBoard is for people. Other ranks get a
logger that does nothing, so callers never branch on the rank.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from disdepth_core.files import atomic_write_text


class RunLogger:
    """Scalars to TensorBoard and ``history.jsonl``; a no-op when ``enabled`` is False.

    A fresh run starts the history afresh. A resumed run (``resume_step``, the step of the state it
    resumed from) keeps the records up to that step and drops later ones, which the killed run wrote
    after its last committed state and the resumed run writes again.
    """

    def __init__(
        self, out_dir: str | os.PathLike[str], enabled: bool = True, resume_step: int | None = None
    ) -> None:
        self.enabled = enabled
        self.out_dir = Path(out_dir)
        self._writer = None
        if enabled:
            from torch.utils.tensorboard import SummaryWriter

            self.out_dir.mkdir(parents=True, exist_ok=True)
            self._writer = SummaryWriter(log_dir=str(self.out_dir / "tb"))
            path = self.out_dir / "history.jsonl"
            kept = _records_until(path, resume_step) if resume_step is not None else []
            atomic_write_text(path, "".join(json.dumps(record) + "\n" for record in kept))
            self._history = path.open("a", encoding="utf-8")

    def scalars(self, tag: str, values: Mapping[str, float], step: int, **extra: Any) -> None:
        """Log ``values`` under ``tag/<name>`` at ``step`` and append one history record."""
        if not self.enabled:
            return
        for name, value in values.items():
            self._writer.add_scalar(f"{tag}/{name}", float(value), step)
        record = {"tag": tag, "step": step, **extra, **{k: float(v) for k, v in values.items()}}
        self._history.write(json.dumps(record) + "\n")
        self._history.flush()

    def close(self) -> None:
        if self.enabled:
            self._writer.close()
            self._history.close()
            self.enabled = False


def _records_until(path: Path, step: int) -> list[dict[str, Any]]:
    """Records of ``path`` with ``step`` <= ``step`` (a torn last line from a kill is dropped)."""
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and record.get("step", 0) <= step:
            records.append(record)
    return records


def read_history(out_dir: str | os.PathLike[str], tag: str | None = None) -> list[dict[str, Any]]:
    """Records of ``<out_dir>/history.jsonl`` (optionally only those with ``tag``)."""
    path = Path(out_dir) / "history.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"no training history at {path}")
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in records if tag is None or r["tag"] == tag]
