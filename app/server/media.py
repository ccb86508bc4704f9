"""The media types the HTTP doors read and write (PS3.18 8.7): DICOM JSON, DICOM XML (the Native
DICOM Model of PS3.19), and the multipart/related forms of both for search answers.

A request body is read by its Content-Type; an answer is written in the first form the client's
Accept allows, in the order of its q-values, DICOM JSON when it names none of ours (406 when
it names only others).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from app.domain.dicomjson import DicomJsonError, JsonDataset, parse_datasets
from app.domain.dicomxml import (
    dataset_from_xml,
    dataset_to_xml,
    multipart_json,
    multipart_xml,
    parse_multipart_json,
    parse_multipart_xml,
)

DICOM_JSON = "application/dicom+json"
DICOM_XML = "application/dicom+xml"
MULTIPART = "multipart/related"
# What a body may be sent as; the door refuses anything else with 415.
BODY_TYPES = (DICOM_JSON, "application/json", DICOM_XML, MULTIPART)


class UnsupportedMediaType(Exception):
    pass


class NotAcceptable(Exception):
    pass


@dataclass(frozen=True)
class Form:
    """How an answer is written: `xml` or not, and as multipart/related parts or not."""

    xml: bool = False
    multipart: bool = False

    @property
    def name(self) -> str:
        inner = DICOM_XML if self.xml else DICOM_JSON
        return f'{MULTIPART}; type="{inner}"' if self.multipart else inner


JSON = Form()


def _type_parameter(header: str) -> str:
    for part in header.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "type":
            return value.strip().strip('"').lower()
    return ""


def read(body: bytes, content_type_header: str) -> list[JsonDataset]:
    """The datasets of a request body, by its Content-Type (DicomJsonError when malformed)."""
    kind = content_type_header.split(";")[0].strip().lower()
    if kind in (DICOM_JSON, "application/json"):
        return parse_datasets(body)
    if kind == DICOM_XML:
        return [dataset_from_xml(body)]
    if kind == MULTIPART:
        inner = _type_parameter(content_type_header)
        if inner == DICOM_XML:
            return parse_multipart_xml(body, content_type_header)
        if inner == DICOM_JSON:
            return parse_multipart_json(body, content_type_header)
        raise UnsupportedMediaType(f'{MULTIPART}; type="{inner or "(none given)"}"')
    raise UnsupportedMediaType(kind or "(none given)")


def _ranges(accept: str) -> list[tuple[float, int, str, str]]:
    """The Accept header's media ranges as (q, position, type, type parameter), best first."""
    ranges = []
    for position, item in enumerate(accept.split(",")):
        kind = item.split(";")[0].strip().lower()
        if not kind:
            continue
        q = 1.0
        for parameter in item.split(";")[1:]:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            ranges.append((-q, position, kind, _type_parameter(item)))
    return [(-q, p, k, t) for q, p, k, t in sorted(ranges)]


def choose(accept: str, *, many: bool) -> Form:
    """The form of an answer for this Accept header. `many`: a search, whose XML goes as
    multipart/related (one Native DICOM Model part per dataset, PS3.18 8.7.3.3)."""
    if not accept.strip():
        return JSON
    for _, _, kind, inner in _ranges(accept):
        if kind in (DICOM_JSON, "application/json", "application/*", "*/*"):
            return JSON
        if kind == DICOM_XML:
            return Form(xml=True, multipart=many)
        if kind in (MULTIPART, "multipart/*"):
            if inner == DICOM_XML:
                return Form(xml=True, multipart=True)
            if inner in (DICOM_JSON, ""):
                return Form(xml=False, multipart=True)
    raise NotAcceptable(accept)


def write(datasets: list[JsonDataset], form: Form, *, many: bool) -> tuple[bytes, str]:
    """The body and Content-Type of an answer holding `datasets` in `form`. A single resource
    (`many` false) written as XML is one Native DICOM Model document."""
    if form.multipart:
        return multipart_xml(datasets) if form.xml else multipart_json(datasets)
    if form.xml:
        if many or len(datasets) != 1:
            return multipart_xml(datasets)
        return dataset_to_xml(datasets[0]), DICOM_XML
    return json.dumps(datasets, ensure_ascii=False, allow_nan=False).encode(), DICOM_JSON


__all__ = [
    "BODY_TYPES",
    "DICOM_JSON",
    "DICOM_XML",
    "DicomJsonError",
    "Form",
    "NotAcceptable",
    "UnsupportedMediaType",
    "choose",
    "read",
    "write",
]
