"""The depth node's `/diagnostics` message (diagnostic_msgs, REP 107): one `DiagnosticStatus` per node,
named `<fully qualified node name>: depth estimation`, with the health counters, the model, the inputs'
topics and QoS, and the metric scale in force."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

from disdepth_core.runtime import DepthEstimator
from disdepth_core.scale.mount_source import MountSource
from disdepth_core.scale.tracker import ScaleDecision
from disdepth_core.serving.health import Assessment
from disdepth_ros.input_qos import MatchedSubscription

__all__ = ["DIAGNOSTIC_LEVELS", "diagnostic_array", "model_values", "scale_values"]

DIAGNOSTIC_LEVELS = {
    "OK": DiagnosticStatus.OK,
    "WARN": DiagnosticStatus.WARN,
    "ERROR": DiagnosticStatus.ERROR,
}


def model_values(
    estimator: DepthEstimator | None,
    model_path: Path | None,
    inputs: Mapping[str, MatchedSubscription],
) -> dict[str, str]:
    """The loaded model (when configured) and each input's resolved topic and QoS."""
    values = {}
    if estimator is not None:
        values.update(
            {
                "model": estimator.info.name,
                "model path": str(model_path),
                "backend": estimator.backend.name,
                "provider": str(estimator.backend.provider),
            }
        )
    for name, matched in inputs.items():
        values[f"{name} topic"] = matched.topic_name
        values[f"{name} QoS"] = matched.describe()
    return values


def scale_values(decision: ScaleDecision | None, mount_source: MountSource | None) -> dict[str, str]:
    """The last frame's metric scale, its source and reason, and where the camera mount comes from."""
    values = {}
    if decision is not None:
        values["metric scale"] = "none" if decision.scale is None else f"{decision.scale:.4f}"
        values["scale source"] = f"{decision.source} ({decision.state})"
        values["scale reason"] = decision.reason
    if mount_source is not None:
        values["camera mount"] = mount_source.last_error or mount_source.note
    return values


def diagnostic_array(
    node: str, model_name: str | None, assessment: Assessment, values: Mapping[str, str], stamp: Time
) -> DiagnosticArray:
    """The `/diagnostics` message of node `node` (fully qualified) running `model_name` (None: no model)."""
    status = DiagnosticStatus(
        level=DIAGNOSTIC_LEVELS[assessment.level],
        name=f"{node}: depth estimation",
        message=assessment.message,
        hardware_id=f"{node} ({model_name if model_name is not None else 'no model'})",
        values=[KeyValue(key=key, value=value) for key, value in values.items()],
    )
    array = DiagnosticArray(status=[status])
    array.header.stamp = stamp
    return array
