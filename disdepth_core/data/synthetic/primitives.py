"""Scene description for the synthetic renderer: materials, analytic primitives, lights, camera poses.

Conventions: the world frame is right-handed, z up (ROS REP 103); a camera pose maps the optical frame
(x right, y down, z forward) into the world. Every primitive answers ``intersect(o, d)`` for rays
``o + t d`` (each of ``o`` and ``d`` a triple of floats or broadcastable arrays; the first hit with
``t > _EPS``, inf on a miss) and ``surface(p, d)`` (unit normals and surface coordinates in metres at
hit points ``p`` (M, 3)). Primary rays have a camera-frame z of 1, so their ray parameter *is* the
depth along the optical axis; shadow rays reuse the same functions with per-pixel origins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from disdepth_core.data.synthetic.textures import TextureBank
from disdepth_core.scale.rotations import BODY_FROM_OPTICAL, rotation_from_rpy

_EPS = 1e-4  # smallest accepted ray parameter

# Camera optical frame (x right, y down, z forward) expressed in the body frame (x forward, y left, z up).
_CUBE = np.array([[sx, sy, sz] for sx in (-1.0, 1.0) for sy in (-1.0, 1.0) for sz in (-1.0, 1.0)])

Triple = tuple  # three floats or three broadcastable arrays (x, y, z)

PATTERNS = ("plain", "checker", "stripes", "noise", "planks", "tiles", "windows", "books", "texture")


def _lookup(table: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Nearest-texel lookup into a wrapping square table whose size is a power of two."""
    size = table.shape[0]
    iu = np.floor(u).astype(np.int32) & (size - 1)
    iv = np.floor(v).astype(np.int32) & (size - 1)
    return table.ravel()[iv * size + iu]


def _hash01(i: np.ndarray) -> np.ndarray:
    """Integer -> pseudo-random float in [0, 1) (Knuth multiplicative hash), for per-cell variation."""
    h = (i.astype(np.int64) * 2654435761 + 12345) & 0xFFFFFFFF
    h = (h ^ (h >> 15)) * 2246822519 & 0xFFFFFFFF
    return ((h ^ (h >> 13)) & 0xFFFFFF).astype(np.float32) / np.float32(0x1000000)


