"""The teacher-kind registry: help texts and error lists come from it, and a new kind is one loader plus
one registration (no edit of the spec parser, the loaders' dispatch or the command line)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest
from torch import nn

from disdepth_core import teacher_kinds
from disdepth_core.cli.teacher_arguments import add_teacher_arguments
from disdepth_core.models.teachers.spec import (
    TeacherLoader,
    open_teacher,
    parse_teacher_spec,
    teacher_digest,
    teacher_licence,
)
from disdepth_core.teacher_kinds import TeacherKind, register_teacher_kind, spec_help, teacher_kind

BUILT_IN_HELP = (
    "a disdepth checkpoint (.safetensors), a Hugging Face model directory (hf:DIR, with config.json) or "
    "an ONNX depth model (onnx:FILE, with FILE.teacher.json beside it)"
)


class _Constant(nn.Module):
    """A stand-in teacher module: what the fake loader opens."""

    def __init__(self, depth: float) -> None:
        super().__init__()
        self.depth = depth
        self.output_kind = "relative_depth" if depth < 0 else "metric_depth"
        self.scale = None if depth < 0 else 1.0  # a relative teacher opened without a scale


class FakeLoader(TeacherLoader):
    """A loader for a made-up kind ``fake`` (files ``*.fake`` whose first byte is ``F``)."""

    def claims(self, path: Path) -> bool:
        return path.read_bytes()[:1] == b"F"

    def open(self, spec, options) -> nn.Module:
        return _Constant(float(spec.path.read_bytes()[1:].decode()))

    def licence(self, spec) -> str:
        return "fake licence"


FAKE_LOADER = FakeLoader()


@pytest.fixture
def fake_kind(monkeypatch):
    """Register ``fake`` in a copy of the registry (the real one is restored after the test)."""
    monkeypatch.setattr(teacher_kinds, "_KINDS", dict(teacher_kinds._KINDS))
    return register_teacher_kind(
        TeacherKind(
            "fake",
            "a fake depth model (fake:FILE)",
            f"{__name__}:FAKE_LOADER",
            suffixes=(".fake",),
            prefix=True,
            has_features=False,
        )
    )


def test_the_built_in_kinds_and_their_help():
    assert [kind.name for kind in teacher_kinds.teacher_kinds()] == ["acclimated", "checkpoint", "hf", "onnx"]
    assert spec_help() == BUILT_IN_HELP
    assert not teacher_kind("onnx").has_features and teacher_kind("hf").has_features
    with pytest.raises(
        ValueError, match="unknown teacher kind 'nope'; registered: acclimated, checkpoint, hf, onnx"
    ):
        teacher_kind("nope")


def test_a_registered_kind_is_in_the_help_the_errors_and_the_parser(fake_kind, tmp_path):
    assert (
        spec_help()
        == BUILT_IN_HELP.replace(" or an ONNX", ", an ONNX") + " or a fake depth model (fake:FILE)"
    )
    parser = argparse.ArgumentParser()
    add_teacher_arguments(parser)
    assert "a fake depth model (fake:FILE)" in " ".join(parser.format_help().split())
    model = tmp_path / "m.fake"
    model.write_bytes(b"F5")
    for text in (f"fake:{model}", str(model)):
        spec = parse_teacher_spec(text)
        assert (spec.kind, spec.path, spec.has_features) == ("fake", model, False)
    teacher = open_teacher(spec)
    assert isinstance(teacher, _Constant) and teacher.depth == 5.0
    assert teacher_licence(spec) == "fake licence"
    before = teacher_digest(spec)
    model.write_bytes(b"F6")
    assert teacher_digest(spec) != before  # the default files(): the file itself
    other = tmp_path / "m.other"
    other.write_bytes(b"x")
    with pytest.raises(ValueError, match=r"unknown file type '\.other'; give .*or a fake depth model"):
        parse_teacher_spec(str(other))
    unclaimed = tmp_path / "n.fake"
    unclaimed.write_bytes(b"G")  # the loader does not claim it: no kind takes it
    with pytest.raises(ValueError, match=r"unknown file type '\.fake'"):
        parse_teacher_spec(str(unclaimed))
    with pytest.raises(FileNotFoundError, match="is not a file"):
        parse_teacher_spec(f"fake:{tmp_path}")


def test_a_relative_teacher_of_a_new_kind_still_needs_a_scale(fake_kind, tmp_path):
    model = tmp_path / "m.fake"
    model.write_bytes(b"F-1")
    with pytest.raises(ValueError, match="predicts relative_depth: declare a metric scale source"):
        open_teacher(parse_teacher_spec(str(model)))


def test_a_kind_is_registered_once(fake_kind):
    with pytest.raises(ValueError, match="already registered"):
        register_teacher_kind(fake_kind)


def test_the_teacher_arguments_and_kinds_import_without_torch():
    code = (
        "import sys, argparse\n"
        "from disdepth_core.cli.teacher_arguments import add_teacher_arguments\n"
        "add_teacher_arguments(argparse.ArgumentParser())\n"
        "assert 'torch' not in sys.modules\n"
    )
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root, env={"PYTHONPATH": str(root)})


def test_an_acclimated_checkpoint_is_not_opened_by_open_teacher(tmp_path):
    from disdepth_core.models.teachers.spec import TeacherSpec

    spec = TeacherSpec("acclimated", tmp_path / "a.safetensors", "a.safetensors")
    with pytest.raises(ValueError, match="opened by the distill stage"):
        open_teacher(spec)
