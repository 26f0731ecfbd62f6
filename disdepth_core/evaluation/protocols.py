"""Standard evaluation ranges and crops per dataset (monodepth2 / AdaBins / BTS protocols).

- ``nyu``: Eigen crop, ground truth in ``[1e-3, 10]`` m.
- ``kitti``: Garg crop, ground truth in ``[1e-3, 80]`` m.
- ``rgbd``: a folder of real RGB-D frames mixing indoor sensors and driving LiDAR (e.g. ``real_dev``):
  no crop, ground truth in ``[0.1, 80]`` m.
- ``synthetic``: no crop, ``[1e-3, the largest max_depth of the scene kinds]``.
"""

from __future__ import annotations

from collections.abc import Sequence

from disdepth_core.evaluation.scoring import EvalRange

__all__ = ["DATASETS", "PROTOCOLS", "protocol_for"]

PROTOCOLS: dict[str, EvalRange] = {
    "nyu": EvalRange(1e-3, 10.0, "eigen"),
    "kitti": EvalRange(1e-3, 80.0, "garg"),
    "rgbd": EvalRange(0.1, 80.0),
}
DATASETS = (*PROTOCOLS, "synthetic")


def protocol_for(dataset: str, synthetic_kinds: Sequence[str] = ("room",)) -> EvalRange:
    """The evaluation range of ``dataset`` (synthetic: the largest range of its scene kinds)."""
    if dataset in PROTOCOLS:
        return PROTOCOLS[dataset]
    if dataset == "synthetic":
        from disdepth_core.data.synthetic import DEFAULT_MAX_DEPTH

        return EvalRange(1e-3, max(DEFAULT_MAX_DEPTH[k] for k in synthetic_kinds))
    raise ValueError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
