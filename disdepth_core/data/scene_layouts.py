"""Random rooms and streets for the synthetic renderer: furniture, street furniture, lights, camera paths.

Everything is drawn from one ``numpy.random.Generator`` in a fixed order, so a seed (and a texture
bank) fixes the scene. Sizes follow common real ones: tables 0.72-0.78 m high, chairs' seats 0.45 m,
doors 0.9-1.0 x 2.0-2.1 m, cars 3.8-4.8 m long, sidewalks 0.15 m high. Cameras sit where robots
carry them: indoors 0.3-1.5 m above the floor with a slight pitch (mobile robots, handheld), outdoors
1.3-1.8 m on a car or 0.3-1.2 m on a sidewalk robot. The horizontal field of view is drawn from
``FOV_DEGREES`` (50-100 degrees, from narrow webcams to wide robot cameras).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

from disdepth_core.data.scene_primitives import (
    Box,
    CameraPose,
    Cylinder,
    Light,
    Material,
    Primitive,
    Quad,
    Scene,
    Shell,
    Sphere,
    camera_rotation,
)
from disdepth_core.data.textures import TextureBank

FOV_DEGREES = (50.0, 100.0)
ROOM_CAMERA_HEIGHT = (0.3, 1.5)
CAR_CAMERA_HEIGHT = (1.3, 1.8)
SIDEWALK_CAMERA_HEIGHT = (0.3, 1.2)
_CURB = 0.15  # sidewalk height above the road, m
_NOISE_SIZE = 64  # texels of the per-scene noise table (power of two)
_BACKDROP = 40.0  # metres between a street's building fronts and the shell's side walls (distant city)

Group = list[Primitive]


def _noise_table(rng: np.random.Generator) -> np.ndarray:
    coarse = rng.random((8, 8), dtype=np.float32)
    smooth = cv2.resize(coarse, (_NOISE_SIZE, _NOISE_SIZE), interpolation=cv2.INTER_CUBIC)
    fine = rng.random((_NOISE_SIZE, _NOISE_SIZE), dtype=np.float32)
    return np.clip(0.65 * smooth + 0.35 * fine, 0.0, 1.0).astype(np.float32)


def _jitter(rng: np.random.Generator, color: Sequence[float], amount: float = 0.1) -> np.ndarray:
    c = np.asarray(color, np.float32) * rng.uniform(1 - amount, 1 + amount, 3)
    return np.clip(c, 0.01, 0.95).astype(np.float32)


def _plain(color: np.ndarray, **kw) -> Material:
    return Material(color, color, "plain", 1.0, **kw)


def _pattern(rng: np.random.Generator, pattern: str, a, b, scale: float, **kw) -> Material:
    return Material(_jitter(rng, a), _jitter(rng, b), pattern, scale, **kw)


def _photo(bank: TextureBank | None, name: str) -> int:
    """Index of texture ``name`` (e.g. "scikit-image/brick") in the bank, -1 when absent."""
    if bank is None:
        return -1
    for i, source in enumerate(bank.sources):
        if source.name == name:
            return i
    return -1


def _surface(
    rng: np.random.Generator,
    bank: TextureBank | None,
    name: str,
    tint,
    scale: float,
    fallback: Material,
    **kw,
) -> Material:
    """A tiling photograph tinted ``tint`` (``scale`` metres per texture width), else ``fallback``."""
    index = _photo(bank, name)
    if index < 0:
        return fallback
    return Material(_jitter(rng, tint), _jitter(rng, tint), "texture", scale, texture=index, **kw)


def _picture(
    rng: np.random.Generator, bank: TextureBank | None, width: float, height: float, **kw
) -> Material | None:
    """A random photograph spanning a ``width`` x ``height`` face (local u right, v up), or None."""
    pictures = [] if bank is None else bank.indices("picture")
    if not pictures:
        return None
    index = int(rng.choice(pictures))
    white = np.ones(3, np.float32)
    return Material(
        white,
        white,
        "texture",
        1.0,
        texture=index,
        offset=(0.5, 0.5),
        stretch=(1.0 / width, -1.0 / height),
        **kw,
    )


def _random_crop_texture(rng: np.random.Generator, bank: TextureBank | None, fallback: Material) -> Material:
    """A photograph as a box's texture (FlyingThings3D-style), or ``fallback``."""
    pictures = [] if bank is None else bank.indices("picture")
    if not pictures:
        return fallback
    index = int(rng.choice(pictures))
    return Material(
        _jitter(rng, (1.0, 1.0, 1.0), 0.15),
        np.ones(3, np.float32),
        "texture",
        float(rng.uniform(0.5, 2.0)),
        texture=index,
        offset=(float(rng.random()), float(rng.random())),
    )


# --------------------------------------------------------------------------------------------------
# Palettes (linear reflectance)
# --------------------------------------------------------------------------------------------------

