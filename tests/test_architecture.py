"""The house rules, checked from the source: data flows one way through the rooms, only the torch side imports
torch, no import cycles, no module over 400 lines and no function over 50."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "mobcost"

# Rooms in flow order: a module may import from its own room and the rooms before it, never after.
ROOMS = ["base", "layers", "spec", "graph", "analysis", "importers", "explore", "measure", "torchside", "runtimes",
         "report", "plots", "cli", "api"]
BASE = {"errors", "units", "ir", "files", "version"}
# Third-party libraries and the only rooms allowed to import them (anywhere, lazily or not).
HEAVY = {
    "torch": {"torchside", "runtimes"}, "fvcore": {"torchside"}, "onnx": {"torchside", "runtimes", "importers"},
    "onnxruntime": {"runtimes"}, "ai_edge_litert": {"runtimes"}, "litert_torch": {"runtimes"},
    "flatbuffers": {"runtimes"}, "onnxscript": {"torchside"}, "tflite": {"importers"},
    "tflite_micro": {"measure"}, "ai_edge_quantizer": {"runtimes"},
    "numpy": {"explore", "plots", "torchside", "runtimes"}, "matplotlib": {"plots"}, "pandas": {"report"},
}
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 50


def room(module: str) -> str:
    """``mobcost.spec.decode`` → ``spec``; ``mobcost.errors`` → ``base``; ``mobcost`` → ``api``."""
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in ("__main__",):
        return "api"
    return "base" if parts[1] in BASE else parts[1]


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(p for p in rel.parts if p != "__init__")
        out[name] = path
    return out


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> list[str]:
    if node.level == 0:
        base = node.module or ""
    else:
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, node.module] if node.module else package)
    submodules = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in ALL]
    return submodules or [base]


def imports(module: str, path: Path) -> set[str]:
    """Every module ``module`` imports, at the top or inside a function (``from x import y`` counts x and x.y,
    whichever is a module); imports under ``if TYPE_CHECKING:`` are left out (they never run)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.update(_resolve(module, path, node))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


ALL = modules()


@pytest.mark.parametrize("module", sorted(ALL))
def test_imports_follow_the_flow(module: str) -> None:
    mine = ROOMS.index(room(module))
    for target in imports(module, ALL[module]):
        top = target.split(".")[0]
        if top == "mobcost" and target in ALL:
            assert ROOMS.index(room(target)) <= mine, f"{module} ({room(module)}) imports {target} " \
                                                      f"({room(target)}), against the flow"
        elif top in HEAVY:
            assert room(module) in HEAVY[top], f"{module} imports {top}; only {sorted(HEAVY[top])} may"


def test_no_import_cycles() -> None:
    # Every import counts, a function's lazy ones too: a circle run late still ties two modules together.
    graph = {m: {t for t in imports(m, p) if t in ALL and t != m} for m, p in ALL.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for t in graph[m]:
            if state.get(t) == 1 and not m.startswith(t + "."):  # a package's __init__ running its own modules
                raise AssertionError("import cycle: " + " → ".join([*path, m, t]))
            if t not in state:
                visit(t, [*path, m])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [])


@pytest.mark.parametrize("module", sorted(ALL))
def test_sizes(module: str) -> None:
    text = ALL[module].read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_MODULE_LINES, f"{module} has more than {MAX_MODULE_LINES} lines"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1  # type: ignore[operator]
            assert length <= MAX_FUNCTION_LINES, f"{module}.{node.name} has {length} lines"


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    # The rules must be able to fail: a layers module importing a view, and one importing torch.
    bad = tmp_path / "bad.py"
    bad.write_text("from ..report.formats import human\nimport torch\n\n\ndef late():\n"
                   "    from ..report import terminal\n", encoding="utf-8")
    found = imports("mobcost.layers.bad", bad)
    assert "mobcost.report.formats" in found and "torch" in found
    assert "mobcost.report.terminal" in found  # an import inside a function counts too (and in the cycle test)
    assert ROOMS.index(room("mobcost.report.formats")) > ROOMS.index(room("mobcost.layers.bad"))
    assert "layers" not in HEAVY["torch"]


def test_runtimes_keep_to_themselves() -> None:
    # The shared machinery imports no runtime, and no runtime imports another's code: a new runtime is one
    # module in mobcost/runtimes/ (named in RUNTIMES) plus its tests.
    from mobcost.runtimes import RUNTIMES

    def runtime_of(module: str) -> str | None:
        parts = module.split(".")
        return parts[2] if len(parts) > 2 and parts[1] == "runtimes" else None

    assert set(RUNTIMES.values()) == {runtime_of(m) for m in ALL if runtime_of(m)}
    for module, path in ALL.items():
        targets = {runtime_of(t) for t in imports(module, path)} - {None}
        if room(module) == "measure":
            assert not targets, f"{module} imports a runtime ({targets})"
        elif runtime_of(module):
            assert targets <= {runtime_of(module)}, f"{module} imports another runtime's code ({targets})"


@pytest.mark.parametrize("name", ["torch", "onnxruntime", "litert"])
def test_every_runtime_implements_the_protocol(name: str) -> None:
    pytest.importorskip("torch")
    import inspect

    from mobcost.measure.runtime import Runtime
    from mobcost.runtimes import runtime

    runner = runtime(name)
    assert runner.name == name
    for member, value in inspect.getmembers(Runtime):
        if not member.startswith("_") and inspect.isfunction(value):
            mine = getattr(type(runner), member)
            assert inspect.signature(mine).parameters.keys() == inspect.signature(value).parameters.keys(), member
    for attribute in ("timed", "default_overhead", "calibration_seconds", "summary"):
        assert getattr(runner, attribute)
