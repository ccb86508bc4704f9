"""HL7 v2 text as python-hl7's message, whatever ends its segments.

The standard ends a segment with CR; files, editors and some interface engines end them with LF or
CRLF. python-hl7 splits on CR alone, and a blank segment (CRLF read as CR CR) makes its segment
lookups fail, so every field read empty and the message was refused as of type "^".
"""

from __future__ import annotations

import re
from typing import Any

import hl7
from hl7 import parser

_LINE_ENDS = re.compile(r"\r\n|\n|\r")


def parse(text: str) -> hl7.Message:
    """The message of `text`; segments ended by CR, LF or CRLF, blank ones left out."""
    return _parse("\r".join(segment for segment in _LINE_ENDS.split(text) if segment.strip()))


class _Plan(parser._ParsePlan):
    """python-hl7's own parse plan, each level made once: the library makes the next level's plan
    anew for every field, component and subcomponent (some 140 for an order), which was over a
    third of parsing it. What it splits and builds is the library's, unchanged. The two private
    names it uses (_ParsePlan, _split) are those of python-hl7 0.4, which pyproject pins."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._next: _Plan | None | bool = False
        self._inner = self.separators[self.separators.find(self.separator) :]

    def next(self) -> Any:
        if self._next is False:
            self._next = super().next()
        return self._next

    def applies(self, text: str) -> bool:
        return any(separator in text for separator in self._inner)


def _parse(text: str) -> hl7.Message:
    """What `hl7.parse(text)` answers, the same message, parsed with `_Plan`."""
    stripped = text.strip()
    plan = parser.create_parse_plan(stripped)
    return parser._split(stripped, _Plan(plan.separator, plan.separators, plan.containers, plan.esc, plan.factory))


def hex_escapes_as_bytes(raw: bytes) -> bytes:
    """`raw` with each hexadecimal escape (\\Xhh…\\, HL7 v2 chapter 2.7.5) written as its bytes,
    so that they are read in the message's character set like the rest of it: python-hl7 turns
    each byte into the Latin-1 character of its value, so a UTF-8 "\\XC387\\" came out as "Ã\\x87"
    instead of "Ç". An escape whose bytes would hold a separator, the escape character or a line
    end is left for python-hl7 (it is then data, not structure)."""
    if len(raw) < 8 or not raw.startswith(b"MSH"):
        return raw
    escape = raw[6:7]
    if not escape or b"X" not in raw:
        return raw
    reserved = set(raw[3:8]) | {0x0D, 0x0A}

    def as_bytes(found: re.Match[bytes]) -> bytes:
        data = bytes.fromhex(found.group(1).decode("ascii"))
        return found.group(0) if reserved & set(data) else data

    pattern = re.escape(escape) + rb"X((?:[0-9A-Fa-f]{2})+)" + re.escape(escape)
    return re.sub(pattern, as_bytes, raw)
