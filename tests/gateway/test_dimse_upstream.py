"""The Origin-Server / SCU gateway with real peers: our UPS-RS console in front, DCMTK's wlmscpfs
(and Orthanc's worklist plugin) serving the OFFIS samples as the RIS's MWL, and a pynetdicom MPPS
SCP that records what the RIS would receive."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime

import httpx
import pytest
from dimse_peers import DUMP2DCM, EXAMPLES, MppsScp, Wlmscpfs, free_port, orthanc_worklists, worklist_folder
from pydicom import Dataset, dcmread
from pydicom.uid import generate_uid
from pynetdicom import AE, evt
from pynetdicom.sop_class import ModalityWorklistInformationFind

from app.backends.errors import BackendError
from app.backends.mpps_rs import MppsRsBackend
from app.backends.profiles import Profile
from app.backends.upsrs import UpsRsBackend
from app.domain.events import EventType, WorkitemEvent
from app.domain.procedure import OutputSeries, PerformedProcedure
from app.domain.workitem import Code
from app.domain.worklist_query import WorklistQuery
from app.gateway.dimse_mpps import DimseMpps
from app.gateway.dimse_upstream import DimseUpstream, make, parse_spec
from app.server import ServerConfig, UPSServer

pytestmark = pytest.mark.interop

SAMPLES = 10  # the OFFIS worklist files dcmtk ships
MOZART = "MOZART^WOLFGANG^AMADEUS"


@pytest.fixture(scope="module")
def worklist(tmp_path_factory) -> Iterator[Wlmscpfs]:
    scp = Wlmscpfs(worklist_folder(tmp_path_factory.mktemp("wlistdb"))).start()
    yield scp
    scp.stop()


@pytest.fixture()
def mpps() -> Iterator[MppsScp]:
    scp = MppsScp().start()
    yield scp
    scp.stop()


def spec(mwl_port: int, mpps_port: int, mwl_aet: str = "OFFIS", poll: float = 0.3) -> str:
    return f"dimse:MWL=127.0.0.1:{mwl_port}:{mwl_aet},MPPS=127.0.0.1:{mpps_port}:MPPSSCP,POLL={poll},TIMEOUT=5"


@contextlib.contextmanager
def gateway(upstream_spec: str, db_path) -> Iterator[tuple[UPSServer, DimseUpstream]]:
    # tests look more often than `serve` lets an operator (POLL from 1 s): the profile is made here
    poll = float(re.search(r"POLL=([0-9.]+)", upstream_spec).group(1)) if "POLL=" in upstream_spec else 10.0
    profile = parse_spec(re.sub(r"POLL=[0-9.]+", "POLL=1", upstream_spec))
    service = DimseUpstream(replace(profile, poll_seconds=poll), str(db_path))
    performed = DimseMpps(service)
    server = UPSServer(ServerConfig(http_port=0, db_path=str(db_path), audit=False), upstream=(service, performed))
    server.start()
    try:
        yield server, service
    finally:
        server.stop()
        service.close()


def console(server: UPSServer, ae: str) -> UpsRsBackend:
    return UpsRsBackend(Profile(name=ae, url=server.base_url, ae_title=ae, timeout=15))


async def until(condition, seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the condition did not hold in time")
        await asyncio.sleep(0.05)


def done(technologist: str = "Salieri^Antonio") -> PerformedProcedure:
    series = OutputSeries(generate_uid(), "T2 axial", instances=(("1.2.840.10008.5.1.4.1.1.4", generate_uid()),))
    return PerformedProcedure(
        Code("CT1", "99WLSTATION", "CT1"),
        start=datetime.now().strftime("%Y%m%d%H%M%S"),
        end=datetime.now().strftime("%Y%m%d%H%M%S"),
        procedures=(Code("P5-0B0FF", "SRT", "MR of head"),),
        technologist=technologist,
        series=(series,),
    )


async def test_the_console_lists_claims_and_completes_a_sample_and_the_mpps_scp_receives_it(worklist, mpps, tmp_path):
    with gateway(spec(worklist.port, mpps.port), tmp_path / "gw.db") as (server, _):
        ct1 = console(server, "CT1")
        try:
            items = await ct1.search(WorklistQuery(states=()))
            assert len(items) == SAMPLES
            assert {w.patient_name.alphabetic for w in items} >= {"MOZART^WOLFGANG^AMADEUS", "BEETHOVEN^LUDWIG^VAN"}
            mozart = next(w for w in items if w.patient_name.alphabetic == MOZART)
            again = await ct1.search(WorklistQuery(states=()))
            assert mozart.uid in {w.uid for w in again}  # the same step keeps its workitem UID

            transaction = generate_uid()
            await ct1.claim(mozart.uid, transaction)
            assert (await ct1.retrieve(mozart.uid)).state.value == "IN PROGRESS"
            [(mpps_uid, created)] = mpps.created.items()
            assert created.PerformedProcedureStepStatus == "IN PROGRESS"
            assert created.PatientName == MOZART
            assert created.PatientID == str(mozart.patient_id)
            step = created.ScheduledStepAttributesSequence[0]
            assert step.StudyInstanceUID == mozart.study_uid
            assert step.AccessionNumber == mozart.accession_number
            assert step.ScheduledProcedureStepID  # copied from the MWL item, as a modality would
            assert created.PerformedStationName == mozart.station_names[0].value  # no requester named

            performed = done()
            await ct1.complete(mozart.uid, transaction, performed)
            assert (await ct1.retrieve(mozart.uid)).state.value == "COMPLETED"
            assert mpps.status(mpps_uid) == "COMPLETED"
            final = mpps.sets[-1][1]
            assert final.PerformedProcedureStepStatus == "COMPLETED"
            assert final.PerformedProcedureStepEndDate == performed.end[:8]
            series = final.PerformedSeriesSequence[0]
            assert series.SeriesInstanceUID == performed.series[0].series_uid
            assert series.OperatorsName == "Salieri^Antonio"
            assert series.ReferencedImageSequence[0].ReferencedSOPInstanceUID == performed.series[0].instances[0][1]
            assert final.ProcedureCodeSequence[0].CodeValue == "P5-0B0FF"
            # wlmscpfs still lists the step as scheduled: the gateway remembers it is done
            listed = await ct1.search(WorklistQuery())
            assert mozart.uid not in {w.uid for w in listed}
        finally:
            await ct1.close()


async def watching(backend: UpsRsBackend, events: list[WorkitemEvent]) -> asyncio.Task:
    """The backend's live events, for every station (a global subscription), once connected."""
    connections: list[bool] = []
    await backend.follow("")
    task = asyncio.create_task(backend.watch(events.append, lambda up, why: connections.append(up)))
    await until(lambda: connections and connections[-1])
    return task