_PAINT = [
    (0.75, 0.73, 0.68),
    (0.8, 0.78, 0.72),
    (0.62, 0.66, 0.7),
    (0.7, 0.62, 0.5),
    (0.55, 0.62, 0.52),
    (0.78, 0.7, 0.62),
    (0.45, 0.5, 0.58),
]
_WOOD = [(0.42, 0.25, 0.12), (0.55, 0.38, 0.22), (0.3, 0.18, 0.1), (0.62, 0.48, 0.32), (0.2, 0.12, 0.07)]
_FABRIC = [(0.25, 0.25, 0.28), (0.4, 0.15, 0.12), (0.15, 0.22, 0.35), (0.45, 0.42, 0.35), (0.1, 0.1, 0.1)]
_METAL = [(0.55, 0.56, 0.58), (0.2, 0.2, 0.22), (0.7, 0.7, 0.68)]
_CAR = [
    (0.8, 0.8, 0.8),
    (0.03, 0.03, 0.035),
    (0.45, 0.46, 0.48),
    (0.5, 0.05, 0.04),
    (0.05, 0.12, 0.35),
    (0.25, 0.25, 0.27),
    (0.6, 0.55, 0.45),
]
_FACADE = [
    (0.6, 0.55, 0.48),
    (0.7, 0.68, 0.62),
    (0.45, 0.28, 0.2),
    (0.5, 0.5, 0.52),
    (0.65, 0.6, 0.5),
    (0.35, 0.33, 0.32),
]
_FOLIAGE = (0.16, 0.3, 0.08)


def _pick(rng: np.random.Generator, palette) -> tuple[float, float, float]:
    return palette[int(rng.integers(len(palette)))]


def _wood(rng: np.random.Generator, gloss: float = 0.15) -> Material:
    base = _pick(rng, _WOOD)
    return _pattern(
        rng,
        "planks",
        base,
        np.asarray(base) * 0.6,
        float(rng.uniform(0.08, 0.2)),
        specular=gloss,
        shininess=40.0,
    )


def _fabric(rng: np.random.Generator) -> Material:
    base = _pick(rng, _FABRIC)
    return _pattern(rng, "noise", base, np.asarray(base) * 0.7, float(rng.uniform(0.1, 0.4)))


def _metal(rng: np.random.Generator) -> Material:
    return _plain(_jitter(rng, _pick(rng, _METAL)), specular=0.6, shininess=60.0)


def _foliage(rng: np.random.Generator, bank: TextureBank | None) -> Material:
    fallback = _pattern(rng, "noise", _FOLIAGE, (0.05, 0.1, 0.03), 0.2)
    return _surface(rng, bank, "scikit-image/grass", _FOLIAGE, float(rng.uniform(0.5, 1.5)), fallback)


# --------------------------------------------------------------------------------------------------
# Furniture: groups of primitives in a local frame (x forward = the front, y left, z up) placed at
# (x, y) with a yaw.
# --------------------------------------------------------------------------------------------------


def _place_group(parts: list[tuple[np.ndarray, np.ndarray, Material]], xy, yaw: float) -> Group:
    """Local axis-aligned boxes (centre, half, material) -> world boxes rotated by ``yaw`` about (x, y)."""
    c, s = np.cos(yaw), np.sin(yaw)
    out: Group = []
    for centre, half, material in parts:
        wx = xy[0] + c * centre[0] - s * centre[1]
        wy = xy[1] + s * centre[0] + c * centre[1]
        out.append(Box(np.array([wx, wy, centre[2]]), np.asarray(half, float), float(yaw), material))
    return out


def _legs(width: float, depth: float, height: float, thick: float, material: Material):
    return [
        (
            np.array([sx * (depth - thick), sy * (width - thick), height / 2]),
            np.array([thick, thick, height / 2]),
            material,
        )
        for sx in (-1, 1)
        for sy in (-1, 1)
    ]


def _table(rng: np.random.Generator, bank: TextureBank | None):
    depth, width = rng.uniform(0.35, 0.5), rng.uniform(0.4, 0.9)
    height = rng.uniform(0.72, 0.78)
    top = _wood(rng, 0.3) if rng.random() < 0.6 else _plain(_jitter(rng, _pick(rng, _PAINT)), specular=0.3)
    legs = _metal(rng) if rng.random() < 0.5 else top
    parts = [(np.array([0.0, 0.0, height - 0.02]), np.array([depth, width, 0.02]), top)]
    parts += _legs(width, depth, height - 0.04, 0.025, legs)
    if rng.random() < 0.4:  # a monitor or a box on the desk
        screen = _picture(rng, bank, 0.5, 0.3, emission=1.2) or _plain(np.full(3, 0.03, np.float32))
        parts.append((np.array([-depth * 0.5, 0.0, height + 0.2]), np.array([0.015, 0.25, 0.15]), screen))
    return parts, max(depth, width)


