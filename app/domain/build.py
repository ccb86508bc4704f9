"""Construction of new UPS datasets in DICOM JSON (what N-CREATE needs, Table CC.2.5-3)."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import tags as t
from .dicomjson import JsonDataset
from .workitem import Code, PatientName

# CID 29 (Acquisition Modality) codes used for Scheduled Station Class.
MODALITIES: dict[str, str] = {
    "CR": "Computed Radiography",
    "CT": "Computed Tomography",
    "DX": "Digital Radiography",
    "MG": "Mammography",
    "MR": "Magnetic Resonance",
    "NM": "Nuclear Medicine",
    "PT": "Positron emission tomography",
    "RF": "Radio Fluoroscopy",
    "US": "Ultrasound",
    "XA": "X-Ray Angiography",
}
STATION_SCHEME = "99WLSTATION"  # local coding scheme of the station names (EBIW: the AE title)


def code_item(code: Code) -> JsonDataset:
    return {
        t.CODE_VALUE: {"vr": "SH", "Value": [code.value]},
        t.CODING_SCHEME: {"vr": "SH", "Value": [code.scheme]},
        t.CODE_MEANING: {"vr": "LO", "Value": [code.meaning or code.value]},
    }


def _seq(*items: JsonDataset) -> dict:
    return {"vr": "SQ", "Value": list(items)} if items else {"vr": "SQ"}


def _text(vr: str, value: str | None) -> dict:
    return {"vr": vr, "Value": [value]} if value else {"vr": vr}


@dataclass
class NewWorkitem:
    """The facts of a scheduled procedure step, from which `to_json` builds the UPS."""

    uid: str
    label: str
    start: str  # DT
    patient: PatientName
    patient_id: str
    station: str | None = None  # a station name (the AE title of the modality)
    modality: str | None = None  # a CID 29 code value
    priority: str = "MEDIUM"
    birth_date: str = ""
    sex: str = ""
    accession: str = ""
    requested_procedure_id: str = ""
    requested_procedure: Code | None = None
    study_uid: str = ""
    location: str | None = None
    performers: list[tuple[Code, str]] = field(default_factory=list)  # (code, name)
    organization: str = ""
    comments: str = ""
    worklist_label: str = "WORKLIST"
    input_readiness: str = "READY"
    character_set: str = "ISO_IR 192"
    placer_order: str = ""  # the RIS's order number (Placer Order Number / Imaging Service Request)

    def to_json(self) -> JsonDataset:
        name: dict = {"Alphabetic": self.patient.alphabetic}
        if self.patient.ideographic:
            name["Ideographic"] = self.patient.ideographic
        if self.patient.phonetic:
            name["Phonetic"] = self.patient.phonetic
        request: JsonDataset = {
            t.STUDY_INSTANCE_UID: _text("UI", self.study_uid),
            t.ACCESSION_NUMBER: _text("SH", self.accession),
            "00080051": _seq(),
            t.REQUESTED_PROCEDURE_ID: _text("SH", self.requested_procedure_id),
            t.REQUESTED_PROCEDURE_DESCRIPTION: _text(
                "LO", self.requested_procedure.meaning if self.requested_procedure else ""
            ),
            t.REQUESTED_PROCEDURE_CODE_SEQ: _seq(
                *([code_item(self.requested_procedure)] if self.requested_procedure else [])
            ),
        }
        if self.placer_order:
            request[t.PLACER_ORDER_NUMBER] = {"vr": "LO", "Value": [self.placer_order]}
        performers = [
            {
                t.HUMAN_PERFORMER_CODE_SEQ: _seq(code_item(code)),
                t.HUMAN_PERFORMER_NAME: {"vr": "PN", "Value": [{"Alphabetic": person}]},
                t.HUMAN_PERFORMER_ORGANIZATION: {"vr": "LO", "Value": [self.organization or "Radiology"]},
            }
            for code, person in self.performers
        ]
        return {
            t.SPECIFIC_CHARACTER_SET: {"vr": "CS", "Value": [self.character_set]},
            t.SOP_CLASS_UID: {"vr": "UI", "Value": [t.UPS_PUSH_SOP_CLASS]},
            t.SOP_INSTANCE_UID: {"vr": "UI", "Value": [self.uid]},
            t.TRANSACTION_UID: {"vr": "UI"},
            t.PROCEDURE_STEP_STATE: {"vr": "CS", "Value": ["SCHEDULED"]},
            t.PRIORITY: {"vr": "CS", "Value": [self.priority]},
            t.PROCEDURE_STEP_LABEL: {"vr": "LO", "Value": [self.label]},
            t.WORKLIST_LABEL: _text("LO", self.worklist_label),
            t.SPS_START_DATETIME: {"vr": "DT", "Value": [self.start]},
            t.INPUT_READINESS_STATE: {"vr": "CS", "Value": [self.input_readiness]},
            t.STATION_NAME_CODE_SEQ: _seq(
                *([code_item(Code(self.station, STATION_SCHEME, self.station))] if self.station else [])
            ),
            t.STATION_CLASS_CODE_SEQ: _seq(
                *(
                    [code_item(Code(self.modality, "DCM", MODALITIES.get(self.modality, self.modality)))]
                    if self.modality
                    else []
                )
            ),
            t.STATION_LOCATION_CODE_SEQ: _seq(
                *([code_item(Code(self.location, "99WLLOCATION", self.location))] if self.location else [])
            ),
            t.SCHEDULED_WORKITEM_CODE_SEQ: _seq(
                *([code_item(self.requested_procedure)] if self.requested_procedure else [])
            ),
            t.SCHEDULED_PROCESSING_PARAMETERS_SEQ: _seq(),
            t.HUMAN_PERFORMERS_SEQ: _seq(*performers),
            t.INPUT_INFORMATION_SEQ: _seq(),
            t.COMMENTS_ON_SPS: _text("LT", self.comments),
            t.PATIENT_NAME: {"vr": "PN", "Value": [name]},
            t.PATIENT_ID: _text("LO", self.patient_id),
            t.ISSUER_OF_PATIENT_ID: {"vr": "LO", "Value": ["WLC"]},
            t.BIRTH_DATE: _text("DA", self.birth_date),
            t.SEX: _text("CS", self.sex),
            t.ADMISSION_ID: {"vr": "LO"},
            t.STUDY_INSTANCE_UID: _text("UI", self.study_uid),
            t.REFERENCED_REQUEST_SEQ: _seq(request),
            t.PROGRESS_INFORMATION_SEQ: _seq(),
            t.PERFORMED_PROCEDURE_SEQ: _seq(),
        }
