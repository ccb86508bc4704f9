"""Attribute requirements of the UPS as data (PS3.4 Table CC.2.5-3 and CC.2.5-1), and the
checks that apply them to DICOM JSON datasets.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import tags as t
from .dicomjson import JsonDataset, first_value
from .states import InputReadiness, Priority, State
from .status import InvalidRequest, Status, UPSError
from .values import check_values

# N-CREATE, SCU type 1: present and valued (with the values allowed, where enumerated).
CREATE_TYPE_1: dict[str, tuple[str, ...] | None] = {
    t.PROCEDURE_STEP_STATE: (State.SCHEDULED.value,),
    t.PRIORITY: tuple(p.value for p in Priority),
    t.PROCEDURE_STEP_LABEL: None,
    t.SPS_START_DATETIME: None,
    t.INPUT_READINESS_STATE: tuple(r.value for r in InputReadiness),
}

# N-CREATE, type 2: present, possibly empty. The SCP adds the ones a SCU left out
# (as dcm4chee-arc does) and says so with "created with modifications".
CREATE_TYPE_2: dict[str, str] = {
    t.WORKLIST_LABEL: "LO",
    t.SCHEDULED_PROCESSING_PARAMETERS_SEQ: "SQ",
    t.STATION_NAME_CODE_SEQ: "SQ",
    t.STATION_CLASS_CODE_SEQ: "SQ",
    t.STATION_LOCATION_CODE_SEQ: "SQ",
    t.SCHEDULED_WORKITEM_CODE_SEQ: "SQ",
    t.COMMENTS_ON_SPS: "LT",
    t.INPUT_INFORMATION_SEQ: "SQ",
    t.PATIENT_NAME: "PN",
    t.PATIENT_ID: "LO",
    t.ISSUER_OF_PATIENT_ID: "LO",
    t.BIRTH_DATE: "DA",
    t.SEX: "CS",
    t.ADMISSION_ID: "LO",
    t.STUDY_INSTANCE_UID: "UI",
    t.REFERENCED_REQUEST_SEQ: "SQ",
    t.PROGRESS_INFORMATION_SEQ: "SQ",
    t.PERFORMED_PROCEDURE_SEQ: "SQ",
}

# N-CREATE: present only without a value ("shall be empty", "created empty").
CREATE_EMPTY = (t.TRANSACTION_UID, t.PROGRESS_INFORMATION_SEQ, t.PERFORMED_PROCEDURE_SEQ)

# N-SET: "Not Allowed" in Table CC.2.5-3.
SET_NOT_ALLOWED: dict[str, str] = {
    t.SOP_CLASS_UID: "SOP Class UID",
    t.SOP_INSTANCE_UID: "SOP Instance UID",
    t.PATIENT_NAME: "Patient's Name",
    t.PATIENT_ID: "Patient ID",
    t.ISSUER_OF_PATIENT_ID: "Issuer of Patient ID",
    "00100024": "Issuer of Patient ID Qualifiers Sequence",
    "00101002": "Other Patient IDs Sequence",
    t.BIRTH_DATE: "Patient's Birth Date",
    t.SEX: "Patient's Sex",
    t.ADMISSION_ID: "Admission ID",
    "00380014": "Issuer of Admission ID Sequence",
    "00081080": "Admitting Diagnoses Description",
    "00081084": "Admitting Diagnoses Code Sequence",
    t.REFERENCED_REQUEST_SEQ: "Referenced Request Sequence",
    t.REPLACED_PROCEDURE_STEP_SEQ: "Replaced Procedure Step Sequence",
    t.PROCEDURE_STEP_STATE: "Procedure Step State",
}

# Final State code P (COMPLETED): inside the UPS Performed Procedure Sequence, valued.
COMPLETED_PERFORMED: dict[str, str] = {
    t.PERFORMED_STATION_NAME_CODE_SEQ: "Performed Station Name Code Sequence",
    t.PERFORMED_START_DATETIME: "Performed Procedure Step Start DateTime",
    t.PERFORMED_WORKITEM_CODE_SEQ: "Performed Workitem Code Sequence",
    t.PERFORMED_END_DATETIME: "Performed Procedure Step End DateTime",
}


@dataclass(frozen=True)
class Prepared:
    dataset: JsonDataset
    modified: bool


def _valued(dataset: JsonDataset, tag: str) -> bool:
    return first_value(dataset, tag) not in (None, "")


def prepare_create(dataset: JsonDataset, uid: str, now: str) -> Prepared:
    """Check an N-CREATE dataset and complete what the SCP completes.

    `now` is the DT to stamp as the modification time. Raises UPSError on a refusal.
    """
    check_values(dataset)
    ds = dict(dataset)
    state = first_value(ds, t.PROCEDURE_STEP_STATE)
    if state not in (None, State.SCHEDULED.value):
        raise UPSError(Status.CREATE_NOT_SCHEDULED, f"A Workitem must be created SCHEDULED, not {state}.")
    for tag in CREATE_EMPTY:
        element = ds.get(tag)
        if element and any(v not in (None, "") for v in element.get("Value") or []):
            raise InvalidRequest(f"({tag[:4]},{tag[4:]}) must be empty when a Workitem is created.")
    for tag, allowed in CREATE_TYPE_1.items():
        value = first_value(ds, tag)
        if value in (None, ""):
            raise InvalidRequest(
                f"({tag[:4]},{tag[4:]}) is required to create a Workitem and has no value.",
                Status.MISSING_ATTRIBUTE_VALUE,
            )
        if allowed and value not in allowed:
            raise InvalidRequest(f"({tag[:4]},{tag[4:]}) must be one of {', '.join(allowed)}; got {value!r}.")
    modified = False
    for tag, vr in CREATE_TYPE_2.items():
        if tag not in ds:
            ds[tag] = {"vr": vr}
            modified = modified or tag not in (t.WORKLIST_LABEL, t.PROGRESS_INFORMATION_SEQ, t.PERFORMED_PROCEDURE_SEQ)
    ds.pop(t.TRANSACTION_UID, None)  # kept by the store, never in the dataset
    ds[t.SOP_CLASS_UID] = {"vr": "UI", "Value": [t.UPS_PUSH_SOP_CLASS]}
    ds[t.SOP_INSTANCE_UID] = {"vr": "UI", "Value": [uid]}
    if not _valued(ds, t.WORKLIST_LABEL):
        ds[t.WORKLIST_LABEL] = {"vr": "LO", "Value": ["WORKLIST"]}
    ds[t.SPS_MODIFICATION_DATETIME] = {"vr": "DT", "Value": [now]}
    return Prepared(ds, modified)


def check_set(changes: JsonDataset) -> JsonDataset:
    """The attributes an N-SET may carry; refuse the ones it may not touch."""
    refused = [name for tag, name in SET_NOT_ALLOWED.items() if tag in changes]
    if refused:
        raise InvalidRequest(f"An update may not change {', '.join(refused)}.", Status.INVALID_ATTRIBUTE_VALUE)
    check_values(changes)
    return {tag: element for tag, element in changes.items() if tag != t.TRANSACTION_UID}


def missing_for_completion(dataset: JsonDataset) -> list[str]:
    """What Final State code P still lacks; empty when the UPS may become COMPLETED."""
    performed = (dataset.get(t.PERFORMED_PROCEDURE_SEQ) or {}).get("Value") or []
    item = performed[0] if performed and isinstance(performed[0], dict) else None
    if item is None:
        return ["UPS Performed Procedure Sequence"]
    return [name for tag, name in COMPLETED_PERFORMED.items() if not _valued(item, tag)]


def complete_cancellation(dataset: JsonDataset, now: str, reason: JsonDataset | None = None) -> JsonDataset:
    """Fill Final State code X: the cancellation time (SCP's "now") and any reason given."""
    ds = dict(dataset)
    items = (ds.get(t.PROGRESS_INFORMATION_SEQ) or {}).get("Value") or []
    item = dict(items[0]) if items else {}
    if not _valued(item, t.CANCELLATION_DATETIME):
        item[t.CANCELLATION_DATETIME] = {"vr": "DT", "Value": [now]}
    for tag in (t.DISCONTINUATION_REASON_CODE_SEQ, t.REASON_FOR_CANCELLATION, t.CONTACT_URI, t.CONTACT_DISPLAY_NAME):
        if reason and tag in reason and not item.get(tag, {}).get("Value"):
            item[tag] = reason[tag]
    ds[t.PROGRESS_INFORMATION_SEQ] = {"vr": "SQ", "Value": [item] + list(items[1:])}
    return ds
