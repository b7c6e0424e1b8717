"""The layout's promises, checked from the source: torch and onnx only at build time, no import cycles."""

from __future__ import annotations

import ast

from tests.conftest import ROOT

PACKAGE = ROOT / "gyroage"


def _module(path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path) -> set[str]:
    """Every module ``path`` imports, at any depth (function-level imports included)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def _graph() -> dict[str, set[str]]:
    files = {_module(p): p for p in PACKAGE.rglob("*.py")}
    return {m: {i for i in _imports(p) if i in files and i != m} for m, p in files.items()}


def test_torch_and_onnx_are_imported_only_in_the_build_package():
    for path in PACKAGE.rglob("*.py"):
        if "build" in path.relative_to(PACKAGE).parts:
            continue
        heavy = {i for i in _imports(path) if i.split(".")[0] in ("torch", "onnx", "onnxscript")}
        assert not heavy, f"{path.relative_to(ROOT)} imports {sorted(heavy)}"


def test_no_import_cycle_among_gyroage_modules():
    graph = _graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for n in sorted(graph[m]):
            assert state.get(n) != 1, "import cycle: " + " -> ".join(path[path.index(n):] + [n]) if n in path else n
            if n not in state:
                visit(n, path + [n])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])


def test_no_module_is_over_500_lines():
    long = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 500}
    assert not long, long


def test_every_test_runs_under_the_60_s_limit(pytestconfig):
    """pyproject.toml's pytest config: pytest-timeout (the dev extra) fails a test after 60 s instead of letting a hung
    service or subprocess stall the run."""
    assert pytestconfig.pluginmanager.hasplugin("timeout"), "pytest-timeout is not installed: pip install pytest-timeout"
    assert float(pytestconfig.getini("timeout")) == 60
