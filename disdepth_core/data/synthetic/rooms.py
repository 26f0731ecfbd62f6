"""Random rooms and corridors: shell materials, furniture, ceiling lamps, windows and a camera path.

Everything is drawn from one ``numpy.random.Generator`` in a fixed order, so a seed (and a texture
bank) fixes the scene."""

from __future__ import annotations

import numpy as np

from disdepth_core.data.synthetic.primitives import (
    Box,
    CameraPose,
    Light,
    Material,
    Primitive,
    Scene,
    Shell,
)
from disdepth_core.data.synthetic.textures import TextureBank

from .camera_paths import ROOM_CAMERA_HEIGHT, camera_path
from .furniture import (
    Group,
    make_cabinet,
    make_cartons,
    make_chair,
    make_door,
    make_pillar,
    make_plant,
    make_shelf,
    make_sofa,
    make_table,
    make_wall_picture,
    make_window,
    place_group,
    try_place,
)
from .materials import (
    PAINT,
    fabric_material,
    noise_table,
    pattern_material,
    photo_surface,
    pick_colour,
    plain_material,
    wood_material,
)


def _room_materials(rng: np.random.Generator, bank: TextureBank | None) -> list[Material]:
    paint = pick_colour(rng, PAINT)
    wall = pattern_material(rng, "noise", paint, np.asarray(paint) * 0.9, float(rng.uniform(0.5, 2.0)))
    accent = wall
    if rng.random() < 0.25:
        accent = photo_surface(
            rng, bank, "scikit-image/brick", (0.55, 0.35, 0.28), float(rng.uniform(1.0, 2.0)), wall
        )
    elif rng.random() < 0.3:
        other = pick_colour(rng, PAINT)
        accent = pattern_material(rng, "noise", other, np.asarray(other) * 0.9, 1.0)
    r = rng.random()
    if r < 0.35:
        floor = wood_material(rng, 0.25)
    elif r < 0.6:
        light = pick_colour(rng, [(0.7, 0.7, 0.68), (0.5, 0.48, 0.45), (0.3, 0.3, 0.32), (0.6, 0.55, 0.45)])
        floor = pattern_material(
            rng,
            "tiles",
            light,
            np.asarray(light) * 0.6,
            float(rng.uniform(0.3, 0.8)),
            specular=0.35,
            shininess=50.0,
        )
    elif r < 0.8:
        grey = pick_colour(rng, [(0.45, 0.45, 0.45), (0.35, 0.33, 0.3), (0.55, 0.5, 0.45)])
        floor = pattern_material(
            rng,
            "noise",
            grey,
            np.asarray(grey) * 0.85,
            float(rng.uniform(0.3, 1.0)),
            specular=0.25,
            shininess=30.0,
        )
    else:
        floor = fabric_material(rng)
    ceiling_grey = rng.uniform(0.7, 0.85)
    ceiling = (
        pattern_material(rng, "tiles", (ceiling_grey,) * 3, (ceiling_grey * 0.7,) * 3, 0.6)
        if rng.random() < 0.4
        else plain_material(np.full(3, ceiling_grey, np.float32))
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
    poses = camera_path(
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
        lambda: make_shelf(rng, bank, ceiling),
        lambda: make_cabinet(rng, bank, ceiling),
        lambda: make_door(rng, bank),
        lambda: make_wall_picture(rng, bank),
        lambda: make_window(rng, bank),
        lambda: make_table(rng, bank),
        lambda: make_sofa(rng, bank),
        lambda: make_wall_picture(rng, bank),
        lambda: make_door(rng, bank),
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
            return place_group(parts, pos, yaw)

        objects += try_place(on_wall, poses, placed, margin=0.3)
    free_makers = [
        lambda: make_table(rng, bank),
        lambda: make_chair(rng, bank),
        lambda: make_cartons(rng, bank),
        lambda: make_chair(rng, bank),
        lambda: make_cabinet(rng, bank, ceiling),
    ]
    for _ in range(int(rng.integers(2, 9))):
        r = rng.random()

        def free(r=r) -> Group:
            xy = rng.uniform([0.3, 0.3], size[:2] - 0.3)
            if r < 0.12:
                return make_plant(rng, bank, xy)
            if r < 0.2:
                return make_pillar(rng, bank, xy, ceiling)
            parts, _ = free_makers[int(rng.integers(len(free_makers)))]()
            return place_group(parts, xy, float(rng.uniform(-np.pi, np.pi)))

        objects += try_place(free, poses, placed, margin=0.35)
    lights: list[Light] = []
    warmth = rng.uniform(0.0, 1.0)
    lamp_color = np.array([1.0, 0.92 - 0.12 * warmth, 0.85 - 0.3 * warmth], np.float32)
    for i in range(int(rng.integers(1, 4))):
        pos = np.array([rng.uniform(0.5, size[0] - 0.5), rng.uniform(0.5, size[1] - 0.5), ceiling - 0.08])
        power = float(rng.uniform(1.5, 3.5)) * ceiling**2 / (1 + i)
        lights.append(
            Light("point", pos, lamp_color * power, radius=float(rng.uniform(0.3, 0.8)), shadows=i == 0)
        )
        panel = plain_material(lamp_color * 0.9, emission=float(rng.uniform(4.0, 8.0)))
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
        noise=noise_table(rng),
        max_depth=max_depth,
        textures=bank,
        corner_occlusion=float(rng.uniform(0.25, 0.5)),
        exposure_key=float(rng.uniform(0.14, 0.24)),
    )
    return scene, poses
