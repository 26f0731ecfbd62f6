"""The layer rules of docs/ARCHITECTURE.md ("Layers"), checked on every import statement of the packages,
the lazy ones inside functions included, so the next cycle or layer break fails CI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("disdepth_core", "disdepth_ros")
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"


def stated_rules(text: str) -> list[tuple[str, tuple[str, ...], str]]:
    """``(importer, forbidden, why)`` of each row of the table in the "## Layers" section of ``text``."""
    section = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    rules = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            forbidden = tuple(name.strip(" `") for name in cells[1].split(","))
            rules.append((cells[0].strip("`"), forbidden, cells[2]))
    return rules


LAYER_RULES = stated_rules(ARCHITECTURE.read_text(encoding="utf-8"))


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, root: Path) -> set[str]:
    """Every module ``path`` imports (absolute names), wherever the statement is."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def import_graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    """Module -> the package modules it imports (names that are modules or packages of ``packages``)."""
    files = [f for package in packages for f in sorted((root / package).rglob("*.py"))]
    modules = {module_name(f, root): f for f in files}
    return {
        name: {target for target in imports_of(path, root) if target in modules and target != name}
        for name, path in modules.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The module graph folded onto ``disdepth_core.<subpackage>`` (top-level modules stay themselves)."""

    def unit(name: str) -> str:
        return ".".join(name.split(".")[:2])

    folded: dict[str, set[str]] = {}
    for source, targets in graph.items():
        folded.setdefault(unit(source), set()).update(unit(t) for t in targets if unit(t) != unit(source))
    return folded


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(ROOT, PACKAGES)


def test_no_module_or_package_cycles(graph):
    assert cycles(graph) == []
    assert cycles(package_graph(graph)) == []


def test_the_stated_rules_are_read():
    importers = [importer for importer, _, _ in LAYER_RULES]
    assert importers == [
        "disdepth_core",
        "disdepth_core.runtime",
        "disdepth_core.models",
        "disdepth_core.scale",
        "disdepth_core.evaluation",
        "disdepth_core.train",
    ]
    assert "rclpy" in LAYER_RULES[0][1] and "torch" in LAYER_RULES[3][1]


def test_layer_rules_hold(graph):
    broken = []
    for path in [f for package in PACKAGES for f in (ROOT / package).rglob("*.py")]:
        name = module_name(path, ROOT)
        for importer, forbidden, why in LAYER_RULES:
            if name == importer or name.startswith(importer + "."):
                bad = sorted(
                    t
                    for t in imports_of(path, ROOT)
                    if any(t == f or t.startswith(f + ".") for f in forbidden)
                )
                broken += [f"{name} imports {', '.join(bad)} ({why})"] if bad else []
    assert broken == []


def test_the_checks_catch_a_lazy_cycle_and_a_layer_break(tmp_path):
    """A function-level import closing a cycle, and a relative import, are both seen."""
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.sub import b\n")
    (package / "sub" / "b.py").write_text("def f():\n    from .. import a\n    import rclpy\n")
    graph = import_graph(tmp_path, ("pkg",))
    assert cycles(graph) == [["pkg.a", "pkg.sub.b"]]
    assert cycles(package_graph(graph)) == [["pkg.a", "pkg.sub"]]
    assert "rclpy" in imports_of(package / "sub" / "b.py", tmp_path)


def mapped_modules(text: str) -> dict[str, set[str]]:
    """Package -> the modules named in the first column of its table in the "## Module map" section."""
    section = text.split("## Module map", 1)[1].split("\n## ", 1)[0]
    mapped: dict[str, set[str]] = {}
    package = ""
    for line in section.splitlines():
        if line.startswith("`") and "one row per module" in line:
            package = line.split("`")[1]
        elif line.startswith("| `") and package:
            mapped.setdefault(package, set()).add(line.split("`")[1])
    return mapped


def test_the_module_map_has_one_row_per_module():
    """Every module of both packages has its row in ARCHITECTURE.md, and every row names a module."""
    mapped = mapped_modules(ARCHITECTURE.read_text(encoding="utf-8"))
    assert set(mapped) == set(PACKAGES)
    for package in PACKAGES:
        modules = {
            path.relative_to(ROOT / package).with_suffix("").as_posix()
            for path in (ROOT / package).rglob("*.py")
            if path.name != "__init__.py"
        }
        assert sorted(modules - mapped[package]) == [], f"{package} modules without a row"
        assert sorted(mapped[package] - modules) == [], f"{package} rows naming no module"
