"""The SCP / User-Agent gateway: a DIMSE modality (DCMTK findscu, a pynetdicom MPPS SCU) in front
of a UPS-RS-only worklist — a second instance of our server — through `serve --upstream upsrs:URL`."""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from embedded_server import PINNED_DAY, start_server
from proxy import Proxy
from pydicom import Dataset, dcmread
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.sop_class import ModalityPerformedProcedureStep, ModalityWorklistInformationFind
from waiting import until
from websockets.sync.client import connect

from app.domain.dicomjson import from_dataset

FINDSCU = Path("/usr/bin/findscu")  # DCMTK's, not pynetdicom's script of the same name
DAY = PINNED_DAY.strftime("%Y%m%d")
STATE, PERFORMED = "00741000", "00741216"


# -- a modality ------------------------------------------------------------------------------------
def associate(port: int, calling: str = "MR1"):
    ae = AE(calling)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 30
    ae.add_requested_context(ModalityWorklistInformationFind)
    ae.add_requested_context(ModalityPerformedProcedureStep)
    assoc = ae.associate("127.0.0.1", port, ae_title="WORKLIST")
    assert assoc.is_established
    return assoc


def worklist(port: int, station: str) -> list[Dataset]:
    query = Dataset()
    for keyword in ("PatientName", "PatientID", "AccessionNumber", "RequestedProcedureID", "StudyInstanceUID"):
        setattr(query, keyword, "")
    sps = Dataset()
    sps.ScheduledStationAETitle = station
    sps.ScheduledProcedureStepStartDate = DAY
    sps.ScheduledProcedureStepID = ""
    sps.ScheduledProcedureStepDescription = ""
    sps.Modality = ""
    query.ScheduledProcedureStepSequence = [sps]
    assoc = associate(port)
    try:
        return [i for s, i in assoc.send_c_find(query, ModalityWorklistInformationFind) if s and s.Status == 0xFF00]
    finally:
        assoc.release()


def in_progress(item: Dataset | None, station: str = "MR1") -> Dataset:
    """The N-CREATE of PS3.4 Table F.7.2-1, copied from the worklist item (None: unscheduled)."""
    now = datetime.now()
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    step = Dataset()
    if item is not None:
        sps = item.ScheduledProcedureStepSequence[0]
        step.StudyInstanceUID = item.StudyInstanceUID
        step.AccessionNumber = item.AccessionNumber
        step.RequestedProcedureID = item.RequestedProcedureID
        step.ScheduledProcedureStepID = sps.ScheduledProcedureStepID
        ds.PatientName, ds.PatientID = item.PatientName, item.PatientID
    else:
        step.StudyInstanceUID = generate_uid()
        step.AccessionNumber = ""
        ds.PatientName, ds.PatientID = "Unbekannt^Notfall", f"EMERG-{generate_uid()[-6:]}"
    ds.ScheduledStepAttributesSequence = [step]
    ds.PerformedProcedureStepID = "PPS1"
    ds.PerformedStationAETitle = station
    ds.PerformedProcedureStepStartDate = now.strftime("%Y%m%d")
    ds.PerformedProcedureStepStartTime = now.strftime("%H%M%S")
    ds.PerformedProcedureStepStatus = "IN PROGRESS"
    ds.PerformedProcedureStepDescription = "MR head"
    ds.Modality = "MR"
    ds.PerformedSeriesSequence = []
    return ds


def completed(status: str = "COMPLETED") -> Dataset:
    now = datetime.now()
    ds = Dataset()
    ds.PerformedProcedureStepStatus = status
    ds.PerformedProcedureStepEndDate = now.strftime("%Y%m%d")
    ds.PerformedProcedureStepEndTime = now.strftime("%H%M%S")
    series = Dataset()
    series.SeriesInstanceUID = generate_uid()
    series.SeriesDescription = "T2 axial"
    series.ProtocolName = "T2 AX"
    series.OperatorsName = "Tanaka^Yui"
    series.PerformingPhysicianName = ""
    series.RetrieveAETitle = ""
    image = Dataset()
    image.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    image.ReferencedSOPInstanceUID = generate_uid()
    series.ReferencedImageSequence = [image]
    series.ReferencedNonImageCompositeSOPInstanceSequence = []
    ds.PerformedSeriesSequence = [series]
    if status == "DISCONTINUED":
        reason = Dataset()
        reason.CodeValue, reason.CodingSchemeDesignator = "110514", "DCM"
        reason.CodeMeaning = "Incorrect worklist entry selected"
        ds.PerformedProcedureStepDiscontinuationReasonCodeSequence = [reason]
    return ds


