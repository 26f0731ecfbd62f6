"""The one source-revision helper recorded by checkpoints, exports and model cards."""

import re
import subprocess
from pathlib import Path

from disdepth_core import provenance


def test_revision_of_this_checkout_and_outside_git(monkeypatch):
    if (Path(__file__).resolve().parents[1] / ".git").exists():
        assert re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", provenance.git_revision())

    def no_git(*_args, **_kwargs):
        raise FileNotFoundError("git")

    monkeypatch.setattr(subprocess, "run", no_git)
    assert provenance.git_revision() == "unknown"