def _chair(rng: np.random.Generator, bank: TextureBank | None):
    seat = _fabric(rng) if rng.random() < 0.5 else _wood(rng)
    frame = _metal(rng) if rng.random() < 0.6 else seat
    h = rng.uniform(0.42, 0.48)
    parts = [(np.array([0.0, 0.0, h]), np.array([0.22, 0.22, 0.03]), seat)]
    parts += _legs(0.22, 0.22, h - 0.03, 0.02, frame)
    parts.append((np.array([-0.2, 0.0, h + 0.25]), np.array([0.02, 0.21, 0.2]), seat))
    return parts, 0.32


def _shelf(rng: np.random.Generator, bank: TextureBank | None, ceiling: float):
    depth, width = rng.uniform(0.15, 0.22), rng.uniform(0.4, 1.0)
    height = min(rng.uniform(0.9, 2.2), ceiling - 0.1)
    wood = _wood(rng, 0.1) if rng.random() < 0.6 else _plain(_jitter(rng, _pick(rng, _PAINT)))
    n = max(2, int(height / rng.uniform(0.3, 0.4)))
    spacing = height / n
    parts = [
        (np.array([-depth + 0.01, 0.0, height / 2]), np.array([0.01, width, height / 2]), wood),
        (np.array([0.0, -width + 0.01, height / 2]), np.array([depth, 0.01, height / 2]), wood),
        (np.array([0.0, width - 0.01, height / 2]), np.array([depth, 0.01, height / 2]), wood),
    ]
    books = Material(np.full(3, 0.8, np.float32), np.full(3, 0.3, np.float32), "books", spacing)
    for i in range(n + 1):
        z = i * spacing
        parts.append((np.array([0.0, 0.0, max(z, 0.01)]), np.array([depth, width, 0.01]), wood))
        if i < n and rng.random() < 0.8:
            fill = rng.uniform(0.4, 0.95) * (width - 0.03)
            d_books = depth * rng.uniform(0.6, 0.9)
            y0 = rng.uniform(-(width - 0.03) + fill, (width - 0.03) - fill)
            parts.append(
                (
                    np.array([-depth + d_books + 0.02, y0, z + 0.36 * spacing + 0.01]),
                    np.array([d_books, fill, 0.36 * spacing]),
                    books,
                )
            )
    return parts, max(depth, width)


def _cabinet(rng: np.random.Generator, bank: TextureBank | None, ceiling: float):
    depth, width = rng.uniform(0.2, 0.45), rng.uniform(0.3, 1.0)
    height = min(rng.uniform(0.4, 1.9), ceiling - 0.1)
    r = rng.random()
    if r < 0.3:
        material = _random_crop_texture(rng, bank, _wood(rng))
    elif r < 0.6:
        material = _wood(rng, 0.2)
    else:
        material = _plain(_jitter(rng, _pick(rng, _PAINT + _METAL)), specular=0.2)
    return [(np.array([0.0, 0.0, height / 2]), np.array([depth, width, height / 2]), material)], max(
        depth, width
    )


def _sofa(rng: np.random.Generator, bank: TextureBank | None):
    fabric = _fabric(rng)
    depth, width = rng.uniform(0.4, 0.5), rng.uniform(0.7, 1.2)
    return [
        (np.array([0.0, 0.0, 0.22]), np.array([depth, width, 0.22]), fabric),
        (np.array([-depth + 0.1, 0.0, 0.6]), np.array([0.1, width, 0.2]), fabric),
        (np.array([0.0, -width + 0.1, 0.5]), np.array([depth, 0.1, 0.1]), fabric),
        (np.array([0.0, width - 0.1, 0.5]), np.array([depth, 0.1, 0.1]), fabric),
    ], max(depth, width)


def _cartons(rng: np.random.Generator, bank: TextureBank | None):
    cardboard = _pattern(rng, "noise", (0.42, 0.3, 0.18), (0.3, 0.2, 0.12), 0.3)
    parts, z = [], 0.0
    for _ in range(int(rng.integers(1, 4))):
        half = rng.uniform([0.15, 0.15, 0.1], [0.35, 0.35, 0.25])
        material = cardboard if rng.random() < 0.7 else _random_crop_texture(rng, bank, cardboard)
        parts.append(
            (np.array([rng.uniform(-0.05, 0.05), rng.uniform(-0.05, 0.05), z + half[2]]), half, material)
        )
        z += 2 * half[2]
    return parts, 0.45


def _door(rng: np.random.Generator, bank: TextureBank | None):
    material = (
        _wood(rng, 0.2) if rng.random() < 0.5 else _plain(_jitter(rng, _pick(rng, _PAINT)), specular=0.2)
    )
    width, height = rng.uniform(0.45, 0.5), rng.uniform(1.0, 1.05)
    parts = [(np.array([0.02, 0.0, height]), np.array([0.02, width, height]), material)]
    parts.append((np.array([0.06, width * 0.75, 1.0]), np.array([0.02, 0.06, 0.015]), _metal(rng)))
    return parts, width


