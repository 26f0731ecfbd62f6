"""Metric scale sources of a relative teacher's labels (:mod:`.registry`): ``topic`` (:mod:`.topic`),
``fit`` (:mod:`.fit`), ``fixed`` (:mod:`.fixed`)."""

from . import fit, fixed, topic  # noqa: F401 (registration)
from .registry import (
    LabelScaleSource,
    label_scale_names,
    label_scale_usage,
    parse_label_scale,
    register_label_scale,
)

__all__ = [
    "LabelScaleSource",
    "label_scale_names",
    "label_scale_usage",
    "parse_label_scale",
    "register_label_scale",
]
