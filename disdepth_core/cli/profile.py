"""`disdepth profile`: parameters and GFLOPs of a registered model at a given input size."""

from __future__ import annotations

import argparse
import json

from disdepth_core.model_info import SIZE_MULTIPLE, check_input_size


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "profile",
        help="parameters and GFLOPs of a model",
        description="Count parameters and GFLOPs of one forward pass (batch 1). FLOPs count a multiply-add "
        "as 2 (torch.utils.flop_counter); divide by 2 for MACs.",
    )
    parser.add_argument(
        "--model", required=True, help="registered model name, e.g. disdepth-b0, hu-lite, teacher-tiny"
    )
    parser.add_argument("--height", type=int, default=352, help=f"input height, multiple of {SIZE_MULTIPLE}")
    parser.add_argument("--width", type=int, default=1216, help=f"input width, multiple of {SIZE_MULTIPLE}")
    parser.add_argument("--json", action="store_true", help="print {model, params, gflops, ...} as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from disdepth_core.models import build_model
    from disdepth_core.profiling import profile_model

    check_input_size(args.height, args.width, "--height/--width")
    torch.manual_seed(0)
    result = profile_model(build_model(args.model), args.height, args.width, name=args.model)
    if args.json:
        payload = {
            "model": result.model,
            "params": result.params,
            "gflops": result.gflops,
            "gmacs": result.gmacs,
            "height": result.height,
            "width": result.width,
            "flop_convention": "multiply-add = 2 FLOPs",
        }
        print(json.dumps(payload))
    else:
        print(
            f"{result.model} @ {result.height}x{result.width}: {result.params / 1e6:.3f} M params, "
            f"{result.gflops:.2f} GFLOPs ({result.gmacs:.2f} GMACs; multiply-add = 2 FLOPs)"
        )
    return 0
