"""Random streets: road, sidewalks 0.15 m high, facades, cars 3.8-4.8 m long, lamps, signs, trees, ramps,
and a car or sidewalk-robot camera path; one seed fixes the scene."""

from __future__ import annotations

import numpy as np

from disdepth_core.data.synthetic.primitives import (
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
)
from disdepth_core.data.synthetic.textures import TextureBank

from .camera_paths import CAR_CAMERA_HEIGHT, SIDEWALK_CAMERA_HEIGHT, camera_path
from .furniture import Group, place_group, try_place
from .materials import (
    CAR_PAINT,
    FACADE,
    METAL,
    PAINT,
    foliage_material,
    jitter_colour,
    metal_material,
    noise_table,
    pattern_material,
    photo_surface,
    pick_colour,
    plain_material,
    random_crop_material,
)

_CURB = 0.15  # sidewalk height above the road, m

_BACKDROP = 40.0  # metres between a street's building fronts and the shell's side walls (distant city)


def _car(rng: np.random.Generator, xy, yaw: float) -> Group:
    length, width = rng.uniform(1.9, 2.4), rng.uniform(0.8, 0.95)
    paint = plain_material(
        jitter_colour(rng, pick_colour(rng, CAR_PAINT), 0.05), specular=0.6, shininess=80.0
    )
    glass = plain_material(np.array([0.03, 0.035, 0.04], np.float32), specular=0.9, shininess=120.0)
    tyre = plain_material(np.full(3, 0.03, np.float32))
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
    return place_group(parts, xy, yaw)


def _street_lamp(rng: np.random.Generator, xy, side: float) -> Group:
    metal = metal_material(rng)
    h = rng.uniform(4.0, 8.0)
    arm = rng.uniform(0.8, 1.8)
    return [
        Cylinder(np.array([xy[0], xy[1], 0.0]), float(rng.uniform(0.07, 0.14)), float(h), metal),
        Box(np.array([xy[0], xy[1] - side * arm / 2, h]), np.array([0.05, arm / 2, 0.05]), 0.0, metal),
        Box(np.array([xy[0], xy[1] - side * arm, h - 0.08]), np.array([0.25, 0.12, 0.06]), 0.0, metal),
    ]


def _sign(rng: np.random.Generator, xy) -> Group:
    metal = metal_material(rng)
    plate = plain_material(
        jitter_colour(
            rng, pick_colour(rng, [(0.6, 0.05, 0.04), (0.05, 0.15, 0.5), (0.8, 0.8, 0.8), (0.7, 0.55, 0.05)])
        ),
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
    bark = pattern_material(rng, "noise", (0.22, 0.16, 0.1), (0.12, 0.09, 0.06), 0.3)
    trunk_h = rng.uniform(2.0, 4.0)
    crown = rng.uniform(1.2, 3.0)
    leaves = foliage_material(rng, bank)
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
    base = pick_colour(rng, FACADE)
    glass = (0.04, 0.05, 0.07) if rng.random() < 0.6 else (0.25, 0.3, 0.38)
    r = rng.random()
    if r < 0.3:
        return photo_surface(
            rng,
            bank,
            "scikit-image/brick",
            (0.55, 0.33, 0.25),
            float(rng.uniform(1.0, 2.5)),
            pattern_material(rng, "windows", base, glass, 3.0),
        )
    if r < 0.4:
        return random_crop_material(rng, bank, pattern_material(rng, "windows", base, glass, 3.0))
    return pattern_material(rng, "windows", base, glass, float(rng.uniform(2.6, 3.6)), specular=0.1)


def build_street(
    rng: np.random.Generator, n_frames: int, max_depth: float, bank: TextureBank | None
) -> tuple[Scene, list[CameraPose]]:
    """A street canyon: sidewalks, buildings, cars, poles, trees, sun or overcast sky; and a camera path."""
    road = rng.uniform(3.5, 7.0)  # half width of the carriageway
    walk = rng.uniform(1.5, 4.0)
    half_w = road + walk
    far = rng.uniform(1.2, 2.0) * max_depth
    lo, hi = np.array([-30.0, -half_w - _BACKDROP, 0.0]), np.array([far, half_w + _BACKDROP, 80.0])
    asphalt_grey = pick_colour(rng, [(0.08, 0.08, 0.085), (0.12, 0.12, 0.12), (0.16, 0.15, 0.14)])
    asphalt = photo_surface(
        rng,
        bank,
        "scikit-image/gravel",
        asphalt_grey,
        float(rng.uniform(0.6, 1.5)),
        pattern_material(rng, "noise", asphalt_grey, np.asarray(asphalt_grey) * 0.7, 0.5),
        lanes=True,
    )
    haze = rng.uniform(0.6, 0.9)
    background = pattern_material(rng, "noise", (haze * 0.7, haze * 0.72, haze * 0.8), (haze * 0.5,) * 3, 8.0)
    behind = pattern_material(rng, "noise", (0.4, 0.4, 0.4), (0.3, 0.3, 0.3), 4.0)
    faces = [behind, background, _facade(rng, bank), _facade(rng, bank), asphalt, background]
    shell = Shell(lo, hi, faces, open_top=True)
    if rng.random() < 0.6:  # a car camera in a lane
        poses = camera_path(
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
        poses = camera_path(
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
    curb = pattern_material(rng, "tiles", (0.45, 0.44, 0.42), (0.3, 0.3, 0.3), float(rng.uniform(0.4, 1.0)))
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
        return [Box(centre, half, 0.0, foliage_material(rng, bank))]

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
            objects += try_place(make, poses, placed, margin=0.8)
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
        noise=noise_table(rng),
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
    material = plain_material(jitter_colour(rng, pick_colour(rng, METAL + PAINT)))
    return Quad(centre, axis_u, axis_v, hu, hv, material)
