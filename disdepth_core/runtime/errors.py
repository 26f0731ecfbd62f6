"""Errors of the runtime beyond a bad model file (:mod:`disdepth_core.model_files`)."""

from __future__ import annotations


class PrecisionCheckError(RuntimeError):
    """A reduced-precision model (e.g. a TensorRT fp16 engine) was refused: its depth differs from the
    fp32 model's by more than the allowed bound; nothing was kept."""
