"""The UPS-RS backend against a real embedded server: what the console will do all day."""

from __future__ import annotations

import asyncio
from datetime import date, datetime

import pytest
from pydicom.uid import generate_uid

from app.backends.errors import Conflict, Refused, Unreachable
from app.backends.profiles import Profile
from app.backends.upsrs import UpsRsBackend
from app.domain.build import NewWorkitem
from app.domain.codes import DISCONTINUATION_REASONS
from app.domain.events import EventType
from app.domain.procedure import OutputSeries, PerformedProcedure
from app.domain.states import State
from app.domain.workitem import Code, PatientName
from app.domain.worklist_query import WorklistQuery
from app.server.demo import seed_demo_day


@pytest.fixture(scope="module")
def seeded(server):
    seed_demo_day(server.service)
    return server


def backend(server, ae: str = "CT1", **options) -> UpsRsBackend:
    return UpsRsBackend(Profile(url=server.base_url, ae_title=ae, **options))


def performed(station: str = "CT1") -> PerformedProcedure:
    now = datetime.now().strftime("%Y%m%d%H%M%S")
    return PerformedProcedure(
        Code(station, "99WLSTATION", station),
        start=now,
        end=now,
        procedures=(Code("CTCHEST", "99WLPROC", "CT chest"),),
        technologist="Becker^Anna",
        series=(OutputSeries(generate_uid(), "Chest 1.0 mm"),),
    )


async def todays_first(b: UpsRsBackend, station: str = "CT1"):
    items = await b.search(WorklistQuery.today(station))
    return next(w for w in items if w.state is State.SCHEDULED)


async def test_todays_query_for_this_station_finds_only_its_unfinished_items(seeded):
    b = backend(seeded)
    try:
        items = await b.search(WorklistQuery.today("CT1"))
        assert items
        assert {w.station_names[0].value for w in items} == {"CT1"}
        assert {w.scheduled_start().date() for w in items} == {date.today()}
        assert all(w.state in (State.SCHEDULED, State.IN_PROGRESS) for w in items)
    finally:
        await b.close()


async def test_claim_progress_complete_as_a_technologist_does(seeded):
    b = backend(seeded)
    try:
        item = await todays_first(b)
        tx = generate_uid()
        await b.claim(item.uid, tx)
        await b.report_progress(item.uid, tx, 40, "Contrast phase")
        got = await b.retrieve(item.uid)
        assert got.state is State.IN_PROGRESS and got.progress == 40 and got.progress_description == "Contrast phase"
        await b.complete(item.uid, tx, performed())
        done = await b.retrieve(item.uid)
        assert done.state is State.COMPLETED
        assert done.performed.performers == ("Becker^Anna",) and len(done.performed.series_uids) == 1
    finally:
        await b.close()


async def test_second_console_is_told_which_station_already_started(seeded):
    ct1, ct2 = backend(seeded, "CT1"), backend(seeded, "CT2")
    try:
        item = await todays_first(ct1)
        await ct1.claim(item.uid, generate_uid())
        with pytest.raises(Conflict) as refused:
            await ct2.claim(item.uid, generate_uid())
        assert refused.value.sentence == "Another station (CT1) already started this procedure."
    finally:
        await ct1.close()
        await ct2.close()


async def test_retrying_my_own_claim_is_harmless(seeded):
    b = backend(seeded)
    try:
        item = await todays_first(b)
        tx = generate_uid()
        await b.claim(item.uid, tx)
        await b.claim(item.uid, tx)  # the first answer was "lost"
        assert (await b.retrieve(item.uid)).state is State.IN_PROGRESS
    finally:
        await b.close()


async def test_discontinue_sends_the_reason_code(seeded):
    b = backend(seeded)
    try:
        item = await todays_first(b)
        tx = generate_uid()
        await b.claim(item.uid, tx)
        await b.discontinue(item.uid, tx, DISCONTINUATION_REASONS[5], "Patient could not lie still")
        got = await b.retrieve(item.uid)
        assert got.state is State.CANCELED
        assert got.discontinuation_reasons[0].value == "110505"
    finally:
        await b.close()


async def test_dcm4chee_forms_work_against_our_server(seeded):
    b = backend(seeded, "MR1", dcm4chee=True)
    try:
        item = await todays_first(b, "MR1")
        tx = generate_uid()
        await b.claim(item.uid, tx)
        await b.complete(item.uid, tx, performed("MR1"))
        assert (await b.retrieve(item.uid)).state is State.COMPLETED
        new = NewWorkitem(
            uid=generate_uid(),
            label="Unscheduled MR",
            start=datetime.now().strftime("%Y%m%d%H%M%S"),
            patient=PatientName("Emergency^Unknown"),
            patient_id="EMERG1",
            station="MR1",
            modality="MR",
        )
        assert (await b.create(new)).uid == new.uid
    finally:
        await b.close()


async def test_unscheduled_patient_becomes_a_workitem(seeded):
    b = backend(seeded)
    try:
        new = NewWorkitem(
            uid=generate_uid(),
            label="Trauma CT",
            start=datetime.now().strftime("%Y%m%d%H%M%S"),
            patient=PatientName("Unbekannt^Männlich"),
            patient_id="TRAUMA-1",
            station="CT1",
            modality="CT",
            priority="HIGH",
        )
        created = await b.create(new)
        assert created.state is State.SCHEDULED and created.patient_name.alphabetic == "Unbekannt^Männlich"
    finally:
        await b.close()


