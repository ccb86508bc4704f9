"""HL7 v2 patient administration (ADT) as workitem changes: what an ADT^A08/A31 (new
demographics), A40 (merge) or A34/A47 (identifier change) asks, and what it makes of a UPS.

Fields are read with python-hl7 (escapes decoded by it; the door decodes MSH-18). The mapping
follows IHE Radiology RAD-12 (Patient Update) and the HL7 ⇄ DICOM patient attributes: PID-3
Patient ID ^^^ assigning authority → Patient ID / Issuer of Patient ID, PID-5 → Patient's Name,
PID-7 → Birth Date, PID-8 → Sex; MRG-1 the prior identifier(s).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import hl7

from . import tags as t
from .charsets import declare_json, declared_in
from .dicomjson import JsonDataset, first_value, items
from .hl7_orders import CHARACTER_SETS
from .hl7_outcome import ErrorLocation, Outcome

OTHER_PATIENT_IDS_SEQ = "00101002"
TYPE_OF_PATIENT_ID = "00100022"

# HL7 table 0001 → DICOM Sex (M, F, O; unknown is empty)
SEX = {"M": "M", "F": "F", "O": "O", "A": "O", "N": "O", "U": ""}
# HL7's "" is an explicit delete of the value; an empty field means "no change"
DELETE = '""'
# a repeated field or segment beyond this is not a patient's identifier list but a hostile message
MAX_REPEATS = 50


class Change(StrEnum):
    UPDATE = "update"  # A08 / A31: new demographics for the same patient
    MERGE = "merge"  # A40 / A34 / A47: the prior identifiers' workitems go to the surviving patient


UPDATE_EVENTS = ("A08", "A31")
MERGE_EVENTS = ("A40", "A34", "A47")


@dataclass(frozen=True)
class PatientIdentity:
    id: str
    issuer: str = ""

    def __str__(self) -> str:
        return f"{self.id} ({self.issuer})" if self.issuer else self.id


@dataclass(frozen=True)
class Demographics:
    """What PID says of the patient; None for a field the message leaves as it is, "" to delete."""

    patient: PatientIdentity
    name: str | None = None
    birth_date: str | None = None
    sex: str | None = None


@dataclass(frozen=True)
class PatientAction:
    change: Change
    event: str
    patient: Demographics  # the patient updated, or the surviving one
    priors: tuple[PatientIdentity, ...] = ()
    charset: str = ""  # the Specific Character Set term MSH-18 names ("" for ASCII or none)


def read_adt(message: hl7.Message) -> PatientAction | Outcome:
    """The patient action an ADT message asks, or the refusal to answer it with."""
    event = _field(message, "MSH", 1, 9, 1, 2).upper()
    if event not in UPDATE_EVENTS + MERGE_EVENTS:
        return Outcome.rejected(
            f"ADT^{event or '?'} is not an event this worklist takes (A08, A31, A40, A34, A47).",
            ErrorLocation("MSH", 9, 2),
            201,
        )
    patient = _demographics(message)
    if isinstance(patient, Outcome):
        return patient
    charset = CHARACTER_SETS.get(_field(message, "MSH", 1, 18, 1, 1).upper(), ("", ""))[1]
    if event in UPDATE_EVENTS:
        return PatientAction(Change.UPDATE, event, patient, charset=charset)
    named = _priors(message)
    if not named:
        return Outcome.refused(
            f"ADT^{event} needs the prior patient identifier in MRG-1.", ErrorLocation("MRG", 1, 1), 101
        )
    # a patient merged into itself would move nothing and leave a merge record going round in a circle
    priors = tuple(prior for prior in named if prior.id != patient.patient.id)
    if not priors:
        return Outcome.refused(
            f"MRG-1 names the surviving patient {patient.patient} itself: there is nothing to merge.",
            ErrorLocation("MRG", 1, 1),
            205,
        )
    return PatientAction(Change.MERGE, event, patient, priors, charset)


def _field(message: hl7.Message, segment: str, number: int, field: int, repeat: int = 1, component: int = 1) -> str:
    """One component, its escapes decoded; "" when the message does not have it."""
    try:
        return str(message.extract_field(segment, number, field, repeat, component, 1)).strip()
    except (KeyError, IndexError):
        return ""


def _count(message: hl7.Message, segment: str) -> int:
    return sum(1 for each in message if str(each[0]) == segment)


def _demographics(message: hl7.Message) -> Demographics | Outcome:
    patient_id = _field(message, "PID", 1, 3)
    if not patient_id:
        return Outcome.refused("The message names no patient: PID-3 is empty.", ErrorLocation("PID", 3, 1), 101)
    issuer = _field(message, "PID", 1, 3, 1, 4)
    birth = _field(message, "PID", 1, 7)
    if birth and birth != DELETE and not re.fullmatch(r"\d{8}([\d.+-]*)", birth):
        return Outcome.refused(f"PID-7 {birth!r} is not a date of birth (YYYYMMDD).", ErrorLocation("PID", 7, 1), 102)
    sex = _field(message, "PID", 1, 8).upper()
    if sex and sex != DELETE and sex not in SEX:
        return Outcome.refused(f"PID-8 {sex!r} is not a sex of HL7 table 0001.", ErrorLocation("PID", 8, 1), 103)
    return Demographics(
        PatientIdentity(patient_id, issuer),
        _person_name(message),
        None if not birth else "" if birth == DELETE else birth[:8],
        None if not sex else "" if sex == DELETE else SEX[sex],
    )


def _person_name(message: hl7.Message) -> str | None:
    """PID-5 (XPN family^given^middle^suffix^prefix) as a DICOM PN (family^given^middle^prefix^suffix)."""
    parts = [_field(message, "PID", 1, 5, 1, c) for c in range(1, 6)]
    if not any(parts):
        return None
    if parts[0] == DELETE:
        return ""
    # a decoded \S\ or \R\ must not split a DICOM component or group
    family, given, middle, suffix, prefix = (re.sub(r"[\\^=]", " ", part) for part in parts)
    return "^".join((family, given, middle, prefix, suffix)).rstrip("^")


def _priors(message: hl7.Message) -> tuple[PatientIdentity, ...]:
    """Every prior identifier: each MRG segment's MRG-1 and its repetitions."""
    found: list[PatientIdentity] = []
    for number in range(1, min(_count(message, "MRG"), MAX_REPEATS) + 1):
        for repeat in range(1, MAX_REPEATS + 1):
            prior = _field(message, "MRG", number, 1, repeat)
            if not prior:
                break
            identity = PatientIdentity(prior, _field(message, "MRG", number, 1, repeat, 4))
            if identity not in found:
                found.append(identity)
    return tuple(found)