@dataclass(frozen=True)
class Material:
    """Linear-RGB reflectance from a pattern over surface coordinates ``uv`` (metres), plus shading terms.

    Patterns: ``plain`` (``color_a``), ``checker``/``stripes`` (``color_a``/``color_b`` cells of
    ``scale`` metres), ``noise`` (value noise), ``planks`` (wood floor: boards ``scale`` wide with
    staggered joints), ``tiles`` (``scale`` tiles, ``color_b`` grout), ``windows`` (a facade grid of
    ``scale``-metre storeys with ``color_b`` glass), ``books`` (shelf rows of coloured spines) and
    ``texture`` (photograph ``texture`` of the scene's bank tinted by ``color_a``, ``scale`` metres per
    texture width; ``offset``/``stretch`` place a picture exactly on a face: texture coordinates are
    ``uv * stretch + offset``). ``specular``/``shininess``: Blinn-Phong highlight. ``emission > 0``:
    a light source (lamp, window, screen) shown at ``emission`` times its reflectance, unlit.
    ``lanes``: road markings (dashed centre line along x at y = 0) painted over the pattern.
    """

    color_a: np.ndarray
    color_b: np.ndarray
    pattern: str
    scale: float
    texture: int = -1
    offset: tuple[float, float] = (0.0, 0.0)
    stretch: tuple[float, float] | None = None
    specular: float = 0.0
    shininess: float = 30.0
    emission: float = 0.0
    lanes: bool = False

    def __post_init__(self) -> None:
        if self.pattern not in PATTERNS:
            raise ValueError(f"unknown material pattern {self.pattern!r}; choose one of {PATTERNS}")
        if self.pattern == "texture" and self.texture < 0:
            raise ValueError("a 'texture' material needs a texture index into the scene's texture bank")

    def albedo(
        self, uv: np.ndarray, noise: np.ndarray, bank: TextureBank | None, footprint: np.ndarray
    ) -> np.ndarray:
        """(M, 2) surface coordinates (m) -> (M, 3) float32 reflectance; ``footprint``: pixel size (m)."""
        u = uv[:, 0] / self.scale
        v = uv[:, 1] / self.scale
        a, b = self.color_a[None, :], (self.color_b - self.color_a)[None, :]
        grain = (
            0.88 + 0.24 * _lookup(noise, uv[:, 0] * 37.0, uv[:, 1] * 37.0)
            if self.pattern != "texture"
            else 1.0
        )
        if self.pattern == "texture":
            if bank is None:
                raise ValueError("this scene uses photographic textures but has no texture bank")
            if self.stretch is not None:  # a picture placed on a face
                su, sv = self.stretch
            else:  # a tiling photograph, one texture width per ``scale`` metres
                su, sv = 1.0 / self.scale, bank.aspect(self.texture) / self.scale
            col = bank.sample(
                self.texture,
                uv[:, 0] * su + self.offset[0],
                uv[:, 1] * sv + self.offset[1],
                footprint * abs(su),
            )
            col = col * a
        elif self.pattern == "planks":
            row = np.floor(v).astype(np.int64)
            along = u / 6.0 + _hash01(row)  # boards about six widths long, staggered per row
            board = row * 7919 + np.floor(along).astype(np.int64)
            shade = 0.75 + 0.5 * _hash01(board)
            streak = _lookup(noise, u * 3.0 + 17.0 * _hash01(board), v * 40.0)
            joint = (np.abs(v - np.round(v)) < 0.02) | (np.abs(along - np.round(along)) < 0.004)
            f = np.where(joint, 1.0, 0.35 * streak)
            col = (a + b * f[:, None]) * shade[:, None]
        elif self.pattern == "tiles":
            cell = np.floor(u).astype(np.int64) * 7919 + np.floor(v).astype(np.int64)
            grout = (np.abs(u - np.round(u)) < 0.03) | (np.abs(v - np.round(v)) < 0.03)
            shade = (0.9 + 0.2 * _hash01(cell)) * grain
            col = np.where(grout[:, None], self.color_b[None, :], a * shade[:, None])
        elif self.pattern == "windows":
            fu, fv = u - np.floor(u), v - np.floor(v)
            cell = np.floor(u).astype(np.int64) * 7919 + np.floor(v).astype(np.int64)
            glass = (np.abs(fu - 0.5) < 0.28) & (np.abs(fv - 0.55) < 0.25)
            lit = 0.6 + 0.8 * _hash01(cell)
            col = np.where(glass[:, None], self.color_b[None, :] * lit[:, None], a * grain[:, None])
        elif self.pattern == "books":
            shelf = np.floor(v * 0.999)
            spine = np.floor(u * 9.0 + 3.0 * _hash01(shelf.astype(np.int64))).astype(np.int64)
            hue = np.stack([_hash01(spine * 3 + c) for c in range(3)], axis=1)
            gap = (v - shelf) > 0.8 + 0.15 * _hash01(spine)
            col = np.where(gap[:, None], self.color_b[None, :] * 0.2, (0.15 + 0.7 * hue) * a)
        else:
            if self.pattern == "checker":
                f = ((np.floor(u) + np.floor(v)).astype(np.int32) & 1).astype(np.float32)
            elif self.pattern == "stripes":
                f = (np.floor(u).astype(np.int32) & 1).astype(np.float32)
            elif self.pattern == "noise":
                f = _lookup(noise, u * 8.0, v * 8.0)
            else:
                f = np.zeros(len(uv), np.float32)
            col = (a + b * f[:, None]) * grain[:, None]
        if self.lanes:
            dash = (np.abs(uv[:, 1]) < 0.07) & ((uv[:, 0] % 9.0) < 4.0)
            col = np.where(dash[:, None], np.float32(0.75), col)
        return col.astype(np.float32)