async def test_a_second_console_sees_the_claim_at_once_without_waiting_for_a_poll(worklist, mpps, tmp_path):
    with gateway(spec(worklist.port, mpps.port, poll=600), tmp_path / "gw.db") as (server, _):
        ct1, ct2 = console(server, "CT1"), console(server, "CT2")
        events: list[WorkitemEvent] = []
        watcher = await watching(ct2, events)
        try:
            target = (await ct1.search(WorklistQuery(states=())))[0]
            await ct1.claim(target.uid, generate_uid())
            await until(lambda: any(e.workitem_uid == target.uid and e.state == "IN PROGRESS" for e in events), 5)
        finally:
            watcher.cancel()
            await ct1.close()
            await ct2.close()


def _sample(folder, name: str, accession: str, step: str, patient: str) -> None:
    """A worklist file made from the first OFFIS sample, for a step of its own."""
    dump = (folder / ".." / "wklist1.dump").resolve()
    text = (EXAMPLES / "wklist1.dump").read_text(encoding="latin-1")
    text = text.replace("00000", accession).replace("SPD3445", step).replace("VIVALDI^ANTONIO", patient)
    text = text.replace("1.2.276.0.7230010.3.2.101", f"1.2.276.0.7230010.3.2.{accession}")
    dump.write_text(text, encoding="latin-1")
    subprocess.run([str(DUMP2DCM), str(dump), str(folder / name)], check=True, timeout=30, capture_output=True)


