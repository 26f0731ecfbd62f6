"""A TF tree without ROS: static and time-stamped transforms, looked up at a stamp (tf2 semantics).

What ``tf2_ros.Buffer`` does for a node, for the places where tf2 is not installed (the pip venv) and
for offline tools: ``eval-bag`` feeds it every ``/tf_static`` and ``/tf`` message of a bag (read with
``rosbags``, which knows ``tf2_msgs/msg/TFMessage``). Semantics follow tf2: each child frame has one
parent; a static transform holds at every time; a dynamic one is interpolated between the two stamped
samples around the requested stamp (linear in translation, slerp in rotation) and is not extrapolated
beyond ``max_extrapolation_s`` from its first/last sample; ``lookup(target, source, stamp)`` composes
the chain through the frames' common ancestor and returns ``target <- source``.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np

from disdepth_core.scale.rotations import Rigid, matrix_from_quaternion, slerp

__all__ = ["TransformBuffer", "TransformLookupError"]


class TransformLookupError(LookupError):
    """No transform between two frames at a stamp (unknown frame, disconnected trees, too old/new)."""


@dataclass
class _Edge:
    """The transforms ``parent <- child`` of one child frame: static, or stamped samples in time order."""

    parent: str
    static: Rigid | None = None
    stamps: list[int] = field(default_factory=list)
    translations: list[np.ndarray] = field(default_factory=list)
    quaternions: list[np.ndarray] = field(default_factory=list)


class TransformBuffer:
    """Transforms by child frame; ``cache_s`` bounds how much dynamic history is kept (None: all)."""

    def __init__(self, cache_s: float | None = 10.0, max_extrapolation_s: float = 0.1) -> None:
        self.cache_ns = None if cache_s is None else int(cache_s * 1e9)
        self.max_extrapolation_ns = int(max_extrapolation_s * 1e9)
        self._edges: dict[str, _Edge] = {}

    @property
    def frames(self) -> list[str]:
        """Every frame named so far (children and parents), sorted."""
        names = set(self._edges) | {edge.parent for edge in self._edges.values()}
        return sorted(names)

    def set_transform(
        self,
        parent: str,
        child: str,
        stamp_ns: int,
        translation: tuple[float, float, float] | np.ndarray,
        quaternion: tuple[float, float, float, float] | np.ndarray,
        static: bool = False,
    ) -> None:
        """Add ``parent <- child`` (translation in metres, quaternion x, y, z, w). A child that changes
        parent starts over (tf2 re-parenting); ValueError for empty names, self-parenting or a bad
        quaternion."""
        parent, child = parent.lstrip("/"), child.lstrip("/")
        if not parent or not child or parent == child:
            raise ValueError(f"transform needs two different frame names, got {parent!r} <- {child!r}")
        translation = np.asarray(translation, dtype=np.float64).reshape(3)
        if not np.all(np.isfinite(translation)):
            raise ValueError(f"transform {parent} <- {child}: translation {translation} is not finite")
        rotation = matrix_from_quaternion(quaternion)  # validates
        edge = self._edges.get(child)
        if edge is None or edge.parent != parent:
            edge = self._edges[child] = _Edge(parent)
        if static:
            edge.static = Rigid(rotation, translation)
            return
        quat = np.asarray(quaternion, dtype=np.float64)
        quat = quat / np.linalg.norm(quat)
        index = bisect.bisect_right(edge.stamps, stamp_ns)
        edge.stamps.insert(index, int(stamp_ns))
        edge.translations.insert(index, translation)
        edge.quaternions.insert(index, quat)
        if self.cache_ns is not None:
            cut = bisect.bisect_left(edge.stamps, edge.stamps[-1] - self.cache_ns)
            if cut:
                del edge.stamps[:cut], edge.translations[:cut], edge.quaternions[:cut]

    def lookup(self, target: str, source: str, stamp_ns: int) -> Rigid:
        """``target <- source`` at ``stamp_ns``; TransformLookupError saying which link is missing."""
        target, source = target.lstrip("/"), source.lstrip("/")
        if target == source:
            return Rigid.identity()
        up_source = self._chain(source)  # frames from source to its root
        up_target = self._chain(target)
        common = next((frame for frame in up_source if frame in set(up_target)), None)
        if common is None:
            raise TransformLookupError(
                f"no transform {target} <- {source}: the frames are not connected "
                f"(roots {up_target[-1]!r} and {up_source[-1]!r}; known frames: {', '.join(self.frames)})"
            )
        root_from_source = self._to_ancestor(up_source, common, stamp_ns)
        root_from_target = self._to_ancestor(up_target, common, stamp_ns)
        return root_from_target.inverse() @ root_from_source

    def _chain(self, frame: str) -> list[str]:
        chain = [frame]
        while chain[-1] in self._edges:
            parent = self._edges[chain[-1]].parent
            if parent in chain:
                raise TransformLookupError(f"TF loop through {parent!r}: {' -> '.join([*chain, parent])}")
            chain.append(parent)
        if len(chain) == 1 and frame not in self.frames:
            raise TransformLookupError(
                f"frame {frame!r} is not in the TF tree (known frames: {', '.join(self.frames) or 'none'})"
            )
        return chain

    def _to_ancestor(self, chain: list[str], ancestor: str, stamp_ns: int) -> Rigid:
        result = Rigid.identity()
        for child in chain[: chain.index(ancestor)]:
            result = self._edge_at(child, stamp_ns) @ result
        return result

    def _edge_at(self, child: str, stamp_ns: int) -> Rigid:
        edge = self._edges[child]
        if edge.static is not None and not edge.stamps:
            return edge.static
        stamps = edge.stamps
        if not stamps:
            raise TransformLookupError(f"no transform {edge.parent} <- {child} yet")
        if (
            stamp_ns < stamps[0] - self.max_extrapolation_ns
            or stamp_ns > stamps[-1] + self.max_extrapolation_ns
        ):
            raise TransformLookupError(
                f"transform {edge.parent} <- {child} is known from {stamps[0] / 1e9:.3f} s to "
                f"{stamps[-1] / 1e9:.3f} s, not at {stamp_ns / 1e9:.3f} s (extrapolation limit "
                f"{self.max_extrapolation_ns / 1e9:g} s)"
            )
        index = bisect.bisect_left(stamps, stamp_ns)
        if index == 0 or index == len(stamps) or stamps[index] == stamp_ns:
            index = min(index, len(stamps) - 1)
            return Rigid.from_quaternion(edge.translations[index], edge.quaternions[index])
        before, after = index - 1, index
        t = (stamp_ns - stamps[before]) / (stamps[after] - stamps[before])
        translation = (1 - t) * edge.translations[before] + t * edge.translations[after]
        return Rigid.from_quaternion(translation, slerp(edge.quaternions[before], edge.quaternions[after], t))
