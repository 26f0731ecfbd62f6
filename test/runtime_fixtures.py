"""Exported tiny models shared by the export/runtime/TensorRT tests (exported once per test process)."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import pytest

_ROOT = Path(tempfile.mkdtemp(prefix="disdepth-runtime-tests-"))


@functools.cache
def exported(name: str, height: int = 64, width: int = 64, dynamic: bool = False) -> Path:
    """Export ``model(name)`` once per process and return the ONNX path."""
    from disdepth_core.export.onnx_export import export_onnx

    path = _ROOT / f"{name}-{height}x{width}{'-dyn' if dynamic else ''}.onnx"
    export_onnx(model(name), path, height, width, dynamic=dynamic, trained=False)
    return path


@functools.cache
def model(name: str):
    """``build_model(name)`` with seeded random weights, its LG-Convs' global branches made non-zero (their
    zero init would keep the global branch, and any export mistake in it, out of every output)."""
    import torch

    from disdepth_core.models import build_model
    from disdepth_core.models.lgconv import LGConv

    torch.manual_seed(0)
    net = build_model(name).eval()
    for module in net.modules():
        if isinstance(module, LGConv):
            torch.nn.init.normal_(module.project.weight, std=0.1)
    return net


def tiny_onnx(path, dynamic: bool = False, max_depth: float = 10.0) -> str:
    """A real ONNX file with disdepth metadata, run by the real runtime (onnxruntime).

    Depth = 1 + 9 * sigmoid(mean over the normalised RGB channels): cheap, and it depends on every
    pixel, so resizing/alignment mistakes show up. `dynamic`: any input height/width. `max_depth` is the
    range in the metadata (the runtime marks depth beyond it invalid).
    """
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    from disdepth_core.runtime import ModelInfo

    height, width = 64, 96
    nodes = [
        helper.make_node("ReduceMean", ["image"], ["mean"], axes=[1], keepdims=1),
        helper.make_node("Sigmoid", ["mean"], ["unit"]),
        helper.make_node(
            "Constant", [], ["nine"], value=helper.make_tensor("n", TensorProto.FLOAT, [], [9.0])
        ),
        helper.make_node(
            "Constant", [], ["one"], value=helper.make_tensor("o", TensorProto.FLOAT, [], [1.0])
        ),
        helper.make_node("Mul", ["unit", "nine"], ["scaled"]),
        helper.make_node("Add", ["scaled", "one"], ["depth"]),
        helper.make_node("Mul", ["unit", "unit"], ["uncertainty"]),
    ]
    rows, cols = ("height", "width") if dynamic else (height, width)
    shape = [1, 1, rows, cols]
    graph = helper.make_graph(
        nodes,
        "tiny_depth",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, rows, cols])],
        [
            helper.make_tensor_value_info("depth", TensorProto.FLOAT, shape),
            helper.make_tensor_value_info("uncertainty", TensorProto.FLOAT, shape),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    info = ModelInfo(
        name="tiny-test",
        input_height=height,
        input_width=width,
        mean=(0.485, 0.456, 0.406),
        std=(0.229, 0.224, 0.225),
        min_depth=0.1,
        max_depth=max_depth,
        dynamic=dynamic,
        trained=False,
    )
    for key, value in info.to_props().items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))
    return str(path)


def foreign_onnx(path: Path, height: int, width: int, output: str = "relative_depth", **card: object) -> Path:
    """A hand-made NHWC ONNX graph (not a disdepth export) whose output is the mean over channels of its
    input, with a teacher card beside it saying so (``card`` overrides the card's keys)."""
    import json

    import onnx
    from onnx import TensorProto, helper

    from disdepth_core.teacher_card import card_path

    image = helper.make_tensor_value_info("pixels", TensorProto.FLOAT, [1, height, width, 3])
    out = helper.make_tensor_value_info("relative", TensorProto.FLOAT, [1, height, width, 1])
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [3])
    node = helper.make_node("ReduceMean", ["pixels", "axes"], ["relative"], keepdims=1)
    graph = helper.make_graph([node], "mean", [image], [out], initializer=[axes])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.save(model, str(path))
    values = {"input_height": height, "input_width": width, "layout": "NHWC", "mean": [0, 0, 0],
              "std": [1, 1, 1], "output": output, "licence": "test", **card}  # fmt: skip
    card_path(path).write_text(json.dumps(values))
    return path
