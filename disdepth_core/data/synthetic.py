"""Procedural synthetic scenes with exact metric depth: a vectorised numpy ray-caster.

Two scene kinds:

- ``"room"``: the inside of a box-shaped room (floor, four walls, ceiling) with furniture-like boxes,
  spheres, cylinders and slanted boards; depth about 0.3..10 m.
- ``"street"``: a street canyon (ground plane, building facades with protruding buildings, a far
  background wall beyond the depth range, sky) with car-sized boxes, poles, bushes and ramps; depth up
  to ``max_depth`` (80 m by default, KITTI-like).

Surfaces carry procedural textures (checker, stripes, value noise, plain, all with fine grain) so that
monocular cues exist; shading is Lambertian from one directional light plus ambient, with distance
fog in streets. No shadows (documented limitation: they would need a second ray pass).

Conventions: the world frame is right-handed, z up (ROS); the camera is a pinhole in the optical frame
(x right, y down, z forward); pixel centres sit at integer coordinates (OpenCV/ROS ``K``). Rays are cast
with a camera-frame direction whose z component is 1, so the ray parameter of the first hit *is* the
depth along the optical axis: depth is exact, not approximated. Depth beyond ``max_depth`` and sky are
invalid (0), like KITTI ground truth. The scene, camera pose and field of view depend only on the
seed, the intrinsics scale with the resolution, so one seed renders the same view at any size.

Speed: objects are tested only inside the screen rectangle their bounding sphere projects to.
See ``docs/data.md`` for measured timings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

KINDS = ("room", "street")
DEFAULT_MAX_DEPTH = {"room": 10.0, "street": 80.0}
_EPS = 1e-4  # smallest accepted ray parameter (metres of depth)
_NOISE_SIZE = 64  # texels of the per-scene noise table (power of two, indices wrap with a mask)

# Camera optical frame (x right, y down, z forward) expressed in the body frame (x forward, y left, z up).
_R_BODY_OPTICAL = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])

Rays = tuple[np.ndarray, np.ndarray, np.ndarray]
_CUBE = np.array([[sx, sy, sz] for sx in (-1.0, 1.0) for sy in (-1.0, 1.0) for sz in (-1.0, 1.0)])


@dataclass(frozen=True)
class Material:
    """Albedo = mix(color_a, color_b, pattern(uv / scale)) times a fine-grain factor."""

    color_a: np.ndarray  # (3,) RGB in [0, 1]
    color_b: np.ndarray  # (3,) RGB in [0, 1]
    pattern: str  # "plain" | "checker" | "stripes" | "noise"
    scale: float  # metres per pattern cell

    def albedo(self, uv: np.ndarray, noise: np.ndarray) -> np.ndarray:
        """(M, 2) surface coordinates in metres -> (M, 3) float32 albedo."""
        u = uv[:, 0] / self.scale
        v = uv[:, 1] / self.scale
        if self.pattern == "checker":
            f = ((np.floor(u) + np.floor(v)).astype(np.int32) & 1).astype(np.float32)
        elif self.pattern == "stripes":
            f = (np.floor(u).astype(np.int32) & 1).astype(np.float32)
        elif self.pattern == "noise":
            f = _lookup(noise, u * 8.0, v * 8.0)
        else:
            f = np.zeros(len(uv), np.float32)
        grain = 0.82 + 0.36 * _lookup(noise, uv[:, 0] * 37.0, uv[:, 1] * 37.0)
        col = self.color_a[None, :] + (self.color_b - self.color_a)[None, :] * f[:, None]
        return col * grain[:, None]


def _lookup(table: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Nearest-texel lookup into a wrapping square table."""
    size = table.shape[0]
    iu = np.floor(u).astype(np.int32) & (size - 1)
    iv = np.floor(v).astype(np.int32) & (size - 1)
    return table.ravel()[iv * size + iu]


