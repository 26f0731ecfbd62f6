"""Names shared by the teacher code and the command line, importable without torch (fast ``--help``)."""

from __future__ import annotations

OUTPUT_KINDS = ("metric_depth", "relative_depth", "relative_inverse_depth")
SPEC_HELP = (
    "a disdepth checkpoint (.safetensors), a Hugging Face model directory (hf:DIR, with config.json) or "
    "an ONNX depth model (onnx:FILE, with FILE.teacher.json beside it)"
)


def check_output_kind(kind: str, source: str = "teacher output") -> str:
    """``kind`` if it is one of :data:`OUTPUT_KINDS`; ValueError naming ``source`` otherwise."""
    if kind not in OUTPUT_KINDS:
        raise ValueError(f"{source} must be one of {', '.join(OUTPUT_KINDS)}, got {kind!r}")
    return kind
