"""The layers of app/ depend one way only (design.md): checked on every import statement."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"
IO_AND_QT = ("PySide6", "qasync", "httpx", "websockets", "pynetdicom", "starlette", "uvicorn", "sqlite3", "socket")
FORBIDDEN = {
    "domain": IO_AND_QT + ("app.server", "app.backends", "app.ui", "app.cli"),
    "server": ("PySide6", "qasync", "app.backends", "app.ui", "app.cli"),
    "backends": ("PySide6", "qasync", "app.server", "app.ui", "app.cli"),
}


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_nothing_above_or_beside_it(layer):
    offenders = []
    for path in sorted((APP / layer).rglob("*.py")):
        for name in imports(path):
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[layer]):
                offenders.append(f"{path.relative_to(APP.parent)} imports {name}")
    assert offenders == []
