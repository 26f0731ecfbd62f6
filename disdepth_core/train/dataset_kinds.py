"""Dataset kinds, one registration each (the ``register_backend`` pattern of ``runtime.backends.registry``).

A *labeled* kind (``data.train`` / ``data.val`` of a training config, ``disdepth eval --dataset``) opens
samples with ``image``, ``depth`` and, when known, ``K``; an *unlabeled* kind (``data.unlabeled``) opens
samples with ``image``. A kind names its opener (``module:callable``, imported only when that kind is
opened, so validating a config imports no loader), what its ``root`` is, and whether training and
``disdepth eval`` take it; an evaluated kind is scored in its ``protocol`` (ground-truth range and crop),
else in its entry of :mod:`disdepth_core.evaluation.protocols` (the published protocols). Config
validation, the ``--dataset`` choices, the help texts and the error lists come from here. A new kind
is one module with an opener ``(spec, height, width, training) -> Dataset`` plus one
``register_dataset`` line below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from disdepth_core.evaluation import EvalRange
from disdepth_core.lazy_reference import resolve

__all__ = [
    "LABELED",
    "NO_UNLABELED",
    "UNLABELED",
    "DatasetKind",
    "dataset_kind",
    "dataset_names",
    "register_dataset",
]

LABELED = "labeled"
UNLABELED = "unlabeled"
NO_UNLABELED = "none"
"""``data.unlabeled.kind`` that disables unlabeled images (a reserved name, never a registered kind)."""


@dataclass(frozen=True)
class DatasetKind:
    """One dataset kind: its name and role (labeled / unlabeled), its opener, one line of help, what
    ``root``/``path`` is (empty: none needed), whether training and ``disdepth eval`` take it and, for a
    kind without a published protocol, the range it is evaluated in."""

    name: str
    role: str
    opener: str
    summary: str
    root: str = ""
    training: bool = True
    evaluated: bool = False
    protocol: EvalRange | None = None

    def eval_range(self, scene_kinds: tuple[str, ...] = ("room",)) -> EvalRange:
        """The range and crop ``disdepth eval`` scores this kind in (synthetic: its scene kinds')."""
        if self.protocol is not None:
            return self.protocol
        from disdepth_core.evaluation import protocol_for

        return protocol_for(self.name, scene_kinds)

    def open(self, spec: Any, height: int, width: int, training: bool) -> Any:
        """Import the opener and open ``spec`` (a ``DatasetConfig`` / ``UnlabeledConfig``) at the size."""
        return resolve(self.opener)(spec, height, width, training)


_KINDS: dict[tuple[str, str], DatasetKind] = {}


def register_dataset(kind: DatasetKind) -> DatasetKind:
    """Add ``kind``; a name registered twice for one role (or the reserved ``none``) is a programming
    error."""
    if kind.role not in (LABELED, UNLABELED):
        raise ValueError(f"dataset kind {kind.name!r}: role must be {LABELED} or {UNLABELED}")
    if (kind.role, kind.name) in _KINDS or kind.name == NO_UNLABELED:
        raise ValueError(f"{kind.role} dataset kind {kind.name!r} is already registered (or reserved)")
    _KINDS[(kind.role, kind.name)] = kind
    return kind


def dataset_names(
    role: str, *, training: bool | None = None, evaluated: bool | None = None
) -> tuple[str, ...]:
    """Registered kinds of ``role`` in registration order, optionally only those training / ``disdepth
    eval`` take."""
    return tuple(
        k.name
        for (r, _), k in _KINDS.items()
        if r == role
        and (training is None or k.training == training)
        and (evaluated is None or k.evaluated == evaluated)
    )


def dataset_kind(role: str, name: str, *, what: str = "dataset kind") -> DatasetKind:
    """The ``role`` kind called ``name``; ValueError naming ``what`` and listing the kinds otherwise."""
    try:
        return _KINDS[(role, name)]
    except KeyError:
        raise ValueError(f"unknown {what} {name!r}; choose one of {', '.join(dataset_names(role))}") from None


_TRAIN = "disdepth_core.train.datasets"

register_dataset(
    DatasetKind(
        "synthetic",
        LABELED,
        f"{_TRAIN}:open_synthetic",
        "procedural rooms and streets rendered at the input size",
        evaluated=True,
    )
)
register_dataset(
    DatasetKind(
        "nyu",
        LABELED,
        f"{_TRAIN}:open_nyu",
        "NYU Depth V2 (Eigen crop, 1e-3..10 m when evaluated)",
        root="directory with nyu_depth_v2_labeled.mat + splits.mat (or the BTS root with a list file)",
        evaluated=True,
    )
)
register_dataset(
    DatasetKind(
        "kitti",
        LABELED,
        f"{_TRAIN}:open_kitti",
        "KITTI Eigen split from a BTS list (Garg crop, 1e-3..80 m when evaluated)",
        root="raw KITTI root (with a BTS list file)",
        evaluated=True,
    )
)
register_dataset(
    DatasetKind(
        "rgbd",
        LABELED,
        f"{_TRAIN}:open_rgbd",
        "a folder of NAME.npz RGB-D frames (rgb, depth, K) such as real_dev (0.1..80 m)",
        root="folder of NAME.npz frames (rgb, depth, K)",
        training=False,
        evaluated=True,
    )
)
register_dataset(
    DatasetKind(
        "pseudo_labels",
        LABELED,
        "disdepth_core.recipes.distill_bag.labels:open_pseudo_labels",
        "the teacher-labelled frames of a disdepth distill-bag run",
        root="the run's pseudo_labels directory",
    )
)
register_dataset(
    DatasetKind(
        "synthetic", UNLABELED, f"{_TRAIN}:open_synthetic_unlabeled", "the renderer with the depth dropped"
    )
)
register_dataset(
    DatasetKind(
        "folder",
        UNLABELED,
        f"{_TRAIN}:open_image_folder",
        "the images of a folder",
        root="image folder",
    )
)
register_dataset(
    DatasetKind(
        "video", UNLABELED, f"{_TRAIN}:open_video", "every frame_step-th frame of a video", root="video file"
    )
)
register_dataset(
    DatasetKind(
        "rosbag",
        UNLABELED,
        f"{_TRAIN}:open_rosbag",
        "every frame_step-th image of one topic of a ROS 2 bag",
        root="bag directory (with a topic)",
    )
)
