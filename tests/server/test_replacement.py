"""A step started by mistake goes back on the worklist: the performer cancels it with the reason
"Incorrect worklist entry selected" and creates its replacement, naming it in the Replaced
Procedure Step Sequence; the server copies the canceled step's scheduled data into whatever the
Create did not give. Over MPPS, DISCONTINUED with that reason does both on the server."""

from __future__ import annotations

import httpx
from pydicom.uid import generate_uid
from pynetdicom.sop_class import ModalityPerformedProcedureStep
from test_mpps_front import associate, completed, in_progress, ups_of, worklist
from upsrs_client import change_state, claim, create, item, post, progress, uid_of, update, value

from app.domain import tags as t
from app.domain.build import code_item
from app.domain.mapping import sps_id
from app.domain.procedure import discontinuation_json
from app.domain.replacement import WRONG_ENTRY, replaced_reference
from app.domain.workitem import Code

UPS_PUSH = "1.2.840.10008.5.1.4.34.6.1"
EQUIPMENT_FAILURE = Code("110501", "DCM", "Equipment failure")


def retrieve(http: httpx.Client, uid: str) -> dict:
    r = http.get(f"/workitems/{uid}")
    assert r.status_code == 200, r.headers.get("Warning")
    return r.json()[0]


def scheduled_entry(front, assoc, station: str):
    """An MWL entry of `station` whose order no test has touched yet (one UPS, SCHEDULED)."""
    with httpx.Client(base_url=front.base_url) as http:
        for entry in worklist(assoc, station):
            found = http.get(
                "/workitems", params={"ReferencedRequestSequence.AccessionNumber": entry.AccessionNumber}
            ).json()
            if [value(w, t.PROCEDURE_STEP_STATE) for w in found] == ["SCHEDULED"]:
                return entry
    raise AssertionError(f"no untouched scheduled entry for {station}")


def cancel_as_wrong_entry(http: httpx.Client, uid: str) -> None:
    tx = claim(http, uid)
    assert update(http, uid, tx, progress(5, "patient on the table")).status_code == 200
    assert update(http, uid, tx, discontinuation_json(WRONG_ENTRY)).status_code == 200
    assert change_state(http, uid, "CANCELED", tx).status_code == 200


def test_a_replacement_copies_the_scheduled_data_the_create_did_not_give(http):
    ds = item("CT2", patient="Wrong^Patient", label="CT head", birth_date="19500101", sex="F")
    ds[t.INPUT_INFORMATION_SEQ] = {
        "vr": "SQ",
        "Value": [{"0040E020": {"vr": "CS", "Value": ["DICOM"]}, "0020000D": {"vr": "UI", "Value": ["1.2.3.4"]}}],
    }
    ds[t.COMMENTS_ON_SPS] = {"vr": "LT", "Value": ["contrast allergy"]}
    old = create(http, ds)
    cancel_as_wrong_entry(http, old)
    new = generate_uid()
    minimal = {
        t.SOP_INSTANCE_UID: {"vr": "UI", "Value": [new]},
        t.PROCEDURE_STEP_STATE: {"vr": "CS", "Value": ["SCHEDULED"]},
        t.COMMENTS_ON_SPS: {"vr": "LT", "Value": ["second try"]},  # what the Create gives is kept
        **replaced_reference(old),
    }
    r = post(http, "/workitems", [minimal])
    assert r.status_code == 201, r.headers.get("Warning")
    before, after = retrieve(http, old), retrieve(http, new)
    assert value(before, t.PROCEDURE_STEP_STATE) == "CANCELED"
    reason = before[t.PROGRESS_INFORMATION_SEQ]["Value"][0][t.DISCONTINUATION_REASON_CODE_SEQ]["Value"][0]
    assert reason == code_item(WRONG_ENTRY)
    assert value(after, t.PROCEDURE_STEP_STATE) == "SCHEDULED"
    for tag in (
        t.PATIENT_NAME,
        t.PATIENT_ID,
        t.BIRTH_DATE,
        t.SEX,
        t.PROCEDURE_STEP_LABEL,
        t.SPS_START_DATETIME,
        t.PRIORITY,
        t.STATION_NAME_CODE_SEQ,
        t.STATION_CLASS_CODE_SEQ,
        t.REFERENCED_REQUEST_SEQ,
        t.STUDY_INSTANCE_UID,
        t.INPUT_INFORMATION_SEQ,
    ):
        assert after.get(tag) == ds.get(tag), tag
    reference = after[t.REPLACED_PROCEDURE_STEP_SEQ]["Value"][0]
    assert value(reference, "00081150") == UPS_PUSH and value(reference, "00081155") == old
    # what belonged to the started step stays with it
    assert not (after.get(t.PROGRESS_INFORMATION_SEQ) or {}).get("Value")
    assert not (after.get(t.PERFORMED_PROCEDURE_SEQ) or {}).get("Value")
    assert value(after, t.SOP_INSTANCE_UID) == new
    assert value(after, t.COMMENTS_ON_SPS) == "second try"


