"""Keep the graph tail of a depth model in fp32 when OpenVINO runs the rest in bf16/fp16.

OpenVINO's CPU plugin keeps a graph's tail in fp32 only back to the first "significant" node
(convolution, matmul, interpolate). Our AdaBins head ends with a bilinear resize, so without help the
whole head runs in bf16: the per-pixel expectation ``sum_i p_i c_i`` and the cumulative bin edges are
then rounded to 8 mantissa bits, which moved the shipped model's depth by 2.7 % per pixel (mean) on
random inputs and its real_dev raw AbsRel by 1.2 %. Splitting the model at the outputs of the last heavy
nodes (convolutions, matmuls, softmax) and compiling the small tail in fp32 brings the difference to
0.3 % per pixel at a fraction of bf16's speed-up (measured in docs/runtime.md).

Uses only the public graph API: ``Model.clone``, ``Output.get_target_inputs``,
``Input.replace_source_output``, ``opset13.parameter``/``result``.
"""

from __future__ import annotations

from collections import deque
from typing import Any

HEAVY_TYPES = frozenset({"Convolution", "GroupConvolution", "MatMul", "Softmax", "Parameter"})
"""Node types whose outputs end the tail: they run in reduced precision (where its speed comes from)."""


def tail_cuts(model: Any) -> list[tuple[str, int]]:
    """(friendly name, output index) of the heavy-node outputs that feed the tail, in a stable order.

    Walks back from the results through light nodes (elementwise, reductions, resize, reshape, cumsum);
    returns [] when the results come straight from heavy nodes (no tail to keep).
    """
    cuts: list[tuple[str, int]] = []
    seen: set[tuple[str, int]] = set()
    queue = deque(result.input(0).get_source_output() for result in model.get_results())
    light = 0
    while queue:
        output = queue.popleft()
        node = output.get_node()
        key = (node.get_friendly_name(), output.get_index())
        if key in seen:
            continue
        seen.add(key)
        if node.get_type_name() in HEAVY_TYPES:
            cuts.append(key)
        elif node.get_type_name() != "Constant":
            light += 1
            queue.extend(source.get_source_output() for source in node.inputs())
    return cuts if light else []


def split_tail(model: Any, cuts: list[tuple[str, int]]) -> tuple[Any, Any]:
    """(body, tail): the body ends at ``cuts`` (one result each, in order); the tail takes them as
    parameters (same order) and produces the model's original results, names included."""
    import openvino as ov

    body_source = model.clone()
    nodes = {node.get_friendly_name(): node for node in body_source.get_ops()}
    results = [ov.opset13.result(nodes[name].output(index)) for name, index in cuts]
    body = ov.Model(results, body_source.get_parameters(), "disdepth_body")
    tail_source = model.clone()
    nodes = {node.get_friendly_name(): node for node in tail_source.get_ops()}
    parameters = []
    for position, (name, index) in enumerate(cuts):
        output = nodes[name].output(index)
        parameter = ov.opset13.parameter(
            output.get_partial_shape(), output.get_element_type(), name=f"tail_input_{position}"
        )
        for target in list(output.get_target_inputs()):
            target.replace_source_output(parameter.output(0))
        parameters.append(parameter)
    return body, ov.Model(tail_source.get_results(), parameters, "disdepth_tail")


class TwoStageRequest:
    """Runs a compiled body then the compiled fp32 tail; ``infer`` returns the tail's results."""

    def __init__(self, body: Any, tail: Any) -> None:
        self.body = body
        self.tail = tail
        self._count = len(body.model_outputs)

    def infer(self, inputs: dict[int, Any]) -> Any:
        cut = self.body.infer(inputs)
        return self.tail.infer([cut[index] for index in range(self._count)])
