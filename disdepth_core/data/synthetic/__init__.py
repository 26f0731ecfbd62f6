"""The synthetic renderer: procedural rooms and streets with exact depth, seeded.

``render`` (scenes, views, sequences, intrinsics), ``primitives`` (materials, boxes, spheres, cylinders,
quads, the shell, lights, camera poses), ``textures`` (photographs and their licences), ``materials``
(palettes and surfaces), ``furniture``, ``rooms``, ``streets`` and ``camera_paths``. The renderer's
public API is re-exported here.
"""

from disdepth_core.data.synthetic.render import (
    DEFAULT_MAX_DEPTH,
    KINDS,
    RENDERER_VERSION,
    intrinsics_matrix,
    make_scene,
    render_scene,
    render_sequence,
    render_view,
)

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "KINDS",
    "RENDERER_VERSION",
    "intrinsics_matrix",
    "make_scene",
    "render_scene",
    "render_sequence",
    "render_view",
]
