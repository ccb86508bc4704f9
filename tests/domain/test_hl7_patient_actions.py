"""ADT messages read into patient actions, and what those make of a workitem."""

from __future__ import annotations

from pathlib import Path

import hl7
import pytest

from app.domain import tags as t
from app.domain.charsets import declared_in
from app.domain.dicomjson import first_value, items
from app.domain.hl7_outcome import AckCode, ErrorLocation, Outcome
from app.domain.hl7_patients import (
    OTHER_PATIENT_IDS_SEQ,
    Change,
    Demographics,
    PatientAction,
    PatientIdentity,
    belongs_to,
    merged,
    read_adt,
    with_demographics,
)

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "hl7"
MSH = "MSH|^~\\&|RIS|HOSPITAL|WORKLIST|HOSPITAL|20260115093000||ADT^{event}|C1|P|2.5||||||{charset}\r"


def adt(event: str, *segments: str, charset: str = "") -> hl7.Message:
    return hl7.parse(MSH.format(event=event, charset=charset) + "\r".join(segments) + "\r")


def action(message: hl7.Message) -> PatientAction:
    read = read_adt(message)
    assert isinstance(read, PatientAction), read
    return read


@pytest.mark.parametrize("event", ["A08", "A31"])
def test_an_update_carries_the_new_demographics(event: str) -> None:
    read = action(adt(event, "PID|||P1^^^HOSP&1.2.3&ISO||Doe^John^Q^Jr^Dr||19800102|M"))
    assert read.change is Change.UPDATE
    assert read.patient == Demographics(PatientIdentity("P1", "HOSP"), "Doe^John^Q^Dr^Jr", "19800102", "M")


@pytest.mark.parametrize("event", ["A40", "A34", "A47"])
def test_a_merge_or_identifier_change_names_the_survivor_and_the_priors(event: str) -> None:
    read = action(adt(event, "PID|||NEW^^^HOSP||Doe^Jane", "MRG|OLD1^^^HOSP~OLD2", "MRG|OLD3^^^OTHER"))
    assert read.change is Change.MERGE
    assert read.patient.patient == PatientIdentity("NEW", "HOSP")
    assert read.priors == (PatientIdentity("OLD1", "HOSP"), PatientIdentity("OLD2"), PatientIdentity("OLD3", "OTHER"))


def test_hl7_escapes_are_decoded_and_never_split_a_dicom_name() -> None:
    read = action(adt("A08", "PID|||P1||O\\T\\Brien\\S\\Smith^Ann\\E\\e||19800102|F"))
    assert read.patient.name == "O&Brien Smith^Ann e"


def test_empty_fields_leave_values_and_a_quoted_empty_deletes_them() -> None:
    read = action(adt("A08", 'PID|||P1|||||""'))
    assert read.patient == Demographics(PatientIdentity("P1"), None, None, "")


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (adt("A08", "PID|||^^^HOSP||Doe"), Outcome.refused("", ErrorLocation("PID", 3, 1), 101)),
        (adt("A40", "PID|||NEW||Doe"), Outcome.refused("", ErrorLocation("MRG", 1, 1), 101)),
        (adt("A40", "PID|||NEW||Doe", "MRG|"), Outcome.refused("", ErrorLocation("MRG", 1, 1), 101)),
        (adt("A40", "PID|||NEW||Doe", "MRG|NEW"), Outcome.refused("", ErrorLocation("MRG", 1, 1), 205)),
        (adt("A01", "PID|||P1"), Outcome.rejected("", ErrorLocation("MSH", 9, 2), 201)),
        (adt("A08", "PID|||P1||Doe||1980-01-02"), Outcome.refused("", ErrorLocation("PID", 7, 1), 102)),
        (adt("A08", "PID|||P1||Doe||19800102|Q"), Outcome.refused("", ErrorLocation("PID", 8, 1), 103)),
    ],
)
def test_what_cannot_be_done_is_answered_with_where_and_why(message: hl7.Message, expected: Outcome) -> None:
    read = read_adt(message)
    assert isinstance(read, Outcome)
    assert (read.code, read.location, read.error_code) == (expected.code, expected.location, expected.error_code)
    assert read.text and read.code is not AckCode.ACCEPTED


def test_the_sample_messages_read() -> None:
    merge = action(hl7.parse((SAMPLES / "adt_a40_merge.hl7").read_bytes().decode("utf-8")))
    assert (merge.patient.name, merge.priors, merge.charset) == (
        "Müller^Jörg",
        (PatientIdentity("PAT-PRIOR", "HOSPITAL"),),
        "ISO_IR 192",
    )
    update = action(hl7.parse((SAMPLES / "adt_a08_update.hl7").read_bytes().decode("utf-8")))
    assert update.patient.name == "O&Brien^Anne^Marie"


WORKITEM = {
    t.SPECIFIC_CHARACTER_SET: {"vr": "CS", "Value": ["ISO_IR 100"]},
    t.PATIENT_ID: {"vr": "LO", "Value": ["OLD"]},
    t.ISSUER_OF_PATIENT_ID: {"vr": "LO", "Value": ["HOSP"]},
    t.PATIENT_NAME: {"vr": "PN", "Value": [{"Alphabetic": "Doe^J"}]},
    t.SEX: {"vr": "CS", "Value": ["M"]},
    t.PROCEDURE_STEP_STATE: {"vr": "CS", "Value": ["IN PROGRESS"]},
}


def test_new_demographics_keep_what_the_message_does_not_say() -> None:
    after = with_demographics(WORKITEM, Demographics(PatientIdentity("OLD"), "Doe^John", "19800102", None))
    assert first_value(after, t.PATIENT_NAME) == {"Alphabetic": "Doe^John"}
    assert first_value(after, t.BIRTH_DATE) == "19800102"
    assert (first_value(after, t.SEX), first_value(after, t.ISSUER_OF_PATIENT_ID)) == ("M", "HOSP")
    assert first_value(after, t.PROCEDURE_STEP_STATE) == "IN PROGRESS"


def test_the_character_set_still_carries_the_new_text() -> None:
    latin = with_demographics(WORKITEM, Demographics(PatientIdentity("OLD"), "Müller^Jörg"))
    assert declared_in(latin) == ["ISO_IR 100"]
    wide = with_demographics(WORKITEM, Demographics(PatientIdentity("OLD"), "Ψυχή^Ανна"), "ISO_IR 192")
    assert declared_in(wide) == ["ISO_IR 192"]


def test_a_merge_moves_the_workitem_and_keeps_the_prior_id_visible() -> None:
    survivor = Demographics(PatientIdentity("NEW", "HOSP"), "Doe^Jane")
    once = merged(WORKITEM, survivor, PatientIdentity("OLD", "HOSP"))
    twice = merged(once, survivor, PatientIdentity("OLD", "HOSP"))
    assert first_value(twice, t.PATIENT_ID) == "NEW"
    others = items(twice, OTHER_PATIENT_IDS_SEQ)
    assert [(first_value(i, t.PATIENT_ID), first_value(i, t.ISSUER_OF_PATIENT_ID)) for i in others] == [("OLD", "HOSP")]


def test_a_workitem_belongs_to_a_patient_by_id_and_issuer() -> None:
    assert belongs_to(WORKITEM, PatientIdentity("OLD", "HOSP"))
    assert belongs_to(WORKITEM, PatientIdentity("OLD"))
    assert not belongs_to(WORKITEM, PatientIdentity("OLD", "OTHER"))
    assert not belongs_to(WORKITEM, PatientIdentity("OLDER"))