def _wall_picture(rng: np.random.Generator, bank: TextureBank | None):
    width, height = rng.uniform(0.2, 0.7), rng.uniform(0.2, 0.6)
    material = _picture(rng, bank, 2 * width, 2 * height)
    if material is None:
        material = _pattern(rng, "noise", _pick(rng, _PAINT), _pick(rng, _FABRIC), 0.2)
    z = rng.uniform(1.2, 1.7)
    return [(np.array([0.015, 0.0, z]), np.array([0.015, width, height]), material)], width


def _window(rng: np.random.Generator, bank: TextureBank | None):
    width, height = rng.uniform(0.4, 1.0), rng.uniform(0.5, 0.8)
    glass = _plain(_jitter(rng, (0.75, 0.85, 1.0), 0.05), emission=float(rng.uniform(2.0, 5.0)))
    return [(np.array([0.005, 0.0, 1.0 + height]), np.array([0.005, width, height]), glass)], width


def _plant(rng: np.random.Generator, bank: TextureBank | None, xy) -> Group:
    pot_r, pot_h = rng.uniform(0.1, 0.2), rng.uniform(0.2, 0.4)
    pot = _plain(_jitter(rng, (0.5, 0.25, 0.15)))
    leaf_r = rng.uniform(0.2, 0.45)
    return [
        Cylinder(np.array([xy[0], xy[1], 0.0]), float(pot_r), float(pot_h), pot),
        Sphere(np.array([xy[0], xy[1], pot_h + leaf_r * 0.8]), float(leaf_r), _foliage(rng, bank)),
    ]


def _pillar(rng: np.random.Generator, bank: TextureBank | None, xy, ceiling: float) -> Group:
    material = _plain(_jitter(rng, _pick(rng, _PAINT)))
    if rng.random() < 0.5:
        return [Cylinder(np.array([xy[0], xy[1], 0.0]), float(rng.uniform(0.15, 0.3)), ceiling, material)]
    half = rng.uniform(0.15, 0.3)
    return [Box(np.array([xy[0], xy[1], ceiling / 2]), np.array([half, half, ceiling / 2]), 0.0, material)]


# --------------------------------------------------------------------------------------------------
# Camera paths and placement
# --------------------------------------------------------------------------------------------------


def _trajectory(
    rng: np.random.Generator,
    n_frames: int,
    lo: np.ndarray,
    hi: np.ndarray,
    height: tuple[float, float],
    yaw_range: tuple[float, float],
    pitch_range: tuple[float, float],
    path_length: tuple[float, float],
    look_at: np.ndarray | None = None,
) -> list[CameraPose]:
    """A smooth path (forward motion along the heading, gentle sway and yaw) inside [lo, hi] in x, y.

    The heading is drawn from ``yaw_range``, relative to the direction towards the point of ``look_at``
    ((K, 2) x, y candidates, e.g. a room's corners) farthest from the start, if given: views across a room.
    """
    for _ in range(100):
        start = np.array([rng.uniform(lo[0], hi[0]), rng.uniform(lo[1], hi[1]), rng.uniform(*height)])
        yaw0 = rng.uniform(*yaw_range)
        if look_at is not None:
            target = look_at[int(np.argmax(np.linalg.norm(look_at - start[None, :2], axis=1)))]
            yaw0 += float(np.arctan2(target[1] - start[1], target[0] - start[0]))
        pitch0 = rng.uniform(*pitch_range)
        roll0 = rng.uniform(-0.04, 0.04)
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


def _group_bound(group: Group) -> tuple[np.ndarray, float]:
    pts = np.concatenate([obj.hull_points() for obj in group])
    centre = (pts.min(axis=0) + pts.max(axis=0)) / 2
    return centre, float(np.linalg.norm(pts - centre, axis=1).max())


def _try_place(
    make: Callable[[], Group],
    poses: Sequence[CameraPose],
    placed: list[tuple[np.ndarray, float]],
    margin: float,
) -> Group:
    """Up to 20 draws of ``make()``: the first group clear of the camera path and of placed footprints."""
    for _ in range(20):
        group = make()
        centre, radius = _group_bound(group)
        if any(np.linalg.norm(p.position - centre) <= radius + margin for p in poses):
            continue
        if any(np.linalg.norm((c - centre)[:2]) < 0.7 * (r + radius) for c, r in placed):
            continue
        placed.append((centre, radius))
        return group
    return []


# --------------------------------------------------------------------------------------------------
# Rooms
# --------------------------------------------------------------------------------------------------


