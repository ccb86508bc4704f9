"""DICOM XML (PS3.19 A.1, the Native DICOM Model) to and from the project's DICOM JSON,
and the multipart/related bodies (PS3.18 8.7.3) that carry several results.

Reading refuses what a hostile client could use against the parser: any DOCTYPE (so no
entity, internal or external, is ever declared or expanded), nesting deeper than the
deepest dataset DICOM JSON accepts, and bodies over MAX_BYTES. Everything malformed ends
as a DicomJsonError with a sentence; what is read is then checked by `dicomjson.normalize`,
so XML and JSON payloads obey the same rules.

Where the two models differ, the conversion settles on one form; JSON → XML → JSON gives
back the same dataset except for these equivalent spellings:
- an empty value (null, "" or an empty person name) is an empty <Value>/<PersonName> and
  comes back as null; an element whose "Value" is [] has no child and comes back without
  "Value" (both are zero-length in DICOM), except a sequence, which comes back with
  "Value": [] as pydicom writes it;
- a person name group loses its trailing "^" separators (empty components are omitted in
  XML) and an empty group is dropped;
- numbers (DS and IS included, even when the JSON gave a string) come back as JSON numbers:
  an integer when the text has neither fraction nor exponent, else a float;
- a private data element whose creator is in the dataset is written as gggg00ee with
  privateCreator (as DCMTK and dcm4che do) and read back into the creator's block.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import secrets
from collections.abc import Iterable
from email.message import Message
from typing import Any
from xml.parsers import expat

from pydicom.datadict import keyword_for_tag

from .dicomjson import MAX_DEPTH, VRS, DicomJsonError, JsonDataset, normalize, parse_datasets

XML_MEDIA_TYPE = "application/dicom+xml"
JSON_MEDIA_TYPE = "application/dicom+json"
NAMESPACE = "http://dicom.nema.org/PS3.19/models/NativeDICOM"
MAX_BYTES = 16 * 1024 * 1024
# NativeDicomModel, then DicomAttribute and Item per sequence level, then PersonName, its
# group and a component: the deepest document a dataset of MAX_DEPTH nested sequences needs.
MAX_XML_DEPTH = 1 + 2 * (MAX_DEPTH + 1) + 3

_INTEGER_VRS = frozenset(["IS", "SL", "SS", "SV", "UL", "US", "UV"])
_DECIMAL_VRS = frozenset(["DS", "FD", "FL"])
_BINARY_VRS = frozenset(["OB", "OD", "OF", "OL", "OV", "OW", "UN"])
_PN_GROUPS = ("Alphabetic", "Ideographic", "Phonetic")
_PN_COMPONENTS = ("FamilyName", "GivenName", "MiddleName", "NamePrefix", "NameSuffix")
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+\Z")
_TAG = re.compile(r"[0-9A-Fa-f]{8}\Z")
# XML 1.0 cannot carry these at all, not even as character references
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]\Z")


# --- JSON → XML ----------------------------------------------------------------------------


def dataset_to_xml(dataset: JsonDataset) -> bytes:
    """One dataset as a PS3.19 NativeDicomModel document, UTF-8 encoded."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>', f'<NativeDicomModel xmlns="{NAMESPACE}" xml:space="preserve">']
    _write_dataset(out, normalize(dataset))
    out.append("</NativeDicomModel>\n")
    # one tag per line, as dcm2xml writes it: whitespace between elements carries nothing
    return "\n".join(out).encode("utf-8")


def _write_dataset(out: list[str], dataset: JsonDataset) -> None:
    creators = _creators(dataset)
    for tag in sorted(dataset, key=lambda t: int(t, 16)):
        element = dataset[tag]
        vr = element["vr"]
        attrs = _tag_attributes(int(tag, 16), creators)
        attrs.insert(1, ("vr", vr))
        out.append(f"<DicomAttribute {' '.join(f'{k}={_attr(v)}' for k, v in attrs)}>")
        carriers = [key for key in ("Value", "InlineBinary", "BulkDataURI") if key in element]
        if len(carriers) > 1:
            raise DicomJsonError(f"{tag} has {' and '.join(carriers)}; XML carries only one of them.")
        if "InlineBinary" in element:
            out.append(f"<InlineBinary>{_text(element['InlineBinary'], tag)}</InlineBinary>")
        elif "BulkDataURI" in element:
            out.append(f"<BulkData uri={_attr(element['BulkDataURI'], tag)}/>")
        for number, value in enumerate(element.get("Value", []), start=1):
            _write_value(out, tag, vr, number, value)
        out.append("</DicomAttribute>")


