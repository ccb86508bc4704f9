"""A typed view of a UPS workitem over a pydicom Dataset."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from typing import Any

from pydicom import Dataset
from pydicom.sequence import Sequence

from .dates import DateValueError, parse_dt
from .states import InputReadiness, Priority, State


@dataclass(frozen=True)
class Code:
    """A coded entry (PS3.3 Table 8.8-1): value, scheme and meaning."""

    value: str
    scheme: str
    meaning: str = ""

    @classmethod
    def from_item(cls, item: Dataset) -> "Code":
        return cls(
            str(item.get("CodeValue", "") or item.get("LongCodeValue", "") or item.get("URNCodeValue", "") or ""),
            str(item.get("CodingSchemeDesignator", "") or ""),
            str(item.get("CodeMeaning", "") or ""),
        )

    def to_item(self) -> Dataset:
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


def _seq(ds: Dataset, keyword: str) -> Sequence | list[Dataset]:
    return ds.get(keyword) or []


def _text(value: Any) -> str:
    return "" if value is None else str(value)


class Workitem:
    """Read access, by meaning, to the attributes of one UPS."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __repr__(self) -> str:
        return f"Workitem({self.uid!r}, {self.state}, {self.label!r})"

    @property
    def uid(self) -> str:
        return _text(self.dataset.get("SOPInstanceUID"))

    @property
    def state(self) -> State | None:
        try:
            return State(_text(self.dataset.get("ProcedureStepState")))
        except ValueError:
            return None

    @property
    def priority(self) -> Priority | None:
        try:
            return Priority(_text(self.dataset.get("ScheduledProcedureStepPriority")))
        except ValueError:
            return None

    @property
    def input_readiness(self) -> InputReadiness | None:
        try:
            return InputReadiness(_text(self.dataset.get("InputReadinessState")))
        except ValueError:
            return None

    @property
    def label(self) -> str:
        return _text(self.dataset.get("ProcedureStepLabel"))

    @property
    def worklist_label(self) -> str:
        return _text(self.dataset.get("WorklistLabel"))

    def scheduled_start(self, local: tzinfo = timezone.utc) -> datetime | None:
        text = _text(self.dataset.get("ScheduledProcedureStepStartDateTime"))
        try:
            return parse_dt(text, local)[0] if text else None
        except DateValueError:
            return None

    def _codes(self, keyword: str) -> list[Code]:
        return [Code.from_item(item) for item in _seq(self.dataset, keyword)]

    @property
    def station_names(self) -> list[Code]:
        return self._codes("ScheduledStationNameCodeSequence")

    @property
    def station_classes(self) -> list[Code]:
        return self._codes("ScheduledStationClassCodeSequence")

    @property
    def station_locations(self) -> list[Code]:
        return self._codes("ScheduledStationGeographicLocationCodeSequence")

    @property
    def workitem_codes(self) -> list[Code]:
        return self._codes("ScheduledWorkitemCodeSequence")

    @property
    def human_performers(self) -> list[str]:
        names = []
        for item in _seq(self.dataset, "ScheduledHumanPerformersSequence"):
            name = item.get("HumanPerformerName")
            codes = [Code.from_item(c) for c in _seq(item, "HumanPerformerCodeSequence")]
            names.append(_text(name) or (codes[0].meaning if codes else ""))
        return [n for n in names if n]

    @property
    def patient_name(self) -> PatientName:
        name = self.dataset.get("PatientName")
        if not name:
            return PatientName()
        return PatientName(
            _text(getattr(name, "alphabetic", name)),
            _text(getattr(name, "ideographic", "")),
            _text(getattr(name, "phonetic", "")),
        )

    @property
    def patient_id(self) -> str:
        return _text(self.dataset.get("PatientID"))

    @property
    def birth_date(self) -> str:
        return _text(self.dataset.get("PatientBirthDate"))

    @property
    def sex(self) -> str:
        return _text(self.dataset.get("PatientSex"))

    @property
    def study_uid(self) -> str:
        return _text(self.dataset.get("StudyInstanceUID"))

    def _request(self) -> Dataset:
        items = _seq(self.dataset, "ReferencedRequestSequence")
        return items[0] if items else Dataset()

    @property
    def accession_number(self) -> str:
        return _text(self._request().get("AccessionNumber"))

    @property
    def requested_procedure_id(self) -> str:
        return _text(self._request().get("RequestedProcedureID"))

    @property
    def requested_procedure_description(self) -> str:
        return _text(self._request().get("RequestedProcedureDescription"))

    def _progress_item(self) -> Dataset:
        items = _seq(self.dataset, "ProcedureStepProgressInformationSequence")
        return items[0] if items else Dataset()

    @property
    def progress(self) -> float | None:
        value = self._progress_item().get("ProcedureStepProgress")
        try:
            return None if value is None or value == "" else float(value)
        except (TypeError, ValueError):
            return None

    @property
    def progress_description(self) -> str:
        return _text(self._progress_item().get("ProcedureStepProgressDescription"))

    @property
    def discontinuation_reasons(self) -> list[Code]:
        return [Code.from_item(c) for c in _seq(self._progress_item(), "ProcedureStepDiscontinuationReasonCodeSequence")]

    @property
    def performed(self) -> Performed | None:
        items = _seq(self.dataset, "UnifiedProcedureStepPerformedProcedureSequence")
        if not items:
            return None
        item = items[0]
        stations = [Code.from_item(c) for c in _seq(item, "PerformedStationNameCodeSequence")]
        performers = tuple(
            _text(p.get("HumanPerformerName")) for p in _seq(item, "ActualHumanPerformersSequence") if p.get("HumanPerformerName")
        )
        series = tuple(
            _text(o.get("SeriesInstanceUID")) for o in _seq(item, "OutputInformationSequence") if o.get("SeriesInstanceUID")
        )
        return Performed(
            station=stations[0] if stations else None,
            start=_text(item.get("PerformedProcedureStepStartDateTime")),
            end=_text(item.get("PerformedProcedureStepEndDateTime")),
            procedures=tuple(Code.from_item(c) for c in _seq(item, "PerformedWorkitemCodeSequence")),
            performers=performers,
            series_uids=series,
        )