async def test_what_the_ris_adds_or_drops_reaches_subscribers_by_polling(mpps, tmp_path):
    own = Wlmscpfs(worklist_folder(tmp_path / "wlistdb")).start()
    try:
        with gateway(spec(own.port, mpps.port, poll=0.2), tmp_path / "gw.db") as (server, service):
            ct2 = console(server, "CT2")
            events: list[WorkitemEvent] = []
            watcher = await watching(ct2, events)
            try:
                before = {w.uid: w for w in await ct2.search(WorklistQuery(states=()))}
                # the gateway has had its first look for a subscriber: what changes from here on is news
                await until(service.state.polled)
                _sample(own.folder, "added.wl", "77777", "SPD7777", "ADDED^PATIENT")
                (own.folder / "wklist3.wl").unlink()
                await until(lambda: any(e.state == "SCHEDULED" for e in events), 10)
                added = next(e for e in events if e.state == "SCHEDULED")
                assert added.workitem_uid not in before
                assert (await ct2.retrieve(added.workitem_uid)).patient_name.alphabetic == "ADDED^PATIENT"
                await until(lambda: any(e.state == "CANCELED" for e in events), 10)
                dropped = next(e for e in events if e.state == "CANCELED")
                assert dropped.workitem_uid in before
                assert dropped.workitem_uid not in {w.uid for w in await ct2.search(WorklistQuery(states=()))}
            finally:
                watcher.cancel()
                await ct2.close()
    finally:
        own.stop()


async def test_a_claim_survives_a_restart_of_the_gateway_and_is_completed_after_it(worklist, mpps, tmp_path):
    transaction = generate_uid()
    with gateway(spec(worklist.port, mpps.port), tmp_path / "gw.db") as (server, _):
        ct1 = console(server, "CT1")
        target = (await ct1.search(WorklistQuery(states=())))[-1]
        await ct1.claim(target.uid, transaction)
        await ct1.close()
    with gateway(spec(worklist.port, mpps.port), tmp_path / "gw.db") as (server, _):
        ct1 = console(server, "CT1")
        try:
            assert (await ct1.retrieve(target.uid)).state.value == "IN PROGRESS"
            await ct1.complete(target.uid, transaction, done())
            [mpps_uid] = mpps.created
            assert mpps.status(mpps_uid) == "COMPLETED"
            assert (await ct1.retrieve(target.uid)).state.value == "COMPLETED"
        finally:
            await ct1.close()


async def test_a_claim_with_another_transaction_uid_is_refused_and_nothing_reaches_the_ris(worklist, mpps, tmp_path):
    with gateway(spec(worklist.port, mpps.port), tmp_path / "gw.db") as (server, _):
        ct1, ct2 = console(server, "CT1"), console(server, "CT2")
        try:
            target = (await ct1.search(WorklistQuery(states=())))[0]
            await ct1.claim(target.uid, generate_uid())
            with pytest.raises(BackendError, match="already"):
                await ct2.claim(target.uid, generate_uid())
            assert len(mpps.created) == 1
        finally:
            await ct1.close()
            await ct2.close()


def test_a_ris_that_cannot_be_reached_is_a_503_naming_it(mpps, tmp_path):
    dead = free_port()
    with gateway(spec(dead, mpps.port), tmp_path / "gw.db") as (server, _):
        response = httpx.get(server.base_url + "/workitems", timeout=30)
    assert response.status_code == 503
    assert f"OFFIS at 127.0.0.1:{dead}" in response.headers["warning"]