def _tag_attributes(number: int, creators: dict[tuple[int, int], str]) -> list[tuple[str, str]]:
    group, elem = number >> 16, number & 0xFFFF
    creator = creators.get((group, elem >> 8)) if group % 2 == 1 and elem >= 0x1000 else None
    if creator is not None:
        # PS3.19 A.1: a private data element names its creator and drops the block from its tag
        return [("tag", f"{group:04X}00{elem & 0xFF:02X}"), ("privateCreator", creator)]
    keyword = "" if group % 2 == 1 else keyword_for_tag(number)
    return [("tag", f"{number:08X}")] + ([("keyword", keyword)] if keyword else [])


def _creators(dataset: JsonDataset) -> dict[tuple[int, int], str]:
    """(group, block) → private creator, from the gggg,0010-00FF elements of one dataset."""
    found: dict[tuple[int, int], str] = {}
    for tag, element in dataset.items():
        number = int(tag, 16)
        group, elem = number >> 16, number & 0xFFFF
        value = (element.get("Value") or [None])[0]
        if group % 2 == 1 and 0x10 <= elem <= 0xFF and isinstance(value, str) and value:
            found[(group, elem)] = value
    return found


def _write_value(out: list[str], tag: str, vr: str, number: int, value: Any) -> None:
    if vr == "SQ":
        out.append(f'<Item number="{number}">')
        _write_dataset(out, value or {})
        out.append("</Item>")
    elif vr == "PN":
        out.append(f'<PersonName number="{number}">')
        for group in _PN_GROUPS:
            text = (value or {}).get(group) or ""
            components = text.split("^")
            if len(components) > len(_PN_COMPONENTS):
                raise DicomJsonError(f"{tag}: the person name {text!r} has more than five components.")
            if any(components):
                out.append(f"<{group}>")
                for name, component in zip(_PN_COMPONENTS, components):
                    if component:
                        out.append(f"<{name}>{_text(component, tag)}</{name}>")
                out.append(f"</{group}>")
        out.append("</PersonName>")
    elif value is None:
        out.append(f'<Value number="{number}"/>')
    else:
        out.append(f'<Value number="{number}">{_text(_number_text(tag, value), tag)}</Value>')


def _number_text(tag: str, value: Any) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise DicomJsonError(f"{tag}: {value} is not a number XML or JSON can carry.")
        # 2.0 is written 2, as dcm2xml does; repr keeps every digit of the rest
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    return str(value)


def _text(value: str, tag: str) -> str:
    if _NOT_XML.search(value):
        raise DicomJsonError(f"{tag} holds a control character that XML cannot carry.")
    # a literal CR would come back as LF (XML 1.0 §2.11); LT, ST and UT keep their CR LF
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _attr(value: str, tag: str = "") -> str:
    escaped = _text(value, tag).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")
    return f'"{escaped}"'


# --- XML → JSON ----------------------------------------------------------------------------


class _Node:
    __slots__ = ("name", "attrs", "children", "text")

    def __init__(self, name: str, attrs: dict[str, str]) -> None:
        self.name = name
        self.attrs = attrs
        self.children: list[_Node] = []
        self.text: list[str] = []


def dataset_from_xml(body: bytes | str) -> JsonDataset:
    """The dataset of one NativeDicomModel document, checked like a DICOM JSON payload."""
    root = _parse(body)
    if root.name != "NativeDicomModel":
        raise DicomJsonError(f"The XML document is a <{root.name}>, not a <NativeDicomModel> (PS3.19).")
    return normalize(_read_dataset(root, ""))