def _room_materials(rng: np.random.Generator, bank: TextureBank | None) -> list[Material]:
    paint = _pick(rng, _PAINT)
    wall = _pattern(rng, "noise", paint, np.asarray(paint) * 0.9, float(rng.uniform(0.5, 2.0)))
    accent = wall
    if rng.random() < 0.25:
        accent = _surface(
            rng, bank, "scikit-image/brick", (0.55, 0.35, 0.28), float(rng.uniform(1.0, 2.0)), wall
        )
    elif rng.random() < 0.3:
        other = _pick(rng, _PAINT)
        accent = _pattern(rng, "noise", other, np.asarray(other) * 0.9, 1.0)
    r = rng.random()
    if r < 0.35:
        floor = _wood(rng, 0.25)
    elif r < 0.6:
        light = _pick(rng, [(0.7, 0.7, 0.68), (0.5, 0.48, 0.45), (0.3, 0.3, 0.32), (0.6, 0.55, 0.45)])
        floor = _pattern(
            rng,
            "tiles",
            light,
            np.asarray(light) * 0.6,
            float(rng.uniform(0.3, 0.8)),
            specular=0.35,
            shininess=50.0,
        )
    elif r < 0.8:
        grey = _pick(rng, [(0.45, 0.45, 0.45), (0.35, 0.33, 0.3), (0.55, 0.5, 0.45)])
        floor = _pattern(
            rng,
            "noise",
            grey,
            np.asarray(grey) * 0.85,
            float(rng.uniform(0.3, 1.0)),
            specular=0.25,
            shininess=30.0,
        )
    else:
        floor = _fabric(rng)
    ceiling_grey = rng.uniform(0.7, 0.85)
    ceiling = (
        _pattern(rng, "tiles", (ceiling_grey,) * 3, (ceiling_grey * 0.7,) * 3, 0.6)
        if rng.random() < 0.4
        else _plain(np.full(3, ceiling_grey, np.float32))
    )
    faces = [wall, accent, wall, wall, floor, ceiling]
    order = rng.permutation(4)  # which wall gets the accent
    return [faces[int(order[i])] if i < 4 else faces[i] for i in range(4)] + faces[4:]


def build_room(
    rng: np.random.Generator, n_frames: int, max_depth: float, bank: TextureBank | None
) -> tuple[Scene, list[CameraPose]]:
    """A room or corridor with furniture, ceiling lamps and an optional window, and a camera path."""
    if rng.random() < 0.3:  # corridor
        size = np.array([rng.uniform(8.0, 25.0), rng.uniform(1.8, 3.2), rng.uniform(2.4, 3.0)])
    else:
        size = np.array([rng.uniform(3.5, 9.0), rng.uniform(3.0, 7.0), rng.uniform(2.4, 3.2)])
    ceiling = float(size[2])
    shell = Shell(np.zeros(3), size, _room_materials(rng, bank))
    margin = 0.4
    poses = _trajectory(
        rng,
        n_frames,
        np.array([margin, margin]),
        size[:2] - margin,
        ROOM_CAMERA_HEIGHT,
        (-0.6, 0.6),
        (-0.1, 0.25),
        (0.3, min(2.0, float(size[:2].min()) - 2 * margin)),
        look_at=np.array([[0.0, 0.0], [size[0], 0.0], [0.0, size[1]], [size[0], size[1]]]),
    )
    objects: list[Primitive] = []
    placed: list[tuple[np.ndarray, float]] = []
    wall_makers = [
        lambda: _shelf(rng, bank, ceiling),
        lambda: _cabinet(rng, bank, ceiling),
        lambda: _door(rng, bank),
        lambda: _wall_picture(rng, bank),
        lambda: _window(rng, bank),
        lambda: _table(rng, bank),
        lambda: _sofa(rng, bank),
        lambda: _wall_picture(rng, bank),
        lambda: _door(rng, bank),
    ]
    for _ in range(int(rng.integers(4, 12))):
        maker = wall_makers[int(rng.integers(len(wall_makers)))]

        def on_wall(maker=maker) -> Group:
            parts, half_width = maker()
            wall = int(rng.integers(4))
            axis, positive = divmod(wall, 2)
            along = 1 - axis
            pos = np.zeros(2)
            pos[along] = (
                rng.uniform(half_width, size[along] - half_width)
                if size[along] > 2 * half_width
                else size[along] / 2
            )
            pos[axis] = size[axis] if positive else 0.0
            back = min(float(centre[0] - half[0]) for centre, half, _ in parts)  # local x of the back
            pos[axis] = size[axis] + back if positive else -back  # the back touches the wall
            yaw = (0.0, np.pi, np.pi / 2, -np.pi / 2)[wall]  # local +x points into the room
            return _place_group(parts, pos, yaw)

        objects += _try_place(on_wall, poses, placed, margin=0.3)
    free_makers = [
        lambda: _table(rng, bank),
        lambda: _chair(rng, bank),
        lambda: _cartons(rng, bank),
        lambda: _chair(rng, bank),
        lambda: _cabinet(rng, bank, ceiling),
    ]
    for _ in range(int(rng.integers(2, 9))):
        r = rng.random()

        def free(r=r) -> Group:
            xy = rng.uniform([0.3, 0.3], size[:2] - 0.3)
            if r < 0.12:
                return _plant(rng, bank, xy)
            if r < 0.2:
                return _pillar(rng, bank, xy, ceiling)
            parts, _ = free_makers[int(rng.integers(len(free_makers)))]()
            return _place_group(parts, xy, float(rng.uniform(-np.pi, np.pi)))

        objects += _try_place(free, poses, placed, margin=0.35)
    lights: list[Light] = []
    warmth = rng.uniform(0.0, 1.0)
    lamp_color = np.array([1.0, 0.92 - 0.12 * warmth, 0.85 - 0.3 * warmth], np.float32)
    for i in range(int(rng.integers(1, 4))):
        pos = np.array([rng.uniform(0.5, size[0] - 0.5), rng.uniform(0.5, size[1] - 0.5), ceiling - 0.08])
        power = float(rng.uniform(1.5, 3.5)) * ceiling**2 / (1 + i)
        lights.append(
            Light("point", pos, lamp_color * power, radius=float(rng.uniform(0.3, 0.8)), shadows=i == 0)
        )
        panel = _plain(lamp_color * 0.9, emission=float(rng.uniform(4.0, 8.0)))
        half = np.array([rng.uniform(0.1, 0.5), rng.uniform(0.1, 0.5), 0.02])
        objects.append(Box(np.array([pos[0], pos[1], ceiling - 0.02]), half, 0.0, panel))
    bounce = float(rng.uniform(0.08, 0.25))
    scene = Scene(
        kind="room",
        shell=shell,
        objects=objects,
        lights=lights,
        sky_ambient=(lamp_color * bounce).astype(np.float32),
        ground_ambient=(lamp_color * bounce * 0.6).astype(np.float32),
        noise=_noise_table(rng),
        max_depth=max_depth,
        textures=bank,
        corner_occlusion=float(rng.uniform(0.25, 0.5)),
        exposure_key=float(rng.uniform(0.14, 0.24)),
    )
    return scene, poses


