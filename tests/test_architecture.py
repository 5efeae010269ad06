"""The house rules that keep the package a stack of layers, checked on the source itself.

Layers point down: foundation (errors, countries, products, fields, results, data,
execution) <- ledger,
agreements <- gravity, simulate <- report <- web <- cli (and the front door, which only the
package's lazy ``__getattr__`` loads, by name). Every ``import`` statement in the
package is read (function-level imports included): none may reach a higher layer, and no set
of modules may import each other in a circle. A new top-level module or subpackage must be
given a layer in ``LAYERS`` below (and in docs/architecture.md).
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import tradepact

PACKAGE = Path(tradepact.__file__).parent

#: Layer of each top-level module or subpackage of ``tradepact`` (lower = more basic).
LAYERS = {
    "": 0,  # the package itself: version, error family and the lazy front door (names only)
    "errors": 0, "countries": 0, "products": 0, "fields": 0, "results": 0, "data": 0, "execution": 0,
    "ledger": 1, "agreements": 1,
    "gravity": 2, "simulate": 2,
    "report": 3,
    "web": 4,
    "cli": 5,
    "front_door": 6,  # tradepact.ppml, .run_scenario, ...: imports engines, imported by nothing (loaded lazily)
}


def _modules() -> dict[str, Path]:
    """Dotted name -> source file of every Python module in the package."""
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _is_extension(name: str) -> bool:
    """A compiled module of the package (its C source or built library sits beside the Python files)."""
    parts = name.split(".")
    folder = PACKAGE.parent.joinpath(*parts[:-1])
    return any(folder.glob(parts[-1] + ".c")) or any(folder.glob(parts[-1] + ".*.so")) \
        or any(folder.glob(parts[-1] + ".*.pyd"))


def _target(name: str) -> str:
    """The module an imported dotted name lives in (``tradepact.gravity.ppml`` -> ``tradepact.gravity``)."""
    while name and name not in MODULES and not _is_extension(name):
        name = name.rpartition(".")[0]
    return name


def _imports(module: str) -> list[tuple[str, int]]:
    """(imported module, line) for every import of ``tradepact`` code in ``module``, at any depth."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                full = ".".join(base + ([node.module] if node.module else []))
            else:
                full = node.module or ""
            names = [f"{full}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if name == "tradepact" or name.startswith("tradepact."):
                target = _target(name)
                if target != module:
                    found.append((target, node.lineno))
    return found


def layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else ""
    if top not in LAYERS:
        raise AssertionError(f"{module}: no layer declared for tradepact.{top} (add it to LAYERS and "
                             f"docs/architecture.md)")
    return LAYERS[top]


GRAPH = {m: _imports(m) for m in MODULES}


def test_every_module_has_a_layer():
    for module in MODULES:
        layer(module)


def test_no_module_imports_a_higher_layer():
    upward = [f"{m}:{line} imports {t} (layer {layer(m)} -> {layer(t)})"
              for m, targets in GRAPH.items() for t, line in targets
              if t in MODULES and layer(t) > layer(m)]
    assert not upward, "imports that run upward:\n" + "\n".join(sorted(upward))


def test_library_never_imports_the_command_line():
    bad = [f"{m}:{line}" for m, targets in GRAPH.items() for t, line in targets
           if (t == "tradepact.cli" or t.startswith("tradepact.cli.")) and not m.startswith("tradepact.cli")]
    assert not bad, bad


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    comp.append(top)
                    if top == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_no_import_circles():
    graph = {m: {t for t, _ in targets if t in MODULES} for m, targets in GRAPH.items()}
    circles = _cycles(graph)
    assert not circles, "modules that import each other (in a circle):\n" + "\n".join(
        " <-> ".join(c) for c in circles)


def test_the_cycle_finder_finds_cycles():
    """The checker itself: a known circle and a known chain."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


@pytest.mark.parametrize("module", ["tradepact.simulate.ge", "tradepact.gravity", "tradepact.agreements",
                                    "tradepact.results"])
def test_library_import_loads_no_command_line_packages(module):
    """Importing an engine loads neither typer nor rich (nor any part of tradepact.cli)."""
    code = (f"import sys, {module}; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'rich', 'click') "
            "or m.startswith('tradepact.cli')); print(' '.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"importing {module} loaded: {out.stdout.strip()}"
