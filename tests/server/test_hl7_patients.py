"""ADT messages on a real server: demographics updates on open workitems, and merges that move
every workitem of the prior patient, in one transaction, while a procedure goes on under the
surviving patient over UPS-RS and over MPPS. `handle_adt` is what the HL7 door calls per ADT."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import hl7
import httpx
import pytest
from pydicom import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.sop_class import ModalityPerformedProcedureStep
from upsrs_client import (
    DICOM_JSON,
    GLOBAL,
    change_state,
    claim,
    create,
    item,
    listen,
    new_aet,
    performed,
    uid_of,
    update,
    value,
)

from app.domain.hl7_outcome import AckCode
from app.domain.mapping import sps_id
from app.server import ServerConfig, UPSServer
from app.server.audit import audit_path
from app.server.hl7_patients import handle_adt
from app.server.store import Store

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "hl7"
MSH = "MSH|^~\\&|RIS|HOSPITAL|WORKLIST|HOSPITAL|20260115093000||ADT^{event}|{control}|P|2.5\r"
OTHER_PATIENT_IDS = "00101002"


@pytest.fixture()
def srv(tmp_path) -> Iterator[UPSServer]:
    server = UPSServer(ServerConfig(http_port=0, dimse_port=0, db_path=str(tmp_path / "w.db"))).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def http(srv) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=srv.base_url, timeout=10.0, headers={"Accept": DICOM_JSON}) as client:
        yield client


def adt(event: str, *segments: str) -> hl7.Message:
    return hl7.parse(MSH.format(event=event, control=uuid.uuid4().hex[:12]) + "\r".join(segments) + "\r")


def apply(srv: UPSServer, message: hl7.Message):
    assert srv.local is not None
    return handle_adt(message, srv.local)


def patient() -> str:
    return "P" + uuid.uuid4().hex[:8].upper()


def get(http: httpx.Client, uid: str) -> dict:
    return http.get(f"/workitems/{uid}").json()[0]


def audit_lines(srv: UPSServer, action: str) -> list[dict]:
    lines = [json.loads(line) for line in Path(audit_path(srv.config.db_path)).read_text().splitlines() if line]
    return [line for line in lines if line["action"] == action]


def three_states(http: httpx.Client, patient_id: str) -> tuple[str, str, str, str]:
    """A SCHEDULED, an IN PROGRESS (and its Transaction UID) and a COMPLETED workitem of one patient."""
    scheduled = create(http, item(patient_id=patient_id))
    running = create(http, item(patient_id=patient_id))
    running_tx = claim(http, running)
    done = create(http, item(patient_id=patient_id))
    done_tx = claim(http, done)
    assert update(http, done, done_tx, performed()).status_code == 200
    assert change_state(http, done, "COMPLETED", done_tx).status_code == 200
    return scheduled, running, running_tx, done


@pytest.mark.parametrize("event", ["A08", "A31"])
def test_new_demographics_reach_every_workitem_not_yet_final(srv, http, event) -> None:
    pid = patient()
    scheduled, running, _, done = three_states(http, pid)
    outcome = apply(srv, adt(event, f"PID|||{pid}||Núñez^José^^^Dr||19610704|M"))
    assert outcome.code is AckCode.ACCEPTED, outcome
    assert set(outcome.workitems) == {scheduled, running}
    for uid in (scheduled, running):
        ds = get(http, uid)
        assert value(ds, "00100010") == {"Alphabetic": "Núñez^José^^Dr"}
        assert (value(ds, "00100030"), value(ds, "00100040")) == ("19610704", "M")
        assert value(ds, "00080005") == "ISO_IR 192"
    # a done procedure keeps the patient as then known
    assert value(get(http, done), "00100010") == {"Alphabetic": "Doe^Jane"}
    assert {line["uid"] for line in audit_lines(srv, "update-patient")} == {scheduled, running}


@pytest.mark.parametrize("event", ["A40", "A34", "A47"])
def test_a_merge_moves_every_workitem_of_the_prior_patient_whatever_its_state(srv, http, event) -> None:
    prior, survivor = patient(), patient()
    scheduled, running, running_tx, done = three_states(http, prior)
    other = create(http, item(patient_id=patient()))
    outcome = apply(srv, adt(event, f"PID|||{survivor}^^^HOSPITAL||Doe^Jane||19800102|F", f"MRG|{prior}"))
    assert outcome.code is AckCode.ACCEPTED, outcome
    assert set(outcome.workitems) == {scheduled, running, done}
    for uid in (scheduled, running, done):
        ds = get(http, uid)
        assert (value(ds, "00100020"), value(ds, "00100021")) == (survivor, "HOSPITAL")
        assert value(value(ds, OTHER_PATIENT_IDS), "00100020") == prior
    assert value(get(http, other), "00100020") != survivor
    assert http.get("/workitems", params={"PatientID": prior}).status_code == 204
    assert len(http.get("/workitems", params={"PatientID": survivor}).json()) == 3
    merges = audit_lines(srv, "merge")
    assert sorted(line["uid"] for line in merges) == sorted([scheduled, running, done])
    assert {line["door"] for line in merges} == {"HL7"}
    # the procedure in progress keeps its performer's Transaction UID, and completes under the survivor
    row = srv.local.get(running)
    assert row.transaction_uid == running_tx
    assert update(http, running, running_tx, performed()).status_code == 200
    assert change_state(http, running, "COMPLETED", running_tx).status_code == 200
    ds = get(http, running)
    assert (value(ds, "00741000"), value(ds, "00100020")) == ("COMPLETED", survivor)


def test_one_merge_moves_the_workitems_of_every_prior_identifier(srv, http) -> None:
    first, second, survivor = patient(), patient(), patient()
    uids = {create(http, item(patient_id=first)), create(http, item(patient_id=second))}
    outcome = apply(srv, adt("A40", f"PID|||{survivor}||Doe^Jane", f"MRG|{first}", f"MRG|{second}"))
    assert set(outcome.workitems) == uids
    assert {uid_of(ds) for ds in http.get("/workitems", params={"PatientID": survivor}).json()} == uids


def test_a_merge_tells_the_subscribers_of_the_moved_workitem(srv, http) -> None:
    prior, survivor = patient(), patient()
    running = create(http, item(patient_id=prior))
    claim(http, running)
    events = listen(http, GLOBAL, new_aet())
    try:
        events.drain(0.2)
        apply(srv, adt("A40", f"PID|||{survivor}||Doe^Jane", f"MRG|{prior}"))
        report = events.wait_for(running, 1)
        assert value(report, "00741000") == "IN PROGRESS"
    finally:
        events.close()


def test_a_name_correction_tells_the_subscribers_and_an_unchanged_one_does_not(srv, http) -> None:
    pid = patient()
    scheduled = create(http, item(patient_id=pid))
    events = listen(http, GLOBAL, new_aet())
    try:
        events.drain(0.2)
        apply(srv, adt("A08", f"PID|||{pid}||Doe^Janet"))
        report = events.wait_for(scheduled, 1)  # restating SCHEDULED: the console re-reads the name
        assert value(report, "00741000") == "SCHEDULED"
        apply(srv, adt("A08", f"PID|||{pid}||Doe^Janet"))  # the same again: nothing to tell
        assert events.drain(0.3) == []
    finally:
        events.close()


def test_a_merge_that_fails_half_way_moves_nothing(srv, http, monkeypatch) -> None:
    prior, survivor = patient(), patient()
    uids = three_states(http, prior)
    saved = Store.save
    calls = iter(range(100))

    def fail_on_the_second(self, *args, **kwargs):
        if next(calls) == 1:
            raise sqlite3.OperationalError("database or disk is full")
        return saved(self, *args, **kwargs)

    monkeypatch.setattr(Store, "save", fail_on_the_second)
    outcome = apply(srv, adt("A40", f"PID|||{survivor}||Doe^Jane", f"MRG|{prior}"))
    monkeypatch.undo()
    assert outcome.code is AckCode.REJECTED and outcome.error_code == 207, outcome
    assert "send it again" in outcome.text
    for uid in (uids[0], uids[1], uids[3]):
        assert value(get(http, uid), "00100020") == prior
    assert srv.local.get(uids[1]).transaction_uid == uids[2]
    assert audit_lines(srv, "merge") == []
    with srv.store.read() as db:
        assert srv.store.survivor_of(db, prior) is None


def test_a_merge_of_a_patient_without_workitems_is_done_and_says_so(srv) -> None:
    outcome = apply(srv, adt("A40", f"PID|||{patient()}||Doe^Jane", f"MRG|{patient()}"))
    assert outcome.code is AckCode.ACCEPTED
    assert outcome.workitems == ()
    assert "nothing was moved" in outcome.text


def test_what_cannot_be_done_is_refused_with_where_and_why(srv) -> None:
    no_patient = apply(srv, adt("A08", "PID|||||Doe^Jane"))
    no_prior = apply(srv, adt("A40", "PID|||P1||Doe^Jane"))
    unsupported = apply(srv, adt("A03", "PID|||P1||Doe^Jane"))
    assert (no_patient.code, no_patient.error_code, no_patient.location.segment) == (AckCode.ERROR, 101, "PID")
    assert (no_prior.code, no_prior.error_code, no_prior.location.segment) == (AckCode.ERROR, 101, "MRG")
    assert (unsupported.code, unsupported.error_code) == (AckCode.REJECTED, 201)


def test_the_sample_messages_apply(srv, http) -> None:
    ordered = item(patient_id="PAT-PRIOR")
    ordered["00100021"] = {"vr": "LO", "Value": ["HOSPITAL"]}  # the samples' assigning authority
    running = create(http, ordered)
    claim(http, running)
    merge = hl7.parse((SAMPLES / "adt_a40_merge.hl7").read_bytes().decode("utf-8"))
    assert apply(srv, merge).workitems == (running,)
    update_message = hl7.parse((SAMPLES / "adt_a08_update.hl7").read_bytes().decode("utf-8"))
    assert apply(srv, update_message).workitems == (running,)
    assert value(get(http, running), "00100010") == {"Alphabetic": "O&Brien^Anne^Marie"}


# -- MPPS: a modality that goes on after the merge, or still names the prior patient ------------------
def mpps_create(step_id: str, patient_id: str, study: str = "", accession: str = "") -> Dataset:
    now = datetime.now()
    ds = Dataset()
    step = Dataset()
    step.StudyInstanceUID, step.AccessionNumber, step.ScheduledProcedureStepID = study, accession, step_id
    ds.ScheduledStepAttributesSequence = [step]
    ds.PatientName, ds.PatientID = "Doe^Jane", patient_id
    ds.PerformedProcedureStepID = "PPS1"
    ds.PerformedStationAETitle = "CT1"
    ds.PerformedProcedureStepStartDate = now.strftime("%Y%m%d")
    ds.PerformedProcedureStepStartTime = now.strftime("%H%M%S")
    ds.PerformedProcedureStepStatus = "IN PROGRESS"
    ds.Modality = "CT"
    ds.PerformedProcedureStepEndDate = ds.PerformedProcedureStepEndTime = ""
    ds.PerformedSeriesSequence = []
    return ds


def mpps_completed() -> Dataset:
    now = datetime.now()
    ds = Dataset()
    ds.PerformedProcedureStepStatus = "COMPLETED"
    ds.PerformedProcedureStepEndDate = now.strftime("%Y%m%d")
    ds.PerformedProcedureStepEndTime = now.strftime("%H%M%S")
    series = Dataset()
    series.SeriesInstanceUID = generate_uid()
    series.SeriesDescription = "Chest"
    series.OperatorsName = "Tanaka^Yui"
    series.ReferencedImageSequence = []
    ds.PerformedSeriesSequence = [series]
    return ds


def mpps_association(srv: UPSServer):
    ae = AE("CT1")
    ae.add_requested_context(ModalityPerformedProcedureStep)
    assoc = ae.associate("127.0.0.1", srv.dimse.port, ae_title="WORKLIST")
    assert assoc.is_established
    return assoc


def test_an_mpps_started_before_the_merge_completes_after_it_under_the_survivor(srv, http) -> None:
    prior, survivor = patient(), patient()
    uid = create(http, item(patient_id=prior))
    scheduled = get(http, uid)
    assoc = mpps_association(srv)
    mpps_uid = generate_uid()
    try:
        started = mpps_create(sps_id(uid), prior, value(scheduled, "0020000D"))
        assert assoc.send_n_create(started, ModalityPerformedProcedureStep, mpps_uid)[0].Status == 0
        transaction = srv.local.get(uid).transaction_uid
        assert apply(srv, adt("A40", f"PID|||{survivor}||Doe^Jane", f"MRG|{prior}")).workitems == (uid,)
        assert srv.local.get(uid).transaction_uid == transaction
        assert assoc.send_n_set(mpps_completed(), ModalityPerformedProcedureStep, mpps_uid)[0].Status == 0
    finally:
        assoc.release()
    ds = get(http, uid)
    assert (value(ds, "00741000"), value(ds, "00100020")) == ("COMPLETED", survivor)


def test_an_mpps_naming_the_prior_patient_is_matched_through_the_merge(srv, http) -> None:
    prior, survivor = patient(), patient()
    uid = create(http, item(patient_id=prior))
    apply(srv, adt("A40", f"PID|||{survivor}||Doe^Jane", f"MRG|{prior}"))
    assoc = mpps_association(srv)
    mpps_uid = generate_uid()
    try:
        # a modality that read its worklist before the merge: the step ID and the prior patient only
        started = mpps_create(sps_id(uid), prior)
        assert assoc.send_n_create(started, ModalityPerformedProcedureStep, mpps_uid)[0].Status == 0
        assert assoc.send_n_set(mpps_completed(), ModalityPerformedProcedureStep, mpps_uid)[0].Status == 0
    finally:
        assoc.release()
    ds = get(http, uid)
    assert (value(ds, "00741000"), value(ds, "00100020")) == ("COMPLETED", survivor)
    assert len(http.get("/workitems", params={"PatientID": survivor}).json()) == 1  # no unscheduled one