def _parse(body: bytes | str) -> _Node:
    data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    if len(data) > MAX_BYTES:
        raise DicomJsonError(f"The XML payload is larger than {MAX_BYTES // (1024 * 1024)} MiB.")
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    stack: list[_Node] = []
    roots: list[_Node] = []

    def refuse_doctype(*_: Any) -> None:
        raise DicomJsonError("The XML payload declares a DOCTYPE, which this server refuses (no DTDs, no entities).")

    def refuse_external(*_: Any) -> int:
        raise DicomJsonError("The XML payload refers to an external entity, which this server refuses.")

    def start(name: str, attrs: dict[str, str]) -> None:
        if len(stack) >= MAX_XML_DEPTH:
            raise DicomJsonError(f"The XML payload is nested more than {MAX_XML_DEPTH} elements deep.")
        node = _Node(name.rpartition("}")[2], attrs)
        (stack[-1].children if stack else roots).append(node)
        stack.append(node)

    def end(_: str) -> None:
        stack.pop()

    def text(data: str) -> None:
        if stack:
            stack[-1].text.append(data)

    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_doctype
    parser.ExternalEntityRefHandler = refuse_external
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        reason = expat.ErrorString(exc.code) if exc.code else "not well-formed"
        raise DicomJsonError(
            f"The payload is not well-formed XML ({reason} at line {exc.lineno}, column {exc.offset})."
        ) from None
    except (LookupError, UnicodeError):
        raise DicomJsonError("The XML payload declares a character encoding this server cannot read.") from None
    return roots[0]


def _text_of(node: _Node, where: str) -> str:
    if node.children:
        raise DicomJsonError(f"{where}: <{node.name}> holds <{node.children[0].name}>, but only text belongs there.")
    return "".join(node.text)


def _no_text(node: _Node, where: str) -> None:
    """Text where only elements belong would otherwise be lost without a word."""
    if "".join(node.text).strip():
        raise DicomJsonError(f"{where or 'The dataset'}: <{node.name}> holds text where only elements belong.")


def _read_dataset(node: _Node, where: str) -> JsonDataset:
    _no_text(node, where)
    read: list[tuple[int, str | None, dict[str, Any]]] = []
    for child in node.children:
        if child.name != "DicomAttribute":
            raise DicomJsonError(
                f"{where or 'The dataset'} holds a <{child.name}> where only <DicomAttribute> belongs."
            )
        tag = child.attrs.get("tag", "")
        if not _TAG.match(tag):
            raise DicomJsonError(f"{where}<DicomAttribute> has tag {tag!r}, not 8 hexadecimal digits.")
        vr = child.attrs.get("vr")
        if vr not in VRS:
            raise DicomJsonError(f"{where}{tag.upper()} has {'no VR' if vr is None else f'an unknown VR {vr!r}'}.")
        read.append(
            (int(tag, 16), child.attrs.get("privateCreator"), _read_element(child, vr, f"{where}{tag.upper()}"))
        )
    return _place_private(read, where)


def _place_private(read: list[tuple[int, str | None, dict[str, Any]]], where: str) -> JsonDataset:
    """Tags for the elements of one dataset, private data elements moved into their creator's block."""
    blocks = {
        (number >> 16, (element.get("Value") or [None])[0]): number & 0xFF
        for number, creator, element in read
        if creator is None and (number >> 16) % 2 == 1 and 0x10 <= number & 0xFFFF <= 0xFF
    }
    out: dict[int, dict[str, Any]] = {}

    def put(number: int, element: dict[str, Any]) -> None:
        if number in out:
            raise DicomJsonError(f"{where}{number:08X} appears twice in the same dataset.")
        out[number] = element

    for number, creator, element in read:
        if creator is None:
            put(number, element)
    for number, creator, element in read:
        if creator is None:
            continue
        group = number >> 16
        if group % 2 == 0:
            raise DicomJsonError(f"{where}{number:08X} names a private creator but is not in a private (odd) group.")
        block = blocks.get((group, creator))
        if block is None:
            free = [b for b in range(0x10, 0x100) if (group << 16 | b) not in out]
            if not free:
                raise DicomJsonError(f"{where}group {group:04X} has no free private block for {creator!r}.")
            block = blocks[(group, creator)] = free[0]
            put(group << 16 | block, {"vr": "LO", "Value": [creator]})
        put(group << 16 | block << 8 | number & 0xFF, element)
    return {f"{number:08X}": out[number] for number in sorted(out)}


