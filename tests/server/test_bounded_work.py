"""No single request holds the server: a hostile wildcard is answered, over HTTP and over MWL
C-FIND, and a request beside it is answered too."""

from __future__ import annotations

import asyncio
import json
import threading

import httpx
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