def n_create(port: int, ds: Dataset, uid: str) -> Dataset:
    assoc = associate(port)
    try:
        status, _ = assoc.send_n_create(ds, ModalityPerformedProcedureStep, uid)
    finally:
        assoc.release()
    return status


def n_set(port: int, ds: Dataset, uid: str) -> Dataset:
    assoc = associate(port)
    try:
        status, _ = assoc.send_n_set(ds, ModalityPerformedProcedureStep, uid)
    finally:
        assoc.release()
    return status


# -- what the upstream holds -------------------------------------------------------------------------
def value(ds: dict, tag: str):
    values = ds.get(tag, {}).get("Value") or [None]
    return values[0]


def upstream_items(base_url: str, **params: str) -> list[dict]:
    with httpx.Client(base_url=base_url, timeout=10) as http:
        response = http.get("/workitems", params={**params, "includefield": "all"})
        return response.json() if response.status_code == 200 else []


def by_accession(base_url: str, accession: str) -> dict:
    (found,) = upstream_items(base_url, **{"ReferencedRequestSequence.AccessionNumber": accession})
    with httpx.Client(base_url=base_url, timeout=10) as http:
        return http.get(f"/workitems/{value(found, '00080018')}").json()[0]


# -- MWL -------------------------------------------------------------------------------------------------
def findscu(port: int, tmp_path: Path, station: str) -> list[Dataset]:
    out = tmp_path / "answers"
    out.mkdir()
    keys = ["PatientName", "PatientID", "AccessionNumber", "StudyInstanceUID"]
    sps = [
        f"ScheduledStationAETitle={station}",
        f"ScheduledProcedureStepStartDate={DAY}",
        "Modality",
        "ScheduledProcedureStepID",
    ]
    args = [arg for key in keys for arg in ("-k", key)]
    args += [arg for key in sps for arg in ("-k", f"ScheduledProcedureStepSequence[0].{key}")]
    proc = subprocess.run(
        [str(FINDSCU), "-W", "-aec", "WORKLIST", "-X", "-od", str(out), *args, "127.0.0.1", str(port)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    return [dcmread(p) for p in sorted(out.iterdir())]


@pytest.mark.interop
def test_dcmtk_findscu_lists_the_upstream_worklist_through_the_gateway(upstream, gateway_of, tmp_path):
    if not FINDSCU.exists():
        pytest.skip("DCMTK findscu is not installed")
    gateway = gateway_of(upstream.base_url)
    answers = findscu(gateway.dimse_port, tmp_path, "MR1")
    scheduled = upstream_items(
        upstream.base_url, **{"ScheduledStationNameCodeSequence.CodeValue": "MR1", "ProcedureStepState": "SCHEDULED"}
    )
    on_day = {
        value(value(ups, "0040A370"), "00080050") for ups in scheduled if str(value(ups, "00404005")).startswith(DAY)
    }
    assert on_day, "the pinned demo day schedules MR1"
    assert {str(a.AccessionNumber) for a in answers} == on_day
    assert all(a.ScheduledProcedureStepSequence[0].ScheduledStationAETitle == "MR1" for a in answers)


# -- MPPS --------------------------------------------------------------------------------------------------
def test_mpps_from_a_modality_starts_and_completes_the_upstream_workitem(upstream, gateway_of):
    gateway = gateway_of(upstream.base_url)
    item = worklist(gateway.dimse_port, "MR1")[0]
    assert value(by_accession(upstream.base_url, item.AccessionNumber), STATE) == "SCHEDULED"
    mpps = generate_uid()

    assert n_create(gateway.dimse_port, in_progress(item), mpps).Status == 0x0000
    started = by_accession(upstream.base_url, item.AccessionNumber)
    assert value(started, STATE) == "IN PROGRESS"
    assert value(value(value(started, PERFORMED), "00404028"), "00080100") == "MR1"  # performed station

    assert n_set(gateway.dimse_port, completed(), mpps).Status == 0x0000
    done = by_accession(upstream.base_url, item.AccessionNumber)
    assert value(done, STATE) == "COMPLETED"
    output = value(value(done, PERFORMED), "00404033")
    assert value(output, "0008103E") == "T2 axial" and len(output["00081199"]["Value"]) == 1


def test_discontinued_mpps_cancels_the_upstream_workitem_with_the_reason(upstream, gateway_of):
    gateway = gateway_of(upstream.base_url)
    item = worklist(gateway.dimse_port, "MR1")[0]
    mpps = generate_uid()
    assert n_create(gateway.dimse_port, in_progress(item), mpps).Status == 0x0000
    assert n_set(gateway.dimse_port, completed("DISCONTINUED"), mpps).Status == 0x0000
    listed = upstream_items(upstream.base_url, **{"ReferencedRequestSequence.AccessionNumber": item.AccessionNumber})
    (canceled,) = [w for w in listed if value(w, STATE) == "CANCELED"]
    reason = value(value(canceled, "00741002"), "0074100E")
    assert value(reason, "00080100") == "110514"
    # "Incorrect worklist entry selected": the order is back upstream, as on our own server
    (back,) = [w for w in listed if value(w, STATE) == "SCHEDULED"]
    replaced = value(back, "00741224")
    assert value(replaced, "00081155") == value(canceled, "00080018")
    assert value(back, "00100010") == value(canceled, "00100010")


def test_a_discontinued_mpps_for_another_reason_puts_nothing_back(upstream, gateway_of):
    gateway = gateway_of(upstream.base_url)
    item = worklist(gateway.dimse_port, "MR1")[0]
    mpps = generate_uid()
    assert n_create(gateway.dimse_port, in_progress(item), mpps).Status == 0x0000
    ended = completed("DISCONTINUED")
    ended.PerformedProcedureStepDiscontinuationReasonCodeSequence[0].CodeValue = "110500"
    ended.PerformedProcedureStepDiscontinuationReasonCodeSequence[0].CodeMeaning = "Doctor canceled procedure"
    assert n_set(gateway.dimse_port, ended, mpps).Status == 0x0000
    listed = upstream_items(upstream.base_url, **{"ReferencedRequestSequence.AccessionNumber": item.AccessionNumber})
    assert [value(w, STATE) for w in listed] == ["CANCELED"]


def test_an_unscheduled_procedure_creates_its_workitem_upstream(upstream, gateway_of):
    gateway = gateway_of(upstream.base_url)
    ds = in_progress(None)
    mpps = generate_uid()
    assert n_create(gateway.dimse_port, ds, mpps).Status == 0x0000
    (created,) = upstream_items(upstream.base_url, PatientID=str(ds.PatientID))
    assert value(created, STATE) == "IN PROGRESS"
    assert value(created, "0020000D") == ds.ScheduledStepAttributesSequence[0].StudyInstanceUID
    assert n_set(gateway.dimse_port, completed(), mpps).Status == 0x0000
    (done,) = upstream_items(upstream.base_url, PatientID=str(ds.PatientID))
    assert value(done, STATE) == "COMPLETED"


def test_a_step_already_started_upstream_is_refused_with_a_sentence(upstream, gateway_of):
    gateway = gateway_of(upstream.base_url)
    item = worklist(gateway.dimse_port, "MR1")[0]
    assert n_create(gateway.dimse_port, in_progress(item), generate_uid()).Status == 0x0000
    status = n_create(gateway.dimse_port, in_progress(item), generate_uid())
    assert status.Status == 0x0110
    assert "already in progress" in status.ErrorComment


# -- the upstream away -------------------------------------------------------------------------------
def test_upstream_stopped_mid_procedure_fails_clearly_and_half_writes_nothing(upstream, gateway_of, tmp_path):
    gateway = gateway_of(upstream.base_url)
    item = worklist(gateway.dimse_port, "MR1")[0]
    mpps = generate_uid()
    assert n_create(gateway.dimse_port, in_progress(item), mpps).Status == 0x0000
    port = upstream.port
    upstream.stop()

    began = time.monotonic()
    status = n_set(gateway.dimse_port, completed(), mpps)
    assert time.monotonic() - began < 15  # an answer, not a hang
    assert status.Status == 0x0110
    assert f"Upstream 127.0.0.1:{port}" in status.ErrorComment
    unscheduled = n_create(gateway.dimse_port, in_progress(None), generate_uid())
    assert unscheduled.Status == 0x0110 and "127.0.0.1" in unscheduled.ErrorComment

    back = start_server(tmp_path / "upstream.db", port=port)
    try:
        # the upstream never saw the completion: still IN PROGRESS, no end; the gateway still knows the claim
        still = by_accession(back.base_url, item.AccessionNumber)
        assert value(still, STATE) == "IN PROGRESS"
        assert not value(value(still, PERFORMED), "00404051")
        assert n_set(gateway.dimse_port, completed(), mpps).Status == 0x0000  # the modality tries again
        assert value(by_accession(back.base_url, item.AccessionNumber), STATE) == "COMPLETED"
    finally:
        back.stop()


def test_a_gateway_restarted_mid_procedure_keeps_the_claim(upstream, gateway_of, tmp_path):
    first = gateway_of(upstream.base_url, tmp_path / "gw.db")
    item = worklist(first.dimse_port, "MR1")[0]
    mpps = generate_uid()
    assert n_create(first.dimse_port, in_progress(item), mpps).Status == 0x0000
    first.stop()

    second = gateway_of(upstream.base_url, tmp_path / "gw.db")
    assert n_set(second.dimse_port, completed(), mpps).Status == 0x0000
    assert value(by_accession(upstream.base_url, item.AccessionNumber), STATE) == "COMPLETED"


# -- the HTTP doors -----------------------------------------------------------------------------------
def test_upsrs_search_passes_through_and_an_absent_upstream_is_a_502_naming_it(upstream, gateway_of):
    gateway = gateway_of(upstream.base_url)
    params = {"ScheduledStationNameCodeSequence.CodeValue": "MR1"}
    with httpx.Client(base_url=gateway.base_url, timeout=20) as http:
        through = http.get("/workitems", params=params)
        direct = httpx.get(f"{upstream.base_url}/workitems", params=params)
        assert through.status_code == 200
        assert [value(i, "00080018") for i in through.json()] == [value(i, "00080018") for i in direct.json()]
        port = upstream.port
        upstream.stop()
        away = http.get("/workitems", params=params)
    assert away.status_code == 502
    assert f"127.0.0.1:{port}" in away.headers["Warning"]


def test_upstream_events_reach_a_subscriber_of_the_gateway(upstream, gateway_of):
    gateway = gateway_of(upstream.base_url)
    item = worklist(gateway.dimse_port, "MR1")[0]
    with httpx.Client(base_url=gateway.base_url, timeout=10) as http:
        answer = http.post("/workitems/1.2.840.10008.5.1.4.34.5/subscribers/WATCHER", params={"deletionlock": "false"})
    assert answer.status_code == 201, answer.headers.get("Warning")
    url = answer.headers["Content-Location"]
    assert url.startswith(gateway.base_url.replace("http", "ws"))  # our door, not the upstream's
    with connect(url, open_timeout=10) as socket:
        # the gateway's channel upstream is open: an event from here on reaches it
        until(lambda: "WATCHER" in upstream.service.hub.connected(), 10, "the gateway's channel upstream")
        assert n_create(gateway.dimse_port, in_progress(item), generate_uid()).Status == 0x0000
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            event = json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            if value(event, STATE) == "IN PROGRESS":
                break
        else:
            pytest.fail("no IN PROGRESS event relayed")


def test_trace_logs_both_legs_of_a_proxied_exchange_under_one_id(upstream, gateway_of, caplog):
    gateway = gateway_of(upstream.base_url)  # the fixture's gateways trace
    item = worklist(gateway.dimse_port, "MR1")[0]
    with caplog.at_level(logging.INFO, logger="app.gateway.trace"):
        assert n_create(gateway.dimse_port, in_progress(item), generate_uid()).Status == 0x0000
    lines = [r.getMessage() for r in caplog.records if r.name == "app.gateway.trace"]
    ids = {line.split("]")[0] + "]" for line in lines if "→ upstream PUT" in line and "/state" in line}
    assert len(ids) == 1, lines
    (claim,) = ids
    assert any(line.startswith(claim) and "← upstream 200" in line for line in lines), lines


@pytest.mark.parametrize(
    ("upstream_spec", "said"),
    [
        ("ris.example", "names no upstream"),
        ("hl7:mllp://ris.example", "is not a kind of upstream"),
        ("upsrs:ris.example/dicom-web", "not an http:// or https:// URL"),
    ],
)
def test_serve_says_what_is_wrong_with_an_upstream_it_cannot_use(tmp_path, capsys, upstream_spec, said):
    from app.cli import main

    args = [
        "serve",
        "--upstream",
        upstream_spec,
        "--http-port",
        "0",
        "--dimse-port",
        "0",
        "--db",
        str(tmp_path / "g.db"),
    ]
    assert main(args) == 2
    assert said in capsys.readouterr().err


# -- MWL answers as the upstream's pages arrive ---------------------------------------------------------
@pytest.fixture()
def proxy_to(upstream):
    started: list[Proxy] = []

    def start() -> Proxy:
        proxy = Proxy(upstream.base_url.removesuffix("/dicom-web")).start()
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()


def test_mwl_answers_go_out_while_the_next_upstream_page_is_still_coming(upstream, gateway_of, proxy_to):
    proxy = proxy_to()
    later_page = threading.Event()

    def hold(method: str, path: str) -> None:
        if method == "GET" and "/workitems?" in path and "offset=0" not in path:
            later_page.wait(10)  # the next page waits until the modality has had the first answers

    proxy.hold = hold
    gateway = gateway_of(proxy.url())
    gateway.upstream[0].page = 2  # type: ignore[attr-defined]
    expected = upstream_items(upstream.base_url, **{"ScheduledStationNameCodeSequence.CodeValue": "MR1"})
    assert len(expected) > 2, "the demo schedules MR1 more than one page of the gateway's"

    query = Dataset()
    query.AccessionNumber = ""
    sps = Dataset()
    sps.ScheduledStationAETitle = "MR1"
    query.ScheduledProcedureStepSequence = [sps]
    assoc = associate(gateway.dimse_port)
    answers, later_pages_when_first_came = [], None
    try:
        for status, identifier in assoc.send_c_find(query, ModalityWorklistInformationFind):
            if status and status.Status in (0xFF00, 0xFF01):
                if later_pages_when_first_came is None:
                    later_pages_when_first_came = sum(1 for _, path, _ in proxy.answered if "offset=0" not in path)
                    later_page.set()
                answers.append(str(identifier.AccessionNumber))
            elif status:
                assert status.Status == 0x0000
    finally:
        later_page.set()
        assoc.release()
    assert later_pages_when_first_came == 0  # the first answer came before any later page was read
    assert sorted(answers) == sorted(value(value(i, "0040A370"), "00080050") for i in expected)


def test_sup246_mpps_with_the_upstream_away_is_a_502_naming_it_not_a_409(upstream, gateway_of):
    gateway = gateway_of(upstream.base_url)
    item = worklist(gateway.dimse_port, "MR1")[0]
    started = generate_uid()
    assert n_create(gateway.dimse_port, in_progress(item), started).Status == 0x0000
    port = upstream.port
    upstream.stop()
    headers = {"Content-Type": "application/dicom+json"}
    with httpx.Client(base_url=gateway.base_url, timeout=20, headers=headers) as http:
        create = http.post(
            f"/modality-performed-procedure-steps/{generate_uid()}", json=[from_dataset(in_progress(None))]
        )
        update = http.post(f"/modality-performed-procedure-steps/{started}?update", json=[from_dataset(completed())])
    for answer in (create, update):
        assert answer.status_code == 502, answer.headers.get("Warning")
        assert f"127.0.0.1:{port}" in answer.headers["Warning"]


# -- a claim whose answer was lost ------------------------------------------------------------------
def test_a_claim_whose_answer_was_lost_is_adopted_when_the_modality_sends_it_again(upstream, gateway_of, proxy_to):
    proxy = proxy_to()
    lost: list[str] = []

    def drop(method: str, path: str) -> bool:
        if method == "PUT" and path.split("?")[0].endswith("/state") and not lost:
            lost.append(path)
            return True  # the upstream claimed; its answer never reaches the gateway
        return False

    proxy.drop = drop
    gateway = gateway_of(proxy.url())
    item = worklist(gateway.dimse_port, "MR1")[0]
    mpps = generate_uid()

    first = n_create(gateway.dimse_port, in_progress(item), mpps)
    assert first.Status == 0x0110 and "127.0.0.1" in first.ErrorComment
    assert lost and value(by_accession(upstream.base_url, item.AccessionNumber), STATE) == "IN PROGRESS"

    assert n_create(gateway.dimse_port, in_progress(item), mpps).Status == 0x0000  # the modality's retry
    assert n_set(gateway.dimse_port, completed(), mpps).Status == 0x0000
    done = by_accession(upstream.base_url, item.AccessionNumber)
    assert value(done, STATE) == "COMPLETED"
    assert value(value(value(done, PERFORMED), "00404033"), "0008103E") == "T2 axial"
    # another modality's MPPS for the same step is still refused
    other = n_create(gateway.dimse_port, in_progress(item), generate_uid())
    assert other.Status == 0x0110 and "already completed" in other.ErrorComment


# -- round trips upstream ------------------------------------------------------------------------------
def test_an_mpps_reads_no_workitem_upstream_and_an_idle_n_set_sends_nothing(upstream, gateway_of, proxy_to):
    proxy = proxy_to()
    gateway = gateway_of(proxy.url())
    item = worklist(gateway.dimse_port, "MR1")[0]
    scheduled = by_accession(upstream.base_url, item.AccessionNumber)["00404018"]["Value"]
    mpps = generate_uid()
    before = len(proxy.answered)

    assert n_create(gateway.dimse_port, in_progress(item), mpps).Status == 0x0000
    idle = Dataset()
    idle.PerformedProcedureStepStatus = "IN PROGRESS"
    sent_so_far = len(proxy.answered)
    assert n_set(gateway.dimse_port, idle, mpps).Status == 0x0000  # changes nothing the workitem shows
    assert len(proxy.answered) == sent_so_far
    assert n_set(gateway.dimse_port, completed(), mpps).Status == 0x0000

    methods = [(method, path.split("?")[0].rsplit("/", 1)[-1]) for method, path, _ in proxy.answered[before:]]
    # N-CREATE: the search for the step, the claim, the performed data; N-SET COMPLETED: update, complete
    assert [m for m, _ in methods] == ["GET", "PUT", "POST", "POST", "PUT"], methods
    assert methods[0][1] == "workitems"  # a search, never a Retrieve of one workitem
    done = by_accession(upstream.base_url, item.AccessionNumber)
    assert value(done, STATE) == "COMPLETED"
    assert value(done, PERFORMED)["00404019"]["Value"] == scheduled  # the scheduled codes, as performed


def test_a_gateway_file_of_an_earlier_version_still_completes_its_procedures(upstream, gateway_of, tmp_path):
    first = gateway_of(upstream.base_url, tmp_path / "gw.db")
    item = worklist(first.dimse_port, "MR1")[0]
    scheduled = by_accession(upstream.base_url, item.AccessionNumber)["00404018"]["Value"]
    mpps = generate_uid()
    assert n_create(first.dimse_port, in_progress(item), mpps).Status == 0x0000
    first.stop()
    with sqlite3.connect(tmp_path / "gw.db") as db:  # the table as earlier gateways wrote it: no codes kept
        db.execute("ALTER TABLE ua_mpps DROP COLUMN codes")

    second = gateway_of(upstream.base_url, tmp_path / "gw.db")
    assert n_set(second.dimse_port, completed(), mpps).Status == 0x0000
    done = by_accession(upstream.base_url, item.AccessionNumber)
    assert value(done, STATE) == "COMPLETED"
    assert value(done, PERFORMED)["00404019"]["Value"] == scheduled
