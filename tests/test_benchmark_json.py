"""The benchmarks' JSON results (docs/ cites them) are strict JSON: written with :func:`gyroage.files.json_text`,
which writes a non-finite number as ``null``; ``json.dump``/``json.dumps`` write Python's ``Infinity``/``NaN``."""

from __future__ import annotations

import ast
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def json_writes(source: str) -> list[int]:
    """The lines of ``source`` that call ``json.dump``/``json.dumps`` (or a ``dump``/``dumps`` imported from json)."""
    tree = ast.parse(source)
    imported = {a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module == "json"
                for a in node.names if a.name in ("dump", "dumps")}
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if (isinstance(f, ast.Attribute) and f.attr in ("dump", "dumps") and isinstance(f.value, ast.Name)
                and f.value.id == "json") or (isinstance(f, ast.Name) and f.id in imported):
            lines.append(node.lineno)
    return lines


def test_the_rule_finds_a_bare_json_write():
    assert json_writes("import json\nwith open('x', 'w') as f:\n    json.dump({'a': float('nan')}, f)\n") == [3]
    assert json_writes("from json import dumps as d\nopen('x', 'w').write(d(1))\n") == [2]
    assert json_writes("from gyroage.files import json_text\nprint(json_text({'a': 1}))\n") == []


def test_no_benchmark_writes_json_with_json_dump():
    scripts = sorted(BENCHMARKS.rglob("*.py"))
    assert len(scripts) > 10
    found = {f"{p.relative_to(BENCHMARKS)}:{line}" for p in scripts for line in json_writes(p.read_text())}
    assert not found, f"use gyroage.files.json_text (strict JSON) instead of json.dump(s) at {sorted(found)}"
