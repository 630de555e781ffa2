"""The pure core stays pure: nothing in state/ does I/O, uses a framework or reads the env."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

STATE = Path(__file__).resolve().parents[1] / "state"

# Modules the core may never import: I/O, processes, clocks, randomness, frameworks, clients.
FORBIDDEN = {
    "os",
    "sys",
    "io",
    "pathlib",
    "socket",
    "subprocess",
    "shutil",
    "tempfile",
    "logging",
    "random",
    "time",
    "threading",
    "multiprocessing",
    "asyncio",
    "urllib",
    "http",
    "sqlite3",
    "redis",
    "psycopg",
    "psycopg_pool",
    "confluent_kafka",
    "bytewax",
    "fastapi",
    "starlette",
    "httpx",
    "requests",
    "uvicorn",
    "typer",
    "click",
    "pydantic_settings",
    "dotenv",
    "connectors",
    "dataflows",
    "api",
}
# Calls that reach outside even without an import.
FORBIDDEN_CALLS = {"open", "input", "print", "getenv", "exec", "eval", "now", "utcnow", "today"}
# The one exception, by name: `state/values.py` writes each hot frozen value's `__init__` from the
# class's own field names at import, as `dataclasses` itself does (with `exec`); no input reaches
# it, and its tests compare every such class with the `__init__` dataclasses writes.
ALLOWED_CALLS = {"values.py": {"exec"}}


def core_modules() -> list[Path]:
    return sorted(STATE.rglob("*.py"))


def imported_roots(tree: ast.AST) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def called_names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                names.add(func.id)
            elif isinstance(func, ast.Attribute):
                names.add(func.attr)
    return names


def test_the_core_has_modules_to_check() -> None:
    assert core_modules(), "state/ has no Python modules"


@pytest.mark.parametrize("module", core_modules(), ids=lambda p: p.name)
def test_a_core_module_imports_no_io_framework_or_environment(module: Path) -> None:
    tree = ast.parse(module.read_text(), filename=str(module))
    assert imported_roots(tree) & FORBIDDEN == set()
    assert called_names(tree) & FORBIDDEN_CALLS == ALLOWED_CALLS.get(module.name, set())
    assert "environ" not in {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}


def test_the_checker_catches_an_impure_module() -> None:
    tree = ast.parse("import os\nfrom redis import Redis\nx = os.environ['A']\nopen('f')")
    assert imported_roots(tree) & FORBIDDEN == {"os", "redis"}
    assert "open" in called_names(tree)
