"""Photographic textures: the licence table in docs/data.md is what gets loaded; only allowed licences."""

import json
from pathlib import Path

import numpy as np
import pytest

from disdepth_core.data.synthetic.textures import (
    SCIKIT_IMAGE_SOURCES,
    TextureBank,
    TextureSource,
    default_real_unlabeled_root,
    load_texture_bank,
    real_unlabeled_sources,
)

DOCS = Path(__file__).resolve().parents[1] / "docs" / "data.md"


def _licence_table() -> dict[str, tuple[str, str]]:
    """Rows of the texture licence table in docs/data.md: first cell -> (group, licence)."""
    text = DOCS.read_text(encoding="utf-8")
    start = text.index("| texture | group | role | licence |")
    rows = {}
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip().strip("`") for c in line.strip("|").split("|")]
        rows[cells[0]] = (cells[1], cells[3])
    return rows


def test_docs_table_lists_exactly_the_scikit_image_textures_and_their_licences():
    pytest.importorskip("skimage")
    table = {name: licence for name, (group, licence) in _licence_table().items() if group == "scikit-image"}
    bank = load_texture_bank(("scikit-image",))
    assert {s.name: s.licence for s in bank.sources} == table
    assert {s.name for s in SCIKIT_IMAGE_SOURCES} == set(table)
    allowed = {"CC0-1.0", "public domain"}
    assert set(table.values()) <= allowed


def test_loaded_real_unlabeled_images_carry_the_documented_licence():
    root = default_real_unlabeled_root()
    if not (root / "index.json").is_file():
        pytest.skip("../shared/data/real_unlabeled not present")
    table = {
        group: licence for group, licence in _licence_table().values() if group in ("rtabmap", "manydepth")
    }
    assert set(table) == {"rtabmap", "manydepth"}
    index = {Path(e["file"]).stem: e for e in json.loads((root / "index.json").read_text())}
    for group, licence in table.items():
        sources = real_unlabeled_sources(group, root)
        assert sources and all(s.group == group for s in sources)
        for source in sources:
            assert source.licence.startswith(licence)
            assert index[source.name.split("/", 1)[1]]["license"] == source.licence


def test_images_with_other_licences_or_folders_are_never_used(tmp_path):
    entries = [
        {"file": "rtabmap/a.jpg", "license": "BSD-3-Clause (rtabmap)", "source": "x", "channels": 3},
        {"file": "rtabmap/b.jpg", "license": "CC BY-NC-SA 3.0", "source": "x", "channels": 3},
        {"file": "rtabmap/c.jpg", "license": "BSD-3-Clause (rtabmap)", "source": "x", "channels": 1},
        {"file": "karlsruhe/d.png", "license": "BSD-3-Clause (rtabmap)", "source": "x", "channels": 3},
    ]
    (tmp_path / "index.json").write_text(json.dumps(entries))
    assert [s.name for s in real_unlabeled_sources("rtabmap", tmp_path)] == ["rtabmap/a"]
    with pytest.raises(FileNotFoundError, match="manydepth"):
        real_unlabeled_sources("manydepth", tmp_path)
    with pytest.raises(FileNotFoundError, match="real_unlabeled"):
        real_unlabeled_sources("rtabmap", tmp_path / "missing")
    with pytest.raises(ValueError, match="superglue"):
        real_unlabeled_sources("superglue", tmp_path)


def _source(name, image, role="picture"):
    return TextureSource(name, "test", role, "CC0-1.0", "test", lambda: image)


def test_sampling_mirrors_and_picks_coarser_mips_for_large_footprints():
    image = np.zeros((64, 64, 3), np.uint8)
    image[:, 32:] = 255  # left half black, right half white
    bank = TextureBank([_source("t/halves", image)])
    u = np.array([0.1, 0.9, 1.1, 1.9])  # 1.1 mirrors onto 0.9 (white), 1.9 onto 0.1 (black)
    fine = bank.sample(0, u, np.full(4, 0.5), np.full(4, 1 / 64))
    np.testing.assert_allclose(fine[:, 0], [0.0, 1.0, 1.0, 0.0], atol=1e-6)
    coarse = bank.sample(0, np.array([0.45]), np.array([0.5]), np.array([0.5]))  # a 4x4 mip: blurred edge
    assert 0.0 < coarse[0, 0] < 1.0


def test_surface_textures_are_normalised_and_fingerprint_follows_content():
    dark = np.full((16, 16, 3), 40, np.uint8)
    a = TextureBank([_source("t/dark", dark, role="surface")])
    mean = a.sample(0, np.linspace(0, 1, 50), np.full(50, 0.5), np.full(50, 1 / 16)).mean()
    assert mean == pytest.approx(0.5, rel=0.02)
    b = TextureBank([_source("t/dark", dark + 1, role="surface")])
    assert a.fingerprint != b.fingerprint
    assert a.fingerprint == TextureBank([_source("t/dark", dark.copy(), role="surface")]).fingerprint


def test_missing_scikit_image_is_named_and_an_empty_bank_renders_procedurally(monkeypatch):
    import sys

    from disdepth_core.data.synthetic import KINDS, render_scene

    monkeypatch.setitem(sys.modules, "skimage", None)
    monkeypatch.setitem(sys.modules, "skimage.data", None)
    with pytest.raises(ImportError, match=r"scikit-image==0\.26\.0"):
        SCIKIT_IMAGE_SOURCES[0].load()
    empty = TextureBank(())
    for kind in KINDS:
        a = render_scene(4, 24, 32, kind, textures=empty)
        b = render_scene(4, 24, 32, kind, textures=empty)
        np.testing.assert_array_equal(a["image"], b["image"])
        assert a["image"].std() > 5 and (a["depth"] > 0).mean() > 0.5
