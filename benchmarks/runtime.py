"""Runtime latency benchmark (a script, not a test): eager PyTorch vs ONNX Runtime (fp32, optional int8).

Every shipped ``models/*.onnx`` file is timed in ONNX Runtime at its export size. For every registered
student and size it exports a static ONNX model, then times each backend's ``infer`` on one normalised
batch (pre/post-processing excluded, the same for every backend) and reports p50/p95 latency, the
speed-up over eager PyTorch, and the achieved GFLOP/s (``disdepth_core.profiling.count_flops``) as a
fraction of this machine's practical peak (best float32 2048^3 matmul in torch, same thread count).

    .venv/bin/python benchmarks/runtime.py [--models hu-lite disdepth-b0] [--sizes 240x320]
        [--threads 2] [--iters 30] [--int8] [--json] [--no-shipped]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from disdepth_core.export.calibration import calibration_images, model_batches  # noqa: E402
from disdepth_core.export.onnx_export import export_onnx  # noqa: E402
from disdepth_core.export.ort_quantize import compare_depth, quantize_int8  # noqa: E402
from disdepth_core.models import build_model, list_models  # noqa: E402
from disdepth_core.profiling import count_flops  # noqa: E402
from disdepth_core.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend  # noqa: E402
from disdepth_core.runtime.backends.torch_backend import TorchBackend, model_info_for  # noqa: E402

DEFAULT_SIZES = ("240x320", "480x640", "352x1216")


def time_ms(run: Callable[[], object], iters: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        run()
    samples = []
    for _ in range(iters):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1e3)
    return samples


def percentile(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples), q))


def matmul_peak_gflops(threads: int, n: int = 2048, repeats: int = 5) -> float:
    """Best float32 n x n matmul throughput (GFLOP/s) with ``threads`` torch threads."""
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    best = min(time_ms(lambda: a @ b, repeats, 1))
    return 2 * n**3 / (best * 1e-3) / 1e9


def benchmark(
    name: str, height: int, width: int, args: argparse.Namespace, tmp: Path, peak: float
) -> list[dict]:
    torch.manual_seed(0)
    model = build_model(name).eval()
    gflops = count_flops(model, height, width) / 1e9
    info = model_info_for(model, {"input_height": height, "input_width": width})
    batch = np.random.default_rng(0).standard_normal((1, 3, height, width)).astype(np.float32)
    backends: dict[str, Callable[[], object]] = {}
    eager = TorchBackend(model, info, device="cpu", threads=args.threads)
    backends["torch-eager"] = lambda: eager.infer(batch)
    onnx_path = tmp / f"{name}-{height}x{width}.onnx"
    export_onnx(model, onnx_path, height, width, trained=False)
    ort_fp32 = OnnxRuntimeBackend(onnx_path, device="cpu", threads=args.threads)
    backends["ort-cpu-fp32"] = lambda: ort_fp32.infer(batch)
    extra: dict[str, dict] = {}
    if args.int8:
        images = calibration_images(None, size_hw=(height, width))
        batches = model_batches(images, ort_fp32.info, 12)
        int8_path = quantize_int8(
            onnx_path, tmp / f"{name}-{height}x{width}-int8.onnx", ort_fp32.info, batches[4:]
        )
        report = compare_depth(onnx_path, int8_path, batches[:4])
        ort_int8 = OnnxRuntimeBackend(int8_path, device="cpu", threads=args.threads)
        backends["ort-cpu-int8"] = lambda: ort_int8.infer(batch)
        extra["ort-cpu-int8"] = {
            "int8_max_abs_m": round(report.max_abs_diff, 4),
            "int8_mean_abs_m": round(report.mean_abs_diff, 5),
            "int8_abs_rel": round(report.abs_rel, 5),
        }
    rows = []
    for backend, run in backends.items():
        samples = time_ms(run, args.iters, args.warmup)
        p50 = percentile(samples, 50)
        rows.append(
            {
                "model": name,
                "height": height,
                "width": width,
                "backend": backend,
                "threads": args.threads,
                "p50_ms": round(p50, 2),
                "p95_ms": round(percentile(samples, 95), 2),
                "gflops": round(gflops, 3),
                "achieved_gflop_s": round(gflops / (p50 * 1e-3), 1),
                "fraction_of_peak": round(gflops / (p50 * 1e-3) / peak, 3),
                **extra.get(backend, {}),
            }
        )
    eager_p50 = rows[0]["p50_ms"]
    for row in rows:
        row["speedup_vs_eager"] = round(eager_p50 / row["p50_ms"], 2)
    return rows


def benchmark_file(path: Path, args: argparse.Namespace) -> dict:
    """ORT CPU fp32 latency of a shipped ``models/*.onnx`` file at its export size (no eager baseline:
    the file carries no PyTorch weights)."""
    backend = OnnxRuntimeBackend(path, device="cpu", threads=args.threads)
    height, width = backend.info.input_height, backend.info.input_width
    batch = np.random.default_rng(0).standard_normal((1, 3, height, width)).astype(np.float32)
    samples = time_ms(lambda: backend.infer(batch), args.iters, args.warmup)
    return {
        "model": f"models/{path.name}",
        "height": height,
        "width": width,
        "backend": "ort-cpu-fp32",
        "threads": args.threads,
        "p50_ms": round(percentile(samples, 50), 2),
        "p95_ms": round(percentile(samples, 95), 2),
    }


def main(argv: list[str] | None = None) -> int:
    students = [n for n in list_models() if not n.startswith("teacher")]
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", nargs="+", default=students, help=f"default: {' '.join(students)}")
    parser.add_argument("--sizes", nargs="+", default=list(DEFAULT_SIZES), help="HxW, multiples of 16")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iters", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--int8", action="store_true", help="also quantize and time ORT int8 (QDQ)")
    parser.add_argument("--json", action="store_true", help="print one JSON row per line")
    parser.add_argument("--no-shipped", action="store_true", help="skip the shipped models/*.onnx files")
    args = parser.parse_args(argv)
    shipped = [] if args.no_shipped else sorted((ROOT / "models").glob("*.onnx"))
    for path in shipped:
        row = benchmark_file(path, args)
        print(
            json.dumps(row)
            if args.json
            else f"{row['model']} {row['height']}x{row['width']} {row['backend']}: "
            f"p50 {row['p50_ms']:.2f} ms  p95 {row['p95_ms']:.2f} ms",
            flush=True,
        )
    peak = matmul_peak_gflops(args.threads)
    print(
        f"practical peak (torch fp32 2048^3 matmul, {args.threads} threads): {peak:.1f} GFLOP/s",
        file=sys.stderr,
    )
    with tempfile.TemporaryDirectory(prefix="disdepth-bench-") as tmp:
        for name in args.models:
            for size in args.sizes:
                height, width = (int(v) for v in size.lower().split("x"))
                for row in benchmark(name, height, width, args, Path(tmp), peak):
                    if args.json:
                        print(json.dumps(row), flush=True)
                    else:
                        print(
                            f"{row['model']:14s} {height:4d}x{width:<5d} {row['backend']:13s} "
                            f"p50 {row['p50_ms']:8.2f} ms  p95 {row['p95_ms']:8.2f} ms  "
                            f"x{row['speedup_vs_eager']:.2f} vs eager  "
                            f"{row['achieved_gflop_s']:7.1f} GFLOP/s "
                            f"({row['fraction_of_peak']:.0%} of peak)"
                            + (f"  int8 AbsRel {row['int8_abs_rel']}" if "int8_abs_rel" in row else ""),
                            flush=True,
                        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
