"""The shape of the tree, checked: who may import whom (docs/architecture.md).

Read from the source with `ast`, imports inside functions included, so a lazy import
cannot hide a loop or an arrow from `core/` up into the platforms.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "bots")
PLATFORM_LIBRARIES = ("slack_bolt", "slack_sdk", "discord", "aiohttp")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def imported(path: Path, known: dict[str, Path]) -> Iterator[str]:
    """Every module `path` imports (absolute names), the project's resolved to a module."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                yield submodule if submodule in known else node.module


def by_name(path: Path) -> dict[str, str]:
    """A module-level `ADAPTERS = {"slack": "bots.slack.service", ...}`: imported by name."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "ADAPTERS" for t in node.targets):
            return ast.literal_eval(node.value)  # type: ignore[no-any-return]
    return {}


def graph() -> dict[str, set[str]]:
    known = modules()
    edges = {
        name: {target for target in imported(path, known) if target in known and target != name}
        for name, path in known.items()
    }
    edges["bots.services"] |= set(by_name(known["bots.services"]).values())
    return edges


ADAPTER_PACKAGES = ("bots.slack", "bots.discord", "bots.playground")


def test_the_service_imports_every_adapter_by_name() -> None:
    assert set(by_name(ROOT / "bots" / "services.py").values()) == {f"{p}.service" for p in ADAPTER_PACKAGES}


def test_an_adapter_imports_neither_the_service_nor_another_adapter() -> None:
    crossing = {
        (name, target)
        for name, targets in graph().items()
        for package in ADAPTER_PACKAGES
        if name.startswith(package)
        for target in targets
        if target == "bots.services" or (target.startswith(ADAPTER_PACKAGES) and not target.startswith(package))
    }
    assert crossing == set()


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_its_importer_even_lazily() -> None:
    assert cycles(graph()) == []


def test_core_imports_nothing_from_bots() -> None:
    upward = {
        (name, target)
        for name, targets in graph().items()
        if name.startswith("core")
        for target in targets
        if target.startswith("bots")
    }
    assert upward == set()


@pytest.mark.parametrize("library", PLATFORM_LIBRARIES)
def test_core_imports_no_platform_library(library: str) -> None:
    known = modules()
    users = [
        name
        for name, path in known.items()
        if name.startswith("core") and any(m == library or m.startswith(library + ".") for m in imported(path, known))
    ]
    assert users == []


FOUNDATIONS = (
    "core.models",
    "core.notices",
    "core.observer",
    "core.surface",
    "core.pacing",
    "core.privacy",
    "core.quotas",
    "core.state",
)


def test_the_foundations_of_core_import_nothing_built_on_them() -> None:
    upward = {
        (name, target)
        for name, targets in graph().items()
        if name.startswith(FOUNDATIONS)
        for target in targets
        if target.startswith("core") and not target.startswith(FOUNDATIONS)
    }
    assert upward == set()


def test_the_relay_imports_only_the_foundations() -> None:
    outside = {
        (name, target)
        for name, targets in graph().items()
        if name.startswith("core.relay")
        for target in targets
        if not target.startswith(("core.relay", *FOUNDATIONS))
    }
    assert outside == set()


def test_the_checks_see_a_loop_and_an_upward_arrow() -> None:
    """The checker itself: a made-up loop is found."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert "core.assistant" in graph() and graph()["bots.services"]  # the tree was read
