"""The runtime options as command-line arguments, shared by every command that runs a model
(`eval`, `eval-bag`, `demo`) so they accept exactly what the depth node's parameters accept."""

from __future__ import annotations

import argparse

from disdepth_core.model_info import SIZE_MULTIPLE
from disdepth_core.runtime.options import BACKENDS, DEVICE_HELP, PRECISIONS, RuntimeOptions

__all__ = ["add_runtime_arguments", "runtime_options"]


def add_runtime_arguments(parser: argparse.ArgumentParser) -> None:
    """--backend, --device, --precision, --threads, --input-size (the node's backend/device/precision/
    threads/input_height/input_width parameters)."""
    group = parser.add_argument_group("runtime (as the depth node's parameters)")
    group.add_argument("--backend", default="auto", choices=BACKENDS, help="inference backend")
    group.add_argument("--device", default="auto", help=DEVICE_HELP)
    group.add_argument(
        "--precision",
        default="auto",
        choices=PRECISIONS,
        help="auto (default): the fastest this device runs within 1%% of fp32 depth (bf16, fp16, an int8 "
        "file <stem>.int8.onnx beside the model, or fp32); fp16: GPU backends; bf16: OpenVINO",
    )
    group.add_argument("--threads", type=int, default=0, help="CPU threads of the backend; 0 = its default")
    group.add_argument(
        "--input-size",
        metavar="HxW",
        help=f"network input size of a dynamic model, multiples of {SIZE_MULTIPLE} (default: the model's)",
    )


def runtime_options(args: argparse.Namespace) -> RuntimeOptions:
    """The RuntimeOptions of parsed `add_runtime_arguments` arguments (ValueError naming the option)."""
    input_hw = None
    if args.input_size:
        try:
            height, width = (int(part) for part in args.input_size.lower().split("x"))
        except ValueError:
            raise ValueError(f"--input-size must be HxW, e.g. 240x320, got {args.input_size!r}") from None
        input_hw = (height, width)
    if args.threads < 0:
        raise ValueError(f"--threads must be >= 0, got {args.threads}")
    return RuntimeOptions(
        backend=args.backend,
        device=args.device,
        precision=args.precision,
        threads=args.threads or None,
        input_hw=input_hw,
    )