def test_a_ris_that_does_not_answer_in_time_is_a_504(mpps, tmp_path):
    def slow(event):
        time.sleep(4)
        yield 0x0000, None

    ae = AE("SLOWMWL")
    ae.add_supported_context(ModalityWorklistInformationFind)
    slow_scp = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_FIND, slow)])
    try:
        upstream = spec(slow_scp.server_address[1], mpps.port, mwl_aet="SLOWMWL").replace("TIMEOUT=5", "TIMEOUT=1")
        with gateway(upstream, tmp_path / "gw.db") as (server, _):
            started = time.monotonic()
            response = httpx.get(server.base_url + "/workitems", timeout=30)
        assert response.status_code == 504
        assert "SLOWMWL" in response.headers["warning"]
        assert time.monotonic() - started < 4
    finally:
        slow_scp.shutdown()


async def test_orthanc_worklists_as_the_ris(mpps, tmp_path):
    process, port = orthanc_worklists(worklist_folder(tmp_path / "wlistdb"), tmp_path)
    try:
        with gateway(spec(port, mpps.port, mwl_aet="ORTHANC"), tmp_path / "gw.db") as (server, _):
            ct1 = console(server, "CT1")
            try:
                items = await ct1.search(WorklistQuery(states=()))
                assert len(items) == SAMPLES
                beethoven = next(w for w in items if w.patient_name.alphabetic == "BEETHOVEN^LUDWIG^VAN")
                transaction = generate_uid()
                await ct1.claim(beethoven.uid, transaction)
                await ct1.complete(beethoven.uid, transaction, done())
                [(mpps_uid, created)] = mpps.created.items()
                assert created.PatientName == "BEETHOVEN^LUDWIG^VAN"
                assert created.ScheduledStepAttributesSequence[0].StudyInstanceUID == beethoven.study_uid
                assert mpps.status(mpps_uid) == "COMPLETED"
            finally:
                await ct1.close()
    finally:
        process.terminate()
        process.wait(20)


@pytest.mark.parametrize(
    "bad",
    ["dimse:MPPS=h:1:A", "dimse:MWL=host:AET", "dimse:MWL=h:1:A,COLOR=red", "dimse:MWL=h:1:A,POLL=0"],
)
def test_an_upstream_spec_that_cannot_be_used_says_why(bad):
    with pytest.raises(ValueError, match="MWL|POLL|HOST:PORT:AET|not understood"):
        parse_spec(bad)


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (",POLL=nan", "POLL=nan must be a number of seconds from 1 to 3600"),
        (",POLL=1e-9", "POLL=1e-9 must be a number of seconds from 1 to 3600"),
        (",POLL=inf", "from 1 to 3600"),
        (",POLL=7200", "from 1 to 3600"),
        (",TIMEOUT=1e9", "TIMEOUT=1e9 must be a number of seconds from 1 to 300"),
        (",TIMEOUT=-5", "from 1 to 300"),
        (",TIMEOUT=ten", "from 1 to 300"),
        (",MWL=127.0.0.1:104:OTHER", "MWL= is given twice"),
        (",POLL=5,poll=6", "POLL= is given twice"),
        (",MPPS=127.0.0.1:105:ABCDEFGHIJKLMNOPQRSTUVWXYZA", "is not an AE title"),
        (",MPPS=127.0.0.1:105:A\\B", "is not an AE title"),
        (",AE=GW\\X", "AE='GW\\\\X' is not an AE title"),
        (",MPPS=127.0.0.1:70000:RIS", "port must be from 1 to 65535"),
    ],
)
def test_poll_timeout_ae_titles_and_keys_are_bounded_checked_and_given_once(extra, said):
    with pytest.raises(ValueError) as refused:
        parse_spec("dimse:MWL=127.0.0.1:104:RIS" + extra)
    assert said in str(refused.value)


