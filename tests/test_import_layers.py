"""The package's imports run one way: no cycle between modules, and the platform's rooms only call downwards.

Every ``import`` statement counts, the lazy ones inside functions too (a cycle hidden in a function body is
still a cycle of design). Rooms: driver → trial → tracking, driver → report → tracking; ``rlkd`` (the method)
never imports the platform.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("rlkd", "rlkd_platform")
# room -> rooms it may import (besides itself and the platform's shared top-level modules)
ALLOWED = {"driver": {"trial", "tracking", "report"}, "trial": {"tracking"}, "report": {"tracking"}, "tracking": set()}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """Project modules imported anywhere in the file (``from a.b import c`` counts a.b.c when it is a module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            if name in modules:
                found.add(name)
    return found


def graph() -> dict[str, set[str]]:
    modules = all_modules()
    return {name: imports_of(path, modules) - {name} for name, path in modules.items()}


def test_no_import_cycle_between_modules() -> None:
    edges = graph()
    # Package __init__ files import their own submodules (registration); those edges are not design cycles.
    edges = {m: {d for d in deps if not d.startswith(m + ".")} for m, deps in edges.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(edges.get(node, ())):
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep):] + [dep]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module)


def room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "rlkd_platform" and len(parts) > 2 else None


def test_platform_rooms_import_downwards_only() -> None:
    bad = []
    for module, deps in graph().items():
        here = room(module)
        for dep in deps:
            there = room(dep)
            if here and there and there != here and there not in ALLOWED[here]:
                bad.append(f"{module} -> {dep}")
    assert not bad, "upward imports: " + ", ".join(sorted(bad))


def test_method_never_imports_the_platform() -> None:
    bad = [f"{m} -> {d}" for m, deps in graph().items() if m.split(".")[0] == "rlkd"
           for d in deps if d.startswith("rlkd_platform")]
    assert not bad, bad


def test_the_walker_sees_lazy_imports() -> None:
    """Guard against a walker that finds nothing: a known lazy import inside a function is seen."""
    edges = graph()
    assert "rlkd_platform.driver.tuning" in edges["rlkd_platform.driver.sweep"]
    assert set(ALLOWED) == {p.name for p in (ROOT / "rlkd_platform").iterdir() if (p / "__init__.py").exists()}
