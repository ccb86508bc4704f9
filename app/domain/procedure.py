"""What the technologist reports about a procedure, as the UPS attributes that carry it:
progress (Progress Information Sequence), performed data (UPS Performed Procedure
Sequence, Final State code P), discontinuation and cancellation requests (code X).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import tags as t
from .build import code_item
from .dicomjson import JsonDataset, person_name_json
from .workitem import Code


@dataclass(frozen=True)
class OutputSeries:
    """A series the procedure produced (Output Information Sequence item)."""

    series_uid: str
    description: str = ""
    study_uid: str = ""
    instances: tuple[tuple[str, str], ...] = ()  # (SOP Class UID, SOP Instance UID)
    retrieve_ae: str = ""

    def to_item(self) -> JsonDataset:
        item: JsonDataset = {
            "0040E020": {"vr": "CS", "Value": ["DICOM"]},  # Type of Instances
            t.STUDY_INSTANCE_UID: {"vr": "UI", "Value": [self.study_uid]} if self.study_uid else {"vr": "UI"},
            "0020000E": {"vr": "UI", "Value": [self.series_uid]},
            "0008103E": {"vr": "LO", "Value": [self.description]} if self.description else {"vr": "LO"},
            "00081199": {
                "vr": "SQ",
                "Value": [
                    {"00081150": {"vr": "UI", "Value": [cls]}, "00081155": {"vr": "UI", "Value": [inst]}}
                    for cls, inst in self.instances
                ],
            },
        }
        if self.retrieve_ae:
            item["0040E021"] = {"vr": "SQ", "Value": [{"00080054": {"vr": "AE", "Value": [self.retrieve_ae]}}]}
        return item


@dataclass(frozen=True)
class PerformedProcedure:
    """The UPS Performed Procedure Sequence item: where, when, what, by whom, producing what."""

    station: Code
    start: str  # DT
    end: str = ""  # DT; empty until the procedure ends
    procedures: tuple[Code, ...] = ()
    technologist: str = ""  # PN
    technologist_code: Code | None = None
    series: tuple[OutputSeries, ...] = field(default_factory=tuple)
    description: str = ""

    def to_json(self) -> JsonDataset:
        item: JsonDataset = {
            t.PERFORMED_STATION_NAME_CODE_SEQ: {"vr": "SQ", "Value": [code_item(self.station)]},
            t.PERFORMED_START_DATETIME: {"vr": "DT", "Value": [self.start]},
            t.PERFORMED_END_DATETIME: {"vr": "DT", "Value": [self.end]} if self.end else {"vr": "DT"},
            t.PERFORMED_WORKITEM_CODE_SEQ: {"vr": "SQ", "Value": [code_item(c) for c in self.procedures]},
            t.OUTPUT_INFORMATION_SEQ: {"vr": "SQ", "Value": [s.to_item() for s in self.series]},
        }
        if self.description:
            item["00400254"] = {"vr": "LO", "Value": [self.description]}
        if self.technologist or self.technologist_code:
            code = self.technologist_code or Code(
                self.technologist.replace("^", " ").strip()[:16] or "TECH",
                "99WLSTAFF",
                self.technologist or "Technologist",
            )
            item[t.ACTUAL_HUMAN_PERFORMERS_SEQ] = {
                "vr": "SQ",
                "Value": [
                    {
                        t.HUMAN_PERFORMER_CODE_SEQ: {"vr": "SQ", "Value": [code_item(code)]},
                        t.HUMAN_PERFORMER_NAME: {"vr": "PN", "Value": [person_name_json(self.technologist)]}
                        if self.technologist
                        else {"vr": "PN"},
                    }
                ],
            }
        return {t.PERFORMED_PROCEDURE_SEQ: {"vr": "SQ", "Value": [item]}}


def progress_json(percent: float | None, description: str = "") -> JsonDataset:
    item: JsonDataset = {}
    if percent is not None:
        item[t.PROGRESS] = {"vr": "DS", "Value": [round(float(percent), 2)]}
    if description:
        item[t.PROGRESS_DESCRIPTION] = {"vr": "ST", "Value": [description]}
    return {t.PROGRESS_INFORMATION_SEQ: {"vr": "SQ", "Value": [item]}}


def reason_attributes(
    reason: Code | None, text: str = "", contact_name: str = "", contact_uri: str = ""
) -> JsonDataset:
    """Why a procedure stops: the CID 9300 code, free text, and who to call (Table CC.2.2-1)."""
    attrs: JsonDataset = {}
    if text:
        attrs[t.REASON_FOR_CANCELLATION] = {"vr": "LT", "Value": [text]}
    if reason:
        attrs[t.DISCONTINUATION_REASON_CODE_SEQ] = {"vr": "SQ", "Value": [code_item(reason)]}
    if contact_name:
        attrs[t.CONTACT_DISPLAY_NAME] = {"vr": "LO", "Value": [contact_name]}
    if contact_uri:
        attrs[t.CONTACT_URI] = {"vr": "UR", "Value": [contact_uri]}
    return attrs


def discontinuation_json(
    reason: Code, text: str = "", percent: float | None = None, description: str = ""
) -> JsonDataset:
    """The Progress Information Sequence of a performer that discontinues (code X before CANCELED)."""
    item = progress_json(percent, description)[t.PROGRESS_INFORMATION_SEQ]["Value"][0]
    item.update(reason_attributes(reason, text))
    return {t.PROGRESS_INFORMATION_SEQ: {"vr": "SQ", "Value": [item]}}
