"""The package's layers import one way: core <- evaluation kit <- book glue and CLI."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "rbmlib"
CORE = [
    "rbmlib",
    "rbmlib.rng",
    "rbmlib._io",
    "rbmlib._kernels",
    "rbmlib._fast",
    "rbmlib.data",
    "rbmlib.model",
    "rbmlib.train",
    "rbmlib.train.loop",
    "rbmlib.train.updates",
    "rbmlib.train.state",
    "rbmlib.train.recipes",
    "rbmlib.sampling",
    "rbmlib.evaluate",
    "rbmlib.completion",
    "rbmlib.plotting",
]
KIT = [
    "rbmlib.metrics",
    "rbmlib.metrics.classifier",
    "rbmlib.metrics.quality",
    "rbmlib.metrics.comparison",
    "rbmlib.metrics.ood",
    "rbmlib.metrics.recall",
    "rbmlib.metrics.baselines",
    "rbmlib.metrics.background",
    "rbmlib.metrics.discrimination",
]
ABOVE_CORE = ("rbmlib.metrics", "rbmlib.book", "rbmlib.cli", "sklearn")
ABOVE_KIT = ("rbmlib.book", "rbmlib.cli")


def _loaded_after_import(module: str) -> list[str]:
    code = f"import sys, json, {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_nothing_above_it(module):
    loaded = _loaded_after_import(module)
    assert [m for m in loaded if m.startswith(ABOVE_CORE)] == []


@pytest.mark.parametrize("module", KIT)
def test_kit_imports_neither_book_nor_cli(module):
    loaded = _loaded_after_import(module)
    assert [m for m in loaded if m.startswith(ABOVE_KIT)] == []


def _modules():
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG.parent).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        yield name, path


def _rbmlib_imports(name: str, path: Path) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            if base.startswith("rbmlib"):
                found.add(base)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("rbmlib"))
    return found


def test_no_import_cycles():
    graph = {name: _rbmlib_imports(name, path) for name, path in _modules()}

    def reaches(start, goal, seen=()):
        return any(
            dep == goal or (dep not in seen and dep in graph and reaches(dep, goal, (*seen, dep)))
            for dep in graph[start]
            if dep != start and not goal.startswith(dep + ".")
        )

    cycles = [
        (a, b) for a in graph for b in graph[a] if b in graph and b != a and not a.startswith(b + ".") and reaches(b, a)
    ]
    assert cycles == []


def test_rbmlib_imports_sit_at_module_top():
    inside = []
    for name, path in _modules():
        for func in ast.walk(ast.parse(path.read_text())):
            if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(func):
                    if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("rbmlib")):
                        inside.append(f"{name}.{func.name}")
    assert inside == []