def camera_rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """World-from-optical rotation for ROS body yaw/pitch/roll (z up, x forward; pitch > 0 looks down)."""
    return rotation_from_rpy(roll, pitch, yaw) @ BODY_FROM_OPTICAL


def _rot_z(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


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

    def intersect(self, o: Triple, d: Triple) -> np.ndarray:
        ox, oy, oz = (o[i] - float(self.center[i]) for i in range(3))
        dx, dy, dz = d
        a = dx * dx + dy * dy + dz * dz
        b = dx * ox + dy * oy + dz * oz
        c = ox * ox + oy * oy + oz * oz - self.radius**2
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

    def intersect(self, o: Triple, d: Triple) -> np.ndarray:
        rx, ry, rz = (o[i] - float(self.center[i]) for i in range(3))
        dx, dy, dz = d
        if self.yaw == 0.0:
            ol, dl = (rx, ry, rz), (dx, dy, dz)
        else:
            c, s = float(np.cos(self.yaw)), float(np.sin(self.yaw))
            ol = (c * rx + s * ry, c * ry - s * rx, rz)
            dl = (c * dx + s * dy, c * dy - s * dx, dz)
        half = self.half.tolist()
        tmin = tmax = None
        with np.errstate(divide="ignore", invalid="ignore"):
            for axis in range(3):
                inv = 1.0 / dl[axis]
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
        # uv: the two local coordinates spanning the hit face (v = height on vertical faces).
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

    def intersect(self, o: Triple, d: Triple) -> np.ndarray:
        ox, oy, oz = (o[i] - float(self.base[i]) for i in range(3))
        dx, dy, dz = d
        a = dx * dx + dy * dy
        b = ox * dx + oy * dy
        c = ox * ox + oy * oy - self.radius**2
        disc = b * b - a * c
        with np.errstate(invalid="ignore", divide="ignore"):
            t_side = (-b - np.sqrt(disc)) / a
            z = oz + t_side * dz
            side_ok = (disc >= 0) & (t_side > _EPS) & (z >= 0.0) & (z <= self.height)
            t_cap = (self.height - oz) / dz
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

    def intersect(self, o: Triple, d: Triple) -> np.ndarray:
        n, eu, ev = self.normal.tolist(), self.axis_u.tolist(), self.axis_v.tolist()
        ox, oy, oz = (o[i] - float(self.center[i]) for i in range(3))
        dx, dy, dz = d
        dn = dx * n[0] + dy * n[1] + dz * n[2]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = -(ox * n[0] + oy * n[1] + oz * n[2]) / dn
            a = ox * eu[0] + oy * eu[1] + oz * eu[2] + t * (dx * eu[0] + dy * eu[1] + dz * eu[2])
            b = ox * ev[0] + oy * ev[1] + oz * ev[2] + t * (dx * ev[0] + dy * ev[1] + dz * ev[2])
        ok = (t > _EPS) & (np.abs(a) <= self.half_u) & (np.abs(b) <= self.half_v)
        return np.where(ok, t, np.inf)

    def surface(self, p: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rel = p - self.center
        n = np.broadcast_to(self.normal, p.shape).copy()
        return n, np.stack([rel @ self.axis_u, rel @ self.axis_v], axis=1)


Primitive = Sphere | Box | Cylinder | Quad

SHELL_FACES = 6
SKY_FACE = 5  # the top face of an open shell is sky


@dataclass
class Shell:
    """The enclosing axis-aligned box seen from inside: faces 0..5 = -x, +x, -y, +y, floor, top.

    ``open_top`` makes the top face sky (no depth). ``materials`` has one entry per face.
    """

    lo: np.ndarray
    hi: np.ndarray
    materials: Sequence[Material]
    open_top: bool = False

    def intersect(self, o: Triple, d: Triple) -> tuple[np.ndarray, np.ndarray]:
        """Exit distance and face index (int16) for rays starting inside the box."""
        o = [np.asarray(v, np.float32) if isinstance(v, np.ndarray) else float(v) for v in o]
        dirs = np.broadcast_arrays(*d, *[v for v in o if isinstance(v, np.ndarray)])[:3]
        ts = []
        lo, hi = self.lo.tolist(), self.hi.tolist()
        with np.errstate(divide="ignore", invalid="ignore"):
            for axis in range(3):
                inv = 1.0 / dirs[axis]
                ts.append(np.maximum((lo[axis] - o[axis]) * inv, (hi[axis] - o[axis]) * inv))
        t = np.minimum(np.minimum(ts[0], ts[1]), ts[2])
        face = np.full(t.shape, 4, np.int16)  # z faces unless x or y is the exit axis
        positive = dirs[2] > 0
        for axis in (1, 0):
            hit = ts[axis] == t
            face[hit] = 2 * axis
            positive = np.where(hit, dirs[axis] > 0, positive)
        face += positive
        return t, face

    def surface(self, face: int, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        axis, positive = divmod(face, 2)
        n = np.zeros_like(p)
        n[:, axis] = -1.0 if positive else 1.0  # faces look into the box
        others = [a for a in range(3) if a != axis]
        return n, p[:, others]


@dataclass(frozen=True)
class Light:
    """``"sun"``: directional, ``vector`` = unit direction towards it, ``color`` = irradiance at normal
    incidence. ``"point"``: a lamp at ``vector`` with radiant intensity ``color`` and the soft falloff
    ``color / (d^2 + radius^2)`` (finite at the lamp, inverse-square far away). ``shadows``: cast shadow
    rays for this light."""

    kind: str
    vector: np.ndarray
    color: np.ndarray
    radius: float = 0.0
    shadows: bool = True

    def __post_init__(self) -> None:
        if self.kind not in ("sun", "point"):
            raise ValueError(f"light kind must be 'sun' or 'point', got {self.kind!r}")


@dataclass
class Scene:
    """Geometry, lights, ambient (hemisphere: ``sky_ambient`` from above, ``ground_ambient`` from below),
    atmosphere, the texture bank materials index into, and the auto-exposure key (mid-grey target)."""

    kind: str
    shell: Shell
    objects: list[Primitive]
    lights: list[Light]
    sky_ambient: np.ndarray
    ground_ambient: np.ndarray
    noise: np.ndarray  # (64, 64) float32 in [0, 1]
    max_depth: float
    textures: TextureBank | None = None
    sky_horizon: np.ndarray = field(default_factory=lambda: np.zeros(3, np.float32))
    sky_zenith: np.ndarray = field(default_factory=lambda: np.zeros(3, np.float32))
    fog_color: np.ndarray = field(default_factory=lambda: np.zeros(3, np.float32))
    fog_distance: float = float("inf")  # metres; inf = no fog
    corner_occlusion: float = 0.35  # darkening where two shell faces meet (0 = none)
    exposure_key: float = 0.18
    cloud_cover: float = 0.0  # 0 = clear sky, 1 = overcast
    cloud_color: np.ndarray = field(default_factory=lambda: np.ones(3, np.float32))


@dataclass(frozen=True)
class CameraPose:
    """Camera position (world, z up) and world-from-optical rotation; ``ground_z`` is the height of the
    ground the robot stands on (0: the floor or road; a raised sidewalk for a sidewalk robot)."""

    position: np.ndarray
    rotation: np.ndarray
    ground_z: float = 0.0

    def matrix(self) -> np.ndarray:
        """4 x 4 world-from-camera (optical frame) transform."""
        t = np.eye(4)
        t[:3, :3] = self.rotation
        t[:3, 3] = self.position
        return t
