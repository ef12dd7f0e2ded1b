"""The import graph of ``seglib`` has no cycle, other than the registry loading its method modules."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "seglib"
LOADER = ("seglib.registry", "seglib.methods_index")
"""The one allowed back edge: the registry imports the index of method modules on first lookup."""


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package under ``root``."""
    names = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package modules that ``name`` imports anywhere (module level or inside functions)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            submodules = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules]
            targets = submodules or [base]
        else:
            continue
        found.update(t for t in targets if t in modules and t != name)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = module_files()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def test_the_graph_sees_relative_and_function_level_imports():
    graph = import_graph()
    assert "seglib.registry" in graph["seglib.traditional.threshold"]  # from ..registry import ...
    assert "seglib.methods_index" in graph["seglib.registry"]           # imported inside a function
    assert "seglib.io.matfile" in graph["seglib.io.ground_truth"]       # from . import matfile


def test_no_import_cycle_but_the_registry_loading_its_methods():
    graph = import_graph()
    graph[LOADER[0]].discard(LOADER[1])
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        pytest.fail(f"import cycle in seglib: {' -> '.join(error.args[1])}")


def test_a_cycle_would_be_found():
    graph = import_graph()
    graph["seglib.labels"].add("seglib.pipeline")  # pipeline imports labels: a made-up back edge
    with pytest.raises(graphlib.CycleError):
        graphlib.TopologicalSorter(graph).prepare()