# --------------------------------------------------------------------------------------------------
# Streets
# --------------------------------------------------------------------------------------------------


def _car(rng: np.random.Generator, xy, yaw: float) -> Group:
    length, width = rng.uniform(1.9, 2.4), rng.uniform(0.8, 0.95)
    paint = _plain(_jitter(rng, _pick(rng, _CAR), 0.05), specular=0.6, shininess=80.0)
    glass = _plain(np.array([0.03, 0.035, 0.04], np.float32), specular=0.9, shininess=120.0)
    tyre = _plain(np.full(3, 0.03, np.float32))
    body_h = rng.uniform(0.3, 0.4)
    cabin_l, cabin_h = length * rng.uniform(0.5, 0.65), rng.uniform(0.25, 0.35)
    parts = [
        (np.array([0.0, 0.0, 0.3 + body_h]), np.array([length, width, body_h]), paint),
        (
            np.array([-0.15 * length, 0.0, 0.3 + 2 * body_h + cabin_h]),
            np.array([cabin_l, width * 0.88, cabin_h]),
            glass,
        ),
    ]
    for sx in (-1, 1):
        for sy in (-1, 1):
            parts.append(
                (np.array([sx * length * 0.68, sy * (width - 0.1), 0.33]), np.array([0.33, 0.11, 0.33]), tyre)
            )
    return _place_group(parts, xy, yaw)


def _street_lamp(rng: np.random.Generator, xy, side: float) -> Group:
    metal = _metal(rng)
    h = rng.uniform(4.0, 8.0)
    arm = rng.uniform(0.8, 1.8)
    return [
        Cylinder(np.array([xy[0], xy[1], 0.0]), float(rng.uniform(0.07, 0.14)), float(h), metal),
        Box(np.array([xy[0], xy[1] - side * arm / 2, h]), np.array([0.05, arm / 2, 0.05]), 0.0, metal),
        Box(np.array([xy[0], xy[1] - side * arm, h - 0.08]), np.array([0.25, 0.12, 0.06]), 0.0, metal),
    ]


def _sign(rng: np.random.Generator, xy) -> Group:
    metal = _metal(rng)
    plate = _plain(
        _jitter(rng, _pick(rng, [(0.6, 0.05, 0.04), (0.05, 0.15, 0.5), (0.8, 0.8, 0.8), (0.7, 0.55, 0.05)])),
        specular=0.3,
    )
    h = rng.uniform(2.2, 3.0)
    return [
        Cylinder(np.array([xy[0], xy[1], 0.0]), 0.04, float(h), metal),
        Box(
            np.array([xy[0], xy[1], h]),
            np.array([0.02, rng.uniform(0.25, 0.45), rng.uniform(0.25, 0.4)]),
            0.0,
            plate,
        ),
    ]


