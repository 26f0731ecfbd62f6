"""Runtime benchmark (a script, not a test): every backend and precision side by side, in one run.

For each model it times, on one normalised batch (model-only latency: pre/post-processing is the same
for every backend): eager PyTorch (registered students only), ONNX Runtime fp32/int8 and OpenVINO
fp32/bf16/int8. Runners of one model and size are timed in interleaved rounds (one call each per
round), so load from other processes on a shared machine hits them alike; p50/p95 are over rounds.
Ratios are against ONNX Runtime fp32 of the same round set. It also reports GFLOP/s achieved against
this machine's practical peak measured in the same run (best float32 2048^3 matmul, same threads).

* ``--models`` takes exported ``.onnx`` files (timed at their export size; int8 is quantised from the
  file) and registered student names (exported at each ``--sizes``, seeded random weights: latency does
  not depend on them). Default: the shipped model plus disdepth-b0, disdepth-mbv2, hu-lite and
  disdepth-lite0 when registered.
* int8: QDQ from :mod:`disdepth_core.export.ort_quantize`, calibrated on ``--calib`` (default
  ``../shared/data/real_unlabeled``, else synthetic scenes); int8 vs fp32 depth on 4 held-out images.
* OpenVINO's own API (``ov-own-api-fp32``/``-bf16``): ``compile_model`` on the same file with only the
  precision hint, ``PERFORMANCE_HINT=LATENCY`` and the thread count, one reused infer request with shared
  input/output memory; timed in the same rounds, right after the project's OpenVINO row of the same
  precision. ``x_own_api`` = project p50 / own-API p50 (issue 21: at most 1.10). The own API runs the
  whole graph at the hint (bf16 bins head: the accuracy the project's backend keeps) and returns views
  of the request's buffers (the project returns arrays the caller owns).
* The peer: PyDNet++ (``--teacher``, research-only weights) on ONNX Runtime fp32 at its own 448x640 NHWC.
* Accuracy: every precision of every *trained* .onnx file on ``--real-dev`` through
  ``disdepth_core.evaluation`` (AbsRel, all alignment modes) and its change relative to ONNX Runtime fp32.

Exact commands of the figures in docs/runtime.md (24 and 25 minutes on the 2-core development VM
under a load average of 12-17 from other users; a quiet machine needs a fraction of that):

    .venv/bin/python benchmarks/runtime.py --rounds 8 --json-out runtime_t2.json
    .venv/bin/python benchmarks/runtime.py --rounds 8 --threads 1 --json-out runtime_t1.json
    .venv/bin/python benchmarks/runtime.py --models path/to/new_model.onnx      # any exported file
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # torch's OpenMP threads must not spin between calls
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from disdepth_core.evaluation import PROTOCOLS, evaluate_estimator  # noqa: E402
from disdepth_core.export.calibration import calibration_images, model_batches  # noqa: E402
from disdepth_core.export.onnx_export import export_onnx  # noqa: E402
from disdepth_core.export.ort_quantize import compare_depth, quantize_int8  # noqa: E402
from disdepth_core.files import write_json  # noqa: E402
from disdepth_core.model_info import ModelInfo  # noqa: E402
from disdepth_core.models import build_model, list_models  # noqa: E402
from disdepth_core.profiling import count_flops  # noqa: E402
from disdepth_core.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend  # noqa: E402
from disdepth_core.runtime.backends.openvino_backend import OpenVinoBackend  # noqa: E402
from disdepth_core.runtime.backends.torch_backend import TorchBackend  # noqa: E402
from disdepth_core.runtime.estimator import DepthEstimator  # noqa: E402

SHARED = ROOT.parent / "shared"
DEFAULT_SIZES = ("240x320", "480x640")
STUDENTS = ("disdepth-b0", "disdepth-mbv2", "hu-lite", "disdepth-lite0")
BASELINE = "ort-fp32"


def percentile(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples), q))


def matmul_peak_gflops(threads: int, n: int = 2048, repeats: int = 10) -> float:
    """Best float32 n x n matmul throughput (GFLOP/s) with ``threads`` torch threads."""
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def onnx_gflops(path: Path) -> float:
    """Conv/MatMul/Gemm GFLOPs of an ONNX file (a multiply-add = 2 FLOPs), from ONNX shape inference;
    used for files that carry no PyTorch model (the shipped model, the teacher)."""
    import onnx

    proto = onnx.shape_inference.infer_shapes(onnx.load(str(path)))
    graph = proto.graph
    shapes = {
        v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in list(graph.value_info) + list(graph.input) + list(graph.output)
    }
    shapes.update({t.name: list(t.dims) for t in graph.initializer})
    flops = 0
    for node in graph.node:
        if node.op_type == "Conv" and node.output[0] in shapes and node.input[1] in shapes:
            out, weight = shapes[node.output[0]], shapes[node.input[1]]
            flops += 2 * int(np.prod(out)) * int(np.prod(weight[1:]))
        elif node.op_type in ("MatMul", "Gemm") and node.output[0] in shapes and node.input[0] in shapes:
            flops += 2 * int(np.prod(shapes[node.output[0]])) * shapes[node.input[0]][-1]
    return flops / 1e9


def interleaved(
    runners: dict[str, Callable[[], object]], rounds: int, warmup: int, block: int = 3
) -> dict[str, tuple[list[float], list[float]]]:
    """(wall ms, process CPU ms) per call of each runner, measured in interleaved rounds.

    Each round runs every runner for ``block`` calls and keeps all but the first: a runtime's worker
    threads spin-wait for a moment after their last call (ONNX Runtime's pool, OpenMP in torch, TBB in
    OpenVINO) and would slow the next runtime's first call. With one thread the CPU time is the work
    itself (preemption by other processes does not count: the robust figure on a shared machine); with
    more, it also counts spin-waiting worker threads.
    """
    samples: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in runners}
    for index in range(warmup + rounds):
        for name, run in runners.items():
            for call in range(block):
                start, cpu = time.perf_counter(), time.process_time()
                run()
                if index >= warmup and call > 0:
                    samples[name][0].append((time.perf_counter() - start) * 1e3)
                    samples[name][1].append((time.process_time() - cpu) * 1e3)
    return samples


def calibration_for(info, args: argparse.Namespace) -> list[np.ndarray]:
    images = calibration_images(args.calib, size_hw=(info.input_height, info.input_width))
    return model_batches(images, info, args.calib_count + 4)


def precision_backends(onnx_path: Path, int8_path: Path, threads: int) -> dict[str, object]:
    """Every backend/precision of one exported file (bf16 only where OpenVINO reports it)."""
    backends: dict[str, object] = {
        "ort-fp32": OnnxRuntimeBackend(onnx_path, device="cpu", threads=threads),
        "ort-int8": OnnxRuntimeBackend(int8_path, device="cpu", precision="int8", threads=threads),
        "ov-fp32": OpenVinoBackend(onnx_path, device="cpu", threads=threads),
    }
    try:
        backends["ov-bf16"] = OpenVinoBackend(onnx_path, device="cpu", precision="bf16", threads=threads)
    except ValueError as error:
        print(f"ov-bf16 skipped: {error}", file=sys.stderr)
    backends["ov-int8"] = OpenVinoBackend(int8_path, device="cpu", precision="int8", threads=threads)
    return backends


class OwnApiRunner:
    """OpenVINO's own Python API on an .onnx file, the reference the project's backend is held to:
    ``Core().compile_model(path, "CPU", {INFERENCE_PRECISION_HINT, PERFORMANCE_HINT=LATENCY,
    INFERENCE_NUM_THREADS})`` (nothing else set: OpenVINO's defaults for the rest), one reused infer
    request, shared input and output memory. No graph changes, no host resize, no output copy."""

    def __init__(self, path: Path, precision: str, threads: int) -> None:
        import openvino as ov

        config = {
            "INFERENCE_PRECISION_HINT": {"fp32": "f32", "bf16": "bf16"}[precision],
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_NUM_THREADS": int(threads),
        }
        self.request = ov.Core().compile_model(str(path), "CPU", config).create_infer_request()

    def infer(self, batch: np.ndarray) -> object:
        return self.request.infer({0: batch}, share_inputs=True, share_outputs=True)


def with_own_api(onnx_path: Path, backends: dict[str, object], threads: int) -> dict[str, object]:
    """``backends`` with an OpenVINO own-API runner right after the project's ov-fp32 and ov-bf16 rows."""
    runners: dict[str, object] = {}
    for name, backend in backends.items():
        runners[name] = backend
        precision = name.removeprefix("ov-")
        if name in ("ov-fp32", "ov-bf16"):
            runners[f"ov-own-api-{precision}"] = OwnApiRunner(onnx_path, precision, threads)
    return runners


def rows_for(
    label: str,
    backends: dict[str, object],
    batch: np.ndarray,
    gflops: float | None,
    peak: float,
    args: argparse.Namespace,
    extra: dict[str, dict] | None = None,
) -> list[dict]:
    runners = {name: (lambda b=backend: b.infer(batch)) for name, backend in backends.items()}
    samples = interleaved(runners, args.rounds, args.warmup)
    base_wall, base_cpu = (percentile(t, 50) for t in samples[BASELINE]) if BASELINE in samples else (0, 0)
    rows = []
    for name, (times, cpu_times) in samples.items():
        p50, cpu50 = percentile(times, 50), percentile(cpu_times, 50)
        own = samples.get(f"ov-own-api-{name.removeprefix('ov-')}") if name.startswith("ov-") else None
        row = {
            "model": label,
            "size": f"{batch.shape[2]}x{batch.shape[3]}",
            "backend": name,
            "threads": args.threads,
            "rounds": args.rounds,
            "p50_ms": round(p50, 2),
            "p95_ms": round(percentile(times, 95), 2),
            "x_ort_fp32": round(base_wall / p50, 2) if base_wall else None,
            "cpu_p50_ms": round(cpu50, 2),
            "x_ort_fp32_cpu": round(base_cpu / cpu50, 2) if base_cpu else None,
        }
        if own is not None:
            row["x_own_api"] = round(p50 / percentile(own[0], 50), 3)
            row["x_own_api_cpu"] = round(cpu50 / percentile(own[1], 50), 3)
        if gflops:
            row.update(
                gflops=round(gflops, 3),
                gflop_s=round(gflops / (p50 * 1e-3), 1),
                of_peak=round(gflops / (p50 * 1e-3) / peak, 3),
            )
        row.update((extra or {}).get(name, {}))
        rows.append(row)
    return rows


def int8_of(onnx_path: Path, int8_path: Path, info, args: argparse.Namespace) -> tuple[Path, dict]:
    """Quantise ``onnx_path`` (calibrated on --calib) and measure int8 vs fp32 depth on 4 held-out images."""
    batches = calibration_for(info, args)
    quantize_int8(onnx_path, int8_path, info, batches[4:])
    report = compare_depth(onnx_path, int8_path, batches[:4])
    agreement = {
        "int8_vs_fp32_abs_rel": round(report.abs_rel, 5),
        "int8_vs_fp32_max_m": round(report.max_abs_diff, 4),
    }
    return int8_path, agreement


def bench_student(name: str, size: str, tmp: Path, peak: float, args: argparse.Namespace) -> list[dict]:
    height, width = (int(v) for v in size.lower().split("x"))
    torch.manual_seed(0)
    model = build_model(name).eval()
    info = ModelInfo.from_model(model, height, width, dynamic=True)
    onnx_path = export_onnx(model, tmp / f"{name}-{size}.onnx", height, width, trained=False).path
    int8_path, agreement = int8_of(onnx_path, tmp / f"{name}-{size}.int8.onnx", info, args)
    backends = {"torch-eager": TorchBackend(model, info, device="cpu", threads=args.threads)}
    backends.update(precision_backends(onnx_path, int8_path, args.threads))
    batch = np.random.default_rng(0).standard_normal((1, 3, height, width)).astype(np.float32)
    gflops = count_flops(model, height, width) / 1e9
    extra = {"ort-int8": agreement, "ov-int8": agreement}
    return rows_for(name, with_own_api(onnx_path, backends, args.threads), batch, gflops, peak, args, extra)


def bench_file(path: Path, tmp: Path, peak: float, args: argparse.Namespace) -> tuple[list[dict], list[dict]]:
    """Latency rows of an exported file at its size, plus real_dev accuracy rows when it is trained."""
    info = OnnxRuntimeBackend(path, device="cpu", threads=args.threads).info
    int8_path, agreement = int8_of(path, tmp / f"{path.stem}.int8.onnx", info, args)
    backends = precision_backends(path, int8_path, args.threads)
    batch = np.random.default_rng(0).standard_normal((1, 3, info.input_height, info.input_width))
    rows = rows_for(
        _label(str(path)),
        with_own_api(path, backends, args.threads),
        batch.astype(np.float32),
        onnx_gflops(path),
        peak,
        args,
        {"ort-int8": agreement, "ov-int8": agreement},
    )
    accuracy = (
        accuracy_rows(rows[0]["model"], backends, args)
        if info.trained and args.real_dev and not args.no_accuracy
        else []
    )
    return rows, accuracy


def accuracy_rows(label: str, backends: dict[str, object], args: argparse.Namespace) -> list[dict]:
    """AbsRel on real_dev (every alignment mode) per backend/precision, and the relative change vs
    ONNX Runtime fp32."""
    from disdepth_core.data.rgbd_folder import RGBDFolder

    samples = RGBDFolder(args.real_dev)
    rows, reference = [], None
    for name, backend in backends.items():
        result = evaluate_estimator(DepthEstimator(backend, name), samples, PROTOCOLS["rgbd"], progress=False)
        abs_rel = {
            mode: v["abs_rel"] for mode, v in result.summary.items() if isinstance(v, dict) and "abs_rel" in v
        }
        reference = reference or abs_rel
        rows.append(
            {
                "model": label,
                "backend": name,
                "frames": len(samples),
                **{f"abs_rel_{mode}": round(value, 5) for mode, value in abs_rel.items()},
                **{
                    f"change_{mode}_pct": round(100 * (value / reference[mode] - 1), 2)
                    for mode, value in abs_rel.items()
                },
            }
        )
    return rows


def bench_teacher(path: Path, peak: float, args: argparse.Namespace) -> list[dict]:
    """The peer: PyDNet++ (NHWC 448x640, RGB/255) on ONNX Runtime fp32 at its own size."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: np.random.default_rng(0).random((1, 448, 640, 3), dtype=np.float32)}
    samples, cpu_samples = interleaved(
        {"ort-fp32": lambda: session.run(None, feed)}, args.rounds, args.warmup
    )["ort-fp32"]
    p50 = percentile(samples, 50)
    gflops = onnx_gflops(path)
    return [
        {
            "model": f"PyDNet++ ({path.name}, peer, research-only)",
            "size": "448x640",
            "backend": "ort-fp32",
            "threads": args.threads,
            "rounds": args.rounds,
            "p50_ms": round(p50, 2),
            "p95_ms": round(percentile(samples, 95), 2),
            "cpu_p50_ms": round(percentile(cpu_samples, 50), 2),
            "gflops": round(gflops, 3),
            "gflop_s": round(gflops / (p50 * 1e-3), 1),
            "of_peak": round(gflops / (p50 * 1e-3) / peak, 3),
        }
    ]


def markdown(rows: list[dict], keys: list[str]) -> str:
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += [
        "| " + " | ".join("" if row.get(k) is None else str(row.get(k)) for k in keys) + " |" for row in rows
    ]
    return "\n".join(lines)


def default_models() -> list[str]:
    registered = set(list_models())
    shipped = sorted(str(p) for p in (ROOT / "models").glob("*.onnx"))
    return shipped + [name for name in STUDENTS if name in registered]


def existing(path: Path) -> Path | None:
    return path if path.exists() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--models", nargs="+", default=default_models(), help=".onnx files and/or student names"
    )
    parser.add_argument(
        "--sizes", nargs="+", default=list(DEFAULT_SIZES), help="HxW for students (multiples of 16)"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=15, help="interleaved timing rounds per model and size")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--calib", type=Path, default=existing(SHARED / "data" / "real_unlabeled"))
    parser.add_argument("--calib-count", type=int, default=24)
    parser.add_argument("--real-dev", type=Path, default=existing(SHARED / "data" / "real_dev"))
    parser.add_argument(
        "--teacher", type=Path, default=existing(SHARED / "teachers" / "pydnet_pp_448x640.onnx")
    )
    parser.add_argument("--no-teacher", action="store_true", help="skip the PyDNet++ peer row")
    parser.add_argument("--no-accuracy", action="store_true", help="skip the real_dev accuracy rows")
    parser.add_argument("--json-out", type=Path, help="also write all rows to this JSON file")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    peak = matmul_peak_gflops(args.threads)
    print(
        f"practical peak (torch fp32 2048^3 matmul, {args.threads} threads): {peak:.1f} GFLOP/s", flush=True
    )
    latency: list[dict] = []
    accuracy: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="disdepth-bench-") as tmp:
        for model in args.models:
            if model.endswith(".onnx"):
                rows, acc = bench_file(Path(model).resolve(), Path(tmp), peak, args)
                latency += rows
                accuracy += acc
            else:
                for size in args.sizes:
                    latency += bench_student(model, size, Path(tmp), peak, args)
            report(latency, accuracy, peak, start, args)
    if args.teacher and not args.no_teacher:
        latency += bench_teacher(args.teacher, peak, args)
    report(latency, accuracy, peak, start, args)
    return 0


def report(
    latency: list[dict], accuracy: list[dict], peak: float, start: float, args: argparse.Namespace
) -> None:
    """Print every table so far (a long run shows its results as it goes) and rewrite --json-out."""
    print("\n## latency\n" + markdown(latency, LATENCY_KEYS))
    for row in latency:
        if row.get("x_own_api") is not None:
            print(
                f"{row['model']} {row['size']} {row['backend']}: {row['x_own_api']:.3f}x OpenVINO's own API "
                f"wall, {row['x_own_api_cpu']:.3f}x CPU (same rounds; target <= 1.10)"
            )
    if accuracy:
        keys = ["model", "backend"] + [k for k in accuracy[0] if k.startswith(("abs_rel_", "change_"))]
        print("\n## real_dev AbsRel per precision (change relative to ort-fp32)\n" + markdown(accuracy, keys))
    print(f"\npeak {peak:.1f} GFLOP/s; wall {time.perf_counter() - start:.0f} s", flush=True)
    if args.json_out:
        write_json(args.json_out, {"peak_gflop_s": peak, "latency": latency, "accuracy": accuracy})


LATENCY_KEYS = ["model", "size", "backend", "p50_ms", "p95_ms", "x_ort_fp32", "cpu_p50_ms", "x_ort_fp32_cpu"]
LATENCY_KEYS += ["x_own_api", "x_own_api_cpu"]
LATENCY_KEYS += ["gflops", "gflop_s", "of_peak"]
LATENCY_KEYS += ["int8_vs_fp32_abs_rel"]


def _label(model: str) -> str:
    path = Path(model).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


if __name__ == "__main__":
    sys.exit(main())
