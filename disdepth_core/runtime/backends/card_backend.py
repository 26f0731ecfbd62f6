"""Any ONNX depth model described by a teacher card, on ONNX Runtime (Depth Anything V2/V3, Metric3D,
MiDaS/DPT, PyDNet++ exports: ``model_path`` of the node, ``eval``, ``eval-bag``).

The card (:mod:`disdepth_core.teacher_card`, the same one ``distill-bag --teacher onnx:FILE`` takes)
says what the graph wants and means; this backend turns it into the runtime's contract
(:class:`~disdepth_core.runtime.backends.base.Backend`): :class:`ModelInfo` from the card (input size,
mean/std, colour order, ``output_kind``, depth range ``TeacherCard.min_depth``/``max_depth``), the
estimator's NCHW batch transposed for NHWC graphs, the output reshaped to B x 1 x H x W at the input
size (bilinear), and an inverse-depth output (``relative_inverse_depth``) inverted to depth up to scale
(its unknown shift is taken as 0: a scale source then fixes the scale; Ranftl et al. 2020 fit scale and
shift, which needs ground truth). A relative model's depth becomes metres only through a scale source
(``ground_plane``, ``sparse_depth``, ``range``, ``fixed:F``).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from disdepth_core.model_info import ModelInfo
from disdepth_core.teacher_card import TeacherCard, single_channel_map

__all__ = ["CardBackend"]

_EPS = 1e-6


class CardBackend:
    """ONNX Runtime on a card-described ONNX depth model (see the module docstring)."""

    name = "onnxruntime"

    def __init__(
        self, path: str | Path, card: TeacherCard, device: str = "auto", threads: int | None = None
    ) -> None:
        from disdepth_core.onnx_sessions import open_session

        self.path = Path(path)
        self.card = card
        self.session, reason = open_session(self.path, device, "fp32", threads)
        self._input, self._output = card.graph_names(self.path, self.session)
        self.info = ModelInfo.from_model(
            card,
            card.input_height,
            card.input_width,
            name=card.name or self.path.stem,
            color_order=card.color_order,
            output_kind=card.output,
            recipe="foreign ONNX model with a teacher card",
            extra={"licence": card.licence},
        )
        self.provider = self.session.get_providers()[0]
        self.precision = "fp32"
        self.fixed_input_hw = (card.input_height, card.input_width)
        self.reason = f"{reason}; teacher card {card.name or self.path.stem} ({card.output}, {card.layout})"

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, None]:
        """Run one normalised NCHW batch; returns (B x 1 x H x W float32 depth of the card's kind, None)."""
        feed = batch.transpose(0, 2, 3, 1) if self.card.layout == "NHWC" else batch
        depths = []
        for image in np.ascontiguousarray(feed, dtype=np.float32):  # many exports have a fixed batch of 1
            (result,) = self.session.run([self._output], {self._input: image[None]})
            depths.append(self._depth(np.asarray(result, dtype=np.float32)))
        return np.stack(depths)[:, None], None

    def _depth(self, result: np.ndarray) -> np.ndarray:
        """One H x W map at the input size from a 1xHxW, 1x1xHxW or 1xHxWx1 output; inverse depth inverted."""
        squeezed = single_channel_map(result, self.path)
        height, width = self.fixed_input_hw
        if squeezed.shape != (height, width):
            squeezed = cv2.resize(squeezed, (width, height), interpolation=cv2.INTER_LINEAR)
        if self.card.output == "relative_inverse_depth":
            with np.errstate(divide="ignore", invalid="ignore"):
                squeezed = np.where(squeezed > _EPS, 1.0 / squeezed, np.nan).astype(np.float32)
        return squeezed


def card_backend_for(
    path: Path, card: TeacherCard, backend: str, device: str, precision: str, threads: int | None
) -> CardBackend:
    """The card backend for ``backend`` (auto or onnxruntime) at ``precision`` fp32 (auto: fp32 too);
    ValueError otherwise."""
    if backend not in ("auto", "onnxruntime"):
        raise ValueError(
            f"{path} is a card-described ONNX model: it runs on backend onnxruntime, not {backend}"
        )
    if precision not in ("auto", "fp32"):
        raise ValueError(f"{path} is a card-described ONNX model: it runs in fp32, not {precision}")
    return CardBackend(path, card, device=device, threads=threads)
