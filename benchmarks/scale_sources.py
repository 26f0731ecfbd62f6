"""The scale sources measured (issue 18 targets): ground plane on real mounted frames, with a perturbed
mount, on a held-out synthetic robot recording, a relative-depth model through a teacher card, and the
ground plane's cost per 640x480 frame. A script, not a test; figures in docs/scale_sources.md.

1. ``real_dev`` (``disdepth eval --dataset rgbd --scale-source ground_plane``, frames independent): the
   31 frames with a calibrated mount (``index.json``), raw / median-scaled / ``ground_plane`` (AbsRel,
   delta1, per source), and the same with the mount perturbed (height +-5 %, pitch +-2 deg, uniform,
   seeds 0..N-1).
2. A held-out synthetic robot recording (``make-sample-bag --seed S``, its mount in /tf_static) through
   eval-bag's pipeline with ``--scale-source ground_plane`` (the tracker as the node runs it) beside the
   median-scaled figure of the same frames.
3. ``--card-model MODEL.onnx`` (with MODEL.teacher.json; e.g. PyDNet++, research use only: benchmark
   only): the same real_dev figures for a relative-depth model, which is metric only through the source.
4. Cost: ``GroundPlaneScale.observe`` on a 640x480 frame (median of ``--repeats``) beside one inference
   of the model on the same frame, in the same run.

    .venv/bin/python benchmarks/scale_sources.py [--model models/disdepth_default.onnx]
        [--real-dev ../shared/data/real_dev] [--seeds 3] [--bag-seed 123 --bag-frames 150]
        [--card-model /tmp/pyd/pydnet_pp_448x640.onnx] [--out runs/scale_sources.json]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from timing import median_ms

ROOT = Path(__file__).resolve().parents[1]
MOUNTED = "mounted, scale from ground_plane (measuring)"


class PerturbedMounts:
    """real_dev samples whose mounts are perturbed: height x U(1 - dh, 1 + dh), pitch + U(-dp, dp) deg."""

    def __init__(self, samples: list[dict[str, Any]], seed: int, dh: float = 0.05, dp: float = 2.0) -> None:
        from disdepth_core.scale import CameraMount

        rng = np.random.default_rng(seed)
        self.samples = []
        for sample in samples:
            mount = sample.get("mount")
            if mount is not None:
                angle = math.radians(rng.uniform(-dp, dp))  # about the camera's x axis: a pitch error
                c, s = math.cos(angle), math.sin(angle)
                up = np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]]) @ np.asarray(mount.up)
                height = mount.height_m * rng.uniform(1 - dh, 1 + dh)
                sample = {**sample, "mount": CameraMount(height, tuple(up / np.linalg.norm(up)), "perturbed")}
            self.samples.append(sample)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.samples[index]


def mounted_figures(result: Any) -> dict[str, Any]:
    """raw, median and ground_plane AbsRel/delta1 over every mounted frame (decided or not)."""
    from score_models import combined

    decisions = result.decisions
    mounted = combined(decisions, tuple(name for name in decisions if name.startswith("mounted")))
    return {
        "frames": mounted["raw"]["n_images"],
        "decided": sum(g["raw"]["n_images"] for name, g in decisions.items() if name.startswith(MOUNTED)),
        **{
            f"{mode}_{key}": mounted[mode][key]
            for mode in ("raw", "median", "scale_source")
            for key in ("abs_rel", "d1")
        },
    }


def real_dev(model: Path, root: Path, seeds: int, threads: int) -> dict[str, Any]:
    from disdepth_core.data.rgbd_folder import RGBDFolder
    from disdepth_core.evaluation import PROTOCOLS, evaluate_estimator
    from disdepth_core.runtime import load_estimator

    estimator = load_estimator(model, threads=threads)
    samples = [frame.sample() for frame in RGBDFolder(root)]
    exact = evaluate_estimator(estimator, samples, PROTOCOLS["rgbd"], progress=False, scale="ground_plane")
    mounted = [s for s in samples if s.get("mount") is not None]
    per_source = {}
    for source in sorted({s["group"] for s in mounted}):
        subset = [s for s in mounted if s["group"] == source]
        result = evaluate_estimator(
            estimator, subset, PROTOCOLS["rgbd"], progress=False, scale="ground_plane"
        )
        per_source[source] = mounted_figures(result)
    perturbed = [
        mounted_figures(
            evaluate_estimator(
                estimator,
                PerturbedMounts(samples, seed),
                PROTOCOLS["rgbd"],
                progress=False,
                scale="ground_plane",
            )
        )
        for seed in range(seeds)
    ]
    return {
        "model": str(model),
        "describe": estimator.describe(),
        "mounted": mounted_figures(exact),
        "per_source": per_source,
        "perturbed": perturbed,
        "all_frames": {mode: exact.summary[mode] for mode in ("raw", "median", "scale_source")},
    }


def synthetic_recording(model: Path, seed: int, frames: int, threads: int) -> dict[str, Any]:
    from disdepth_core.cli.scale_args import ScaleOptions
    from disdepth_core.runtime.options import RuntimeOptions
    from disdepth_ros.commands.eval_bag.config import EvalConfig
    from disdepth_ros.commands.eval_bag.evaluate import evaluate_bag
    from disdepth_ros.commands.sample_bag.recording import (
        TOPICS,
        SampleBagSpec,
        robot_mount,
        write_sample_bag,
    )

    with tempfile.TemporaryDirectory(prefix="disdepth-scale-") as tmp:
        spec = SampleBagSpec(frames=frames, seed=seed)
        bag = write_sample_bag(Path(tmp) / "heldout", spec, progress=False)
        config = EvalConfig(
            bag=bag,
            model=model,
            image_topic=TOPICS["image"],
            out_dir=Path(tmp) / "eval",
            depth_topic=TOPICS["depth"],
            camera_info_topic=TOPICS["camera_info"],
            runtime=RuntimeOptions(threads=threads),
            scale=ScaleOptions("ground_plane"),
        )
        summary = evaluate_bag(config, progress=False).summary
    metrics = summary["metrics"]
    return {
        "bag": f"make-sample-bag --frames {frames} --seed {seed} (320x240, 15 Hz)",
        "mount": robot_mount(spec).describe(),
        "frames_by_source": summary["scale"]["frames_by_source"],
        **{
            f"{mode}_{key}": metrics[mode][key]
            for mode in ("raw", "median", "scale_source")
            for key in ("abs_rel", "d1")
        },
        "coverage": metrics["coverage"],
        "range": metrics["range"],
    }


def cost(model: Path, root: Path, repeats: int, threads: int) -> dict[str, float]:
    """Median ms of GroundPlaneScale.observe and of one inference on the same 640x480 real frame."""
    import cv2

    from disdepth_core.data.rgbd_folder import RGBDFolder
    from disdepth_core.geometry import CameraIntrinsics
    from disdepth_core.runtime import load_estimator
    from disdepth_core.scale import FrameContext, build_scale_source

    frame = next(f for f in RGBDFolder(root) if f.mount is not None)
    image = cv2.resize(frame.image, (640, 480), interpolation=cv2.INTER_AREA)
    k = frame.K.copy()
    k[0] *= 640 / frame.image.shape[1]
    k[1] *= 480 / frame.image.shape[0]
    estimator = load_estimator(model, threads=threads)
    context = FrameContext(0, CameraIntrinsics.from_K(k, 640, 480), frame.mount)
    source = build_scale_source("ground_plane")
    depth = estimator.predict(image, fx=float(k[0, 0])).depth

    plane = median_ms(lambda: source.observe(depth, context), repeats)
    infer = median_ms(lambda: estimator.predict(image, fx=float(k[0, 0])), repeats)
    return {"ground_plane_ms": plane, "predict_ms": infer, "ratio": plane / infer, "repeats": repeats}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "disdepth_default.onnx")
    parser.add_argument("--real-dev", type=Path, default=ROOT.parent / "shared" / "data" / "real_dev")
    parser.add_argument("--seeds", type=int, default=3, help="perturbed-mount seeds")
    parser.add_argument("--bag-seed", type=int, default=123)
    parser.add_argument("--bag-frames", type=int, default=150)
    parser.add_argument("--card-model", type=Path, help="a card-described ONNX model (relative depth) to add")
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "scale_sources.json")
    args = parser.parse_args(argv)
    from disdepth_core.files import write_json

    if not args.real_dev.is_dir():
        parser.error(f"--real-dev {args.real_dev}: no such folder")
    started = time.perf_counter()
    results: dict[str, Any] = {"real_dev": real_dev(args.model, args.real_dev, args.seeds, args.threads)}
    results["synthetic"] = synthetic_recording(args.model, args.bag_seed, args.bag_frames, args.threads)
    if args.card_model is not None:
        results["card_model"] = real_dev(args.card_model, args.real_dev, 0, args.threads)
    results["cost_640x480"] = cost(args.model, args.real_dev, args.repeats, args.threads)
    results["wall_s"] = time.perf_counter() - started
    write_json(args.out, results)
    report(results)
    return 0


def report(results: dict[str, Any]) -> None:
    def line(label: str, f: dict[str, Any]) -> str:
        return (
            f"{label:38s} raw {f['raw_abs_rel']:.3f}/{f['raw_d1']:.3f}  median {f['median_abs_rel']:.3f}/"
            f"{f['median_d1']:.3f}  ground_plane {f['scale_source_abs_rel']:.3f}/{f['scale_source_d1']:.3f}"
        )

    print("AbsRel/delta1, GT 0.1-80 m, mean over frames; ground_plane = the published depth")
    for key in ("real_dev", "card_model"):
        if key not in results:
            continue
        r = results[key]
        m = r["mounted"]
        print(
            f"\n{r['model']}: real_dev mounted frames ({m['frames']}, ground plane decided on {m['decided']})"
        )
        print(line("exact mount", m))
        for source, f in r["per_source"].items():
            print(line(f"  {source} ({f['frames']})", f))
        for seed, f in enumerate(r["perturbed"]):
            print(line(f"perturbed mount, seed {seed}", f))
    s = results["synthetic"]
    print(f"\nheld-out synthetic recording: {s['bag']}; {s['mount']}; frames {s['frames_by_source']}")
    print(line("tracker as in the node", s))
    c = results["cost_640x480"]
    print(
        f"\nground_plane per 640x480 frame: {c['ground_plane_ms']:.2f} ms (median of {c['repeats']}), "
        f"{c['ratio']:.2f}x one predict ({c['predict_ms']:.2f} ms) in the same run; "
        f"wall {results['wall_s']:.0f} s"
    )


if __name__ == "__main__":
    sys.exit(main())