def _tree(rng: np.random.Generator, bank: TextureBank | None, xy) -> Group:
    bark = _pattern(rng, "noise", (0.22, 0.16, 0.1), (0.12, 0.09, 0.06), 0.3)
    trunk_h = rng.uniform(2.0, 4.0)
    crown = rng.uniform(1.2, 3.0)
    leaves = _foliage(rng, bank)
    group: Group = [
        Cylinder(
            np.array([xy[0], xy[1], 0.0]), float(rng.uniform(0.1, 0.25)), float(trunk_h + crown * 0.5), bark
        )
    ]
    for _ in range(int(rng.integers(1, 4))):
        offset = rng.uniform(-0.5, 0.5, 3) * crown * np.array([1.0, 1.0, 0.6])
        group.append(
            Sphere(
                np.array([xy[0], xy[1], trunk_h + crown]) + offset,
                float(crown * rng.uniform(0.6, 1.0)),
                leaves,
            )
        )
    return group


def _facade(rng: np.random.Generator, bank: TextureBank | None) -> Material:
    base = _pick(rng, _FACADE)
    glass = (0.04, 0.05, 0.07) if rng.random() < 0.6 else (0.25, 0.3, 0.38)
    r = rng.random()
    if r < 0.3:
        return _surface(
            rng,
            bank,
            "scikit-image/brick",
            (0.55, 0.33, 0.25),
            float(rng.uniform(1.0, 2.5)),
            _pattern(rng, "windows", base, glass, 3.0),
        )
    if r < 0.4:
        return _random_crop_texture(rng, bank, _pattern(rng, "windows", base, glass, 3.0))
    return _pattern(rng, "windows", base, glass, float(rng.uniform(2.6, 3.6)), specular=0.1)