# -- what the action makes of a workitem ------------------------------------------------------------
def with_demographics(dataset: JsonDataset, patient: Demographics, charset: str = "") -> JsonDataset:
    """The workitem with the patient's identity and what the message says of them; the Specific
    Character Set still carries its text (its own, else the message's, else UTF-8)."""
    out = dict(dataset)
    out[t.PATIENT_ID] = {"vr": "LO", "Value": [patient.patient.id]}
    _set(out, t.ISSUER_OF_PATIENT_ID, "LO", patient.patient.issuer or None)
    if patient.name is not None:
        out[t.PATIENT_NAME] = {"vr": "PN", "Value": [{"Alphabetic": patient.name}]} if patient.name else {"vr": "PN"}
    _set(out, t.BIRTH_DATE, "DA", patient.birth_date)
    _set(out, t.SEX, "CS", patient.sex)
    return declare_json(out, declared_in(dataset), charset or None)


def merged(dataset: JsonDataset, survivor: Demographics, prior: PatientIdentity, charset: str = "") -> JsonDataset:
    """The workitem of `prior` moved to the surviving patient, the prior ID kept in Other Patient
    IDs Sequence so that whoever knew the patient by it still finds it."""
    out = with_demographics(dataset, survivor, charset)
    others = [
        item for item in items(dataset, OTHER_PATIENT_IDS_SEQ) if first_value(item, t.PATIENT_ID) != survivor.patient.id
    ]
    if not any(first_value(item, t.PATIENT_ID) == prior.id for item in others):
        entry: JsonDataset = {
            t.PATIENT_ID: {"vr": "LO", "Value": [prior.id]},
            TYPE_OF_PATIENT_ID: {"vr": "CS", "Value": ["TEXT"]},
        }
        if prior.issuer:
            entry[t.ISSUER_OF_PATIENT_ID] = {"vr": "LO", "Value": [prior.issuer]}
        others.append(entry)
    out[OTHER_PATIENT_IDS_SEQ] = {"vr": "SQ", "Value": others}
    return out


def belongs_to(dataset: JsonDataset, patient: PatientIdentity) -> bool:
    """Whether a workitem is of `patient`: the same ID, and the same issuer where both name one
    (a workitem created without an issuer is the site's own patient)."""
    if first_value(dataset, t.PATIENT_ID) != patient.id:
        return False
    issuer = str(first_value(dataset, t.ISSUER_OF_PATIENT_ID) or "")
    return not patient.issuer or not issuer or issuer == patient.issuer


def _set(out: JsonDataset, tag: str, vr: str, value: str | None) -> None:
    if value is None:
        return
    if value:
        out[tag] = {"vr": vr, "Value": [value]}
    else:
        out.pop(tag, None)