def _rot_z(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _rot_y(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _rot_x(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def camera_rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """World-from-optical rotation for a body with ROS yaw/pitch/roll (z up, x forward)."""
    return _rot_z(yaw) @ _rot_y(pitch) @ _rot_x(roll) @ _R_BODY_OPTICAL


# ----------------------------------------------------------------------------------------------------
# Primitives. intersect(o, dx, dy, dz) -> ray parameter (inf = miss) for world-frame ray directions;
# surface(P, D) -> (unit normals facing the ray, uv in metres) at hit points P (M, 3).
# ----------------------------------------------------------------------------------------------------


@dataclass
class Sphere:
    center: np.ndarray
    radius: float
    material: Material

    @property
    def bound(self) -> tuple[np.ndarray, float]:
        return self.center, self.radius

    def hull_points(self) -> np.ndarray:
        return self.center + _CUBE * self.radius

    def intersect(self, o: np.ndarray, dx: np.ndarray, dy: np.ndarray, dz: np.ndarray) -> np.ndarray:
        oc = o - self.center
        ox, oy, oz = oc.tolist()
        a = dx * dx + dy * dy + dz * dz
        b = dx * ox + dy * oy + dz * oz
        c = float(oc @ oc - self.radius**2)
        disc = b * b - a * c
        with np.errstate(invalid="ignore"):
            t = (-b - np.sqrt(disc)) / a
        return np.where((disc >= 0) & (t > _EPS), t, np.inf)

    def surface(self, p: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = (p - self.center) / self.radius
        lon = np.arctan2(n[:, 1], n[:, 0]) * self.radius
        lat = np.arcsin(np.clip(n[:, 2], -1.0, 1.0)) * self.radius
        return n, np.stack([lon, lat], axis=1)


@dataclass
class Box:
    """Box rotated by ``yaw`` about the vertical axis through ``center``; ``half`` = half extents."""

    center: np.ndarray
    half: np.ndarray
    yaw: float
    material: Material

    @property
    def bound(self) -> tuple[np.ndarray, float]:
        return self.center, float(np.linalg.norm(self.half))

    def hull_points(self) -> np.ndarray:
        return self.center + (_CUBE * self.half) @ _rot_z(self.yaw).T

    def intersect(self, o: np.ndarray, dx: np.ndarray, dy: np.ndarray, dz: np.ndarray) -> np.ndarray:
        ol = self._to_local(o - self.center).tolist()
        half = self.half.tolist()
        if self.yaw == 0.0:
            dirs = (dx, dy, dz)
        else:
            c, s = float(np.cos(self.yaw)), float(np.sin(self.yaw))
            dirs = (c * dx + s * dy, c * dy - s * dx, dz)
        tmin = None
        tmax = None
        with np.errstate(divide="ignore", invalid="ignore"):
            for axis in range(3):
                inv = 1.0 / dirs[axis]
                t1 = (-half[axis] - ol[axis]) * inv
                t2 = (half[axis] - ol[axis]) * inv
                lo, hi = np.minimum(t1, t2), np.maximum(t1, t2)
                tmin = lo if tmin is None else np.maximum(tmin, lo)
                tmax = hi if tmax is None else np.minimum(tmax, hi)
        return np.where((tmax >= tmin) & (tmin > _EPS), tmin, np.inf)

    def _to_local(self, v: np.ndarray) -> np.ndarray:
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        return np.stack([c * v[..., 0] + s * v[..., 1], c * v[..., 1] - s * v[..., 0], v[..., 2]], axis=-1)

    def surface(self, p: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pl = self._to_local(p - self.center)
        rel = np.abs(pl) / self.half
        axis = np.argmax(rel, axis=1)
        nl = np.zeros_like(pl)
        rows = np.arange(len(pl))
        nl[rows, axis] = np.sign(pl[rows, axis])
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        n = np.stack([c * nl[:, 0] - s * nl[:, 1], s * nl[:, 0] + c * nl[:, 1], nl[:, 2]], axis=1)
        # uv: the two local coordinates spanning the hit face.
        u = np.where(axis == 0, pl[:, 1], pl[:, 0])
        v = np.where(axis == 2, pl[:, 1], pl[:, 2])
        return n, np.stack([u, v], axis=1)


@dataclass
class Cylinder:
    """Vertical cylinder standing on z = ``base[2]`` with its axis through ``base``; capped on top."""

    base: np.ndarray
    radius: float
    height: float
    material: Material

    @property
    def bound(self) -> tuple[np.ndarray, float]:
        centre = self.base + np.array([0.0, 0.0, self.height / 2])
        return centre, float(np.hypot(self.radius, self.height / 2))

    def hull_points(self) -> np.ndarray:
        half = np.array([self.radius, self.radius, self.height / 2])
        return self.bound[0] + _CUBE * half

    def intersect(self, o: np.ndarray, dx: np.ndarray, dy: np.ndarray, dz: np.ndarray) -> np.ndarray:
        ox, oy, oz = (o - self.base).tolist()
        z0, z1 = 0.0, self.height
        a = dx * dx + dy * dy
        b = ox * dx + oy * dy
        c = ox * ox + oy * oy - self.radius**2
        disc = b * b - a * c
        with np.errstate(invalid="ignore", divide="ignore"):
            t_side = (-b - np.sqrt(disc)) / a
            z = oz + t_side * dz
            side_ok = (disc >= 0) & (t_side > _EPS) & (z >= z0) & (z <= z1)
            t_cap = (z1 - oz) / dz
            cx = ox + t_cap * dx
            cy = oy + t_cap * dy
            cap_ok = (t_cap > _EPS) & (cx * cx + cy * cy <= self.radius**2)
        t = np.where(side_ok, t_side, np.inf)
        return np.where(cap_ok & (t_cap < t), t_cap, t)

    def surface(self, p: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rel = p - self.base
        top = self.base[2] + self.height
        r = np.hypot(rel[:, 0], rel[:, 1])
        on_cap = (np.abs(p[:, 2] - top) < 1e-4 * max(1.0, top)) & (r < self.radius * (1 - 1e-4))
        safe_r = np.maximum(r, 1e-9)
        n = np.stack([rel[:, 0] / safe_r, rel[:, 1] / safe_r, np.zeros(len(p))], axis=1)
        n[on_cap] = (0.0, 0.0, 1.0)
        angle = np.arctan2(rel[:, 1], rel[:, 0]) * self.radius
        u = np.where(on_cap, rel[:, 0], angle)
        v = np.where(on_cap, rel[:, 1], rel[:, 2])
        return n, np.stack([u, v], axis=1)


@dataclass
class Quad:
    """Planar rectangle (e.g. a slanted board or ramp): centre, orthonormal in-plane axes, half sizes."""

    center: np.ndarray
    axis_u: np.ndarray
    axis_v: np.ndarray
    half_u: float
    half_v: float
    material: Material
    normal: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        n = np.cross(self.axis_u, self.axis_v)
        self.normal = n / np.linalg.norm(n)

    @property
    def bound(self) -> tuple[np.ndarray, float]:
        return self.center, float(np.hypot(self.half_u, self.half_v))

    def hull_points(self) -> np.ndarray:
        su = np.array([-1.0, -1.0, 1.0, 1.0])[:, None] * self.half_u
        sv = np.array([-1.0, 1.0, -1.0, 1.0])[:, None] * self.half_v
        return self.center + su * self.axis_u + sv * self.axis_v

    def intersect(self, o: np.ndarray, dx: np.ndarray, dy: np.ndarray, dz: np.ndarray) -> np.ndarray:
        n, eu, ev = self.normal.tolist(), self.axis_u.tolist(), self.axis_v.tolist()
        oc = o - self.center
        dn = dx * n[0] + dy * n[1] + dz * n[2]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = -float(oc @ self.normal) / dn
            a = float(oc @ self.axis_u) + t * (dx * eu[0] + dy * eu[1] + dz * eu[2])
            b = float(oc @ self.axis_v) + t * (dx * ev[0] + dy * ev[1] + dz * ev[2])
        ok = (t > _EPS) & (np.abs(a) <= self.half_u) & (np.abs(b) <= self.half_v)
        return np.where(ok, t, np.inf)

    def surface(self, p: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rel = p - self.center
        n = np.broadcast_to(self.normal, p.shape).copy()
        return n, np.stack([rel @ self.axis_u, rel @ self.axis_v], axis=1)


Primitive = Sphere | Box | Cylinder | Quad


@dataclass
class Shell:
    """The enclosing axis-aligned box seen from inside: faces 0..5 = -x, +x, -y, +y, floor, top.

    ``open_top`` makes the top face sky (no depth). ``materials`` has one entry per face.
    """

    lo: np.ndarray
    hi: np.ndarray
    materials: Sequence[Material]
    open_top: bool = False

    def intersect(self, o: np.ndarray, dx: np.ndarray, dy: np.ndarray, dz: np.ndarray):
        """Exit distance and face index (int16) for rays starting inside the box."""
        ts = []
        lo, hi, oo = self.lo.tolist(), self.hi.tolist(), o.tolist()
        with np.errstate(divide="ignore", invalid="ignore"):
            for axis, d in enumerate((dx, dy, dz)):
                inv = 1.0 / d
                ts.append(np.maximum((lo[axis] - oo[axis]) * inv, (hi[axis] - oo[axis]) * inv))
        t = np.minimum(np.minimum(ts[0], ts[1]), ts[2])
        face = np.full(t.shape, 4, np.int16)  # z faces unless x or y is the exit axis
        positive = dz > 0
        for axis, d in ((1, dy), (0, dx)):
            hit = ts[axis] == t
            face[hit] = 2 * axis
            positive[hit] = d[hit] > 0
        face += positive
        return t, face

    def surface(self, face: int, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        axis, positive = divmod(face, 2)
        n = np.zeros_like(p)
        n[:, axis] = -1.0 if positive else 1.0  # faces look into the box
        others = [a for a in range(3) if a != axis]
        return n, p[:, others]


@dataclass
class Scene:
    """Everything needed to render views: geometry, lighting, atmosphere and a texture noise table."""

    kind: str
    shell: Shell
    objects: list[Primitive]
    light_dir: np.ndarray  # unit vector towards the light
    ambient: float
    noise: np.ndarray  # (_NOISE_SIZE, _NOISE_SIZE) float32 in [0, 1]
    sky_horizon: np.ndarray
    sky_zenith: np.ndarray
    fog_color: np.ndarray
    fog_distance: float  # metres; inf = no fog
    max_depth: float


@dataclass(frozen=True)
class CameraPose:
    """Camera position (world) and world-from-optical rotation."""

    position: np.ndarray
    rotation: np.ndarray

    def matrix(self) -> np.ndarray:
        """4 x 4 world-from-camera (optical frame) transform."""
        t = np.eye(4)
        t[:3, :3] = self.rotation
        t[:3, 3] = self.position
        return t


# ----------------------------------------------------------------------------------------------------
# Rendering
# ----------------------------------------------------------------------------------------------------


def intrinsics_matrix(fx_norm: float, cx_norm: float, cy_norm: float, height: int, width: int) -> np.ndarray:
    """K for a resolution from resolution-free parameters (fx / width, principal point / size)."""
    fx = fx_norm * width
    return np.array(
        [[fx, 0.0, cx_norm * width - 0.5], [0.0, fx, cy_norm * height - 0.5], [0.0, 0.0, 1.0]],
        dtype=np.float32,
    )


def _camera_rays(k: np.ndarray, rot: np.ndarray, height: int, width: int) -> Rays:
    x = ((np.arange(width, dtype=np.float32) - k[0, 2]) / k[0, 0])[None, :]
    y = ((np.arange(height, dtype=np.float32) - k[1, 2]) / k[1, 1])[:, None]
    r = rot.astype(np.float32)
    return tuple(r[i, 0] * x + r[i, 1] * y + r[i, 2] for i in range(3))  # type: ignore[return-value]


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


def render_view(scene: Scene, pose: CameraPose, k: np.ndarray, height: int, width: int) -> dict:
    """Ray-cast one view: ``{"image": uint8 HxWx3 RGB, "depth": float32 HxW metres (0 invalid), "K"}``."""
    o = np.asarray(pose.position, dtype=np.float64)
    dx, dy, dz = _camera_rays(k, pose.rotation, height, width)
    t, surf = scene.shell.intersect(o, dx, dy, dz)
    n_shell = 6
    for idx, obj in enumerate(scene.objects):
        win = _screen_window(obj.hull_points(), pose, k, height, width)
        if win is None:
            continue
        tk = obj.intersect(o, dx[win], dy[win], dz[win])
        closer = tk < t[win]
        if closer.any():
            t[win][closer] = tk[closer]
            surf[win][closer] = n_shell + idx

    flat_t = t.reshape(-1)
    flat_s = surf.reshape(-1)
    dirs = np.stack([dx.reshape(-1), dy.reshape(-1), dz.reshape(-1)], axis=1)
    finite_t = np.where(np.isfinite(flat_t), flat_t, 0.0).astype(np.float32)
    points = np.stack([oi + finite_t * dirs[:, i] for i, oi in enumerate(o.tolist())], axis=1)
    color = np.empty((flat_t.size, 3), np.float32)
    sky = np.zeros(flat_t.size, bool)
    order = np.argsort(flat_s, kind="stable")  # radix sort on int16: groups pixels by surface
    bounds = np.concatenate([[0], np.cumsum(np.bincount(flat_s, minlength=n_shell + len(scene.objects)))])
    for s in np.flatnonzero(bounds[1:] > bounds[:-1]):
        sel = order[bounds[s] : bounds[s + 1]]
        d = dirs[sel]
        if s == 5 and scene.shell.open_top:
            sky[sel] = True
            w = np.clip(d[:, 2] / np.linalg.norm(d, axis=1), 0.0, 1.0)[:, None] ** 0.6
            color[sel] = scene.sky_horizon * (1 - w) + scene.sky_zenith * w
            continue
        p = points[sel]
        if s < n_shell:
            n, uv = scene.shell.surface(int(s), p)
            material = scene.shell.materials[int(s)]
        else:
            obj = scene.objects[int(s) - n_shell]
            n, uv = obj.surface(p, d)
            material = obj.material
        ndotl = n @ scene.light_dir.astype(np.float32)
        facing_away = np.einsum("ij,ij->i", n, d) > 0  # one-sided normals (quads, shell) face the camera
        ndotl[facing_away] *= -1.0
        shade = scene.ambient + (1.0 - scene.ambient) * np.clip(ndotl, 0.0, None)
        color[sel] = material.albedo(uv, scene.noise) * shade[:, None]
    if np.isfinite(scene.fog_distance):
        fog = 1.0 - np.exp(flat_t * np.float32(-1.0 / scene.fog_distance))
        fog[sky] = 0.0
        color += (scene.fog_color[None, :] - color) * fog[:, None]
    image = np.clip(color * 255.0 + 0.5, 0, 255).astype(np.uint8).reshape(height, width, 3)
    depth = np.where(sky | (flat_t > scene.max_depth), 0.0, flat_t).astype(np.float32).reshape(height, width)
    return {"image": image, "depth": depth, "K": k.astype(np.float32)}


# ----------------------------------------------------------------------------------------------------
# Random scene generation
# ----------------------------------------------------------------------------------------------------


def _noise_table(rng: np.random.Generator) -> np.ndarray:
    coarse = rng.random((8, 8), dtype=np.float32)
    smooth = cv2.resize(coarse, (_NOISE_SIZE, _NOISE_SIZE), interpolation=cv2.INTER_CUBIC)
    fine = rng.random((_NOISE_SIZE, _NOISE_SIZE), dtype=np.float32)
    return np.clip(0.65 * smooth + 0.35 * fine, 0.0, 1.0).astype(np.float32)


def _random_color(rng: np.random.Generator, lo: float = 0.15, hi: float = 0.95) -> np.ndarray:
    return rng.uniform(lo, hi, 3).astype(np.float32)


def _random_material(
    rng: np.random.Generator,
    patterns: Sequence[str] = ("plain", "checker", "stripes", "noise"),
    scale: tuple[float, float] = (0.1, 0.6),
    base: np.ndarray | None = None,
) -> Material:
    a = _random_color(rng) if base is None else base
    b = np.clip(a * rng.uniform(0.35, 0.8) + _random_color(rng, 0.0, 0.25), 0, 1).astype(np.float32)
    pattern = str(rng.choice(list(patterns)))
    return Material(a, b, pattern, float(rng.uniform(*scale)))


def _plain(color: np.ndarray) -> Material:
    return Material(color, color, "plain", 1.0)


def _light(rng: np.random.Generator, elevation: tuple[float, float]) -> np.ndarray:
    az = rng.uniform(0, 2 * np.pi)
    el = rng.uniform(*elevation)
    return np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])


def _trajectory(
    rng: np.random.Generator,
    n_frames: int,
    lo: np.ndarray,
    hi: np.ndarray,
    height: tuple[float, float],
    yaw_range: tuple[float, float],
    pitch_range: tuple[float, float],
    path_length: tuple[float, float],
) -> list[CameraPose]:
    """A smooth path (forward motion along the heading, gentle sway and yaw) inside [lo, hi] in x, y."""
    for _ in range(100):
        start = np.array([rng.uniform(lo[0], hi[0]), rng.uniform(lo[1], hi[1]), rng.uniform(*height)])
        yaw0 = rng.uniform(*yaw_range)
        pitch0 = rng.uniform(*pitch_range)
        roll0 = rng.uniform(-0.05, 0.05)
        length = rng.uniform(*path_length) if n_frames > 1 else 0.0
        sway, yaw_amp = rng.uniform(0, 0.15) * length, rng.uniform(0, 0.3)
        phase = rng.uniform(0, 2 * np.pi)
        s = np.linspace(0.0, 1.0, n_frames)
        fwd = np.array([np.cos(yaw0), np.sin(yaw0), 0.0])
        left = np.array([-np.sin(yaw0), np.cos(yaw0), 0.0])
        pos = (
            start[None, :]
            + (length * s)[:, None] * fwd
            + (sway * np.sin(2 * np.pi * s + phase))[:, None] * left
        )
        if np.all(pos[:, :2] >= lo) and np.all(pos[:, :2] <= hi):
            yaws = yaw0 + yaw_amp * (np.sin(2 * np.pi * s + phase) - np.sin(phase))
            pitches = pitch0 + 0.03 * np.sin(4 * np.pi * s)
            return [CameraPose(pos[i], camera_rotation(yaws[i], pitches[i], roll0)) for i in range(n_frames)]
    raise RuntimeError("could not fit a camera path into the scene; use fewer frames or a larger scene")


def _clear_of(poses: Sequence[CameraPose], obj: Primitive, margin: float) -> bool:
    centre, radius = obj.bound
    return all(np.linalg.norm(p.position - centre) > radius + margin for p in poses)


def _place(
    rng: np.random.Generator, make: Callable[[], Primitive], poses: Sequence[CameraPose], margin: float
):
    for _ in range(20):
        obj = make()
        if _clear_of(poses, obj, margin):
            return obj
    return None


def _room(rng: np.random.Generator, n_frames: int, max_depth: float) -> tuple[Scene, list[CameraPose]]:
    size = np.array([rng.uniform(3.0, 8.0), rng.uniform(2.5, 6.0), rng.uniform(2.3, 3.2)])
    wall = _random_material(
        rng, ("plain", "noise", "stripes"), (0.2, 0.8), base=_random_color(rng, 0.5, 0.95)
    )
    faces = [
        wall,
        _random_material(rng, ("plain", "noise", "stripes"), (0.2, 0.8), base=wall.color_a),
        wall,
        _random_material(rng, ("plain", "noise", "checker"), (0.2, 0.8)),
        _random_material(rng, ("checker", "noise", "stripes"), (0.15, 0.6)),  # floor
        _plain(np.full(3, rng.uniform(0.75, 0.95), np.float32)),  # ceiling
    ]
    shell = Shell(np.zeros(3), size, faces)
    margin = 0.4
    poses = _trajectory(
        rng,
        n_frames,
        np.array([margin, margin]),
        size[:2] - margin,
        (0.3, 1.7),
        (-np.pi, np.pi),
        (-0.1, 0.35),
        (0.3, min(2.0, float(size[:2].min()) - 2 * margin)),
    )
    objects: list[Primitive] = []
    for _ in range(int(rng.integers(3, 9))):
        kind = rng.choice(["box", "box", "sphere", "cylinder", "quad"])

        def make(kind=kind) -> Primitive:
            xy = rng.uniform([0.2, 0.2], size[:2] - 0.2)
            mat = _random_material(rng)
            if kind == "box":
                half = rng.uniform([0.15, 0.15, 0.1], [0.8, 0.8, 0.6])
                z = half[2] if rng.random() < 0.8 else rng.uniform(half[2], size[2] - half[2])
                return Box(np.array([xy[0], xy[1], z]), half, float(rng.uniform(0, np.pi)), mat)
            if kind == "sphere":
                r = rng.uniform(0.1, 0.5)
                z = r if rng.random() < 0.6 else rng.uniform(r, size[2] - r)
                return Sphere(np.array([xy[0], xy[1], z]), float(r), mat)
            if kind == "cylinder":
                return Cylinder(
                    np.array([xy[0], xy[1], 0.0]),
                    float(rng.uniform(0.05, 0.4)),
                    float(rng.uniform(0.3, 2.2)),
                    mat,
                )
            return _slanted_quad(rng, np.array([xy[0], xy[1]]), (0.3, 1.2), mat)

        obj = _place(rng, make, poses, margin=0.35)
        if obj is not None:
            objects.append(obj)
    scene = Scene(
        kind="room",
        shell=shell,
        objects=objects,
        light_dir=_light(rng, (0.5, 1.3)),
        ambient=float(rng.uniform(0.3, 0.5)),
        noise=_noise_table(rng),
        sky_horizon=np.zeros(3, np.float32),
        sky_zenith=np.zeros(3, np.float32),
        fog_color=np.zeros(3, np.float32),
        fog_distance=np.inf,
        max_depth=max_depth,
    )
    return scene, poses


def _slanted_quad(rng: np.random.Generator, xy: np.ndarray, half: tuple[float, float], mat: Material) -> Quad:
    """A board leaning at a random angle, standing on the ground (a ramp when the tilt is large)."""
    hu, hv = (float(v) for v in rng.uniform(*half, 2))
    yaw, tilt = rng.uniform(0, 2 * np.pi), rng.uniform(0.2, 1.3)
    axis_u = np.array([-np.sin(yaw), np.cos(yaw), 0.0])
    axis_v = np.array([np.cos(yaw) * np.sin(tilt), np.sin(yaw) * np.sin(tilt), np.cos(tilt)])
    centre = np.array([xy[0], xy[1], 0.0]) + axis_v * hv
    return Quad(centre, axis_u, axis_v, hu, hv, mat)


def _street(rng: np.random.Generator, n_frames: int, max_depth: float) -> tuple[Scene, list[CameraPose]]:
    half_w = rng.uniform(5.0, 10.0)
    far = rng.uniform(1.2, 2.0) * max_depth
    lo, hi = np.array([-30.0, -half_w, 0.0]), np.array([far, half_w, 200.0])
    facade = _random_material(rng, ("stripes", "checker", "noise"), (0.8, 3.0))
    faces = [
        _random_material(rng, ("noise",), (2.0, 6.0)),  # behind the camera
        _random_material(rng, ("noise", "plain"), (3.0, 10.0)),  # far background
        facade,
        _random_material(rng, ("stripes", "checker", "noise"), (0.8, 3.0)),
        _random_material(rng, ("noise", "stripes"), (0.5, 3.0), base=_random_color(rng, 0.2, 0.45)),  # road
        facade,  # unused: the top is sky
    ]
    shell = Shell(lo, hi, faces, open_top=True)
    poses = _trajectory(
        rng,
        n_frames,
        np.array([0.0, -half_w + 2.5]),
        np.array([20.0, half_w - 2.5]),
        (0.4, 1.9),
        (-0.3, 0.3),
        (-0.08, 0.12),
        (2.0, 15.0),
    )
    objects: list[Primitive] = []
    for side in (-1.0, 1.0):  # buildings protruding from each facade
        x = -20.0
        while x < 0.8 * max_depth:
            length = rng.uniform(6.0, 25.0)
            if rng.random() < 0.7:
                depth = rng.uniform(2.0, 6.0)
                inner = half_w - rng.uniform(0.0, 3.0)
                y = side * (inner + depth / 2)
                height = rng.uniform(5.0, 30.0)
                mat = _random_material(rng, ("stripes", "checker", "noise"), (0.8, 3.0))
                objects.append(
                    Box(
                        np.array([x + length / 2, y, height / 2]),
                        np.array([length / 2, depth / 2, height / 2]),
                        0.0,
                        mat,
                    )
                )
            x += length + rng.uniform(0.0, 4.0)

    def car() -> Primitive:
        x, y = rng.uniform(3.0, 0.7 * max_depth), rng.choice([-1, 1]) * rng.uniform(0.0, half_w - 1.5)
        half = np.array([rng.uniform(1.8, 2.4), rng.uniform(0.8, 1.0), rng.uniform(0.7, 0.95)])
        return Box(np.array([x, y, half[2] + 0.15]), half, float(rng.normal(0, 0.15)), _random_material(rng))

    def pole() -> Primitive:
        x, y = rng.uniform(2.0, 0.7 * max_depth), rng.choice([-1, 1]) * (half_w - rng.uniform(0.5, 2.0))
        return Cylinder(
            np.array([x, y, 0.0]),
            float(rng.uniform(0.08, 0.35)),
            float(rng.uniform(2.5, 8.0)),
            _random_material(rng),
        )

    def bush() -> Primitive:
        x, y = rng.uniform(2.0, 0.5 * max_depth), rng.choice([-1, 1]) * (half_w - rng.uniform(0.5, 3.0))
        r = rng.uniform(0.3, 1.5)
        return Sphere(
            np.array([x, y, r * rng.uniform(0.6, 1.0)]), float(r), _random_material(rng, ("noise",))
        )

    def ramp() -> Primitive:
        xy = np.array([rng.uniform(3.0, 30.0), rng.uniform(-half_w + 1.0, half_w - 1.0)])
        return _slanted_quad(rng, xy, (0.5, 2.0), _random_material(rng))

    for make, count in ((car, (1, 6)), (pole, (1, 6)), (bush, (0, 4)), (ramp, (0, 3))):
        for _ in range(int(rng.integers(*count))):
            obj = _place(rng, make, poses, margin=0.8)
            if obj is not None:
                objects.append(obj)
    haze = rng.uniform(0.6, 0.9)
    scene = Scene(
        kind="street",
        shell=shell,
        objects=objects,
        light_dir=_light(rng, (0.3, 1.2)),
        ambient=float(rng.uniform(0.3, 0.5)),
        noise=_noise_table(rng),
        sky_horizon=np.array([haze, haze, min(1.0, haze + 0.1)], np.float32),
        sky_zenith=np.array([0.25, 0.45, rng.uniform(0.7, 0.95)], np.float32),
        fog_color=np.array([haze, haze, min(1.0, haze + 0.08)], np.float32),
        fog_distance=float(rng.uniform(60.0, 200.0)),
        max_depth=max_depth,
    )
    return scene, poses


def make_scene(
    seed: int, kind: str = "room", n_frames: int = 1, max_depth: float | None = None
) -> tuple[Scene, list[CameraPose], tuple[float, float, float]]:
    """Random scene, camera path of ``n_frames`` poses, and resolution-free intrinsics (fx/W, cx/W, cy/H)."""
    if kind not in KINDS:
        raise ValueError(f"unknown synthetic scene kind {kind!r}; choose one of {KINDS}")
    rng = np.random.default_rng(seed)
    hfov = rng.uniform(np.deg2rad(55.0), np.deg2rad(80.0))
    fx_norm = 0.5 / np.tan(hfov / 2)
    cx_norm, cy_norm = 0.5 + rng.uniform(-0.02, 0.02), 0.5 + rng.uniform(-0.02, 0.02)
    max_d = DEFAULT_MAX_DEPTH[kind] if max_depth is None else float(max_depth)
    build = _room if kind == "room" else _street
    scene, poses = build(rng, n_frames, max_d)
    return scene, poses, (float(fx_norm), float(cx_norm), float(cy_norm))


def render_scene(
    seed: int, height: int, width: int, kind: str = "room", max_depth: float | None = None
) -> dict[str, np.ndarray]:
    """One random view: ``{"image": uint8 HxWx3 RGB, "depth": float32 HxW metres (0 invalid), "K": 3x3}``.

    Deterministic by ``seed``; the same seed gives the same view at any resolution.
    """
    scene, poses, (fx_n, cx_n, cy_n) = make_scene(seed, kind, 1, max_depth)
    return render_view(scene, poses[0], intrinsics_matrix(fx_n, cx_n, cy_n, height, width), height, width)


def render_sequence(
    seed: int, n_frames: int, height: int, width: int, kind: str = "room", max_depth: float | None = None
) -> list[dict[str, np.ndarray]]:
    """A smoothly moving camera in one scene; each frame also has ``"pose"`` (4x4 world-from-camera)."""
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1, got {n_frames}")
    scene, poses, (fx_n, cx_n, cy_n) = make_scene(seed, kind, n_frames, max_depth)
    k = intrinsics_matrix(fx_n, cx_n, cy_n, height, width)
    frames = []
    for pose in poses:
        frame = render_view(scene, pose, k, height, width)
        frame["pose"] = pose.matrix()
        frames.append(frame)
    return frames
