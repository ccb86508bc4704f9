"""Value formats per VR (PS3.5 6.2), checked on every dataset that enters the store.

`parse_datasets` has already made sure each value has the JSON type its VR needs (a string, a
number, a person-name object); this module checks what the value says: a DT that is a
date-time, a UI of digits and dots, an IS that fits in 32 bits, a DS that is a finite number,
an SH of 16 characters at most. The first fault is refused with a sentence naming the
attribute (its tag path) and the tags themselves, for a DIMSE Offending Element.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable
from datetime import date
from typing import Any

from .dicomjson import JsonDataset
from .status import InvalidRequest, Status

# Longest value in characters (PS3.5 Table 6.2-1); PN's 64 is per component group.
MAX_LENGTH = {
    "AE": 16,
    "AS": 4,
    "CS": 16,
    "DA": 8,
    "DS": 16,
    "DT": 26,
    "IS": 12,
    "LO": 64,
    "LT": 10240,
    "SH": 16,
    "ST": 1024,
    "TM": 16,
    "UI": 64,
}
# VRs whose one value is one line: backslash separates values, control characters are refused.
ONE_LINE = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "SH", "TM", "UC", "UI"})
INTEGER_RANGE = {
    "US": (0, 2**16 - 1),
    "SS": (-(2**15), 2**15 - 1),
    "UL": (0, 2**32 - 1),
    "SL": (-(2**31), 2**31 - 1),
    "UV": (0, 2**64 - 1),
    "SV": (-(2**63), 2**63 - 1),
    "IS": (-(2**31), 2**31 - 1),
}
FLOAT32_MAX = 3.4028234663852886e38
BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})

_CS = re.compile(r"[A-Z0-9 _]*\Z")
_AS = re.compile(r"\d{3}[DWMY]\Z")
_DA = re.compile(r"(\d{4})(\d{2})(\d{2})\Z")
_TM = re.compile(r"([01]\d|2[0-3])(?:([0-5]\d)(?:([0-5]\d|60)(?:\.\d{1,6})?)?)?\Z")
_DT = re.compile(
    r"(\d{4})(?:(\d{2})(?:(\d{2})(?:([01]\d|2[0-3])(?:([0-5]\d)(?:([0-5]\d|60)(?:\.\d{1,6})?)?)?)?)?)?"
    r"(?:[+-](?:0\d|1[0-4])[0-5]\d)?\Z"
)
_UI = re.compile(r"(?:0|[1-9]\d*)(?:\.(?:0|[1-9]\d*))*\Z")
_IS = re.compile(r" *[+-]?\d+ *\Z")
_DS = re.compile(r" *[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)? *\Z")
_CONTROL = re.compile(r"[\x00-\x1a\x1c-\x1f\x7f]")  # ESC (1B) may start a character set switch


class InvalidValue(InvalidRequest):
    """A value that its VR does not allow; `path` is the tag path of the attribute."""

    def __init__(self, path: tuple[str, ...], vr: str, value: Any, why: str) -> None:
        self.path = path
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        super().__init__(
            f"{describe(path)}: {shown} is not a valid {vr} value ({why}).",
            Status.INVALID_ATTRIBUTE_VALUE,
            offending=path,
        )


def describe(path: tuple[str, ...]) -> str:
    """`(0074,1216) > (0040,4050) Performed Procedure Step Start DateTime`: where, and its name."""
    from pydicom.datadict import dictionary_description  # read when a fault is described

    where = " > ".join(f"({tag[:4]},{tag[4:]})" for tag in path)
    try:
        name = dictionary_description(int(path[-1], 16))
    except (KeyError, ValueError):
        name = ""
    return f"{where} {name}".rstrip()


def check_values(dataset: JsonDataset) -> None:
    """Refuse the first value whose format its VR does not allow (InvalidValue, status 0106)."""
    _check(dataset, ())


def _check(dataset: JsonDataset, prefix: tuple[str, ...]) -> None:
    for tag, element in dataset.items():
        if not isinstance(element, dict):
            continue
        path = (*prefix, tag)
        vr = str(element.get("vr", ""))
        if vr in BINARY_VRS:
            _check_binary(path, vr, element.get("InlineBinary"))
            continue
        for value in element.get("Value") or []:
            if value is None or value == "":  # a zero-length value, which every VR allows
                continue
            if vr == "SQ":
                if isinstance(value, dict):
                    _check(value, path)
                continue
            check = _CHECKS.get(vr)
            if check is not None:
                why = check(value)
                if why:
                    raise InvalidValue(path, vr, value, why)


def _check_binary(path: tuple[str, ...], vr: str, inline: object) -> None:
    if inline is None:
        return
    try:
        base64.b64decode(str(inline), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidValue(path, vr, inline, "InlineBinary must be base64") from None


def _text(vr: str, value: Any) -> str | None:
    """What is wrong with a string value of a text VR, or None."""
    if not isinstance(value, str):
        return "a string is needed"
    limit = MAX_LENGTH.get(vr)
    if limit is not None and len(value) > limit:
        return f"at most {limit} characters"
    if vr in ONE_LINE:
        if "\\" in value:
            return "a backslash separates values"
        if _CONTROL.search(value):
            return "no control characters"
    return None


def _pattern(vr: str, pattern: re.Pattern[str], form: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        why = _text(vr, value)
        if why:
            return why
        return None if pattern.match(value if vr == "UI" else value.strip(" ")) else form

    return check


def _date(value: Any) -> str | None:
    why = _text("DA", value) or (None if _DA.match(value.strip(" ")) else "YYYYMMDD")
    if why:
        return why
    return None if _real_date(*_DA.match(value.strip(" ")).groups()) else "no such date"  # type: ignore[union-attr]


def _datetime(value: Any) -> str | None:
    why = _text("DT", value)
    if why:
        return why
    match = _DT.match(value.strip(" "))
    if not match:
        return "YYYYMMDDHHMMSS.FFFFFF&ZZXX, truncated from the right"
    year, month, day = match.group(1), match.group(2), match.group(3)
    return None if _real_date(year, month or "01", day or "01") else "no such date"


def _real_date(year: str, month: str, day: str) -> bool:
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return False
    return True


def _integer(vr: str) -> Callable[[Any], str | None]:
    low, high = INTEGER_RANGE[vr]

    def check(value: Any) -> str | None:
        if isinstance(value, str):
            why = _text(vr, value)
            if why:
                return why
            if not _IS.match(value):
                return "a whole number"
            number: Any = int(value)
        else:
            number = value
        if isinstance(number, float):
            if not math.isfinite(number) or not number.is_integer():
                return "a whole number"
            number = int(number)
        if not isinstance(number, int) or isinstance(number, bool):
            return "a whole number"
        return None if low <= number <= high else f"from {low} to {high}"

    return check


def _decimal(value: Any) -> str | None:
    if isinstance(value, str):
        why = _text("DS", value)
        if why:
            return why
        if not _DS.match(value):
            return "a decimal number"
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "a decimal number"
    return None if math.isfinite(value) else "a finite number"


def _floating(vr: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return "a finite number"
        return "beyond single precision" if vr == "FL" and abs(value) > FLOAT32_MAX else None

    return check


def _person_name(value: Any) -> str | None:
    groups = value.values() if isinstance(value, dict) else [value]
    for group in groups:
        if not isinstance(group, str):
            return "each group is a string"
        if len(group) > 64:
            return "at most 64 characters per group"
        if "\\" in group or "=" in group or _CONTROL.search(group):
            return "no backslash, '=' or control characters in a group"
        if group.count("^") > 4:
            return "at most five components"
    return None


def _plain(vr: str) -> Callable[[Any], str | None]:
    return lambda value: _text(vr, value)


_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "AE": lambda value: _text("AE", value),
    "AS": _pattern("AS", _AS, "nnnD, nnnW, nnnM or nnnY"),
    "CS": _pattern("CS", _CS, "upper-case letters, digits, space and underscore"),
    "DA": _date,
    "DT": _datetime,
    "TM": _pattern("TM", _TM, "HHMMSS.FFFFFF, truncated from the right"),
    "UI": _pattern("UI", _UI, "digits in dot-separated components without leading zeros"),
    "DS": _decimal,
    "FL": _floating("FL"),
    "FD": _floating("FD"),
    "PN": _person_name,
    **{vr: _integer(vr) for vr in INTEGER_RANGE},
    **{vr: _plain(vr) for vr in ("LO", "SH", "ST", "LT", "UC")},
}
