"""No single request holds the server: a hostile wildcard is answered, over HTTP and over MWL
C-FIND, and a request beside it is answered too."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading

import httpx
import pytest
from pydicom import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import ModalityWorklistInformationFind

STARS = "*" * 3000 + "Z"


def test_a_search_of_thousands_of_stars_is_answered_and_does_not_hold_a_neighbour(front):
    neighbour: list[int] = []

    def beside() -> None:
        with httpx.Client(base_url=front.base_url, timeout=30) as http:
            neighbour.append(http.get("/workitems", params={"limit": "1"}).status_code)

    with httpx.Client(base_url=front.base_url, timeout=30) as http:
        thread = threading.Thread(target=beside)
        thread.start()
        hostile = http.get("/workitems", params={"ScheduledHumanPerformersSequence.HumanPerformerName": STARS})
        thread.join(30)
        alternating = http.get("/workitems", params={"PatientName": "*A" * 30 + "*Z"})
    assert hostile.status_code in (200, 204) and alternating.status_code in (200, 204)
    assert neighbour == [200]


def test_a_hostile_wildcard_over_mwl_c_find_is_answered(front):
    ae = AE("MR1")
    ae.add_requested_context(ModalityWorklistInformationFind)
    ae.acse_timeout = ae.dimse_timeout = 30
    assoc = ae.associate("127.0.0.1", front.dimse.port, ae_title="WORKLIST")
    assert assoc.is_established
    try:
        query = Dataset()
        query.PatientName = "*A" * 30 + "*Z"
        query.ScheduledProcedureStepSequence = [Dataset()]
        statuses = [s.Status for s, _ in assoc.send_c_find(query, ModalityWorklistInformationFind) if s]
    finally:
        assoc.release()
    assert statuses and statuses[-1] == 0x0000


def test_an_ae_cannot_hold_more_item_subscriptions_than_the_cap(fresh_server, monkeypatch):
    """A runaway client is told to subscribe globally instead of growing the table without bound;
    its global subscription still works and still reaches every new workitem."""
    from upsrs_client import GLOBAL, create, item, listen, new_aet, subscribe

    from app.server import service

    monkeypatch.setattr(service, "MAX_SUBSCRIPTIONS_PER_AE", 3)
    aet = new_aet()
    with httpx.Client(base_url=fresh_server.base_url, timeout=10) as http:
        uids = [create(http, item()) for _ in range(4)]
        assert [subscribe(http, uid, aet).status_code for uid in uids[:3]] == [201, 201, 201]
        refused = subscribe(http, uids[3], aet)
        assert refused.status_code == 400 and "global" in refused.headers["Warning"]
        events = listen(http, GLOBAL, new_aet())
        try:
            late = create(http, item())
            events.wait_for(late, 1)
        finally:
            events.close()


async def test_a_subscriber_that_never_reads_is_dropped_and_finds_its_events_on_reconnect():
    """A channel whose WebSocket stopped taking events (its sends block once the socket buffers
    are full) holds at most the limit: then it is dropped, the connection told to close, and
    the events wait in the AE's backlog, in order, for the reconnect."""
    from app.server.notifications import EventHub

    hub = EventHub(backlog_size=1000, channel_limit=20)
    silent = hub.connect("SILENT")
    for n in range(60):
        hub.publish({"SILENT"}, {"n": n})
    await asyncio.wait_for(silent.dropped.wait(), 5)
    assert silent.pending == 20 and "SILENT" not in hub.connected()
    silent.close()
    again = hub.connect("SILENT")
    got = [json.loads(await asyncio.wait_for(again.next(), 1))["n"] for _ in range(60)]
    assert got == list(range(60))


def closed_by_server(connection) -> bool:
    try:
        return connection.recv(1) == b""
    except ConnectionResetError:
        return True


