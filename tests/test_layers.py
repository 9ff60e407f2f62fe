"""The package's layers import one way: core <- evaluation kit <- book glue and CLI."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "rbmlib"
ENGINE = [
    "rbmlib._engine.records",
    "rbmlib._engine.jit",
    "rbmlib._engine.blas",
    "rbmlib._engine.sparse",
    "rbmlib._engine.philox",
    "rbmlib._engine.draw",
    "rbmlib._engine.threads",
    "rbmlib._engine.sweep",
    "rbmlib._engine.gibbs",
    "rbmlib._engine.tempered",
    "rbmlib._engine.anneal",
    "rbmlib._engine.train",
]
CORE = [
    "rbmlib",
    "rbmlib.rng",
    "rbmlib.validation",
    "rbmlib._io",
    "rbmlib._engine",
    *ENGINE,
    "rbmlib.data",
    "rbmlib.data.images",
    "rbmlib.data.mnist",
    "rbmlib.model",
    "rbmlib.pretrained",
    "rbmlib.train",
    "rbmlib.train.config",
    "rbmlib.train.loop",
    "rbmlib.train.step",
    "rbmlib.train.state",
    "rbmlib.train.recipes",
    "rbmlib.train.negative",
    "rbmlib.train.guard",
    "rbmlib.train.phased",
    "rbmlib.sampling",
    "rbmlib.evaluate",
    "rbmlib.completion",
    "rbmlib.plotting",
]
KIT = [
    "rbmlib.metrics",
    "rbmlib.metrics.neighbours",
    "rbmlib.metrics.weights",
    "rbmlib.metrics.mixing",
    "rbmlib.metrics.classifier",
    "rbmlib.metrics.quality",
    "rbmlib.metrics.comparison",
    "rbmlib.metrics.ood",
    "rbmlib.metrics.recall",
    "rbmlib.metrics.baselines",
    "rbmlib.metrics.background",
    "rbmlib.metrics.discrimination",
    "rbmlib.sklearn",
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


def test_engine_imports_nothing_of_rbmlib_outside_it():
    """The engine is the bottom layer: its modules import only each other (no model, data or above)."""
    engine = [(n, p) for n, p in _modules() if n.startswith("rbmlib._engine")]
    assert len(engine) == len(ENGINE) + 1
    outside = {n: sorted(i for i in _rbmlib_imports(n, p) if not i.startswith("rbmlib._engine")) for n, p in engine}
    assert {n: i for n, i in outside.items() if i} == {}


def test_importing_rbmlib_does_not_import_numba():
    """The engine is loaded when first used: ``import rbmlib`` (or a model's load) stays light. Of the
    engine only its numba-free records are imported."""
    loaded = _loaded_after_import("rbmlib")
    engine = [m for m in loaded if m == "numba" or m.startswith(("numba.", "rbmlib._engine."))]
    assert engine == ["rbmlib._engine.records"]
    assert "scipy.special._ufuncs" not in loaded and "requests" not in loaded  # lazy scipy.special and pooch


def test_every_public_function_that_draws_takes_rng_keyword_only():
    """The vocabulary's rule: ``rng`` is keyword-only wherever it appears in rbmlib's public API.

    Exempt: the converters whose one argument is the ``rng`` itself (``as_rng``, ``require_seed``)
    and records whose field is a generator (dataclasses such as ``TrainState``).
    """
    import dataclasses
    import importlib
    import inspect

    exempt = {"as_rng", "require_seed"}
    public = [m for m in CORE + KIT + ["rbmlib.book.zoo", "rbmlib.book.nbtools"] if "._" not in m]
    seen, positional = 0, []
    for name in public:
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if attr in exempt or dataclasses.is_dataclass(obj):
                continue
            targets = [obj]
            if inspect.isclass(obj):
                targets = [obj] + [m for n, m in vars(obj).items() if callable(m) and not n.startswith("_")]
            for f in targets:
                try:
                    params = inspect.signature(f).parameters
                except (TypeError, ValueError):
                    continue
                if "rng" in params:
                    seen += 1
                    if params["rng"].kind is not inspect.Parameter.KEYWORD_ONLY:
                        positional.append(f"{name}.{attr}.{getattr(f, '__name__', '')}")
    assert seen > 30 and positional == []


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
                # ``from . import _engine`` imports the submodule, not the package's __init__
                found.update([f"{base}.{a.name}" for a in node.names] if node.module is None else [base])
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


def test_engine_functions_take_few_structured_arguments():
    """Every engine function takes at most 12 parameters: the kernels take records, not long argument lists.

    (BLAS's own ``gemm`` signature, bound in ``blas._gemm``, is the one exception: it is the library's.)
    """
    wide = []
    for name, path in _modules():
        if not name.startswith("rbmlib._engine"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name != "_gemm":
                a = node.args
                n = len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs) + bool(a.vararg) + bool(a.kwarg)
                if n > 12:
                    wide.append(f"{name}.{node.name} ({n})")
    assert wide == []


def test_no_module_is_over_600_lines():
    long = {name: n for name, path in _modules() if (n := len(path.read_text().splitlines())) > 600}
    assert long == {}