def _read_element(node: _Node, vr: str, where: str) -> dict[str, Any]:
    element: dict[str, Any] = {"vr": vr}
    _no_text(node, where)
    kinds = {child.name for child in node.children}
    if len(kinds) > 1:
        raise DicomJsonError(f"{where} mixes {' and '.join(f'<{k}>' for k in sorted(kinds))}; PS3.19 allows one kind.")
    if not kinds:
        return element | ({"Value": []} if vr == "SQ" else {})
    kind = kinds.pop()
    expected = {"SQ": "Item", "PN": "PersonName"}.get(vr, "Value")
    if kind in ("InlineBinary", "BulkData"):
        if len(node.children) > 1:
            raise DicomJsonError(f"{where} has more than one <{kind}>.")
        return element | _read_binary(node.children[0], where)
    if kind != expected:
        raise DicomJsonError(f"{where} (VR {vr}) holds a <{kind}>; its values go in <{expected}>.")
    ordered = _numbered(node.children, where)
    if vr == "SQ":
        element["Value"] = [_read_dataset(item, f"{where}[{i}].") for i, item in enumerate(ordered)]
    elif vr == "PN":
        element["Value"] = [_read_person_name(name, f"{where}[{i}]") for i, name in enumerate(ordered)]
    else:
        element["Value"] = [_read_value(vr, _text_of(v, where), f"{where}[{i}]") for i, v in enumerate(ordered)]
    return element


def _numbered(children: list[_Node], where: str) -> list[_Node]:
    by_number: dict[int, _Node] = {}
    for position, child in enumerate(children, start=1):
        text = child.attrs.get("number", str(position))
        if not text.isdigit() or not 1 <= int(text) <= len(children) or int(text) in by_number:
            raise DicomJsonError(
                f"{where}: its {len(children)} values must be numbered 1 to {len(children)}, each once."
            )
        by_number[int(text)] = child
    return [by_number[n] for n in range(1, len(children) + 1)]


def _read_binary(node: _Node, where: str) -> dict[str, str]:
    if node.name == "BulkData":
        uri = node.attrs.get("uri")
        if not uri:
            raise DicomJsonError(f"{where} refers to bulk data without a URI; send the value as <InlineBinary>.")
        return {"BulkDataURI": uri}
    encoded = "".join(_text_of(node, where).split())
    try:
        base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise DicomJsonError(f"{where}: <InlineBinary> is not Base64.") from None
    return {"InlineBinary": encoded}


def _read_value(vr: str, text: str, where: str) -> Any:
    if vr in _INTEGER_VRS or vr in _DECIMAL_VRS:
        text = text.strip()
        if not text:
            return None
        try:
            number: int | float = int(text) if _INTEGER_TEXT.match(text) else float(text)
        except ValueError:
            raise DicomJsonError(f"{where}: {text[:40]!r} is not a number.") from None
        if vr in _INTEGER_VRS and not isinstance(number, int):
            raise DicomJsonError(f"{where}: VR {vr} needs an integer, not {text[:40]!r}.")
        if isinstance(number, float) and not math.isfinite(number):
            raise DicomJsonError(f"{where}: {text[:40]!r} is not a finite number.")
        return number
    if vr == "AT":
        return text.strip().upper() or None
    return text or None


def _read_person_name(node: _Node, where: str) -> dict[str, str] | None:
    groups: dict[str, str] = {}
    _no_text(node, where)
    for group in node.children:
        _no_text(group, where)
        name = "Alphabetic" if group.name == "SingleByte" else group.name  # PS3.19 before 2013
        if name not in _PN_GROUPS or name in groups:
            raise DicomJsonError(f"{where}: <{group.name}> is not a person name group, or appears twice.")
        slots = dict.fromkeys(_PN_COMPONENTS, "")
        for component in group.children:
            text = _text_of(component, where)
            if component.name not in slots:
                raise DicomJsonError(f"{where}: <{component.name}> is not a person name component.")
            if any(c in text for c in "^=\\"):
                raise DicomJsonError(f"{where}: a name component cannot contain '^', '=' or '\\'.")
            slots[component.name] = text
        groups[name] = "^".join(slots.values()).rstrip("^")
    kept = {name: text for name, text in groups.items() if text}
    return {name: kept[name] for name in _PN_GROUPS if name in kept} or None


