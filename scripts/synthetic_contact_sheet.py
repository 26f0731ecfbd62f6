"""Contact sheet of synthetic renders (image | depth) for judging realism by eye.

    python scripts/synthetic_contact_sheet.py --out synthetic_sheet.png --rows 6 --kinds room street

Each row shows, per kind, the rendered image and its depth (turbo colour map, one scale per kind:
0.3-10 m rooms, 1-80 m streets, log scale; black = invalid). ``--photometric`` applies the training
photometric augmentation (``disdepth_core.data.photometric``) to the images, as the dataset does.
``--groups`` chooses the texture groups (``textures.GROUPS``).
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from disdepth_core.data.photometric import Photometric
from disdepth_core.data.synthetic import DEFAULT_MAX_DEPTH, KINDS, render_scene
from disdepth_core.data.synthetic.textures import GROUPS, load_texture_bank
from disdepth_core.files import atomic_write_bytes


def colorize_depth(depth: np.ndarray, near: float, far: float) -> np.ndarray:
    """Log-scaled turbo colour map of metric depth (RGB uint8); invalid (0) is black."""
    valid = depth > 0
    x = (np.log(np.clip(depth, near, far)) - np.log(near)) / (np.log(far) - np.log(near))
    rgb = cv2.applyColorMap((255 * (1 - x)).astype(np.uint8), cv2.COLORMAP_TURBO)[:, :, ::-1]
    return np.where(valid[:, :, None], rgb, 0).astype(np.uint8)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default="synthetic_sheet.png", help="PNG to write")
    parser.add_argument("--rows", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0, help="first scene seed; row r uses seed + r")
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--groups", nargs="+", default=["scikit-image"], choices=GROUPS)
    parser.add_argument(
        "--photometric", action="store_true", help="apply the training photometric augmentation"
    )
    args = parser.parse_args(argv)
    bank = load_texture_bank(args.groups)
    photometric = Photometric() if args.photometric else None
    rows, seconds = [], []
    for r in range(args.rows):
        tiles = []
        for kind in args.kinds:
            t0 = time.perf_counter()
            sample = render_scene(args.seed + r, args.height, args.width, kind, textures=bank)
            seconds.append(time.perf_counter() - t0)
            if photometric is not None:
                sample = photometric(sample, np.random.default_rng([args.seed, r]))
            far = DEFAULT_MAX_DEPTH[kind]
            tiles += [sample["image"], colorize_depth(sample["depth"], 0.3 if kind == "room" else 1.0, far)]
        rows.append(np.concatenate(tiles, axis=1))
    sheet = np.concatenate(rows, axis=0)
    ok, png = cv2.imencode(".png", sheet[:, :, ::-1])
    if not ok:
        raise RuntimeError(f"{args.out}: PNG encoding failed")
    atomic_write_bytes(args.out, png.tobytes())
    median_ms = 1000 * np.median(seconds)
    print(f"wrote {args.out} ({sheet.shape[1]}x{sheet.shape[0]}), median render {median_ms:.0f} ms")


if __name__ == "__main__":
    main()
