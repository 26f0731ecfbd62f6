"""``module:attribute`` references, resolved only when used: how the registries (backends, teacher kinds,
dataset kinds) name their factories so that listing the kinds imports none of them (the form of a Python
entry point's object reference)."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["resolve"]


def resolve(reference: str) -> Any:
    """Import ``module`` of ``module:attribute`` and return the (dotted) attribute."""
    module, _, attribute = reference.partition(":")
    target: Any = importlib.import_module(module)
    for part in attribute.split("."):
        target = getattr(target, part)
    return target
