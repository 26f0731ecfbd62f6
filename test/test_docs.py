"""The documentation holds together: every relative link (and its #anchor) resolves, and what the README's
commands write into a clone is ignored by git."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors of a markdown file (lower case, punctuation dropped, spaces to hyphens)."""
    headings = re.findall(r"^#+\s+(.+?)\s*$", path.read_text(encoding="utf-8"), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_every_relative_link_and_anchor_resolves():
    broken = []
    for doc in DOCS:
        for target in LINK.findall(doc.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+://", target) or target.startswith("mailto:"):
                continue
            file_part, _, anchor = target.partition("#")
            path = (doc.parent / file_part).resolve() if file_part else doc
            if not path.exists():
                broken.append(f"{doc.relative_to(REPO)}: {target} (no such file)")
            elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
                broken.append(f"{doc.relative_to(REPO)}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


def _readme_outputs() -> set[str]:
    """Top-level folders the README's commands write into: --out/-o targets and make-sample-bag's bag."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    outputs = re.findall(r"(?:--out|-o)\s+([\w./-]+)", text)
    outputs += re.findall(r"make-sample-bag\s+([\w./-]+)", text)
    outputs += ["disdepth_demo/"]  # `disdepth demo`'s default --out
    relative = [o for o in outputs if not o.startswith(("/", "$", "~")) and not o.split(".")[0].isupper()]
    return {o.split("/")[0] + ("/" if "/" in o else "") for o in relative}  # DIR, OUT, MODEL: placeholders


def test_what_the_readme_commands_write_is_ignored_by_git():
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout (git or .git missing): nothing to ignore files in")
    outputs = sorted(_readme_outputs())
    assert {"runs/", "disdepth_demo/"} <= set(outputs), outputs  # the parse found the README's commands
    for output in outputs:
        path = f"{output}x" if output.endswith("/") else output
        checked = subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO, check=False)
        assert checked.returncode == 0, f"the README's commands write {output} into the clone; .gitignore it"
