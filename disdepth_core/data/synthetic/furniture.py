"""Indoor objects of the synthetic rooms at real sizes (tables 0.72-0.78 m high, chairs' seats 0.45 m, doors
0.9-1.0 x 2.0-2.1 m), and their placement clear of the camera path."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from disdepth_core.data.synthetic.primitives import (
    Box,
    CameraPose,
    Cylinder,
    Material,
    Primitive,
    Sphere,
)
from disdepth_core.data.synthetic.textures import TextureBank

from .materials import (
    FABRIC,
    METAL,
    PAINT,
    fabric_material,
    foliage_material,
    jitter_colour,
    metal_material,
    pattern_material,
    pick_colour,
    picture_material,
    plain_material,
    random_crop_material,
    wood_material,
)

Group = list[Primitive]


def place_group(parts: list[tuple[np.ndarray, np.ndarray, Material]], xy, yaw: float) -> Group:
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


def make_table(rng: np.random.Generator, bank: TextureBank | None):
    depth, width = rng.uniform(0.35, 0.5), rng.uniform(0.4, 0.9)
    height = rng.uniform(0.72, 0.78)
    top = (
        wood_material(rng, 0.3)
        if rng.random() < 0.6
        else plain_material(jitter_colour(rng, pick_colour(rng, PAINT)), specular=0.3)
    )
    legs = metal_material(rng) if rng.random() < 0.5 else top
    parts = [(np.array([0.0, 0.0, height - 0.02]), np.array([depth, width, 0.02]), top)]
    parts += _legs(width, depth, height - 0.04, 0.025, legs)
    if rng.random() < 0.4:  # a monitor or a box on the desk
        screen = picture_material(rng, bank, 0.5, 0.3, emission=1.2) or plain_material(
            np.full(3, 0.03, np.float32)
        )
        parts.append((np.array([-depth * 0.5, 0.0, height + 0.2]), np.array([0.015, 0.25, 0.15]), screen))
    return parts, max(depth, width)


def make_chair(rng: np.random.Generator, bank: TextureBank | None):
    seat = fabric_material(rng) if rng.random() < 0.5 else wood_material(rng)
    frame = metal_material(rng) if rng.random() < 0.6 else seat
    h = rng.uniform(0.42, 0.48)
    parts = [(np.array([0.0, 0.0, h]), np.array([0.22, 0.22, 0.03]), seat)]
    parts += _legs(0.22, 0.22, h - 0.03, 0.02, frame)
    parts.append((np.array([-0.2, 0.0, h + 0.25]), np.array([0.02, 0.21, 0.2]), seat))
    return parts, 0.32


def make_shelf(rng: np.random.Generator, bank: TextureBank | None, ceiling: float):
    depth, width = rng.uniform(0.15, 0.22), rng.uniform(0.4, 1.0)
    height = min(rng.uniform(0.9, 2.2), ceiling - 0.1)
    wood = (
        wood_material(rng, 0.1)
        if rng.random() < 0.6
        else plain_material(jitter_colour(rng, pick_colour(rng, PAINT)))
    )
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


def make_cabinet(rng: np.random.Generator, bank: TextureBank | None, ceiling: float):
    depth, width = rng.uniform(0.2, 0.45), rng.uniform(0.3, 1.0)
    height = min(rng.uniform(0.4, 1.9), ceiling - 0.1)
    r = rng.random()
    if r < 0.3:
        material = random_crop_material(rng, bank, wood_material(rng))
    elif r < 0.6:
        material = wood_material(rng, 0.2)
    else:
        material = plain_material(jitter_colour(rng, pick_colour(rng, PAINT + METAL)), specular=0.2)
    return [(np.array([0.0, 0.0, height / 2]), np.array([depth, width, height / 2]), material)], max(
        depth, width
    )


def make_sofa(rng: np.random.Generator, bank: TextureBank | None):
    fabric = fabric_material(rng)
    depth, width = rng.uniform(0.4, 0.5), rng.uniform(0.7, 1.2)
    return [
        (np.array([0.0, 0.0, 0.22]), np.array([depth, width, 0.22]), fabric),
        (np.array([-depth + 0.1, 0.0, 0.6]), np.array([0.1, width, 0.2]), fabric),
        (np.array([0.0, -width + 0.1, 0.5]), np.array([depth, 0.1, 0.1]), fabric),
        (np.array([0.0, width - 0.1, 0.5]), np.array([depth, 0.1, 0.1]), fabric),
    ], max(depth, width)


def make_cartons(rng: np.random.Generator, bank: TextureBank | None):
    cardboard = pattern_material(rng, "noise", (0.42, 0.3, 0.18), (0.3, 0.2, 0.12), 0.3)
    parts, z = [], 0.0
    for _ in range(int(rng.integers(1, 4))):
        half = rng.uniform([0.15, 0.15, 0.1], [0.35, 0.35, 0.25])
        material = cardboard if rng.random() < 0.7 else random_crop_material(rng, bank, cardboard)
        parts.append(
            (np.array([rng.uniform(-0.05, 0.05), rng.uniform(-0.05, 0.05), z + half[2]]), half, material)
        )
        z += 2 * half[2]
    return parts, 0.45


def make_door(rng: np.random.Generator, bank: TextureBank | None):
    material = (
        wood_material(rng, 0.2)
        if rng.random() < 0.5
        else plain_material(jitter_colour(rng, pick_colour(rng, PAINT)), specular=0.2)
    )
    width, height = rng.uniform(0.45, 0.5), rng.uniform(1.0, 1.05)
    parts = [(np.array([0.02, 0.0, height]), np.array([0.02, width, height]), material)]
    parts.append((np.array([0.06, width * 0.75, 1.0]), np.array([0.02, 0.06, 0.015]), metal_material(rng)))
    return parts, width


def make_wall_picture(rng: np.random.Generator, bank: TextureBank | None):
    width, height = rng.uniform(0.2, 0.7), rng.uniform(0.2, 0.6)
    material = picture_material(rng, bank, 2 * width, 2 * height)
    if material is None:
        material = pattern_material(rng, "noise", pick_colour(rng, PAINT), pick_colour(rng, FABRIC), 0.2)
    z = rng.uniform(1.2, 1.7)
    return [(np.array([0.015, 0.0, z]), np.array([0.015, width, height]), material)], width


def make_window(rng: np.random.Generator, bank: TextureBank | None):
    width, height = rng.uniform(0.4, 1.0), rng.uniform(0.5, 0.8)
    glass = plain_material(jitter_colour(rng, (0.75, 0.85, 1.0), 0.05), emission=float(rng.uniform(2.0, 5.0)))
    return [(np.array([0.005, 0.0, 1.0 + height]), np.array([0.005, width, height]), glass)], width


def make_plant(rng: np.random.Generator, bank: TextureBank | None, xy) -> Group:
    pot_r, pot_h = rng.uniform(0.1, 0.2), rng.uniform(0.2, 0.4)
    pot = plain_material(jitter_colour(rng, (0.5, 0.25, 0.15)))
    leaf_r = rng.uniform(0.2, 0.45)
    return [
        Cylinder(np.array([xy[0], xy[1], 0.0]), float(pot_r), float(pot_h), pot),
        Sphere(np.array([xy[0], xy[1], pot_h + leaf_r * 0.8]), float(leaf_r), foliage_material(rng, bank)),
    ]


def make_pillar(rng: np.random.Generator, bank: TextureBank | None, xy, ceiling: float) -> Group:
    material = plain_material(jitter_colour(rng, pick_colour(rng, PAINT)))
    if rng.random() < 0.5:
        return [Cylinder(np.array([xy[0], xy[1], 0.0]), float(rng.uniform(0.15, 0.3)), ceiling, material)]
    half = rng.uniform(0.15, 0.3)
    return [Box(np.array([xy[0], xy[1], ceiling / 2]), np.array([half, half, ceiling / 2]), 0.0, material)]


def _group_bound(group: Group) -> tuple[np.ndarray, float]:
    pts = np.concatenate([obj.hull_points() for obj in group])
    centre = (pts.min(axis=0) + pts.max(axis=0)) / 2
    return centre, float(np.linalg.norm(pts - centre, axis=1).max())


def try_place(
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
