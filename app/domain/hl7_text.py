"""HL7 v2 text as python-hl7's message, whatever ends its segments.

The standard ends a segment with CR; files, editors and some interface engines end them with LF or
CRLF. python-hl7 splits on CR alone, and a blank segment (CRLF read as CR CR) makes its segment
lookups fail, so every field read empty and the message was refused as of type "^".
"""

from __future__ import annotations

import re

import hl7

_LINE_ENDS = re.compile(r"\r\n|\n|\r")


def parse(text: str) -> hl7.Message:
    """The message of `text`; segments ended by CR, LF or CRLF, blank ones left out."""
    return hl7.parse("\r".join(segment for segment in _LINE_ENDS.split(text) if segment.strip()))
