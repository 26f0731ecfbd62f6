"""``disdepth teacher pull``: fetch a known foundation depth checkpoint into a local directory, explicitly.

Nothing else in the package downloads anything: teachers are always local directories. This module is
the one exception, for users with a network: ``huggingface_hub.snapshot_download`` fetches the
repository's config, preprocessor config, model card and *safetensors* weights into the Hugging Face
cache (resumable, checksummed by the hub client), then the files are copied into the output directory,
which appears whole or not at all (:func:`disdepth_core.files.atomic_directory`). A
``disdepth_teacher.json`` record beside them names the repository, revision, output kind and the licence
read from the model card's ``license:`` field (never assumed: check it before shipping a student).
Pickled ``.bin``/``.pth`` weights are never fetched (the package loads only safetensors).
"""

from __future__ import annotations

import datetime
import fnmatch
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from disdepth_core.files import atomic_directory, write_json

from .spec import PULL_RECORD, readme_licence

ALLOW_PATTERNS = ("config.json", "preprocessor_config.json", "README.md", "*.safetensors")


@dataclass(frozen=True)
class KnownTeacher:
    """A Hugging Face repository and what its model predicts."""

    repo_id: str
    output: str


KNOWN_TEACHERS: dict[str, KnownTeacher] = {
    **{
        f"depth-anything-v2-{size.lower()}": KnownTeacher(
            f"depth-anything/Depth-Anything-V2-{size}-hf", "relative_inverse_depth"
        )
        for size in ("Small", "Base", "Large")
    },
    **{
        f"depth-anything-v2-metric-{scene.lower()}-{size.lower()}": KnownTeacher(
            f"depth-anything/Depth-Anything-V2-Metric-{scene}-{size}-hf", "metric_depth"
        )
        for scene in ("Indoor", "Outdoor")
        for size in ("Small", "Base", "Large")
    },
    "dpt-large": KnownTeacher("Intel/dpt-large", "relative_inverse_depth"),
    "dpt-hybrid-midas": KnownTeacher("Intel/dpt-hybrid-midas", "relative_inverse_depth"),
    "glpn-nyu": KnownTeacher("vinvino02/glpn-nyu", "metric_depth"),
    "glpn-kitti": KnownTeacher("vinvino02/glpn-kitti", "metric_depth"),
    "zoedepth-nyu-kitti": KnownTeacher("Intel/zoedepth-nyu-kitti", "metric_depth"),
}


def pull_teacher(
    name: str,
    out: str | os.PathLike[str],
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    offline: bool = False,
) -> Path:
    """Fetch ``name`` (a key of :data:`KNOWN_TEACHERS`) into ``out``; returns ``out``.

    ``offline`` uses only what the Hugging Face cache (``cache_dir``) already holds.
    """
    known = KNOWN_TEACHERS.get(name)
    if known is None:
        raise ValueError(f"unknown teacher {name!r}; known: {', '.join(sorted(KNOWN_TEACHERS))}")
    if Path(out).exists():  # before a long download, not after it
        raise ValueError(f"{out} already exists; remove it or choose another --out")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        snapshot = Path(
            snapshot_download(
                known.repo_id,
                revision=revision,
                cache_dir=cache_dir,
                allow_patterns=list(ALLOW_PATTERNS),
                local_files_only=offline,
            )
        )
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as error:
        raise RuntimeError(f"cannot fetch {known.repo_id}: {str(error).splitlines()[0]}") from None
    if not (snapshot / "config.json").is_file() or not list(snapshot.glob("*.safetensors")):
        raise ValueError(
            f"{known.repo_id} has no config.json + safetensors weights; disdepth loads only those"
        )
    readme = snapshot / "README.md"
    licence = readme_licence(readme.read_text(encoding="utf-8", errors="replace")) if readme.is_file() else ""
    with atomic_directory(out) as tmp:
        for source in sorted(snapshot.iterdir()):  # a cached snapshot may hold more than was asked for
            if source.is_file() and any(fnmatch.fnmatch(source.name, p) for p in ALLOW_PATTERNS):
                shutil.copy2(source.resolve(), tmp / source.name)
        write_json(
            tmp / PULL_RECORD,
            {
                "name": name,
                "repo_id": known.repo_id,
                "revision": revision or "main",
                "snapshot": snapshot.name,
                "output": known.output,
                "licence": licence
                or f"not stated in the model card; check https://huggingface.co/{known.repo_id}",
                "pulled": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            },
        )
    return Path(out)