def test_mpps_discontinued_as_wrong_entry_puts_the_order_back_as_a_replacement(front):
    other = discontinue_otherwise(front)
    assoc = associate(front.dimse.port, "CT1")
    try:
        chosen = scheduled_entry(front, assoc, "CT1")
        old = ups_of(front, chosen)
        old_uid = uid_of(old)
        mpps_uid = generate_uid()
        started, _ = assoc.send_n_create(in_progress(chosen, "CT1", "CT"), ModalityPerformedProcedureStep, mpps_uid)
        assert started.Status == 0x0000
        stop = completed("DISCONTINUED")
        stop.PerformedSeriesSequence = []
        stop.PerformedProcedureStepDiscontinuationReasonCodeSequence = [WRONG_ENTRY.to_item()]
        assert assoc.send_n_set(stop, ModalityPerformedProcedureStep, mpps_uid)[0].Status == 0x0000
        again = [w for w in worklist(assoc, "CT1") if w.AccessionNumber == chosen.AccessionNumber]
    finally:
        assoc.release()
    with httpx.Client(base_url=front.base_url) as http:
        found = http.get(
            "/workitems", params={"ReferencedRequestSequence.AccessionNumber": chosen.AccessionNumber}
        ).json()
        states = {uid_of(w): value(w, t.PROCEDURE_STEP_STATE) for w in found}
        assert states.pop(old_uid) == "CANCELED"
        [(new_uid, state)] = states.items()
        assert state == "SCHEDULED"
        replacement = retrieve(http, new_uid)
    reference = replacement[t.REPLACED_PROCEDURE_STEP_SEQ]["Value"][0]
    assert value(reference, "00081155") == old_uid
    assert replacement[t.PATIENT_NAME] == old[t.PATIENT_NAME]
    assert replacement[t.SPS_START_DATETIME] == old[t.SPS_START_DATETIME]
    # the modality finds the order on its worklist again, as a new scheduled step
    assert sps_id(new_uid) in {w.ScheduledProcedureStepSequence[0].ScheduledProcedureStepID for w in again}
    # another reason ends the order: nothing comes back
    with httpx.Client(base_url=front.base_url) as http:
        found = http.get("/workitems", params={"ReferencedRequestSequence.AccessionNumber": other}).json()
    assert [value(w, t.PROCEDURE_STEP_STATE) for w in found] == ["CANCELED"]


def discontinue_otherwise(front) -> str:
    """Discontinue an entry for equipment failure; its accession number."""
    assoc = associate(front.dimse.port, "CT1")
    try:
        chosen = scheduled_entry(front, assoc, "CT1")
        mpps_uid = generate_uid()
        assoc.send_n_create(in_progress(chosen, "CT1", "CT"), ModalityPerformedProcedureStep, mpps_uid)
        stop = completed("DISCONTINUED")
        stop.PerformedProcedureStepDiscontinuationReasonCodeSequence = [EQUIPMENT_FAILURE.to_item()]
        assert assoc.send_n_set(stop, ModalityPerformedProcedureStep, mpps_uid)[0].Status == 0x0000
    finally:
        assoc.release()
    return str(chosen.AccessionNumber)
