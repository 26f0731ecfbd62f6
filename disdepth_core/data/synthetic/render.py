"""Procedural synthetic scenes with exact metric depth: a vectorised numpy ray caster with shadows.

Two scene kinds (layouts in ``rooms`` and ``streets``):

- ``"room"``: rooms and corridors (floor, walls, ceiling) with furniture built from primitives
  (tables, chairs, shelves, cabinets, doors, pillars, pictures, plants), lit by ceiling lamps;
  camera at mobile-robot height (0.3-1.5 m), slight pitch; depth about 0.3..10 m.
- ``"street"``: a street (road with lane markings, raised sidewalks, rows of buildings with alleys, a
  distant city, sky) with cars, poles, signs, trees and hedges in sunlight or overcast;
  camera on a car (about 1.5 m) or a sidewalk robot; depth up to ``max_depth`` (80 m by default).

Surfaces carry photographs (``textures``: brick, grass, gravel, real indoor/driving photos whose
licences allow it) and procedural patterns (planks, tiles, facade windows, book spines, noise).
Shading, in linear RGB: Lambert plus a Blinn-Phong highlight per light, a sun (directional) or lamps
(point lights with the soft falloff I / (d^2 + r^2)), hard shadows from shadow rays (one per pixel
and light; objects are tested only inside the screen rectangle their shadow volume projects to), a
hemisphere ambient term (sky above, ground below) darkened near the corners where shell faces meet,
distance fog and a sky with sun glow and clouds. A camera response follows: auto-exposure to a
mid-grey key (log-average luminance, as in Reinhard et al., SIGGRAPH 2002), extended Reinhard tone
curve, sRGB-like gamma 2.2. Sensor effects (noise, blur, vignetting, JPEG) are ``photometric``'s job.

Conventions: pinhole camera in the optical frame (x right, y down, z forward), pixel centres at
integer coordinates (OpenCV/ROS ``K``); rays have a camera-frame z of 1, so the ray parameter of the
first hit *is* the depth along the optical axis (REP 118 z-depth, exact). Depth beyond ``max_depth``
and sky are invalid (0). The scene, camera pose and field of view depend only on the seed (and the
texture bank), the intrinsics scale with the resolution: one seed renders the same view at any size.
``RENDERER_VERSION`` changes whenever the output for a seed changes (render caches key on it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from disdepth_core.data.synthetic.camera_paths import FOV_DEGREES
from disdepth_core.data.synthetic.primitives import (
    _EPS,
    SHELL_FACES,
    SKY_FACE,
    CameraPose,
    Light,
    Primitive,
    Scene,
    Shell,
    _lookup,
)
from disdepth_core.data.synthetic.rooms import build_room
from disdepth_core.data.synthetic.streets import build_street
from disdepth_core.data.synthetic.textures import TextureBank, default_texture_bank

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

KINDS = ("room", "street")
DEFAULT_MAX_DEPTH = {"room": 10.0, "street": 80.0}
RENDERER_VERSION = "2"
_LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)  # Rec. 709 luminance of linear RGB
_WHITE_POINT = 2.5  # extended Reinhard: radiance (in key units) mapped to white
_GAMMA = 2.2
_CORNER_REACH = 0.3  # metres over which the corner darkening fades


def intrinsics_matrix(fx_norm: float, cx_norm: float, cy_norm: float, height: int, width: int) -> np.ndarray:
    """K for a resolution from resolution-free parameters (fx / width, principal point / size)."""
    fx = fx_norm * width
    return np.array(
        [[fx, 0.0, cx_norm * width - 0.5], [0.0, fx, cy_norm * height - 0.5], [0.0, 0.0, 1.0]],
        dtype=np.float32,
    )


def _camera_rays(k: np.ndarray, rot: np.ndarray, height: int, width: int) -> tuple[np.ndarray, ...]:
    x = ((np.arange(width, dtype=np.float32) - k[0, 2]) / k[0, 0])[None, :]
    y = ((np.arange(height, dtype=np.float32) - k[1, 2]) / k[1, 1])[:, None]
    r = rot.astype(np.float32)
    return tuple(r[i, 0] * x + r[i, 1] * y + r[i, 2] for i in range(3))


def _screen_window(
    hull: np.ndarray, pose: CameraPose, k: np.ndarray, height: int, width: int
) -> tuple[slice, slice] | None:
    """Conservative pixel rectangle covering the convex hull of ``hull`` points; None if off-screen.

    The hull is clipped by the plane z = _EPS (no hit is nearer): the clipped hull's vertices are among
    the points in front plus the crossings of segments between points on either side.
    """
    pc = (hull - pose.position) @ pose.rotation
    front = pc[:, 2] >= _EPS
    if not front.any():
        return None
    pts = [pc[front]]
    if not front.all():
        a, b = pc[front], pc[~front]
        aa, bb = np.repeat(a, len(b), axis=0), np.tile(b, (len(a), 1))
        w = (aa[:, 2] - _EPS) / (aa[:, 2] - bb[:, 2])
        pts.append(aa + w[:, None] * (bb - aa))
    p = np.concatenate(pts)
    z = np.maximum(p[:, 2], _EPS)
    u = k[0, 0] * p[:, 0] / z + k[0, 2]
    v = k[1, 1] * p[:, 1] / z + k[1, 2]
    u0, u1 = max(int(np.floor(u.min())), 0), min(int(np.ceil(u.max())) + 1, width)
    v0, v1 = max(int(np.floor(v.min())), 0), min(int(np.ceil(v.max())) + 1, height)
    if u0 >= u1 or v0 >= v1:
        return None
    return slice(v0, v1), slice(u0, u1)


def _shadow_hull(obj: Primitive, light: Light, shell: Shell) -> np.ndarray:
    """Points whose convex hull contains every receiver the object can shadow from ``light``.

    Sun: receivers lie at z >= 0, so the object's hull swept away from the sun down to z = 0 covers
    them. Lamp: the hull swept away from the lamp by more than the shell's diagonal.
    """
    pts = obj.hull_points()
    reach = float(np.linalg.norm(shell.hi - shell.lo))
    if light.kind == "sun":
        lz = float(light.vector[2])
        sweep = reach if lz <= 1e-3 else min(max(float(pts[:, 2].max()), 0.0) / lz, reach)
        return np.concatenate([pts, pts - sweep * light.vector[None, :]])
    rel = pts - light.vector[None, :]
    scale = 1.0 + reach / max(float(np.linalg.norm(rel, axis=1).min()), 1e-2)
    return np.concatenate([pts, light.vector[None, :] + scale * rel])


def _occluded(
    scene: Scene, light: Light, origin: np.ndarray, active: np.ndarray, pose: CameraPose, k: np.ndarray
) -> np.ndarray:
    """(H, W) bool: shadow rays from ``origin`` (H, W, 3) towards ``light`` hit something first."""
    height, width = active.shape
    ox, oy, oz = origin[..., 0], origin[..., 1], origin[..., 2]
    if light.kind == "sun":
        dirs: tuple = tuple(float(c) for c in light.vector)
        t_light = np.inf
        _, face = scene.shell.intersect((ox, oy, oz), dirs)
        occ = active & (face != SKY_FACE) if scene.shell.open_top else active.copy()
    else:
        s = light.vector.astype(np.float32)
        dirs = (s[0] - ox, s[1] - oy, s[2] - oz)
        t_light = 1.0  # the ray parameter reaches the lamp at 1
        occ = np.zeros_like(active)
    for obj in scene.objects:
        if obj.material.emission > 0:  # lamps and windows do not block light
            continue
        centre, radius = obj.bound
        if light.kind == "point" and np.linalg.norm(light.vector - centre) <= radius:
            win: tuple[slice, slice] | None = (slice(0, height), slice(0, width))
        else:
            win = _screen_window(_shadow_hull(obj, light, scene.shell), pose, k, height, width)
        if win is None:
            continue
        todo = active[win] & ~occ[win]
        if not todo.any():
            continue
        d = dirs if light.kind == "sun" else tuple(c[win] for c in dirs)
        occ[win] |= todo & (obj.intersect((ox[win], oy[win], oz[win]), d) < t_light)
    return occ


@dataclass
class _Surfaces:
    """Per-pixel attributes of the first hits (flat arrays over H * W pixels)."""

    points: np.ndarray
    normals: np.ndarray
    view: np.ndarray  # unit ray directions
    albedo: np.ndarray
    specular: np.ndarray
    shininess: np.ndarray
    emission: np.ndarray
    face: np.ndarray  # shell face index, -1 on objects
    sky: np.ndarray


def _surfaces(scene: Scene, o: np.ndarray, d: tuple, t: np.ndarray, surf: np.ndarray, fx: float) -> _Surfaces:
    flat_t = t.reshape(-1)
    flat_s = surf.reshape(-1)
    n_px = flat_t.size
    dirs = np.stack([c.reshape(-1) for c in d], axis=1)
    view = dirs / np.linalg.norm(dirs, axis=1, keepdims=True)
    finite_t = np.where(np.isfinite(flat_t), flat_t, 0.0).astype(np.float32)
    points = o.astype(np.float32)[None, :] + finite_t[:, None] * dirs
    g = _Surfaces(
        points=points,
        normals=np.zeros((n_px, 3), np.float32),
        view=view,
        albedo=np.zeros((n_px, 3), np.float32),
        specular=np.zeros(n_px, np.float32),
        shininess=np.ones(n_px, np.float32),
        emission=np.zeros(n_px, np.float32),
        face=np.where(flat_s < SHELL_FACES, flat_s, -1).astype(np.int16),
        sky=(flat_s == SKY_FACE) if scene.shell.open_top else np.zeros(n_px, bool),
    )
    order = np.argsort(flat_s, kind="stable")  # radix sort on int16: groups pixels by surface
    bounds = np.concatenate([[0], np.cumsum(np.bincount(flat_s, minlength=SHELL_FACES + len(scene.objects)))])
    for s in np.flatnonzero(bounds[1:] > bounds[:-1]):
        if s == SKY_FACE and scene.shell.open_top:
            continue
        sel = order[bounds[s] : bounds[s + 1]]
        p, v = points[sel], view[sel]
        if s < SHELL_FACES:
            n, uv = scene.shell.surface(int(s), p)
            material = scene.shell.materials[int(s)]
        else:
            obj = scene.objects[int(s) - SHELL_FACES]
            n, uv = obj.surface(p, dirs[sel])
            material = obj.material
        cos = np.einsum("ij,ij->i", n, v)
        n = np.where((cos > 0)[:, None], -n, n)  # one-sided surfaces (quads, shell) face the camera
        footprint = finite_t[sel] / fx / np.maximum(np.abs(cos), 0.2)
        g.normals[sel] = n
        g.albedo[sel] = material.albedo(uv, scene.noise, scene.textures, footprint)
        if material.specular > 0:
            g.specular[sel] = material.specular
            g.shininess[sel] = material.shininess
        if material.emission > 0:
            g.emission[sel] = material.emission
    return g


def _sky(scene: Scene, view: np.ndarray) -> np.ndarray:
    """Sky radiance along unit directions: horizon-zenith gradient, sun glow, clouds from the noise table."""
    up = np.clip(view[:, 2], 0.0, 1.0)
    w = (up**0.6)[:, None]
    col = scene.sky_horizon[None, :] * (1 - w) + scene.sky_zenith[None, :] * w
    for light in scene.lights:
        if light.kind == "sun":
            c = np.clip(view @ light.vector.astype(np.float32), 0.0, 1.0)
            col = col + light.color[None, :] * (0.5 * c**300 + 0.06 * c**6)[:, None]
    if scene.cloud_cover > 0:
        lift = up + 0.15
        q = _lookup(scene.noise, view[:, 0] / lift * 4.0 + 7.0, view[:, 1] / lift * 4.0 + 3.0)
        q = 0.6 * q + 0.4 * _lookup(scene.noise, view[:, 0] / lift * 11.0, view[:, 1] / lift * 11.0)
        cover = np.clip((q - (1.0 - scene.cloud_cover)) * 3.0, 0.0, 1.0)[:, None]
        col = col * (1 - cover) + scene.cloud_color[None, :] * cover
    return col.astype(np.float32)


def _distance_to_other_faces(shell: Shell, points: np.ndarray, face: np.ndarray) -> np.ndarray:
    """(M,) distance from each point to the nearest shell face other than the one it lies on (not the sky)."""
    nearest = np.full(len(points), np.inf, np.float32)
    for f in range(SHELL_FACES):
        if f == SKY_FACE and shell.open_top:
            continue
        axis, positive = divmod(f, 2)
        coord = points[:, axis]
        dist = np.float32(shell.hi[axis]) - coord if positive else coord - np.float32(shell.lo[axis])
        nearest = np.minimum(nearest, np.where(face == f, np.float32(np.inf), dist))
    return nearest


def _shade(scene: Scene, g: _Surfaces, depth: np.ndarray, pose: CameraPose, k: np.ndarray) -> np.ndarray:
    """Linear radiance (H * W, 3) of the first hits."""
    height, width = depth.shape
    n = g.normals
    lit_surface = ~g.sky & (g.emission == 0)
    up = (0.5 + 0.5 * n[:, 2])[:, None]
    irradiance = scene.ground_ambient[None, :] + (scene.sky_ambient - scene.ground_ambient)[None, :] * up
    if scene.corner_occlusion > 0:
        nearest = _distance_to_other_faces(scene.shell, g.points, g.face)
        irradiance = irradiance * (1.0 - scene.corner_occlusion * np.exp(-nearest / _CORNER_REACH))[:, None]
    highlight = np.zeros_like(irradiance)
    offset = (2e-3 + 2e-4 * depth.reshape(-1))[:, None]
    origin = (g.points + n * offset).reshape(height, width, 3)
    for light in scene.lights:
        if light.kind == "sun":
            to_light = np.broadcast_to(light.vector.astype(np.float32), n.shape)
            power = light.color.astype(np.float32)[None, :]
        else:
            rel = light.vector.astype(np.float32)[None, :] - g.points
            dist2 = np.einsum("ij,ij->i", rel, rel)
            to_light = rel / np.sqrt(np.maximum(dist2, 1e-12))[:, None]
            power = light.color.astype(np.float32)[None, :] / (dist2 + np.float32(light.radius**2))[:, None]
        cos = np.clip(np.einsum("ij,ij->i", n, to_light), 0.0, None)
        active = lit_surface & (cos > 0)
        if light.shadows:
            active &= ~_occluded(scene, light, origin, active.reshape(height, width), pose, k).reshape(-1)
        cos = np.where(active, cos, 0.0).astype(np.float32)
        irradiance = irradiance + cos[:, None] * power
        glossy = np.flatnonzero(active & (g.specular > 0))
        if glossy.size:
            half = to_light[glossy] - g.view[glossy]
            half = half / np.maximum(np.linalg.norm(half, axis=1, keepdims=True), 1e-6)
            nh = np.clip(np.einsum("ij,ij->i", n[glossy], half), 0.0, 1.0)
            strength = g.specular[glossy] * nh ** g.shininess[glossy] * cos[glossy]
            highlight[glossy] += strength[:, None] * (power if power.shape[0] == 1 else power[glossy])
    radiance = g.albedo * irradiance + highlight
    emissive = g.emission > 0
    radiance[emissive] = g.albedo[emissive] * g.emission[emissive, None]
    if g.sky.any():
        radiance[g.sky] = _sky(scene, g.view[g.sky])
    if np.isfinite(scene.fog_distance):
        fog = 1.0 - np.exp(depth.reshape(-1) * np.float32(-1.0 / scene.fog_distance))
        fog[g.sky] = 0.0
        radiance += (scene.fog_color[None, :] - radiance) * fog[:, None]
    return radiance


def _camera_response(radiance: np.ndarray, key: float) -> np.ndarray:
    """Auto-exposure to ``key`` (log-average luminance), extended Reinhard tone curve, gamma -> uint8."""
    lum = radiance @ _LUMA
    log_average = float(np.exp(np.mean(np.log(np.maximum(lum, 0.0) + 1e-4))))
    x = np.maximum(radiance * np.float32(key / log_average), 0.0)
    x = x * (1.0 + x / _WHITE_POINT**2) / (1.0 + x)
    return np.clip(255.0 * x ** (1.0 / _GAMMA) + 0.5, 0, 255).astype(np.uint8)


def render_view(scene: Scene, pose: CameraPose, k: np.ndarray, height: int, width: int) -> dict:
    """Ray-cast one view: ``{"image": uint8 HxWx3 RGB, "depth": float32 HxW metres (0 invalid), "K"}``."""
    o = np.asarray(pose.position, dtype=np.float64)
    origin = tuple(float(c) for c in o)
    d = _camera_rays(k, pose.rotation, height, width)
    t, surf = scene.shell.intersect(origin, d)
    for idx, obj in enumerate(scene.objects):
        win = _screen_window(obj.hull_points(), pose, k, height, width)
        if win is None:
            continue
        tk = obj.intersect(origin, (d[0][win], d[1][win], d[2][win]))
        closer = tk < t[win]
        if closer.any():
            t[win][closer] = tk[closer]
            surf[win][closer] = SHELL_FACES + idx
    g = _surfaces(scene, o, d, t, surf, float(k[0, 0]))
    depth = np.where(g.sky.reshape(height, width) | (t > scene.max_depth), 0.0, t).astype(np.float32)
    radiance = _shade(scene, g, np.where(np.isfinite(t), t, 0.0).astype(np.float32), pose, k)
    image = _camera_response(radiance, scene.exposure_key).reshape(height, width, 3)
    return {"image": image, "depth": depth, "K": k.astype(np.float32)}


def make_scene(
    seed: int,
    kind: str = "room",
    n_frames: int = 1,
    max_depth: float | None = None,
    textures: TextureBank | None = None,
) -> tuple[Scene, list[CameraPose], tuple[float, float, float]]:
    """Random scene, camera path of ``n_frames`` poses, and resolution-free intrinsics (fx/W, cx/W, cy/H).

    ``textures``: the photographs materials may use (default: ``textures.default_texture_bank()``).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown synthetic scene kind {kind!r}; choose one of {KINDS}")
    rng = np.random.default_rng(seed)
    hfov = np.deg2rad(rng.uniform(*FOV_DEGREES))
    fx_norm = 0.5 / np.tan(hfov / 2)
    cx_norm, cy_norm = 0.5 + rng.uniform(-0.02, 0.02), 0.5 + rng.uniform(-0.02, 0.02)
    max_d = DEFAULT_MAX_DEPTH[kind] if max_depth is None else float(max_depth)
    bank = default_texture_bank() if textures is None else textures
    build = build_room if kind == "room" else build_street
    scene, poses = build(rng, n_frames, max_d, bank)
    return scene, poses, (float(fx_norm), float(cx_norm), float(cy_norm))