def test_a_connection_that_sends_no_headers_or_sends_them_slowly_is_closed(fresh_server, monkeypatch):
    import socket
    import time

    from app.server import http_limits

    monkeypatch.setattr(http_limits, "HEADER_TIMEOUT_SECONDS", 1.0)
    port = int(fresh_server.base_url.split(":")[2].split("/")[0])
    silent = socket.create_connection(("127.0.0.1", port), timeout=10)
    slow = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        slow.sendall(b"GET /dicom-web/workitems HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        began = time.monotonic()
        assert closed_by_server(silent)
        slow.sendall(b"X-Slow: 1\r\n")  # still no end of headers
        assert closed_by_server(slow)
        assert time.monotonic() - began < 8
    finally:
        silent.close()
        slow.close()


def test_a_body_shorter_than_its_content_length_gets_408_instead_of_holding_the_connection(fresh_server, monkeypatch):
    import socket

    from app.server import http as http_front

    monkeypatch.setattr(http_front, "BODY_TIMEOUT_SECONDS", 1.0)
    port = int(fresh_server.base_url.split(":")[2].split("/")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as lying:
        lying.sendall(
            b"POST /dicom-web/workitems HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/dicom+json\r\nContent-Length: 1000\r\n\r\n[{"
        )
        answer = lying.recv(4096)
    assert answer.startswith(b"HTTP/1.1 408")


def test_connections_beyond_the_cap_are_answered_503_at_once(tmp_path):
    import socket

    from app.server import ServerConfig, UPSServer

    server = UPSServer(ServerConfig(http_port=0, db_path=str(tmp_path / "w.db"), max_connections=4)).start()
    held = []
    try:
        port = server.port
        held = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(4)]
        with httpx.Client(base_url=server.base_url, timeout=10) as http:
            assert http.get("/workitems").status_code == 503
        for connection in held:
            connection.close()
        held = []
        with httpx.Client(base_url=server.base_url, timeout=10) as http:
            for _ in range(50):
                if http.get("/workitems").status_code == 204:
                    break
                threading.Event().wait(0.05)
            assert http.get("/workitems").status_code == 204
    finally:
        for connection in held:
            connection.close()
        server.stop()


def test_the_recipients_found_by_set_union_are_those_the_subscriptions_cover(tmp_path):
    """The fast path (sets of AE titles) and the plain walk over every subscription agree, with
    global, filtered, suspended, per-item and excluded subscriptions mixed."""
    import random
    from datetime import UTC

    from upsrs_client import item

    from app.domain import tags as t
    from app.domain.search import SubscriptionFilter
    from app.server.notifications import EventHub
    from app.server.service import UPSService
    from app.server.store import Store

    store = Store(tmp_path / "w.db", UTC)
    service = UPSService(store, EventHub())
    pick = random.Random(7)
    uids = [service.create(item(station=pick.choice(["CT1", "MR1"]))).uid for _ in range(6)]
    for n in range(60):
        aet, kind = f"AE{n % 20}", pick.choice(["global", "filtered", "item", "suspend", "unsubscribe"])
        if kind == "global":
            service.subscribe(aet, t.GLOBAL_SUBSCRIPTION_UID)
        elif kind == "filtered":
            station = pick.choice(["CT1", "MR1"])
            criteria = SubscriptionFilter.from_text(f"ScheduledStationNameCodeSequence.CodeValue={station}")
            service.subscribe(aet, t.FILTERED_SUBSCRIPTION_UID, criteria=criteria)
        elif kind == "item":
            service.subscribe(aet, pick.choice(uids))
        elif kind == "suspend":
            with contextlib.suppress(Exception):
                service.suspend(aet, pick.choice([t.GLOBAL_SUBSCRIPTION_UID, t.FILTERED_SUBSCRIPTION_UID]))
        else:
            with contextlib.suppress(Exception):
                service.unsubscribe(aet, pick.choice(uids))
        if n % 10 == 9:
            uids.append(service.create(item()).uid)  # made after some suspensions
    with store.write() as db:
        for uid in uids:
            row = store.get(db, uid)
            assert service.subscriptions.recipients(db, row) == {s.aet for s in service.subscriptions.covering(db, row)}
    store.close()


async def test_an_event_never_carries_nan_and_a_refused_ae_title_is_not_echoed_whole():
    from app.domain.identifiers import check_ae_title
    from app.domain.status import InvalidRequest
    from app.server.notifications import EventHub

    hub = EventHub()
    channel = hub.connect("STRICT")
    hub.publish({"STRICT"}, {"00081195": {"vr": "DS", "Value": [float("nan")]}})
    text = await asyncio.wait_for(channel.next(), 1)
    assert "NaN" not in text and json.loads(text) == {"00081195": {"vr": "DS"}}
    with pytest.raises(InvalidRequest) as refused:
        check_ae_title("A" * 10_000)
    assert len(refused.value.message) < 200


def test_a_modality_that_aborts_amid_thousands_of_answers_frees_its_thread_and_the_front_answers_on(tmp_path):
    """The front writes a query's answers itself (app/server/find_answers.py): when the modality
    aborts, the write fails, the answering stops and the association's thread ends, and the next
    modality is answered as usual."""
    from benchmarks.bench_mwl import items, query

    from app.server import ServerConfig, UPSServer

    server = UPSServer(ServerConfig(http_port=0, dimse_port=0, db_path=str(tmp_path / "ups.db")))
    with server.store.write() as db:
        for ups in items(3000):  # 6 stations over 10 days: 50 a station and day
            server.store.insert(db, ups)
    server.start()

    def serving() -> list[threading.Thread]:
        return [thread for thread in threading.enumerate() if thread.name.startswith("AcceptorThread")]

    try:
        ae = AE("EVIL")
        ae.add_requested_context(ModalityWorklistInformationFind)
        assoc = ae.associate("127.0.0.1", server.dimse.port, ae_title="WORKLIST")
        assert assoc.is_established
        answers = assoc.send_c_find(query("", ""), ModalityWorklistInformationFind)  # all 3 000
        status, identifier = next(answers)
        assert status.Status == 0xFF00 and identifier is not None
        assoc.abort()
        for thread in serving():
            thread.join(10)
        assert serving() == []
        good = AE("CT1")
        good.add_requested_context(ModalityWorklistInformationFind)
        modality = good.associate("127.0.0.1", server.dimse.port, ae_title="WORKLIST")
        try:
            found = [
                ident
                for status, ident in modality.send_c_find(query("CT1", "20270301"), ModalityWorklistInformationFind)
                if status and status.Status == 0xFF00
            ]
        finally:
            modality.release()
        assert len(found) == 50
    finally:
        server.stop()
