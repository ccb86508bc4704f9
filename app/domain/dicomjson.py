"""DICOM JSON (PS3.18 Annex F) checked before it is trusted, and converted to pydicom.

Client input is hostile until proven otherwise: `parse_datasets` turns any byte string
into either a list of well-formed DICOM JSON objects or a DicomJsonError that says, in a
sentence, what is wrong. Nothing in here raises anything else.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

# pydicom is imported where a dataset is converted or the dictionary read, not with the module:
# a command that only names DICOM JSON (`echo`) starts without it
if TYPE_CHECKING:
    from pydicom import Dataset

JsonDataset = dict[str, Any]

MAX_DEPTH = 12  # sequence nesting; real workitems need 3
VRS = frozenset(
    [
        "AE",
        "AS",
        "AT",
        "CS",
        "DA",
        "DS",
        "DT",
        "FD",
        "FL",
        "IS",
        "LO",
        "LT",
        "OB",
        "OD",
        "OF",
        "OL",
        "OV",
        "OW",
        "PN",
        "SH",
        "SL",
        "SQ",
        "SS",
        "ST",
        "SV",
        "TM",
        "UC",
        "UI",
        "UL",
        "UN",
        "UR",
        "US",
        "UT",
        "UV",
    ]
)
_NUMBER_VRS = frozenset(["DS", "FD", "FL", "IS", "SL", "SS", "SV", "UL", "US", "UV"])
_BINARY_VRS = frozenset(["OB", "OD", "OF", "OL", "OV", "OW", "UN"])
_TAG = re.compile(r"^[0-9A-Fa-f]{8}\Z")
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*\Z")
_PN_KEYS = frozenset({"Alphabetic", "Ideographic", "Phonetic"})


class DicomJsonError(ValueError):
    """The payload is not valid DICOM JSON; the message says where and why."""


def parse_datasets(body: bytes | str, *, allow_single: bool = True) -> list[JsonDataset]:
    """The datasets of a DICOM JSON payload (an array; a bare object is accepted too)."""
    try:
        data = json.loads(body)
    except RecursionError:
        raise DicomJsonError("The payload is nested too deeply.") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise DicomJsonError(f"The payload is not valid JSON: {exc}.") from None
    if isinstance(data, dict) and allow_single:
        data = [data]
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise DicomJsonError("The payload must be a JSON array of DICOM JSON datasets.")
    return [normalize(item) for item in data]


def normalize(dataset: Any, depth: int = 0, where: str = "") -> JsonDataset:
    """A checked copy of one DICOM JSON dataset, with tags in upper case."""
    if depth > MAX_DEPTH:
        raise DicomJsonError(f"Sequences are nested more than {MAX_DEPTH} levels deep.")
    if not isinstance(dataset, dict):
        raise DicomJsonError(f"{where or 'The dataset'} must be a JSON object.")
    out: JsonDataset = {}
    for key, element in dataset.items():
        if not isinstance(key, str) or not _TAG.match(key):
            raise DicomJsonError(f"{where}{key!r} is not a DICOM tag (8 hexadecimal digits).")
        tag = key.upper()
        out[tag] = _element(tag, element, depth, f"{where}{tag}")
    return out


def _element(tag: str, element: Any, depth: int, where: str) -> dict[str, Any]:
    if not isinstance(element, dict) or not isinstance(element.get("vr"), str):
        raise DicomJsonError(f"{where} must be an object with a 'vr'.")
    vr = element["vr"]
    if vr not in VRS:
        raise DicomJsonError(f"{where} has an unknown VR {vr!r}.")
    expected = _dictionary_vrs(tag)
    if expected and vr not in expected and vr != "UN":
        raise DicomJsonError(f"{where} has VR {vr}, but the DICOM dictionary says {' or '.join(sorted(expected))}.")
    out: dict[str, Any] = {"vr": vr}
    if "Value" in element:
        values = element["Value"]
        if not isinstance(values, list):
            raise DicomJsonError(f"{where}: 'Value' must be an array.")
        if vr in _BINARY_VRS:
            raise DicomJsonError(f"{where}: VR {vr} carries 'InlineBinary' or 'BulkDataURI', not 'Value'.")
        out["Value"] = [_value(vr, v, depth, f"{where}[{i}]") for i, v in enumerate(values)]
    for binary in ("InlineBinary", "BulkDataURI"):
        if binary in element:
            if not isinstance(element[binary], str):
                raise DicomJsonError(f"{where}: '{binary}' must be a string.")
            out[binary] = element[binary]
    return out


def _value(vr: str, value: Any, depth: int, where: str) -> Any:
    if value is None:
        return None
    if vr == "SQ":
        return normalize(value, depth + 1, where + ".")
    if vr == "PN":
        if isinstance(value, str):  # tolerated: a bare string is the Alphabetic group
            value = {"Alphabetic": value}
        if (
            not isinstance(value, dict)
            or not set(value) <= _PN_KEYS
            or not all(isinstance(v, str) for v in value.values())
        ):
            raise DicomJsonError(
                f"{where}: a person name is an object of Alphabetic, Ideographic and Phonetic strings."
            )
        return dict(value)
    if vr in _NUMBER_VRS:
        if isinstance(value, bool):
            raise DicomJsonError(f"{where}: VR {vr} needs a number, not {value!r}.")
        if isinstance(value, (int, float)):
            return value
        if isinstance(value, str) and vr in ("DS", "IS"):
            try:
                float(value)
            except ValueError:
                raise DicomJsonError(f"{where}: {value!r} is not a number.") from None
            return value
        raise DicomJsonError(f"{where}: VR {vr} needs a number, not {value!r}.")
    if not isinstance(value, str):
        raise DicomJsonError(f"{where}: VR {vr} needs a string, not {value!r}.")
    if vr == "UI" and (len(value) > 64 or not _UID.match(value)):
        raise DicomJsonError(f"{where}: {value!r} is not a UID.")
    if vr == "AT" and not _TAG.match(value):
        raise DicomJsonError(f"{where}: {value!r} is not a tag.")
    return value


@lru_cache(maxsize=4096)  # bounded: a payload of made-up tags must not grow it without end
def _dictionary_vrs(tag: str) -> frozenset[str]:
    """The VRs the dictionary allows for `tag`; remembered, since pydicom's lookup was most of
    checking a payload (about 1 ms of an HTTP Create)."""
    number = int(tag, 16)
    if (number >> 16) % 2 == 1:  # private groups have no dictionary VR
        return frozenset()
    from pydicom.datadict import dictionary_VR

    try:
        return frozenset(v.strip() for v in dictionary_VR(number).split(" or "))
    except KeyError:
        return frozenset()


def to_dataset(dataset: JsonDataset) -> Dataset:
    """A pydicom Dataset of a checked DICOM JSON object."""
    from pydicom import Dataset

    try:
        return Dataset.from_json(dataset)
    except Exception as exc:  # noqa: BLE001 -- pydicom raises many types for odd values; all mean "bad input"
        raise DicomJsonError(f"The dataset cannot be read: {exc}.") from None


def from_dataset(dataset: Dataset) -> JsonDataset:
    return dataset.to_json_dict(bulk_data_threshold=10**9, bulk_data_element_handler=lambda _: "")


def values(dataset: JsonDataset, tag: str) -> list[Any]:
    """The values of a top-level element; empty when it is absent, empty or not an element."""
    element = dataset.get(tag)
    return (element.get("Value") or []) if isinstance(element, dict) else []


def first_value(dataset: JsonDataset, tag: str) -> Any:
    """The first value of a top-level element, or None when absent or empty."""
    found = values(dataset, tag)
    return found[0] if found else None


def items(dataset: JsonDataset, tag: str) -> list[JsonDataset]:
    """The items of a sequence element (anything that is not an item is skipped)."""
    return [v for v in values(dataset, tag) if isinstance(v, dict)]


def element(vr: str, value: Any) -> dict[str, Any]:
    """An element of this VR holding `value`, or an empty (zero-length) one when it has none."""
    return {"vr": vr, "Value": [value]} if value not in (None, "") else {"vr": vr}


def person_name_text(value: Any) -> str:
    """A DICOM JSON person name as its DICOM string: every component group, `=` between them
    (PS3.5 6.2.1), the empty ones at the end left off."""
    if isinstance(value, dict):
        groups = [str(value.get(key) or "") for key in ("Alphabetic", "Ideographic", "Phonetic")]
        while groups and not groups[-1]:
            groups.pop()
        return "=".join(groups)
    return "" if value is None else str(value)


def person_name_json(text: str) -> dict[str, str]:
    """A DICOM person name string as its DICOM JSON value: each `=`-separated group in its place."""
    groups = text.split("=")[:3]
    return {key: group for key, group in zip(("Alphabetic", "Ideographic", "Phonetic"), groups) if group}


def text_value(dataset: JsonDataset, tag: str) -> str | None:
    value = first_value(dataset, tag)
    if value is None:
        return None
    if isinstance(value, dict):
        return value.get("Alphabetic")
    return str(value)