def render_scene(
    seed: int,
    height: int,
    width: int,
    kind: str = "room",
    max_depth: float | None = None,
    textures: TextureBank | None = None,
) -> dict[str, np.ndarray]:
    """One random view: ``{"image": uint8 HxWx3 RGB, "depth": float32 HxW metres (0 invalid), "K": 3x3}``.

    Deterministic by ``seed`` (and texture bank); the same seed gives the same view at any resolution.
    """
    scene, poses, (fx_n, cx_n, cy_n) = make_scene(seed, kind, 1, max_depth, textures)
    return render_view(scene, poses[0], intrinsics_matrix(fx_n, cx_n, cy_n, height, width), height, width)


def render_sequence(
    seed: int,
    n_frames: int,
    height: int,
    width: int,
    kind: str = "room",
    max_depth: float | None = None,
    textures: TextureBank | None = None,
) -> list[dict[str, np.ndarray]]:
    """A smoothly moving camera in one scene; each frame also has ``"pose"`` (4x4 world-from-camera)."""
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1, got {n_frames}")
    scene, poses, (fx_n, cx_n, cy_n) = make_scene(seed, kind, n_frames, max_depth, textures)
    k = intrinsics_matrix(fx_n, cx_n, cy_n, height, width)
    frames = []
    for pose in poses:
        frame = render_view(scene, pose, k, height, width)
        frame["pose"] = pose.matrix()
        frames.append(frame)
    return frames
