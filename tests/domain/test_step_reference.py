"""Which scheduled step an MPPS performs: one rule (app/domain/mpps_rules.py) for the embedded
service and the gateway, which before each had its own fallbacks."""

from __future__ import annotations

import pytest

from app.domain import tags as t
from app.domain.mapping import sps_id
from app.domain.mpps_rules import StepReference, scheduled_step

STUDY, OTHER_STUDY = "1.2.3.1", "1.2.3.2"


def ups(uid: str, study: str, accession: str) -> dict:
    return {
        t.SOP_INSTANCE_UID: {"vr": "UI", "Value": [uid]},
        t.STUDY_INSTANCE_UID: {"vr": "UI", "Value": [study]},
        t.REFERENCED_REQUEST_SEQ: {"vr": "SQ", "Value": [{t.ACCESSION_NUMBER: {"vr": "SH", "Value": [accession]}}]},
    }


HEAD, CHEST, ELSEWHERE = ups("9.1", STUDY, "A1"), ups("9.2", STUDY, "A1"), ups("9.3", OTHER_STUDY, "A2")


@pytest.mark.parametrize(
    ("reference", "candidates", "expected"),
    [
        # our own step ID names its workitem, whatever else the reference says
        (StepReference(STUDY, sps_id("9.2"), "A1", "P"), [HEAD, CHEST], CHEST),
        (StepReference("", sps_id("9.2"), "", "P"), [HEAD, CHEST], CHEST),
        # no step ID: the study and accession place it
        (StepReference(STUDY, "", "A1", "P"), [ELSEWHERE, HEAD], HEAD),
        (StepReference("", "", "A2", "P"), [HEAD, ELSEWHERE], ELSEWHERE),
        (StepReference(STUDY, "", "A9", "P"), [HEAD, CHEST], None),
        # another system's step ID: only when exactly one workitem of that order fits
        (StepReference(OTHER_STUDY, "RIS-77", "A2", "P"), [HEAD, ELSEWHERE], ELSEWHERE),
        (StepReference(STUDY, "RIS-77", "A1", "P"), [HEAD, CHEST], None),
        (StepReference("", "RIS-77", "A1", "P"), [HEAD], None),
    ],
)
def test_an_mpps_reference_picks_the_one_step_it_can_only_mean(reference, candidates, expected):
    assert reference.pick(candidates) == expected


def test_the_searches_go_from_the_study_to_the_accession_to_the_patient():
    mpps = {
        t.PATIENT_ID: {"vr": "LO", "Value": ["P7"]},
        "00400270": {
            "vr": "SQ",
            "Value": [
                {
                    t.STUDY_INSTANCE_UID: {"vr": "UI", "Value": [OTHER_STUDY]},
                    t.ACCESSION_NUMBER: {"vr": "SH", "Value": ["A1"]},
                    "00400009": {"vr": "SH", "Value": [sps_id("9.1")]},
                }
            ],
        },
    }
    asked: list[list[tuple[str, str]]] = []

    def search(params: list[tuple[str, str]]) -> list[dict]:
        asked.append(params)
        return [HEAD] if params[0][0] != "StudyInstanceUID" else []

    assert scheduled_step(mpps, search) == HEAD
    assert asked == [
        [("StudyInstanceUID", OTHER_STUDY)],
        [("ReferencedRequestSequence.AccessionNumber", "A1")],
    ]


def test_an_mpps_naming_a_merged_patient_is_searched_under_the_survivor_too() -> None:
    """A modality that read its worklist before a patient merge names the prior Patient ID; the
    merge record (the lookup the service passes in) leads to the surviving patient's step."""
    step = {"00400270": {"vr": "SQ", "Value": [{"00400009": {"vr": "SH", "Value": [sps_id("9.2")]}}]}}
    mpps = {t.PATIENT_ID: {"vr": "LO", "Value": ["PRIOR"]}, **step}
    held = {"SURVIVOR": [CHEST]}

    def search(params: list[tuple[str, str]]) -> list[dict]:
        return held.get(dict(params).get("PatientID", ""), [])

    assert scheduled_step(mpps, search) is None
    assert scheduled_step(mpps, search, {"PRIOR": "SURVIVOR"}.get) == CHEST
