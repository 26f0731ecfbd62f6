"""Convert an fp32 ONNX graph to fp16 compute with float32 I/O (for strongly typed TensorRT >= 11).

TensorRT 11 removed ``BuilderFlag.FP16``: a strongly typed network runs in the types the graph
declares, and fp16 requested the 10.x way is silently ignored. This pass, written with the ``onnx``
helpers, casts float32 initializers, ``Constant``/``ConstantOfShape`` values and ``Cast(to=FLOAT)``
targets to float16, adds a ``Cast`` after the graph input and before every graph output (so callers
still exchange float32), and keeps float32 where an operator requires it (``Resize`` scales). The result
is checked with ``onnx.checker.check_model(full_check=True)`` (type inference over the whole graph).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FP32_ONLY_INPUTS: frozenset[tuple[str, int]] = frozenset({("Resize", 2)})
"""(op_type, input index) slots whose ONNX type constraint is float32 only."""


def _fp32_only_names(graph: onnx.GraphProto) -> set[str]:
    names = set()
    for node in graph.node:
        for index, name in enumerate(node.input):
            if (node.op_type, index) in FP32_ONLY_INPUTS and name:
                names.add(name)
    return names


def _to_fp16(tensor: onnx.TensorProto) -> onnx.TensorProto:
    array = numpy_helper.to_array(tensor)
    info = np.finfo(np.float16)
    return numpy_helper.from_array(np.clip(array, info.min, info.max).astype(np.float16), tensor.name)


def convert_to_fp16(model: onnx.ModelProto) -> onnx.ModelProto:
    """Return an fp16-compute copy of ``model`` whose inputs and outputs stay float32."""
    converted = onnx.ModelProto()
    converted.CopyFrom(model)
    graph = converted.graph
    for node in graph.node:
        if any(
            attr.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for attr in node.attribute
        ):
            raise ValueError(f"fp16 conversion does not handle control flow ({node.op_type} {node.name!r})")
    keep = _fp32_only_names(graph)
    for index, tensor in enumerate(graph.initializer):
        if tensor.data_type == TensorProto.FLOAT and tensor.name not in keep:
            graph.initializer[index].CopyFrom(_to_fp16(tensor))
    for node in graph.node:
        if node.op_type == "Cast" and node.output[0] not in keep:
            for attr in node.attribute:
                if attr.name == "to" and attr.i == TensorProto.FLOAT:
                    attr.i = TensorProto.FLOAT16
        for attr in node.attribute:
            is_float = attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type == TensorProto.FLOAT
            if is_float and not (node.op_type == "Constant" and node.output[0] in keep):
                attr.t.CopyFrom(_to_fp16(attr.t))
    _cast_io(graph)
    del graph.value_info[:]
    onnx.checker.check_model(converted, full_check=True)
    return converted


def _cast_io(graph: onnx.GraphProto) -> None:
    """Cast float32 graph inputs to fp16 on entry and fp16 results back to float32 on exit."""
    casts_in = []
    for value in graph.input:
        if value.type.tensor_type.elem_type != TensorProto.FLOAT:
            continue
        half = f"{value.name}_fp16"
        for node in graph.node:
            node.input[:] = [half if name == value.name else name for name in node.input]
        casts_in.append(helper.make_node("Cast", [value.name], [half], to=TensorProto.FLOAT16))
    casts_out = []
    for value in graph.output:
        if value.type.tensor_type.elem_type != TensorProto.FLOAT:
            continue
        half = f"{value.name}_fp16"
        for node in graph.node:
            node.output[:] = [half if name == value.name else name for name in node.output]
            node.input[:] = [half if name == value.name else name for name in node.input]
        casts_out.append(helper.make_node("Cast", [half], [value.name], to=TensorProto.FLOAT))
    nodes = casts_in + list(graph.node) + casts_out
    del graph.node[:]
    graph.node.extend(nodes)
