"""Stored values on their way out: a value that cannot be written as its VR is sent empty.

Values are checked where they enter (values.py), but a database written by an older version,
or a path that skipped the checks, can still hold a Pregnancy Status of 70000, a DS of NaN, an
IS of 1e999 or InlineBinary that is not base64. Written as they are, they break a whole answer:
a C-FIND stream stops, an N-GET fails, a page of JSON holds a bare NaN that strict parsers
refuse. Here such a value costs only its attribute in that answer, and the caller logs which.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

from .dicomjson import JsonDataset
from .values import BINARY_VRS, FLOAT32_MAX, INTEGER_RANGE

Path = tuple[str, ...]


def writable(dataset: JsonDataset) -> tuple[JsonDataset, list[Path]]:
    """`dataset` with every element whose values cannot be written emptied (its VR kept), and the
    tag paths of those elements. The dataset itself is returned when nothing had to change."""
    faults: list[Path] = []
    cleaned = _dataset(dataset, (), faults)
    return cleaned, faults


def may_hold_non_finite(text: str | bytes) -> bool:
    """Whether JSON `text` (or its UTF-8 bytes) may hold a NaN or Infinity that strict parsers
    refuse, or only a value that spells one: two scans at C speed, so that a whole page of texts
    can be cleared at once."""
    if isinstance(text, bytes):
        return b"NaN" in text or b"Infinity" in text
    return "NaN" in text or "Infinity" in text


def strict_json(text: str) -> tuple[str, list[Path]]:
    """A stored DICOM JSON text (a dataset or an array of them) as JSON any parser reads: elements
    holding NaN or Infinity are emptied. The text is parsed only when it may hold one."""
    if not may_hold_non_finite(text):
        return text, []
    data = json.loads(text)
    faults: list[Path] = []
    if isinstance(data, list):
        data = [_dataset(item, (), faults) if isinstance(item, dict) else item for item in data]
    elif isinstance(data, dict):
        data = _dataset(data, (), faults)
    if not faults:
        return text, []  # "NaN" was text in a value
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False), faults


def _dataset(dataset: JsonDataset, prefix: Path, faults: list[Path]) -> JsonDataset:
    out: JsonDataset | None = None
    for tag, element in dataset.items():
        if not isinstance(element, dict):
            continue
        path = (*prefix, tag)
        replacement = _element(element, path, faults)
        if replacement is not element:
            if out is None:
                out = dict(dataset)
            out[tag] = replacement
    return dataset if out is None else out


def _element(element: dict[str, Any], path: Path, faults: list[Path]) -> dict[str, Any]:
    vr = str(element.get("vr", ""))
    if vr in BINARY_VRS:
        inline = element.get("InlineBinary")
        if inline is not None and not _is_base64(inline):
            faults.append(path)
            return {"vr": vr}
        return element
    values = element.get("Value")
    if not isinstance(values, list):
        return element
    if vr == "SQ":
        items = [_dataset(item, path, faults) if isinstance(item, dict) else item for item in values]
        if any(new is not old for new, old in zip(items, values, strict=True)):
            return {**element, "Value": items}
        return element
    if all(value is None or _fits(vr, value) for value in values):
        return element
    faults.append(path)
    return {"vr": vr}


def _fits(vr: str, value: Any) -> bool:
    """Whether `value` can be written as `vr` (a number in range, a finite decimal): what the
    encoders need, not everything values.py asks of a new value."""
    if isinstance(value, float) and not math.isfinite(value):
        return False  # in any VR: JSON cannot carry it
    if vr in INTEGER_RANGE:
        number = _integer(value)
        low, high = INTEGER_RANGE[vr]
        return number is not None and low <= number <= high
    if vr in ("FL", "FD"):
        return isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) <= _FLOAT_LIMIT[vr]
    if vr == "DS":
        try:
            return math.isfinite(float(value))
        except (TypeError, ValueError, OverflowError):
            return False
    return True


_FLOAT_LIMIT = {"FL": FLOAT32_MAX, "FD": math.inf}


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        try:
            return int(value.strip(" "))
        except ValueError:
            return None
    return None


def _is_base64(text: Any) -> bool:
    try:
        base64.b64decode(str(text), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True
