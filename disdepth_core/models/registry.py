"""Model registry: named configs and `build_model` (timm-style `register_model` / `list_models`).

A registered entry is an encoder factory plus its default config and the input normalisation its
backbone expects. `build_model` merges overrides into the defaults (unknown keys are an error), builds
the encoder, then the decoder and bins head named by the config, and returns a :class:`DepthModel` whose
``config`` is the full merged dict. ``canonical_focal_px`` > 0 marks a camera-aware model (its depth is
for a camera of that focal length in pixels at the model input; ``disdepth_core.data.focal_augment``);
0 is plain metric depth.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from torch import nn

from .decoder import DECODERS
from .depth_model import DepthModel
from .heads import BinsHead
from .normalization import IMAGENET_NORM, InputNorm

EncoderFactory = Callable[[dict[str, Any]], nn.Module]

# Keys every model config has: the decoder and head settings (ARCHITECTURE.md overrides).
HEAD_DEFAULTS: dict[str, Any] = {
    "min_depth": 0.1,
    "max_depth": 10.0,
    "n_bins": 64,
    "bins_hidden": 128,
    "decoder": "fusion",
    "decoder_width": 128,
    "canonical_focal_px": 0.0,
}


@dataclass(frozen=True)
class ModelEntry:
    factory: EncoderFactory
    defaults: dict[str, Any]
    input_norm: InputNorm


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(
    name: str, defaults: Mapping[str, Any], input_norm: InputNorm = IMAGENET_NORM
) -> Callable[[EncoderFactory], EncoderFactory]:
    """Decorator registering an encoder factory ``f(config) -> encoder`` under ``name``."""

    def decorator(factory: EncoderFactory) -> EncoderFactory:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is already registered")
        _REGISTRY[name] = ModelEntry(factory, {**HEAD_DEFAULTS, **defaults}, input_norm)
        return factory

    return decorator


def list_models() -> list[str]:
    """Names accepted by :func:`build_model`, sorted."""
    return sorted(_REGISTRY)


def default_config(name: str) -> dict[str, Any]:
    """A copy of the default config of ``name``."""
    return dict(_entry(name).defaults)


def build_model(name: str, **overrides: Any) -> DepthModel:
    """Build the registered model ``name`` with config ``overrides`` (e.g. ``max_depth=80.0``)."""
    entry = _entry(name)
    unknown = sorted(set(overrides) - set(entry.defaults))
    if unknown:
        raise ValueError(
            f"build_model({name!r}): unknown config keys {unknown}; valid: {sorted(entry.defaults)}"
        )
    for key, value in overrides.items():
        _check_type(name, key, value, entry.defaults[key])
    config = {**entry.defaults, **overrides}
    if not config["canonical_focal_px"] >= 0.0:
        raise ValueError(
            f"build_model({name!r}): canonical_focal_px must be >= 0, got {config['canonical_focal_px']}"
        )
    if not 0 <= config["min_depth"] < config["max_depth"] < float("inf"):
        raise ValueError(
            f"build_model({name!r}): need 0 <= min_depth < max_depth < inf, got "
            f"[{config['min_depth']}, {config['max_depth']}]"
        )
    if config["decoder"] not in DECODERS:
        raise ValueError(
            f"build_model({name!r}): decoder must be one of {sorted(DECODERS)}, got {config['decoder']!r}"
        )
    encoder = entry.factory(config)
    decoder = DECODERS[config["decoder"]](encoder.channels, encoder.strides, width=config["decoder_width"])
    head = BinsHead(
        decoder.out_channels,
        config["n_bins"],
        config["min_depth"],
        config["max_depth"],
        config["bins_hidden"],
    )
    return DepthModel(name, config, encoder, decoder, head, entry.input_norm)


def _check_type(name: str, key: str, value: Any, default: Any) -> None:
    """A config value must have its default's type (an int is accepted where a float is expected)."""
    if isinstance(default, bool) or default is None:
        ok = isinstance(value, bool) if isinstance(default, bool) else True
    elif isinstance(default, (int, float)):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        ok = ok and (isinstance(default, float) or isinstance(value, int))
    elif isinstance(default, (list, tuple)):
        ok = isinstance(value, (list, tuple))  # JSON headers turn tuples into lists
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ValueError(
            f"build_model({name!r}): config key {key!r} must be {type(default).__name__} like its default "
            f"{default!r}, got {type(value).__name__} {value!r}"
        )


def _entry(name: str) -> ModelEntry:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(list_models())}") from None
