"""DICOM JSON straight to the bytes of a little-endian data set (PS3.5 7.1), for C-FIND answers.

Going through a pydicom Dataset costs ~0.3 ms per worklist answer, more than finding and
mapping it; a worklist answer holds only text, a few numbers and sequences, which encode in
a few lines. Anything else (binary values, bulk data, numbers that need reformatting) makes
`encode` return None, and the caller uses pydicom for that answer.
"""

from __future__ import annotations

import struct
from typing import Any

from pydicom.charset import convert_encodings, encode_string
from pydicom.valuerep import PersonName

from .dicomjson import JsonDataset, person_name_text

# Explicit VR: these VRs have two reserved bytes and a 4-byte length (PS3.5 Table 7.1-1).
_LONG_VRS = frozenset(["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"])
_TEXT_VRS = frozenset(["LO", "LT", "PN", "SH", "ST", "UC", "UT"])  # encoded by the character set
_ASCII_VRS = frozenset(["AE", "AS", "CS", "DA", "DT", "TM", "UI", "UR"])
_NUMBERS = {"US": "H", "SS": "h", "UL": "I", "SL": "i", "FL": "f", "FD": "d", "UV": "Q", "SV": "q"}  # struct codes
_ITEM = b"\xfe\xff\x00\xe0\xff\xff\xff\xff"  # item, undefined length
_ITEM_END = b"\xfe\xff\x0d\xe0\x00\x00\x00\x00"
_SEQUENCE_END = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"


class _Unsupported(Exception):
    """An element this encoder leaves to pydicom."""


def encode(dataset: JsonDataset, implicit_vr: bool, encodings: list[str] | None = None) -> bytes | None:
    """The data set in Implicit or Explicit VR Little Endian, or None if it holds an element
    this encoder does not handle. `encodings` is the Python codec list of an enclosing data
    set's Specific Character Set (for sequence items)."""
    try:
        return b"".join(_dataset(dataset, implicit_vr, encodings or ["iso8859"]))
    except (_Unsupported, LookupError, ValueError, TypeError, struct.error):
        return None


def _dataset(dataset: JsonDataset, implicit_vr: bool, encodings: list[str]) -> list[bytes]:
    charset = dataset.get("00080005")
    if charset is not None:
        terms = [str(v) for v in charset.get("Value") or []]
        encodings = convert_encodings(terms or [""])
    out: list[bytes] = []
    for tag in sorted(dataset):
        element = dataset[tag]
        group, number = int(tag[:4], 16), int(tag[4:], 16)
        vr = element.get("vr")
        if not vr or "BulkDataURI" in element or "InlineBinary" in element:
            raise _Unsupported(tag)
        header = struct.pack("<HH", group, number)
        if vr == "SQ":
            body = [
                _ITEM + b"".join(_dataset(item or {}, implicit_vr, encodings)) + _ITEM_END
                for item in element.get("Value") or []
            ]
            out.append(header + (b"" if implicit_vr else b"SQ\x00\x00") + b"\xff\xff\xff\xff")
            out.extend(body)
            out.append(_SEQUENCE_END)
            continue
        value = _value(vr, element.get("Value") or [], encodings)
        if implicit_vr:
            out.append(header + struct.pack("<I", len(value)) + value)
        elif vr in _LONG_VRS:
            out.append(header + vr.encode() + b"\x00\x00" + struct.pack("<I", len(value)) + value)
        else:
            if len(value) > 0xFFFF:
                raise _Unsupported(tag)
            out.append(header + vr.encode() + struct.pack("<H", len(value)) + value)
    return out


def _value(vr: str, values: list[Any], encodings: list[str]) -> bytes:
    if vr in _NUMBERS:
        return struct.pack("<" + _NUMBERS[vr] * len(values), *values)
    if vr == "AT":
        return b"".join(struct.pack("<HH", int(v[:4], 16), int(v[4:], 16)) for v in values)
    if vr == "PN":
        names = [person_name_text(v) for v in values]
        joined = "\\".join(names)
        # ASCII is the same bytes in every character set (ISO 2022 included: G0 is ASCII at the
        # start of each value), and most worklist text is ASCII: no codec lookup for it
        raw = joined.encode("ascii") if joined.isascii() else b"\\".join(PersonName(n).encode(encodings) for n in names)
    elif vr in _TEXT_VRS:
        text = "\\".join("" if v is None else str(v) for v in values)
        raw = text.encode("ascii") if text.isascii() else encode_string(text, encodings)
    elif vr in _ASCII_VRS:
        raw = "\\".join("" if v is None else str(v) for v in values).encode("ascii")
    elif vr in ("IS", "DS") and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raw = "\\".join(str(v) for v in values).encode("ascii")
        if any(len(str(v)) > (12 if vr == "IS" else 16) for v in values):
            raise _Unsupported(vr)
    else:
        raise _Unsupported(vr)  # binary VRs, decimal strings needing formatting
    if len(raw) % 2:
        raw += b"\x00" if vr == "UI" else b" "
    return raw
