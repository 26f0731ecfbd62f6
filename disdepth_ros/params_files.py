"""What a params file gives the depth node, for launch files that set companions up to match the node
(rviz2's display QoS) or warn about a section that names no node they start. The node itself gets its
parameters from rcl; the rule here is rcl's: a section names a node by its fully qualified name (a name
without a leading slash is in the root namespace), `*` matches one token and `/**` any number of them,
and later sections win."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml

from disdepth_ros.params import PARAMETERS

__all__ = ["fully_qualified", "node_parameters", "publisher_reliability"]


def fully_qualified(namespace: str, name: str) -> str:
    """`/<namespace>/<name>` for a relative name in `namespace` ('' or '/' = the root namespace)."""
    tokens = [token for token in f"{namespace}/{name}".split("/") if token]
    return "/" + "/".join(tokens)


def _section_matches(section: str, node: str) -> bool:
    tokens = section.strip("/").split("/")
    pattern = "".join(
        "(?:/[^/]+)*" if token == "**" else "/" + re.escape(token).replace(r"\*", "[^/]*") for token in tokens
    )
    return re.fullmatch(pattern, node) is not None


def _sections(tree: dict, prefix: str = "") -> Iterator[tuple[str, dict]]:
    for key, value in tree.items():
        if not isinstance(value, dict):
            continue
        if "ros__parameters" in value:
            yield f"{prefix}/{key}", value["ros__parameters"] or {}
        else:  # nested namespaces: {ns: {node: {ros__parameters: ...}}}
            yield from _sections(value, f"{prefix}/{key}")


def _flatten(parameters: dict, prefix: str = "") -> dict[str, Any]:
    flat = {}
    for key, value in parameters.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def node_parameters(params_file: str, node: str) -> dict[str, Any]:
    """The parameters `params_file` gives the node with fully qualified name `node`, as dotted names
    (`qos_overrides./points.publisher.reliability`). RuntimeError naming the file when it cannot be read."""
    try:
        with open(params_file, encoding="utf-8") as file:
            document = yaml.safe_load(file) or {}
    except (OSError, yaml.YAMLError) as error:
        raise RuntimeError(f"params_file {params_file}: {error}; pass an existing YAML file") from error
    parameters = {}
    for section, values in _sections(document):
        if _section_matches(section, node):
            parameters.update(_flatten(values))
    return parameters


def publisher_reliability(parameters: dict[str, Any], topic: str) -> str:
    """The reliability the node publishes `topic` (fully qualified) with, given its `parameters` from a
    params file: the per-topic QoS override, else `qos_reliability`, else the node's default."""
    default = parameters.get("qos_reliability", PARAMETERS["qos_reliability"].default)
    return parameters.get(f"qos_overrides.{topic}.publisher.reliability", default)
