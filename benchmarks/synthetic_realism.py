"""Image statistics of synthetic renders against real camera images (a realism guide, not a training set).

    python benchmarks/synthetic_realism.py --frames 40            # this renderer, with photometric effects
    PYTHONPATH=/path/to/main python benchmarks/synthetic_realism.py --frames 40 --no-photometric

Real references: ``real_dev`` RGB frames (evaluation data: only their image statistics are read here,
never used for training) and ``real_unlabeled/rtabmap``. Every image is resized to 240 x 320. Per set:
mean and standard deviation of luminance (0-255), mean HSV saturation (0-1), mean gradient magnitude
and mean absolute Laplacian of luminance, and the L1 distance (0 = same, 2 = disjoint) of the
log-gradient-magnitude histogram and of a 4x4x4 RGB colour histogram to the pooled real images.
"""

from __future__ import annotations

import argparse
import glob
from pathlib import Path

import cv2
import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
_GRAD_BINS = np.linspace(0.0, np.log1p(255.0), 17)


def _stats(images: list[np.ndarray]) -> dict[str, np.ndarray | float]:
    lum, sat, grad, lap, ghist, chist = [], [], [], [], np.zeros(16), np.zeros(64)
    for rgb in images:
        rgb = cv2.resize(rgb, (320, 240), interpolation=cv2.INTER_AREA)
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
        lum.append((grey.mean(), grey.std()))
        sat.append(cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)[..., 1].mean() / 255.0)
        g = (
            np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3))
            / 8
        )
        grad.append(g.mean())
        lap.append(np.abs(cv2.Laplacian(grey, cv2.CV_32F)).mean())
        ghist += np.histogram(np.log1p(g), _GRAD_BINS)[0] / g.size
        q = (rgb // 64).reshape(-1, 3).astype(np.int64)
        chist += np.bincount(q[:, 0] * 16 + q[:, 1] * 4 + q[:, 2], minlength=64) / len(q)
    lum = np.array(lum)
    return {
        "n": len(images),
        "lum_mean": float(lum[:, 0].mean()),
        "lum_std": float(lum[:, 1].mean()),
        "saturation": float(np.mean(sat)),
        "gradient": float(np.mean(grad)),
        "laplacian": float(np.mean(lap)),
        "grad_hist": ghist / len(images),
        "color_hist": chist / len(images),
    }


def _real_sets() -> dict[str, list[np.ndarray]]:
    sets: dict[str, list[np.ndarray]] = {}
    dev = sorted(glob.glob(str(SHARED / "real_dev" / "*.npz")))
    indoor = ("realsense_ty", "7scenes", "graspnet")
    for name, keep in (("real_dev indoor", True), ("real_dev outdoor", False)):
        sets[name] = [np.load(p)["rgb"] for p in dev if Path(p).name.startswith(indoor) == keep]
    rtab = sorted(glob.glob(str(SHARED / "real_unlabeled" / "rtabmap" / "*.jpg")))
    sets["real_unlabeled rtabmap"] = [cv2.imread(p)[:, :, ::-1] for p in rtab]
    return {k: v for k, v in sets.items() if v}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=40, help="renders per kind")
    parser.add_argument("--seed", type=int, default=50_000)
    parser.add_argument("--no-photometric", action="store_true")
    args = parser.parse_args(argv)
    from disdepth_core.data.synthetic import KINDS, render_scene

    real = _real_sets()
    if not real:
        raise SystemExit(f"no real images under {SHARED}: this benchmark needs the development data")
    stats = {name: _stats(images) for name, images in real.items()}
    pooled = _stats([im for images in real.values() for im in images])
    photometric = None
    if not args.no_photometric:
        from disdepth_core.data.photometric import Photometric

        photometric = Photometric()
    for kind in KINDS:
        images = []
        for i in range(args.frames):
            sample = render_scene(args.seed + i, 240, 320, kind)
            if photometric is not None:
                sample = photometric(sample, np.random.default_rng([args.seed, i]))
            images.append(sample["image"])
        stats[f"synthetic {kind}"] = _stats(images)
    print("| set | images | lum. mean / std | saturation | gradient | laplacian | grad-hist L1 | colour L1 |")
    print("|---|---|---|---|---|---|---|---|")
    for name, s in stats.items():
        g1 = np.abs(s["grad_hist"] - pooled["grad_hist"]).sum()
        c1 = np.abs(s["color_hist"] - pooled["color_hist"]).sum()
        print(
            f"| {name} | {s['n']} | {s['lum_mean']:.0f} / {s['lum_std']:.0f} | {s['saturation']:.2f} | "
            f"{s['gradient']:.1f} | {s['laplacian']:.1f} | {g1:.2f} | {c1:.2f} |"
        )


if __name__ == "__main__":
    main()
