"""`DepthModel`: encoder -> decoder -> adaptive-bins head, the contract every model in the zoo follows.

See docs/ARCHITECTURE.md (`disdepth_core.models`). The encoder is any module returning a list of
multi-scale features and exposing ``channels`` and ``strides``; the decoder fuses them to one map; the
head turns that map into metric depth.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor, nn

from .heads import BinsHead
from .normalization import IMAGENET_NORM, InputNorm
from .prediction import DepthPrediction


class DepthModel(nn.Module):
    """A metric depth network: ``model(x) -> DepthPrediction`` at the input resolution.

    ``x`` is B x 3 x H x W, RGB in [0, 1] normalised with ``input_norm`` (the backbone's statistics,
    ImageNet mean/std unless the registry says otherwise), H and W as
    ``model_info.check_input_size`` allows.
    ``config`` is JSON-serialisable and ``build_model(name, **config)`` rebuilds the same architecture.
    """

    def __init__(
        self,
        name: str,
        config: dict[str, Any],
        encoder: nn.Module,
        decoder: nn.Module,
        head: BinsHead,
        input_norm: InputNorm = IMAGENET_NORM,
    ) -> None:
        super().__init__()
        self.name = name
        self.config = dict(config)
        self.input_norm = input_norm
        self.encoder = encoder
        self.decoder = decoder
        self.head = head

    @property
    def min_depth(self) -> float:
        return self.head.min_depth

    @property
    def max_depth(self) -> float:
        return self.head.max_depth

    @property
    def canonical_focal_px(self) -> float:
        """Focal length (pixels at the model input) the depth is predicted for; 0 = plain metric depth."""
        return float(self.config.get("canonical_focal_px", 0.0))

    @property
    def n_bins(self) -> int:
        return self.head.n_bins

    @property
    def feature_channels(self) -> tuple[int, ...]:
        return tuple(self.encoder.channels)

    @property
    def feature_strides(self) -> tuple[int, ...]:
        return tuple(self.encoder.strides)

    def encode(self, x: Tensor) -> list[Tensor]:
        """Multi-scale encoder features, described by ``feature_channels`` / ``feature_strides``."""
        return list(self.encoder(x))

    def decode(self, features: Sequence[Tensor], out_hw: tuple[int, int] | Sequence[int]) -> DepthPrediction:
        """Decoder + bins head; depth and uncertainty are resized to ``out_hw``."""
        return self.head(self.decoder(features), tuple(out_hw))

    def forward(self, x: Tensor) -> DepthPrediction:
        return self.decode(self.encode(x), x.shape[-2:])
