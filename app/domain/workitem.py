"""A typed view of a UPS workitem: its DICOM JSON read by meaning, its pydicom Dataset on demand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING

from . import tags as t
from .dates import DateValueError, parse_dt
from .dicomjson import JsonDataset, first_value, from_dataset, to_dataset
from .dicomjson import items as _items
from .states import InputReadiness, Priority, State

if TYPE_CHECKING:  # imported where a Dataset is made: reading the JSON form needs no pydicom
    from pydicom import Dataset


@dataclass(frozen=True)
class Code:
    """A coded entry (PS3.3 Table 8.8-1): value, scheme and meaning."""

    value: str
    scheme: str
    meaning: str = ""

    @classmethod
    def from_item(cls, item: Dataset) -> Code:
        return cls(
            str(item.get("CodeValue", "") or item.get("LongCodeValue", "") or item.get("URNCodeValue", "") or ""),
            str(item.get("CodingSchemeDesignator", "") or ""),
            str(item.get("CodeMeaning", "") or ""),
        )

    def to_item(self) -> Dataset:
        from pydicom import Dataset

        item = Dataset()
        item.CodeValue = self.value
        item.CodingSchemeDesignator = self.scheme
        item.CodeMeaning = self.meaning or self.value
        return item


@dataclass(frozen=True)
class PatientName:
    alphabetic: str = ""
    ideographic: str = ""
    phonetic: str = ""

    def display(self) -> str:
        """`FAMILY, Given` of the alphabetic group, the ideographic one beside it if any."""
        parts = self.alphabetic.split("^")
        text = parts[0] + (", " + " ".join(p for p in parts[1:] if p) if len(parts) > 1 and any(parts[1:]) else "")
        if self.ideographic:
            ideo = " ".join(p for p in self.ideographic.split("^") if p)
            text = f"{text} ({ideo})" if text else ideo
        return text


@dataclass(frozen=True)
class Performed:
    """The UPS Performed Procedure Sequence item (what was done)."""

    station: Code | None = None
    start: str = ""
    end: str = ""
    procedures: tuple[Code, ...] = ()
    performers: tuple[str, ...] = ()
    series_uids: tuple[str, ...] = field(default_factory=tuple)
    series_descriptions: tuple[str, ...] = field(default_factory=tuple)  # beside series_uids, "" where none


def _text(data: JsonDataset, tag: str) -> str:
    value = first_value(data, tag)
    if value is None:
        return ""
    if isinstance(value, dict):  # a person name
        return str(value.get("Alphabetic", ""))
    return str(value)


def _code(item: JsonDataset) -> Code:
    return Code(
        _text(item, t.CODE_VALUE) or _text(item, "00080119") or _text(item, "00080120"),
        _text(item, t.CODING_SCHEME),
        _text(item, t.CODE_MEANING),
    )


class Workitem:
    """Read access, by meaning, to the attributes of one UPS.

    It reads the DICOM JSON form directly (fast enough for a 10 000-row worklist) and
    offers the pydicom Dataset, built on first use, for everything else.
    """

    def __init__(self, data: JsonDataset | Dataset) -> None:
        if isinstance(data, dict):  # DICOM JSON; a pydicom Dataset is no dict
            self._dataset: Dataset | None = None
            self.json: JsonDataset = data
        else:
            self._dataset = data
            self.json = from_dataset(data)

    @property
    def dataset(self) -> Dataset:
        if self._dataset is None:
            self._dataset = to_dataset(self.json)
        return self._dataset

    def __repr__(self) -> str:
        return f"Workitem({self.uid!r}, {self.state}, {self.label!r})"

    def keeping_performed_of(self, known: Workitem) -> Workitem:
        """This answer, with the performed data `known` (an earlier Retrieve of the same step, in
        the same state) held: a Search leaves the UPS Performed Procedure Sequence out (it is no
        search key; our server and others answer without it), and a search answer arriving after
        a Retrieve must not erase who performs a procedure and what they reported."""
        if (
            t.PERFORMED_PROCEDURE_SEQ in self.json
            or t.PERFORMED_PROCEDURE_SEQ not in known.json
            or known.uid != self.uid
            or known.state != self.state
        ):
            return self
        return Workitem({**self.json, t.PERFORMED_PROCEDURE_SEQ: known.json[t.PERFORMED_PROCEDURE_SEQ]})

    def text(self, tag: str) -> str:
        """The first value of a top-level attribute as text ("" when absent or empty)."""
        return _text(self.json, tag)

    @property
    def uid(self) -> str:
        return self.text(t.SOP_INSTANCE_UID)

    @property
    def state(self) -> State | None:
        try:
            return State(self.text(t.PROCEDURE_STEP_STATE))
        except ValueError:
            return None

    @property
    def priority(self) -> Priority | None:
        try:
            return Priority(self.text(t.PRIORITY))
        except ValueError:
            return None

    @property
    def input_readiness(self) -> InputReadiness | None:
        try:
            return InputReadiness(self.text(t.INPUT_READINESS_STATE))
        except ValueError:
            return None

    @property
    def label(self) -> str:
        return self.text(t.PROCEDURE_STEP_LABEL)

    @property
    def worklist_label(self) -> str:
        return self.text(t.WORKLIST_LABEL)

    @property
    def comments(self) -> str:
        return self.text(t.COMMENTS_ON_SPS)

    @property
    def input_references(self) -> int:
        return len(_items(self.json, t.INPUT_INFORMATION_SEQ))

    def scheduled_start(self, local: tzinfo = UTC) -> datetime | None:
        text = self.text(t.SPS_START_DATETIME)
        try:
            return parse_dt(text, local)[0] if text else None
        except DateValueError:
            return None

    def _codes(self, tag: str) -> list[Code]:
        return [_code(item) for item in _items(self.json, tag)]

    @property
    def station_names(self) -> list[Code]:
        return self._codes(t.STATION_NAME_CODE_SEQ)

    @property
    def station_classes(self) -> list[Code]:
        return self._codes(t.STATION_CLASS_CODE_SEQ)

    @property
    def station_locations(self) -> list[Code]:
        return self._codes(t.STATION_LOCATION_CODE_SEQ)

    @property
    def workitem_codes(self) -> list[Code]:
        return self._codes(t.SCHEDULED_WORKITEM_CODE_SEQ)

    @property
    def human_performers(self) -> list[str]:
        names = []
        for item in _items(self.json, t.HUMAN_PERFORMERS_SEQ):
            codes = [_code(c) for c in _items(item, t.HUMAN_PERFORMER_CODE_SEQ)]
            names.append(_text(item, t.HUMAN_PERFORMER_NAME) or (codes[0].meaning if codes else ""))
        return [n for n in names if n]

    @property
    def patient_name(self) -> PatientName:
        values = (self.json.get(t.PATIENT_NAME) or {}).get("Value") or []
        name = values[0] if values else None
        if not name:
            return PatientName()
        if isinstance(name, str):
            return PatientName(name)
        return PatientName(
            str(name.get("Alphabetic", "")), str(name.get("Ideographic", "")), str(name.get("Phonetic", ""))
        )

    @property
    def patient_id(self) -> str:
        return self.text(t.PATIENT_ID)

    @property
    def birth_date(self) -> str:
        return self.text(t.BIRTH_DATE)

    @property
    def sex(self) -> str:
        return self.text(t.SEX)

    @property
    def study_uid(self) -> str:
        return self.text(t.STUDY_INSTANCE_UID)

    def _request(self) -> JsonDataset:
        items = _items(self.json, t.REFERENCED_REQUEST_SEQ)
        return items[0] if items else {}

    @property
    def accession_number(self) -> str:
        return _text(self._request(), t.ACCESSION_NUMBER)

    @property
    def placer_order(self) -> str:
        """The order number of the RIS that ordered it (Placer Order Number / Imaging Service Request)."""
        return _text(self._request(), t.PLACER_ORDER_NUMBER)

    @property
    def requested_procedure_id(self) -> str:
        return _text(self._request(), t.REQUESTED_PROCEDURE_ID)

    @property
    def requested_procedure_codes(self) -> list[Code]:
        """The Requested Procedure Code Sequence of every referenced request."""
        return [
            _code(c)
            for request in _items(self.json, t.REFERENCED_REQUEST_SEQ)
            for c in _items(request, t.REQUESTED_PROCEDURE_CODE_SEQ)
            if _code(c).value
        ]

    @property
    def requested_procedure_description(self) -> str:
        return _text(self._request(), t.REQUESTED_PROCEDURE_DESCRIPTION)

    def _progress_item(self) -> JsonDataset:
        items = _items(self.json, t.PROGRESS_INFORMATION_SEQ)
        return items[0] if items else {}

    @property
    def progress(self) -> float | None:
        text = _text(self._progress_item(), t.PROGRESS)
        try:
            return float(text) if text else None
        except ValueError:
            return None

    @property
    def progress_description(self) -> str:
        return _text(self._progress_item(), t.PROGRESS_DESCRIPTION)

    @property
    def discontinuation_reasons(self) -> list[Code]:
        return [_code(c) for c in _items(self._progress_item(), t.DISCONTINUATION_REASON_CODE_SEQ)]

    @property
    def performed(self) -> Performed | None:
        items = _items(self.json, t.PERFORMED_PROCEDURE_SEQ)
        if not items:
            return None
        item = items[0]
        stations = [_code(c) for c in _items(item, t.PERFORMED_STATION_NAME_CODE_SEQ)]
        performers = tuple(
            _text(p, t.HUMAN_PERFORMER_NAME)
            for p in _items(item, t.ACTUAL_HUMAN_PERFORMERS_SEQ)
            if _text(p, t.HUMAN_PERFORMER_NAME)
        )
        outputs = [o for o in _items(item, t.OUTPUT_INFORMATION_SEQ) if _text(o, "0020000E")]
        series = tuple(_text(o, "0020000E") for o in outputs)
        return Performed(
            station=stations[0] if stations else None,
            start=_text(item, t.PERFORMED_START_DATETIME),
            end=_text(item, t.PERFORMED_END_DATETIME),
            procedures=tuple(_code(c) for c in _items(item, t.PERFORMED_WORKITEM_CODE_SEQ)),
            performers=performers,
            series_uids=series,
            series_descriptions=tuple(_text(o, "0008103E") for o in outputs),
        )
