"""JSON text of plain values, compact and in UTF-8, as the store, the audit file and the events
keep it.

orjson writes it several times faster than the standard library, which every create, change and
event pays for. A value orjson refuses (a lone surrogate, an integer past 64 bits) goes through
the standard library instead, which writes it as it always did; so does one where orjson wrote a
null, as it writes NaN and Infinity, which the standard library keeps as NaN and Infinity for
`writable.strict_json` to find and empty on the way out.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: object, *, non_finite: bool = True) -> str:
    """`value` as compact JSON text: no spaces, non-ASCII characters as themselves. With
    `non_finite` False (a value that holds no NaN, such as an audit line), a null is trusted."""
    try:
        text = orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        text = b"null"
    if non_finite and b"null" in text:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.decode()


def loads(text: str | bytes) -> Any:
    """The value of JSON text as the standard library reads it; orjson reads it, save text it
    refuses (the NaN and Infinity the standard library writes and reads)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
