"""Input subscriptions whose QoS delivers: matched to the camera publisher's reliability, overridable.

A reliable subscriber never hears a best-effort camera; a best-effort subscriber loses most large frames
from a reliable camera under Fast DDS (640x480 raw: 8 of 50 arrive where a reliable reader gets 50). So,
as image_proc does, an input in `auto` mode takes the reliability of the publishers on its topic:
reliable when every publisher is reliable, best-effort when any is best-effort (the only way to hear
it), and best-effort while none is known yet (it hears either kind). The node re-checks once a second
and re-creates the subscription when a camera appears or changes. History is keep-last with depth 1 by
default (the newest frame wins; the node's mailbox drops stale frames anyway).

Overrides use the standard ROS 2 parameter names of the subscription (REP 2011 style):
`qos_overrides.<resolved topic>.subscription.reliability` (`auto`, `reliable`, `best_effort`) and
`qos_overrides.<resolved topic>.subscription.depth`, e.g. in a params file
`qos_overrides./camera/image_raw.subscription.reliability: reliable`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rcl_interfaces.msg import IntegerRange, ParameterDescriptor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

__all__ = ["RELIABILITY_CHOICES", "MatchedSubscription", "matched_reliability"]

RELIABILITY_CHOICES = {
    "reliable": ReliabilityPolicy.RELIABLE,
    "best_effort": ReliabilityPolicy.BEST_EFFORT,
}
_NAMES = {policy: name for name, policy in RELIABILITY_CHOICES.items()}


def matched_reliability(publisher_reliabilities: list[ReliabilityPolicy]) -> ReliabilityPolicy:
    """Reliable iff there are publishers and all are reliable; otherwise best-effort (hears any)."""
    if publisher_reliabilities and all(r == ReliabilityPolicy.RELIABLE for r in publisher_reliabilities):
        return ReliabilityPolicy.RELIABLE
    return ReliabilityPolicy.BEST_EFFORT


class MatchedSubscription:
    """One input subscription of `node`, (re-)created with the QoS the module docstring describes."""

    def __init__(self, node: Node, msg_type: type, topic: str, callback: Callable[[Any], None]) -> None:
        self._node, self._msg_type, self._topic, self._callback = node, msg_type, topic, callback
        self._reliability = ReliabilityPolicy.BEST_EFFORT
        self._depth = 1
        self.subscription = self._create()
        self.topic_name: str = self.subscription.topic_name  # resolved, after remapping
        prefix = f"qos_overrides.{self.topic_name}.subscription"
        self.mode: str = node.declare_parameter(
            f"{prefix}.reliability",
            "auto",
            ParameterDescriptor(
                description=f"Reliability of the `{self.topic_name}` subscription: auto (match the "
                "publisher), reliable or best_effort",
                read_only=True,
            ),
        ).value
        if self.mode not in ("auto", *RELIABILITY_CHOICES):
            raise ValueError(
                f"parameter {prefix}.reliability must be auto, reliable or best_effort, got {self.mode!r}"
            )
        self._depth = node.declare_parameter(
            f"{prefix}.depth",
            1,
            ParameterDescriptor(
                description=f"History depth of the `{self.topic_name}` subscription (1: newest frame wins)",
                read_only=True,
                integer_range=[IntegerRange(from_value=1, to_value=100, step=1)],
            ),
        ).value
        if self.mode != "auto":
            self._reliability = RELIABILITY_CHOICES[self.mode]
        self.update()
        if self.subscription.qos_profile.depth != self._depth:
            self._recreate()

    @property
    def profile(self) -> QoSProfile:
        return QoSProfile(
            history=HistoryPolicy.KEEP_LAST,
            depth=self._depth,
            reliability=self._reliability,
            durability=DurabilityPolicy.VOLATILE,
        )

    def _create(self) -> Any:
        return self._node.create_subscription(self._msg_type, self._topic, self._callback, self.profile)

    def _recreate(self) -> None:
        self._node.destroy_subscription(self.subscription)
        self.subscription = self._create()

    def update(self) -> str | None:
        """In `auto` mode, match the current publishers; returns a log line when the QoS changed."""
        if self.mode != "auto":
            return None
        publishers = self._node.get_publishers_info_by_topic(self.topic_name)
        if not publishers:
            return None
        wanted = matched_reliability([info.qos_profile.reliability for info in publishers])
        if wanted == self._reliability:
            return None
        self._reliability = wanted
        self._recreate()
        return (
            f"{self.topic_name}: subscribed {_NAMES[wanted]} to match {len(publishers)} publisher(s) "
            f"({', '.join(sorted({_NAMES.get(i.qos_profile.reliability, '?') for i in publishers}))})"
        )

    def describe(self) -> str:
        """E.g. `reliable (auto), keep_last 1, volatile`."""
        return f"{_NAMES[self._reliability]} ({self.mode}), keep_last {self._depth}, volatile"
