"""The integration's shape, as docs/architecture.md describes it, read from its sources (ast):
no module above 400 lines and no class above 250; no import cycle, at any depth (in functions and
under TYPE_CHECKING too); the HTTP views share only api/common.py (the /tlwb views and the go-e
views never import each other); and the pure modules reach no Home Assistant, not even through
what they import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

MAX_MODULE_LINES = 400
MAX_CLASS_LINES = 250
# The pure core (docs/architecture.md): plain dataclasses and functions, tested without Home
# Assistant. The surplus package is pure but for its runner.
PURE = (
    "ble_data",
    "charge_point",
    "commands",
    "fact_updates",
    "policy",
    "projection",
    "stream_data",
    "vehicle_data",
    "wallbox",
    "api.goe_keys",
    "api.goe_plan",
    "surplus",
    "surplus.types",
    "surplus.meter",
    "surplus.car",
    "surplus.pacing",
    "surplus.controller",
    "plan",
    "plan.planner",
    "plan.prices",
    "plan.departure",
)

PACKAGE = Path(__file__).parent.parent / "custom_components" / "tesla_wallbox"


def name_of(path: Path) -> str:
    """The module's dotted name inside the integration; the integration itself is "."."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts) or "."


MODULES = {name_of(path): path for path in PACKAGE.rglob("*.py")}


def imports(name: str, *, outside: bool = False) -> set[str]:
    """The integration's modules that a module imports (or, `outside`, the other packages)."""
    path = MODULES[name]
    package = [] if name == "." else name.split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if outside:
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                found.add(node.module)
            continue
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


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_and_class_sizes(name: str) -> None:
    source = MODULES[name].read_text(encoding="utf-8")
    assert len(source.splitlines()) <= MAX_MODULE_LINES
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            size = (node.end_lineno or node.lineno) - node.lineno + 1
            assert size <= MAX_CLASS_LINES, f"class {node.name}: {size} lines"


def test_a_cycle_is_found() -> None:
    """The search itself: a made-up cycle is found, and the real graph has edges to search."""
    GRAPH["const"].add("runtime")
    try:
        found = cycle()
    finally:
        GRAPH["const"].discard("runtime")
    assert found is not None
    assert "const" in found
    assert "runtime" in found


@pytest.mark.parametrize("name", PURE)
def test_pure_modules_reach_no_home_assistant(name: str) -> None:
    reached, todo = set(), [name]
    while todo:
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo.extend(GRAPH[module] - {"."})
    assert "surplus.runner" not in reached
    for module in reached:
        outside = imports(module, outside=True)
        assert not {n for n in outside if n.split(".")[0] in ("homeassistant", "aiohttp")}, module
