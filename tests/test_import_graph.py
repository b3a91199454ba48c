"""The integration's modules import each other without a cycle, at any depth (in functions too),
and the HTTP views share only api/common.py: the /tlwb views and the go-e views never import each
other."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "custom_components" / "tesla_wallbox"


def name_of(path: Path) -> str:
    """The module's dotted name inside the integration; the integration itself is "."."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts) or "."


MODULES = {name_of(path): path for path in PACKAGE.rglob("*.py")}


def imports(name: str) -> set[str]:
    """The integration's modules that a module imports."""
    path = MODULES[name]
    package = [] if name == "." else name.split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - node.level + 1]
            target = ".".join([*base, *([node.module] if node.module else [])]) or "."
            prefix = "" if target == "." else f"{target}."
            submodules = {prefix + alias.name for alias in node.names} & MODULES.keys()
            found |= submodules or {target}
    return found - {name}


GRAPH = {name: imports(name) for name in MODULES}


def cycle() -> list[str] | None:
    """An import cycle, as the modules along it, or None."""
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> list[str] | None:
        if name in path:
            return [*path[path.index(name) :], name]
        if name in done:
            return None
        for imported in sorted(GRAPH[name]):
            if found := visit(imported, [*path, name]):
                return found
        done.add(name)
        return None

    return next((found for name in sorted(GRAPH) if (found := visit(name, []))), None)


def test_the_graph_is_read() -> None:
    assert GRAPH["."] >= {"api", "const"}
    assert GRAPH["api"] >= {"api.goe", "api.tlwb"}
    assert GRAPH["api.goe"] >= {"api.common", "api.goe_keys", "api.goe_plan", "commands"}


def test_no_import_cycle() -> None:
    assert cycle() is None, " -> ".join(cycle() or [])


def test_the_views_share_only_common() -> None:
    assert "api.goe" not in GRAPH["api.tlwb"]
    assert "api.tlwb" not in GRAPH["api.goe"]
    assert not GRAPH["api.common"] & {"api", "api.tlwb", "api.goe", "api.goe_keys", "api.goe_plan"}