def test_the_mwl_peers_ae_title_is_checked_too():
    with pytest.raises(ValueError, match="not an AE title"):
        parse_spec("dimse:MWL=127.0.0.1:104:ABCDEFGHIJKLMNOPQRSTUVWXYZA")
    profile = parse_spec("dimse:MWL=127.0.0.1:104:RIS,POLL=1,TIMEOUT=300,AE=GW")
    assert (profile.poll_seconds, profile.timeout, profile.ae_title) == (1.0, 300.0, "GW")


async def test_a_supplement_246_console_passes_its_mpps_through_to_the_ris_and_ups_rs_subscribers_see_it(
    worklist, mpps, tmp_path
):
    with gateway(spec(worklist.port, mpps.port, poll=600), tmp_path / "gw.db") as (server, _):
        mr1 = MppsRsBackend(Profile(name="MR1", backend="mpps-rs", url=server.base_url, ae_title="MR1", timeout=15))
        ct2 = console(server, "CT2")
        events: list[WorkitemEvent] = []
        watcher = await watching(ct2, events)
        try:
            items = await mr1.search(WorklistQuery(states=()))
            assert len(items) == SAMPLES
            haydn = next(w for w in items if w.patient_name.alphabetic == "HAYDN^FRANZ^JOSEPH")
            scheduled_ids = {
                (str(d.StudyInstanceUID), str(d.AccessionNumber)): str(
                    d.ScheduledProcedureStepSequence[0].ScheduledProcedureStepID
                )
                for d in (dcmread(f) for f in sorted(worklist.folder.glob("*.wl")))
            }
            mpps_uid = generate_uid()
            await mr1.claim(haydn.uid, mpps_uid, mr1.claim_record(haydn))
            created = mpps.created[mpps_uid]  # the very MPPS the client sent, under its own UID
            assert created.PerformedProcedureStepStatus == "IN PROGRESS"
            assert created.PerformedStationAETitle == "MR1"
            step = created.ScheduledStepAttributesSequence[0]
            assert step.StudyInstanceUID == haydn.study_uid
            assert step.AccessionNumber == haydn.accession_number
            # the RIS's own step ID, not the one the gateway's Supplement 246 answer named the step by
            assert step.ScheduledProcedureStepID == scheduled_ids[(haydn.study_uid, haydn.accession_number)]
            # the same step as a UPS-RS console knows it (MWL clients make their own UIDs)
            same = next(
                w
                for w in await ct2.search(WorklistQuery(states=()))
                if (w.study_uid, w.accession_number) == (haydn.study_uid, haydn.accession_number)
            )
            assert same.state.value == "IN PROGRESS"
            await until(lambda: any(e.workitem_uid == same.uid and e.state == "IN PROGRESS" for e in events), 5)

            await mr1.complete(haydn.uid, mpps_uid, done("Haydn^Michael"))
            assert mpps.status(mpps_uid) == "COMPLETED"
            assert mpps.sets[-1][1].PerformedSeriesSequence[0].OperatorsName == "Haydn^Michael"
            await until(lambda: any(e.workitem_uid == same.uid and e.state == "COMPLETED" for e in events), 5)
            with pytest.raises(BackendError):  # a finished MPPS takes no more changes
                await mr1.report_progress(haydn.uid, mpps_uid, 50, "again")
        finally:
            watcher.cancel()
            await mr1.close()
            await ct2.close()


def test_trace_logs_both_legs_of_a_search_under_one_id(worklist, mpps, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="app.gateway.trace")
    service, performed = make(spec(worklist.port, mpps.port, poll=600), str(tmp_path / "gw.db"), True)
    server = UPSServer(
        ServerConfig(http_port=0, db_path=str(tmp_path / "gw.db"), audit=False), upstream=(service, performed)
    )
    server.start()
    try:
        assert httpx.get(server.base_url + "/workitems", timeout=30).status_code == 200
    finally:
        server.stop()
        service.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "app.gateway.trace"]
    sent = next(line for line in lines if "→ upstream C-FIND MWL" in line)
    exchange = sent.split("]")[0] + "]"
    assert any(line.startswith(exchange) and "← upstream C-FIND pending" in line for line in lines)


