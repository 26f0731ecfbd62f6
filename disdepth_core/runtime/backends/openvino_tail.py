"""Keep the bins head of a depth model in fp32 when OpenVINO runs it in bf16/fp16, in one compiled graph.

OpenVINO's CPU plugin keeps a graph's tail in fp32 back to the first "significant" node (convolution,
matmul, interpolate: ``Graph::EnforceInferencePrecision``). Our heads end with a bilinear resize to the
input size (an ``Interpolate``), so without help the whole AdaBins head runs in bf16: the cumulative bin
edges and the per-pixel expectation ``sum_i p_i c_i`` are rounded to 8 mantissa bits, which moved the
shipped model's depth by 2.7 % per pixel on random inputs and 1.3-3.9 % on real frames.

* :func:`detach_trailing_resizes` takes such a trailing resize out of the graph; the backend does it on
  the host with :func:`resize_output` (``cv2.resize`` ``INTER_LINEAR`` is the same half-pixel bilinear
  interpolation as ONNX ``Resize`` linear / OpenVINO ``linear_onnx`` ``half_pixel``: equal to 1e-6 m).
  Then OpenVINO's own rule keeps the per-pixel head in fp32 inside the one compiled graph: no second
  request, no copies between two graphs, and the CPU plugin's one-channel ``Interpolate`` (0.3 ms per
  output at 64x80 -> 128x160 on one thread, more than the rest of the head) is gone at every precision.
* :func:`unfold_vector_products` rewrites a vector-matrix ``MatMul`` (one feature vector per image: the
  bins MLP that predicts the bin widths from pooled features) as ``Multiply`` + ``ReduceSum``, which the
  rule does not stop at: the bin widths are then fp32 too. In bf16 they carried a per-image scale error
  of up to 2 % (0.8 % per pixel on average on procedural rooms, shipped model; 0.28 % with it fp32).

Uses only the public graph API: ``Model.clone``, ``Input.replace_source_output``, ``opset13``, tensor
names.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

_EXACT_MODES = {"linear_onnx"}
_EXACT_COORDINATES = {"half_pixel", "pytorch_half_pixel"}  # equal for output sizes > 1


def _host_resizable(node: Any) -> tuple[int, int] | None:
    """The output (H, W) of ``node`` when it is an Interpolate that ``cv2.resize`` reproduces exactly
    (bilinear, half-pixel centres, no antialias or padding, static N x C x H x W that keeps N and C)."""
    if node.get_type_name() != "Interpolate":
        return None
    attributes = node.get_attributes()
    exact = (
        attributes.get("mode") in _EXACT_MODES
        and attributes.get("coordinate_transformation_mode") in _EXACT_COORDINATES
        and not attributes.get("antialias", False)
        and not any(attributes.get("pads_begin", ()))
        and not any(attributes.get("pads_end", ()))
    )
    source, target = node.get_input_partial_shape(0), node.get_output_partial_shape(0)
    if not (exact and source.is_static and target.is_static and len(source) == len(target) == 4):
        return None
    source, target = source.to_shape(), target.to_shape()
    if tuple(source)[:2] != tuple(target)[:2] or min(target[2], target[3]) < 2:
        return None
    return int(target[2]), int(target[3])


def detach_trailing_resizes(model: Any) -> tuple[Any, dict[str, tuple[int, int]]]:
    """(a copy of ``model`` whose outputs skip their trailing host-resizable Interpolate, {output name:
    the (H, W) it resized to}); ``model`` itself and outputs produced otherwise are left as they are."""
    model = model.clone()
    sizes: dict[str, tuple[int, int]] = {}
    for result in model.get_results():
        resize = result.input(0).get_source_output().get_node()
        size_hw = _host_resizable(resize)
        if size_hw is None:
            continue
        names = resize.output(0).get_names()
        source = resize.input_value(0)
        resize.output(0).get_tensor().set_names(set())
        source.get_tensor().add_names(names)
        result.input(0).replace_source_output(source)
        sizes.update((name, size_hw) for name in names)
    if sizes:
        model.validate_nodes_and_infer_types()
    return model, sizes


def resize_output(maps: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """B x C x h x w float32 maps resized to B x C x H x W like the detached Interpolate (a new array)."""
    height, width = size_hw
    out = np.empty((*maps.shape[:2], height, width), dtype=np.float32)
    for index in np.ndindex(*maps.shape[:2]):
        cv2.resize(maps[index], (width, height), dst=out[index], interpolation=cv2.INTER_LINEAR)
    return out


def unfold_vector_products(model: Any) -> int:
    """Replace every ``MatMul`` of a B x C matrix by a C x K (or K x C, ``transpose_b``) matrix with
    ``ReduceSum(Multiply(x[:, :, None], w[None]), axis=1)`` (or the transposed form), in place; returns
    how many. Only products whose inputs are both rank 2: a per-image vector times a weight matrix."""
    from openvino import opset13 as ops

    count = 0
    for node in model.get_ordered_ops():
        ranks = [node.get_input_partial_shape(i).rank for i in range(node.get_input_size())]
        if node.get_type_name() != "MatMul" or any(r.is_dynamic or r.get_length() != 2 for r in ranks):
            continue
        attributes = node.get_attributes()
        if attributes["transpose_a"]:
            continue
        # x: B x C; w: K x C (transpose_b) or C x K. Product terms B x K x C or B x C x K, summed over C.
        x_axis, w_axis, sum_axis = (1, 0, 2) if attributes["transpose_b"] else (2, 0, 1)
        x = ops.unsqueeze(node.input_value(0), ops.constant(np.array([x_axis], np.int64)))
        w = ops.unsqueeze(node.input_value(1), ops.constant(np.array([w_axis], np.int64)))
        product = ops.reduce_sum(ops.multiply(x, w), ops.constant(np.array([sum_axis], np.int64)), False)
        product.output(0).get_tensor().set_names(node.output(0).get_names())
        for target in list(node.output(0).get_target_inputs()):
            target.replace_source_output(product.output(0))
        count += 1
    if count:
        model.validate_nodes_and_infer_types()
    return count