async def test_unreachable_server_is_a_sentence_not_a_traceback():
    b = UpsRsBackend(Profile(url="http://127.0.0.1:9/dicom-web", timeout=2))
    try:
        with pytest.raises(Unreachable) as failed:
            await b.search(WorklistQuery.today("CT1"))
        assert failed.value.sentence == "Cannot reach the worklist server at 127.0.0.1:9."
    finally:
        await b.close()


async def test_unknown_item_is_refused_with_a_sentence(seeded):
    b = backend(seeded)
    try:
        with pytest.raises(Refused) as refused:
            await b.retrieve(generate_uid())
        assert refused.value.sentence == "This procedure is no longer on the worklist."
    finally:
        await b.close()


def wrong_url_sentence(server, url: str) -> str:
    return (
        f"The server at 127.0.0.1:{server.port} has no UPS-RS service at {url} (HTTP 404): "
        "check the URL — it usually ends in /dicom-web."
    )


async def test_a_wrong_url_path_is_said_as_a_wrong_url_not_a_vanished_procedure(seeded):
    from app.backends import check_profile

    wrong = seeded.base_url.replace("/dicom-web", "/dicomweb")
    b = UpsRsBackend(Profile(url=wrong, ae_title="CT1"))
    try:
        with pytest.raises(Refused) as searched:
            await b.search(WorklistQuery.today("CT1"))
        with pytest.raises(Refused) as retrieved:
            await b.retrieve(generate_uid())
    finally:
        await b.close()
    assert searched.value.sentence == wrong_url_sentence(seeded, wrong) and searched.value.status == 404
    assert retrieved.value.sentence == wrong_url_sentence(seeded, wrong)
    checks = await check_profile(Profile(url=wrong, ae_title="CT1"))  # Settings → Test connection
    assert [(c.ok, c.sentence) for c in checks] == [(False, wrong_url_sentence(seeded, wrong))]


async def test_a_url_that_names_the_collection_is_a_wrong_url_even_though_the_service_answers(seeded):
    wrong = seeded.base_url + "/workitems"  # the service then looks for a workitem called "workitems"
    b = UpsRsBackend(Profile(url=wrong.replace("http://", "http://tech:s3cret@"), ae_title="CT1"))
    try:
        [check] = await b.check_peers()
    finally:
        await b.close()
    assert not check.ok and check.sentence == wrong_url_sentence(seeded, wrong)


async def test_inspector_sees_every_request_and_response_without_credentials(seeded):
    seen = []
    b = UpsRsBackend(Profile(url=seeded.base_url, ae_title="CT1", auth="bearer", token="s3cret"), observer=seen.append)
    try:
        await b.search(WorklistQuery.today("CT1"))
    finally:
        await b.close()
    assert [e.direction for e in seen[:2]] == ["→", "←"]
    assert seen[0].summary.startswith("GET ") and "/workitems" in seen[0].summary
    assert '"00741000"' in seen[1].body  # pretty-printed DICOM JSON
    assert all("s3cret" not in v for e in seen for _, v in e.headers)


async def test_live_events_arrive_and_the_channel_comes_back_after_a_restart(tmp_path):
    from embedded_server import start_server

    server = start_server(tmp_path / "ups.db")
    port = server.port
    b = backend(server, "US1")
    events, connections = [], []
    watcher = asyncio.create_task(b.watch(events.append, lambda up, why: connections.append(up)))
    try:
        await _until(lambda: connections and connections[-1])
        other = backend(server, "US2")
        new = NewWorkitem(
            uid=generate_uid(),
            label="US abdomen",
            start=datetime.now().strftime("%Y%m%d%H%M%S"),
            patient=PatientName("Peña^María José"),
            patient_id="P1",
            station="US1",
            modality="US",
        )
        await other.create(new)
        await _until(lambda: any(e.workitem_uid == new.uid and e.event_type is EventType.STATE_REPORT for e in events))
        server.stop()
        await _until(lambda: connections[-1] is False)
        server = start_server(tmp_path / "ups.db", port=port)
        await _until(lambda: connections[-1] is True, timeout=15)
        await other.close()
    finally:
        watcher.cancel()
        await b.close()
        server.stop()


async def _until(condition, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


@pytest.mark.long
async def test_after_a_long_outage_the_channel_is_back_within_five_seconds_of_the_server(tmp_path):
    """The window raises its outage banner after 10 s away; the channel must not then wait 10 s
    more to see that the server is back (the banner stayed up that long after it was)."""
    from embedded_server import start_server

    server = start_server(tmp_path / "ups.db")
    port = server.port
    b = backend(server, "US1")
    connections: list[tuple[bool, float]] = []
    loop = asyncio.get_running_loop()
    watcher = asyncio.create_task(b.watch(lambda e: None, lambda up, why: connections.append((up, loop.time()))))
    try:
        await _until(lambda: connections and connections[-1][0])
        server.stop()
        await _until(lambda: not connections[-1][0])
        down = loop.time()
        await _until(lambda: sum(1 for up, _ in connections if not up) >= 6, timeout=30)  # past every short pause
        assert loop.time() - down >= 11
        server = start_server(tmp_path / "ups.db", port=port)
        back = loop.time()
        await _until(lambda: connections[-1][0], timeout=15)
        assert connections[-1][1] - back <= 5.5
    finally:
        watcher.cancel()
        await b.close()
        server.stop()