# --- multipart/related (PS3.18 8.7.3) --------------------------------------------------------


def multipart_xml(datasets: Iterable[JsonDataset]) -> tuple[bytes, str]:
    """A multipart/related body with one NativeDicomModel part per dataset, and its Content-Type."""
    return _multipart([dataset_to_xml(ds) for ds in datasets], XML_MEDIA_TYPE)


def multipart_json(datasets: Iterable[JsonDataset]) -> tuple[bytes, str]:
    """A multipart/related body with one DICOM JSON part (an array of one dataset) per dataset."""
    parts = [json.dumps([normalize(ds)], ensure_ascii=False, allow_nan=False).encode("utf-8") for ds in datasets]
    return _multipart(parts, JSON_MEDIA_TYPE)


def parse_multipart_xml(body: bytes, content_type: str) -> list[JsonDataset]:
    """The datasets of a multipart/related body of application/dicom+xml parts, in order."""
    return [dataset_from_xml(part) for part in _parts(body, content_type, XML_MEDIA_TYPE)]


def parse_multipart_json(body: bytes, content_type: str) -> list[JsonDataset]:
    """The datasets of a multipart/related body of application/dicom+json parts (arrays or objects)."""
    return [ds for part in _parts(body, content_type, JSON_MEDIA_TYPE) for ds in parse_datasets(part)]


def _multipart(parts: list[bytes], media_type: str) -> tuple[bytes, str]:
    boundary = secrets.token_hex(16)
    while any(boundary.encode() in part for part in parts):
        boundary = secrets.token_hex(16)
    delimiter = b"--" + boundary.encode()
    chunks = [delimiter + b"\r\nContent-Type: " + media_type.encode() + b"\r\n\r\n" + part + b"\r\n" for part in parts]
    body = b"".join(chunks) + delimiter + b"--\r\n"
    return body, f'multipart/related; type="{media_type}"; boundary={boundary}'


def _content_type(header: str) -> Message:
    message = Message()
    message["Content-Type"] = header
    return message


def _parts(body: bytes, content_type: str, media_type: str) -> list[bytes]:
    header = _content_type(content_type)
    if header.get_content_type() != "multipart/related":
        raise DicomJsonError(f"The Content-Type {content_type!r} is not multipart/related.")
    declared = header.get_param("type")
    if isinstance(declared, str) and declared.strip().lower() != media_type:
        raise DicomJsonError(f"The multipart body holds {declared}, not {media_type}.")
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not _BOUNDARY.match(boundary):
        raise DicomJsonError("The multipart Content-Type has no valid boundary.")
    if len(body) > MAX_BYTES:
        raise DicomJsonError(f"The multipart payload is larger than {MAX_BYTES // (1024 * 1024)} MiB.")
    # RFC 2046 5.1.1: a delimiter is CRLF, "--", the boundary; the first may open the body
    pieces = re.split(rb"\r?\n--" + re.escape(boundary.encode()), b"\r\n" + body)
    parts: list[bytes] = []
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            return parts
        blank = re.search(rb"\r?\n\r?\n", piece)
        if blank is None:
            raise DicomJsonError(f"Part {len(parts) + 1} of the multipart body has no blank line after its headers.")
        headers, content = piece[: blank.start()], piece[blank.end() :]
        part_type = _content_type(_part_header(headers, "content-type") or media_type).get_content_type()
        if part_type != media_type:
            raise DicomJsonError(f"Part {len(parts) + 1} of the multipart body is {part_type}, not {media_type}.")
        parts.append(content)
    raise DicomJsonError("The multipart body ends without its closing boundary.")


def _part_header(headers: bytes, name: str) -> str | None:
    for line in headers.decode("latin-1").splitlines():
        key, colon, value = line.partition(":")
        if colon and key.strip().lower() == name:
            return value.strip()
    return None
