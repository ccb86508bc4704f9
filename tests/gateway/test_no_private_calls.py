"""The gateway reuses the console's backends through what they offer, never through their insides:
a backend may change its private helpers without breaking a gateway."""

from __future__ import annotations

import ast
from pathlib import Path

import app.gateway

GATEWAY = Path(app.gateway.__file__).parent


def private_uses(source: str) -> list[str]:
    """`x._name` where x is not `self` or `cls`: another object's private member."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_") or node.attr.startswith("__"):
            continue
        if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
            continue
        found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_the_gateway_uses_no_private_member_of_another_object():
    uses = {path.name: private_uses(path.read_text(encoding="utf-8")) for path in sorted(GATEWAY.glob("*.py"))}
    assert {name: found for name, found in uses.items() if found} == {}


def test_the_check_sees_a_private_call():
    assert private_uses("async def f(backend):\n    await backend._send('GET', '/')\n") == ["line 2: backend._send"]