def test_both_gateways_compose_a_dimse_modality_finds_the_ris_worklist_through_ups_rs(
    worklist, mpps, tmp_path, gateway_of
):
    """DIMSE modality → SCP / User-Agent gateway → UPS-RS → Origin-Server / SCU gateway → wlmscpfs."""
    with gateway(spec(worklist.port, mpps.port, poll=600), tmp_path / "scu.db") as (server, _):
        front = gateway_of(server.base_url, tmp_path / "scp.db")
        query = Dataset()
        query.PatientName = "HAYDN*"
        query.StudyInstanceUID = ""
        query.AccessionNumber = ""
        step = Dataset()
        step.ScheduledStationAETitle = ""
        step.Modality = ""
        query.ScheduledProcedureStepSequence = [step]
        ae = AE("MODALITY")
        ae.add_requested_context(ModalityWorklistInformationFind)
        assoc = ae.associate("127.0.0.1", front.dimse_port, ae_title="WORKLIST")
        assert assoc.is_established
        try:
            answers = [
                a for s, a in assoc.send_c_find(query, ModalityWorklistInformationFind) if s.Status in (0xFF00, 0xFF01)
            ]
        finally:
            assoc.release()
    expected = {
        str(d.StudyInstanceUID)
        for d in (dcmread(f) for f in worklist.folder.glob("*.wl"))
        if str(d.PatientName).startswith("HAYDN")
    }
    assert len(expected) == 3
    assert {str(a.StudyInstanceUID) for a in answers} == expected


def test_sup246_mpps_to_an_mpps_scp_that_cannot_be_reached_is_a_503_naming_it(worklist, tmp_path):
    from app.domain.dicomjson import from_dataset

    dead = free_port()
    with gateway(spec(worklist.port, dead), tmp_path / "gw.db") as (server, _):
        mpps = Dataset()
        mpps.PerformedProcedureStepStatus = "IN PROGRESS"
        mpps.PerformedStationAETitle = "MR1"
        mpps.ScheduledStepAttributesSequence = [Dataset()]
        response = httpx.post(
            f"{server.base_url}/modality-performed-procedure-steps/{generate_uid()}",
            json=[from_dataset(mpps)],
            headers={"Content-Type": "application/dicom+json"},
            timeout=30,
        )
    assert response.status_code == 503, response.headers.get("Warning")
    assert f"MPPSSCP at 127.0.0.1:{dead}" in response.headers["warning"]


async def test_an_input_readiness_change_through_the_gateway_reaches_subscribers_as_a_state_report(
    worklist, mpps, tmp_path
):
    # the service and the gateway apply an Update through one rule (app/domain/transitions.py)
    with gateway(spec(worklist.port, mpps.port, poll=600), tmp_path / "gw.db") as (server, _):
        ct1, ct2 = console(server, "CT1"), console(server, "CT2")
        events: list[WorkitemEvent] = []
        watcher = await watching(ct2, events)
        try:
            target = (await ct1.search(WorklistQuery(states=())))[0]
            transaction = generate_uid()
            await ct1.claim(target.uid, transaction)
            await ct1.update_workitem(target.uid, transaction, {"00404041": {"vr": "CS", "Value": ["INCOMPLETE"]}})

            def told() -> bool:
                return any(
                    e.workitem_uid == target.uid
                    and e.event_type == EventType.STATE_REPORT
                    and e.attributes.get("00404041", {}).get("Value") == ["INCOMPLETE"]
                    for e in events
                )

            await until(told, 5)
        finally:
            watcher.cancel()
            await ct1.close()
            await ct2.close()