def build_street(
    rng: np.random.Generator, n_frames: int, max_depth: float, bank: TextureBank | None
) -> tuple[Scene, list[CameraPose]]:
    """A street canyon: sidewalks, buildings, cars, poles, trees, sun or overcast sky; and a camera path."""
    road = rng.uniform(3.5, 7.0)  # half width of the carriageway
    walk = rng.uniform(1.5, 4.0)
    half_w = road + walk
    far = rng.uniform(1.2, 2.0) * max_depth
    lo, hi = np.array([-30.0, -half_w - _BACKDROP, 0.0]), np.array([far, half_w + _BACKDROP, 80.0])
    asphalt_grey = _pick(rng, [(0.08, 0.08, 0.085), (0.12, 0.12, 0.12), (0.16, 0.15, 0.14)])
    asphalt = _surface(
        rng,
        bank,
        "scikit-image/gravel",
        asphalt_grey,
        float(rng.uniform(0.6, 1.5)),
        _pattern(rng, "noise", asphalt_grey, np.asarray(asphalt_grey) * 0.7, 0.5),
        lanes=True,
    )
    haze = rng.uniform(0.6, 0.9)
    background = _pattern(rng, "noise", (haze * 0.7, haze * 0.72, haze * 0.8), (haze * 0.5,) * 3, 8.0)
    behind = _pattern(rng, "noise", (0.4, 0.4, 0.4), (0.3, 0.3, 0.3), 4.0)
    faces = [behind, background, _facade(rng, bank), _facade(rng, bank), asphalt, background]
    shell = Shell(lo, hi, faces, open_top=True)
    if rng.random() < 0.6:  # a car camera in a lane
        poses = _trajectory(
            rng,
            n_frames,
            np.array([0.0, -road + 1.5]),
            np.array([20.0, road - 1.5]),
            CAR_CAMERA_HEIGHT,
            (-0.15, 0.15),
            (-0.04, 0.08),
            (2.0, 15.0),
        )
    else:  # a sidewalk robot
        side = rng.choice([-1.0, 1.0])
        y0, y1 = sorted((side * (road + 0.4), side * (half_w - 0.4)))
        poses = _trajectory(
            rng,
            n_frames,
            np.array([0.0, y0]),
            np.array([20.0, y1]),
            SIDEWALK_CAMERA_HEIGHT,
            (-0.25, 0.25),
            (-0.05, 0.15),
            (1.0, 6.0),
        )
        poses = [CameraPose(p.position + np.array([0.0, 0.0, _CURB]), p.rotation, _CURB) for p in poses]
    objects: list[Primitive] = []
    curb = _pattern(rng, "tiles", (0.45, 0.44, 0.42), (0.3, 0.3, 0.3), float(rng.uniform(0.4, 1.0)))
    for side in (-1.0, 1.0):
        objects.append(
            Box(
                np.array([(lo[0] + hi[0]) / 2, side * (road + walk / 2), _CURB / 2]),
                np.array([(hi[0] - lo[0]) / 2, walk / 2, _CURB / 2]),
                0.0,
                curb,
            )
        )
        x = lo[0]
        while x < far:  # a row of buildings along each sidewalk, with some alleys between them
            length, depth, height = rng.uniform(6.0, 30.0), rng.uniform(8.0, 20.0), rng.uniform(6.0, 30.0)
            front = half_w - rng.uniform(0.0, 0.3)
            objects.append(
                Box(
                    np.array([x + length / 2, side * (front + depth / 2), height / 2]),
                    np.array([length / 2, depth / 2, height / 2]),
                    0.0,
                    _facade(rng, bank),
                )
            )
            x += length + (rng.uniform(3.0, 10.0) if rng.random() < 0.25 else rng.uniform(0.0, 0.5))
    placed: list[tuple[np.ndarray, float]] = []

    def side() -> float:
        return float(rng.choice([-1.0, 1.0]))

    def parked_car() -> Group:
        x, y = rng.uniform(3.0, 0.7 * max_depth), side() * (road - rng.uniform(1.0, 1.3))
        return _car(rng, (x, y), float(rng.normal(0, 0.05) + rng.choice([0.0, np.pi])))

    def moving_car() -> Group:
        return _car(
            rng, (rng.uniform(6.0, 0.7 * max_depth), side() * road * 0.45), float(rng.normal(0, 0.08))
        )

    def lamp() -> Group:
        s = side()
        return _street_lamp(rng, (rng.uniform(2.0, 0.7 * max_depth), s * (road + 0.4)), s)

    def sign() -> Group:
        return _sign(rng, (rng.uniform(2.0, 0.5 * max_depth), side() * (road + 0.3)))

    def tree() -> Group:
        return _tree(
            rng, bank, (rng.uniform(3.0, 0.6 * max_depth), side() * (road + walk * rng.uniform(0.3, 0.7)))
        )

    def hedge() -> Group:
        centre = np.array([rng.uniform(3.0, 40.0), side() * (half_w - 0.5), 0.0])
        half = np.array([rng.uniform(1.0, 4.0), 0.4, rng.uniform(0.35, 0.7)])
        centre[2] = half[2]
        return [Box(centre, half, 0.0, _foliage(rng, bank))]

    def ramp() -> Group:
        return [_ramp(rng, (rng.uniform(3.0, 30.0), rng.uniform(-road + 1.0, road - 1.0)))]

    makers = [
        (parked_car, (1, 8)),
        (moving_car, (0, 3)),
        (lamp, (1, 6)),
        (sign, (0, 3)),
        (tree, (0, 6)),
        (hedge, (0, 3)),
        (ramp, (0, 2)),
    ]
    for make, count in makers:
        for _ in range(int(rng.integers(*count))):
            objects += _try_place(make, poses, placed, margin=0.8)
    sunny = rng.random() < 0.7
    # Half the time the sun shines along the street, so the road is lit and cars, trees and poles cast
    # shadows across it; otherwise from anywhere (the facades may then shade the whole canyon).
    along = rng.random() < 0.5
    az = rng.uniform(-0.6, 0.6) + float(rng.choice([0.0, np.pi])) if along else rng.uniform(0, 2 * np.pi)
    el = rng.uniform(np.deg2rad(15.0), np.deg2rad(65.0))
    sun_dir = np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
    sun_color = np.array([1.0, 0.95, 0.86], np.float32) * (
        rng.uniform(2.5, 4.5) if sunny else rng.uniform(0.2, 0.6)
    )
    sky = (
        np.array([0.3, 0.4, 0.6], np.float32) * rng.uniform(0.3, 0.6)
        if sunny
        else np.full(3, rng.uniform(0.7, 1.2), np.float32)
    )
    horizon = np.array([haze, haze, min(1.0, haze + 0.08)], np.float32) * (1.3 if sunny else 1.1)
    scene = Scene(
        kind="street",
        shell=shell,
        objects=objects,
        lights=[Light("sun", sun_dir, sun_color)],
        sky_ambient=sky,
        ground_ambient=(sky * 0.35).astype(np.float32),
        noise=_noise_table(rng),
        max_depth=max_depth,
        textures=bank,
        sky_horizon=horizon,
        sky_zenith=(np.array([0.25, 0.45, 0.9], np.float32) * 1.4 if sunny else horizon * 0.9).astype(
            np.float32
        ),
        fog_color=horizon,
        fog_distance=float(rng.uniform(300.0, 1500.0)),
        corner_occlusion=float(rng.uniform(0.15, 0.35)),
        exposure_key=float(rng.uniform(0.14, 0.22)),
        cloud_cover=float(rng.uniform(0.0, 0.5) if sunny else rng.uniform(0.85, 1.0)),
        cloud_color=horizon * 1.1,
    )
    return scene, poses


def _ramp(rng: np.random.Generator, xy) -> Quad:
    """A board leaning at a random angle, standing on the ground (a ramp when the tilt is large)."""
    hu, hv = (float(v) for v in rng.uniform(0.5, 2.0, 2))
    yaw, tilt = rng.uniform(0, 2 * np.pi), rng.uniform(0.2, 1.3)
    axis_u = np.array([-np.sin(yaw), np.cos(yaw), 0.0])
    axis_v = np.array([np.cos(yaw) * np.sin(tilt), np.sin(yaw) * np.sin(tilt), np.cos(tilt)])
    centre = np.array([xy[0], xy[1], 0.0]) + axis_v * hv
    material = _plain(_jitter(rng, _pick(rng, _METAL + _PAINT)))
    return Quad(centre, axis_u, axis_v, hu, hv, material)
