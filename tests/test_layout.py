"""The tree is the architecture: dependencies point one way, no cycles, modules stay small.

These are the rules ARCHITECTURE.md states; a change that breaks one fails here, with the
offending import or module named, before a newcomer meets a tangle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "companion"

LAYERS: dict[str, int] = {
    "errors": 0, "yaml_errors": 0, "yamlfile": 1, "privacy": 1, "config": 2,
    "audio": 3,
    "recognition": 4, "speech": 4, "routines": 4,
    "session": 5,
    "cli": 6,
    "__main__": 7,
}
"""Each top-level part of the package and its layer: a part imports only lower layers
(the bottom modules too: errors and yaml_errors, then yamlfile and privacy, then config)."""

MAX_MODULE_LINES = 400
"""No module is longer than this (most are 80-300 lines)."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every ``companion`` module that ``path`` imports, anywhere in the file."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            # ``from companion import yamlfile`` imports the module, not the package
            found.update(f"{target}.{alias.name}" for alias in node.names)
    modules = {_module_name(p) for p in PACKAGE.rglob("*.py")}
    return {target for target in found if target in modules and target != name}


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "companion"


def test_every_part_of_the_package_has_a_layer():
    parts = {_part(m) for m in _graph()} - {"companion"}
    assert parts <= set(LAYERS), f"give these a layer in LAYERS: {sorted(parts - set(LAYERS))}"


def test_dependencies_point_one_way():
    wrong = []
    for module, targets in _graph().items():
        source = _part(module)
        for target in targets:
            other = _part(target)
            if other in ("companion", source) or source not in LAYERS or other not in LAYERS:
                continue  # an unlayered part fails the test above
            if LAYERS[other] >= LAYERS[source]:
                wrong.append(f"{module} imports {target}")
    assert not wrong, "imports against the layers:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles():
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                cycles.append(" -> ".join(stack[stack.index(target):] + [target]))
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.name)
def test_no_module_is_too_long_to_read_in_one_sitting(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(PACKAGE.parent)}: {lines} lines: split it"


def test_architecture_md_names_every_module():
    """ARCHITECTURE.md is the code map: a module it does not name is one a newcomer cannot find."""
    text = (PACKAGE.parent / "ARCHITECTURE.md").read_text(encoding="utf-8")
    unnamed = sorted(p.name for p in PACKAGE.rglob("*.py")
                     if p.name not in ("__init__.py", "__main__.py") and f"`{p.name}`" not in text)
    assert not unnamed, f"name these in ARCHITECTURE.md's code map: {unnamed}"
