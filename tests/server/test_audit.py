"""The audit file beside the database: who created, started, completed, canceled or subscribed,
through which door and from where — written only for what was committed, without patient names
unless the site asks for them, and read back by `worklist-console audit`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from door import PASSWORD, locked_server
from embedded_server import PINNED_DAY
from pydicom.uid import generate_uid
from pynetdicom.sop_class import ModalityPerformedProcedureStep
from test_mpps_front import associate, completed, in_progress, worklist
from upsrs_client import GLOBAL, change_state, claim, create, item, performed, post, subscribe, update

from app.cli import main
from app.server import ServerConfig, UPSServer
from app.server.audit import Actor, AuditLog, audit_path, read

UTC_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def serve(tmp_path: Path, **options) -> UPSServer:
    return UPSServer(ServerConfig(http_port=0, dimse_port=0, db_path=str(tmp_path / "w.db"), **options)).start()


@pytest.fixture()
def server(tmp_path) -> Iterator[UPSServer]:
    srv = serve(tmp_path)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture()
def http(server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        yield client


def lines(server: UPSServer, uid: str | None = None) -> list[dict]:
    return list(read(audit_path(server.store.path), uid))


def test_a_procedure_done_over_upsrs_is_audited_create_claim_complete_with_who_and_no_patient(server, http):
    uid = create(http, item("CT1", patient="Lindqvist^Astrid", patient_id="PID-4711"))
    tx = generate_uid()
    assert change_state(http, uid, "IN PROGRESS", tx, suffix="/CT1").status_code == 200
    assert update(http, uid, tx, performed()).status_code == 200
    assert change_state(http, uid, "COMPLETED", tx).status_code == 200

    found = lines(server, uid)
    assert [(x["action"], x["before"], x["after"]) for x in found] == [
        ("create", None, "SCHEDULED"),
        ("claim", "SCHEDULED", "IN PROGRESS"),
        ("complete", "IN PROGRESS", "COMPLETED"),
    ]
    claimed, done = found[1], found[2]
    assert claimed["ae"] == "CT1" and done["ae"] == "CT1"  # the performer completes, whatever it names
    assert all(x["door"] == "UPS-RS" and x["peer"].startswith("127.0.0.1:") for x in found)
    assert all(UTC_TIME.match(x["time"]) for x in found)
    text = audit_path(server.store.path).read_text(encoding="utf-8")
    assert "Lindqvist" not in text and "PID-4711" not in text and tx not in text


def test_over_a_locked_door_the_line_names_the_authenticated_user_and_the_ae_it_acts_as(tmp_path):
    server, _ = locked_server(tmp_path, tech1=["CT1"])
    try:
        with httpx.Client(base_url=server.base_url, timeout=10, auth=("tech1", PASSWORD)) as http:
            uid = create(http, item("CT1"))
            assert change_state(http, uid, "IN PROGRESS", generate_uid()).status_code == 200  # names no AE
        claimed = lines(server, uid)[-1]
    finally:
        server.stop()
    assert (claimed["action"], claimed["user"], claimed["ae"], claimed["door"]) == ("claim", "tech1", "CT1", "UPS-RS")


def test_a_refused_change_leaves_no_line(server, http):
    uid = create(http, item("CT1"))
    claim(http, uid)
    before = len(lines(server, uid))
    assert change_state(http, uid, "COMPLETED", generate_uid()).status_code in (400, 409)  # not the holder
    assert change_state(http, uid, "IN PROGRESS", generate_uid()).status_code == 409  # already claimed
    assert len(lines(server, uid)) == before


def test_an_mpps_claim_and_completion_are_audited_as_the_modality_over_dimse(server, http):
    start = datetime.combine(PINNED_DAY, datetime.min.time()).replace(hour=10)
    uid = create(http, item("MR1", start=start, modality="MR"))
    assoc = associate(server.dimse.port, calling="MR1")
    try:
        scheduled = worklist(assoc, "MR1")[0]
        mpps_uid = generate_uid()
        status, _ = assoc.send_n_create(in_progress(scheduled, "MR1"), ModalityPerformedProcedureStep, mpps_uid)
        assert status.Status == 0
        status, _ = assoc.send_n_set(completed(), ModalityPerformedProcedureStep, mpps_uid)
        assert status.Status == 0
    finally:
        assoc.release()
    found = [x for x in lines(server, uid) if x["action"] != "create"]
    assert [(x["action"], x["after"], x["ae"], x["door"]) for x in found] == [
        ("claim", "IN PROGRESS", "MR1", "DIMSE MPPS"),
        ("complete", "COMPLETED", "MR1", "DIMSE MPPS"),
    ]
    assert found[0]["peer"].startswith("127.0.0.1:")


def test_cancellation_requests_and_subscriptions_are_audited(server, http):
    scheduled = create(http, item("CT1"))
    started = create(http, item("CT1"))
    claim(http, started)
    reason = [{"00741238": {"vr": "LT", "Value": ["wrong patient"]}}]
    assert post(http, f"/workitems/{scheduled}/cancelrequest/RIS1", reason).status_code == 202
    assert post(http, f"/workitems/{started}/cancelrequest/RIS1", reason).status_code == 202
    assert subscribe(http, GLOBAL, "WATCHER").status_code == 201

    now_canceled = lines(server, scheduled)[-1]
    assert (now_canceled["action"], now_canceled["before"], now_canceled["after"]) == (
        "request-cancellation",
        "SCHEDULED",
        "CANCELED",
    )
    assert now_canceled["ae"] == now_canceled["requester"] == "RIS1"
    asked = lines(server, started)[-1]
    assert (asked["action"], asked["after"], asked["requester"]) == ("request-cancellation", "IN PROGRESS", "RIS1")
    subscribed = lines(server, GLOBAL)[-1]
    assert (subscribed["action"], subscribed["subscriber"]) == ("subscribe", "WATCHER")


def test_with_audit_phi_the_lines_name_the_patient(tmp_path):
    srv = serve(tmp_path, audit_phi=True)
    try:
        with httpx.Client(base_url=srv.base_url, timeout=10) as http:
            uid = create(http, item("CT1", patient="Lindqvist^Astrid", patient_id="PID-4711"))
        (created,) = lines(srv, uid)
    finally:
        srv.stop()
    assert (created["patient_name"], created["patient_id"]) == ("Lindqvist^Astrid", "PID-4711")


def test_the_audit_command_answers_who_completed_a_workitem(server, http, capsys):
    uid = create(http, item("CT1"))
    other = create(http, item("CT2"))
    tx = generate_uid()
    assert change_state(http, uid, "IN PROGRESS", tx, suffix="/CT1").status_code == 200
    assert update(http, uid, tx, performed()).status_code == 200
    assert change_state(http, uid, "COMPLETED", tx).status_code == 200
    capsys.readouterr()

    assert main(["audit", "--db", server.store.path, "--uid", uid]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and all(uid in line for line in out) and not any(other in line for line in out)
    assert re.search(
        r"UTC\s+CT1 \(from 127\.0\.0\.1:\d+ over UPS-RS\) completed .* \(IN PROGRESS → COMPLETED\)", out[-1]
    )

    assert main(["audit", "--db", server.store.path, "--uid", uid, "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert records[-1]["action"] == "complete"

    assert main(["audit", "--db", server.store.path, "--uid", "1.2.3.4.5.6.7"]) == 1
    assert "records no change of workitem 1.2.3.4.5.6.7" in capsys.readouterr().err


def test_the_audit_file_rotates_and_is_read_back_whole_in_order(tmp_path):
    audit = AuditLog(tmp_path / "w.audit.jsonl", max_bytes=2000, backups=50)
    try:
        for n in range(60):
            audit.write([audit.record("claim", f"1.2.{n}", when=1.8e9 + n, actor=Actor(ae="CT1"))])
    finally:
        audit.close()
    assert len(list(tmp_path.glob("w.audit.jsonl.*"))) > 2
    assert [x["uid"] for x in read(tmp_path / "w.audit.jsonl")] == [f"1.2.{n}" for n in range(60)]


def test_a_supplement_246_change_is_audited_as_sup_246_with_the_one_ae_that_acted(tmp_path):
    from app.domain.dicomjson import from_dataset

    server, _ = locked_server(tmp_path, tech1=["CT1", "CT3"])
    try:
        with httpx.Client(base_url=server.base_url, timeout=10, auth=("tech1", PASSWORD)) as http:
            dataset = item("CT1")
            uid = create(http, dataset)
            request = dataset["0040A370"]["Value"][0]
            mpps = in_progress(None, "CT1", "CT")
            mpps.ScheduledStepAttributesSequence[0].StudyInstanceUID = request["0020000D"]["Value"][0]
            mpps.ScheduledStepAttributesSequence[0].AccessionNumber = request["00080050"]["Value"][0]
            # the header says CT3, the MPPS names CT1: the MPPS's performing station is the one that acts
            r = http.post(
                f"/modality-performed-procedure-steps/{generate_uid()}",
                content=json.dumps(from_dataset(mpps)),
                headers={"Content-Type": "application/dicom+json", "Calling-AE-Title": "CT3"},
            )
            assert r.status_code == 201, r.headers.get("Warning")
        claimed = next(line for line in lines(server, uid) if line["action"] == "claim")
    finally:
        server.stop()
    assert (claimed["door"], claimed["ae"], claimed["performer"], claimed["user"]) == ("Sup 246", "CT1", "CT1", "tech1")
