"""Subscriptions and event reports over real WebSocket channels."""

from __future__ import annotations

import json

import httpx
from embedded_server import start_server
from pydicom.uid import generate_uid
from upsrs_client import (
    FILTERED,
    GLOBAL,
    Events,
    change_state,
    claim,
    create,
    item,
    listen,
    new_aet,
    performed,
    post,
    progress,
    subscribe,
    update,
    value,
)


def test_subscribing_to_one_workitem_reports_its_state_then_every_change(http):
    uid = create(http, item())
    events = listen(http, uid, new_aet())
    try:
        events.wait_for(uid, 1, **{"00741000": "SCHEDULED", "00404041": "READY"})
        tx = claim(http, uid)
        events.wait_for(uid, 1, **{"00741000": "IN PROGRESS"})
        update(http, uid, tx, progress(50, "halfway"))
        report = events.wait_for(uid, 3)
        assert value(report["00741002"]["Value"][0], "00741006") == "halfway"
        update(http, uid, tx, performed())
        change_state(http, uid, "COMPLETED", tx)
        events.wait_for(uid, 1, **{"00741000": "COMPLETED"})
    finally:
        events.close()


def test_event_message_carries_the_command_fields_of_ps3_18(http):
    uid = create(http, item())
    events = listen(http, uid, new_aet())
    try:
        event = events.wait_for(uid, 1)
        assert value(event, "00000002") == "1.2.840.10008.5.1.4.34.6.1"
        assert isinstance(value(event, "00000110"), int)
        assert event["00741000"]["vr"] == "CS"
    finally:
        events.close()


def test_events_wait_for_a_subscriber_that_is_not_connected(http):
    aet = new_aet()
    assert subscribe(http, GLOBAL, aet).status_code == 201
    uids = [create(http, item()) for _ in range(3)]
    claim(http, uids[1])
    events = Events(str(http.base_url).rstrip("/").replace("http", "ws", 1) + f"/ws/subscribers/{aet}")
    try:
        got = [(value(e, "00001000"), value(e, "00001002"), value(e, "00741000")) for e in events.drain()]
        expected = [(u, 1, "SCHEDULED") for u in uids] + [(uids[1], 1, "IN PROGRESS")]
        assert [g for g in got if g[1] == 1] == expected  # all of them, in the order they happened
    finally:
        events.close()
        http.delete(f"/workitems/{GLOBAL}/subscribers/{aet}")


def test_events_sent_while_a_console_reconnects_are_delivered_after(http):
    aet = new_aet()
    events = listen(http, GLOBAL, aet)
    first = create(http, item())
    events.wait_for(first, 1)
    events.close()
    missed = create(http, item())
    again = Events(events.url)
    try:
        again.wait_for(missed, 1, **{"00741000": "SCHEDULED"})
    finally:
        again.close()
        http.delete(f"/workitems/{GLOBAL}/subscribers/{aet}")


def test_global_subscription_with_deletion_lock_reports_every_existing_item(fresh_server):
    with httpx.Client(base_url=fresh_server.base_url) as http:
        existing = [create(http, item()) for _ in range(3)]
        events = listen(http, GLOBAL, new_aet(), deletionlock="true")
        try:
            for uid in existing:
                events.wait_for(uid, 1, **{"00741000": "SCHEDULED"})
        finally:
            events.close()


def test_global_subscription_without_lock_reports_nothing_old(http):
    old = create(http, item())
    events = listen(http, GLOBAL, new_aet(), deletionlock="false")
    try:
        new = create(http, item())
        got = events.drain()
        assert old not in {value(e, "00001000") for e in got}
        assert new in {value(e, "00001000") for e in got}
    finally:
        events.close()


def test_creation_with_a_station_reports_the_assignment(http):
    events = listen(http, GLOBAL, new_aet())
    try:
        uid = create(http, item("ASSIGN1"))
        event = events.wait_for(uid, 5)
        assert event["00404025"]["Value"][0]["00080100"]["Value"] == ["ASSIGN1"]
    finally:
        events.close()


def test_filtered_subscription_reports_only_matching_workitems(http):
    events = listen(http, FILTERED, new_aet(), filter="ScheduledStationNameCodeSequence.CodeValue=FILT1")
    try:
        other = create(http, item("FILT2"))
        mine = create(http, item("FILT1"))
        events.wait_for(mine, 1)
        assert other not in {value(e, "00001000") for e in events.drain()}
    finally:
        events.close()


def test_filtered_subscription_takes_the_legacy_plain_parameter_form(http):
    aet = new_aet()
    r = http.post(f"/workitems/{FILTERED}/subscribers/{aet}", params={"00404025.00080100": "LEG1"})
    assert r.status_code == 201
    events = Events(r.headers["Content-Location"])
    try:
        uid = create(http, item("LEG1"))
        events.wait_for(uid, 1)
    finally:
        events.close()


def test_filtered_subscription_needs_a_filter(http):
    r = http.post(f"/workitems/{FILTERED}/subscribers/{new_aet()}")
    assert r.status_code == 400 and "filter" in r.headers["Warning"]


def test_cancel_request_on_my_item_reaches_me_with_the_reason_and_requester(http):
    uid = create(http, item())
    tx = claim(http, uid)
    events = listen(http, uid, new_aet())
    try:
        body = [
            {"00741238": {"vr": "LT", "Value": ["Patient refused"]}, "0074100C": {"vr": "LO", "Value": ["Front desk"]}}
        ]
        assert post(http, f"/workitems/{uid}/cancelrequest/RIS1", body).status_code == 202
        event = events.wait_for(uid, 2)
        assert value(event, "00741236") == "RIS1"
        assert value(event, "00741238") == "Patient refused"
        assert tx  # the performer keeps the item until it cancels it itself
    finally:
        events.close()


def test_cancel_request_on_scheduled_reports_in_progress_then_canceled(http):
    uid = create(http, item())
    events = listen(http, uid, new_aet())
    try:
        events.wait_for(uid, 1, **{"00741000": "SCHEDULED"})
        http.post(f"/workitems/{uid}/cancelrequest")
        events.wait_for(uid, 1, **{"00741000": "IN PROGRESS"})
        events.wait_for(uid, 1, **{"00741000": "CANCELED"})
    finally:
        events.close()


def test_unsubscribing_one_item_under_a_global_subscription_stops_its_events(http):
    aet = new_aet()
    events = listen(http, GLOBAL, aet)
    try:
        uid = create(http, item())
        events.wait_for(uid, 1)
        assert http.delete(f"/workitems/{uid}/subscribers/{aet}").status_code == 200
        claim(http, uid)
        other = create(http, item())
        got = []  # every event up to the one of the other workitem, which comes after the claim's would
        while other not in {value(e, "00001000") for e in got}:
            got.append(events.next(timeout=10))
        assert (uid, "IN PROGRESS") not in {(value(e, "00001000"), value(e, "00741000")) for e in got}
    finally:
        events.close()


def test_global_unsubscribe_ends_every_subscription_of_the_ae(http):
    aet = new_aet()
    uid = create(http, item())
    assert subscribe(http, uid, aet).status_code == 201
    assert subscribe(http, GLOBAL, aet).status_code == 201
    assert http.delete(f"/workitems/{GLOBAL}/subscribers/{aet}").status_code == 200
    assert http.delete(f"/workitems/{uid}/subscribers/{aet}").status_code == 404
    assert http.delete(f"/workitems/{GLOBAL}/subscribers/{aet}").status_code == 404


def test_suspended_global_subscription_keeps_old_items_but_not_new_ones(http):
    aet = new_aet()
    events = listen(http, GLOBAL, aet)
    try:
        old = create(http, item())
        events.wait_for(old, 1)
        assert http.post(f"/workitems/{GLOBAL}/subscribers/{aet}/suspend").status_code == 200
        new = create(http, item())
        claim(http, old)
        got = {(value(e, "00001000"), value(e, "00741000")) for e in events.drain()}
        assert (old, "IN PROGRESS") in got
        assert new not in {uid for uid, _ in got}
    finally:
        events.close()


def test_subscribe_to_unknown_item_is_404_and_bad_ae_title_is_400(http):
    assert subscribe(http, generate_uid(), new_aet()).status_code == 404
    assert subscribe(http, GLOBAL, "A" * 17).status_code == 400
    assert http.post(f"/workitems/{generate_uid()}/subscribers/{new_aet()}/suspend").status_code == 400


def test_restart_is_announced_to_subscribers_and_stop_to_listeners(tmp_path):
    db = tmp_path / "ups.db"
    aet = new_aet()
    first = start_server(db)
    with httpx.Client(base_url=first.base_url) as http:
        events = listen(http, GLOBAL, aet)
    first_url = events.url
    first.stop()
    going_down = [e for e in events.drain(1.0) if value(e, "00001002") == 4]
    events.close()
    assert [value(e, "00741242") for e in going_down] == ["GOING DOWN"]
    second = start_server(db)
    try:
        ws = first_url.rsplit("/dicom-web", 1)[1]
        again = Events(second.base_url.replace("http", "ws", 1) + ws)
        try:
            event = again.wait_for("1.2.840.10008.5.1.4.34.5", 4)
            assert value(event, "00741242") == "RESTARTED"
            assert value(event, "00741244") == "WARM START"
        finally:
            again.close()
    finally:
        second.stop()


def test_progress_event_is_not_sent_when_progress_did_not_change(http):
    uid = create(http, item())
    tx = claim(http, uid)
    events = listen(http, uid, new_aet())
    try:
        events.wait_for(uid, 1)
        update(http, uid, tx, {"00400400": {"vr": "LT", "Value": ["comment only"]}})
        assert [e for e in events.drain() if value(e, "00001002") == 3] == []
    finally:
        events.close()


def test_a_diverted_ae_gets_its_events_from_the_hub_and_never_in_a_backlog():
    from app.server.notifications import EventHub

    hub, delivered = EventHub(), []
    hub.divert({"DIMSE1"}, lambda aet, text: delivered.append((aet, text)))
    hub.publish({"DIMSE1", "WS1"}, {"00001002": {"vr": "US", "Value": [1]}})
    assert delivered == [("DIMSE1", '{"00001002":{"vr":"US","Value":[1]}}')]
    assert hub.pending("DIMSE1") == 0 and hub.pending("WS1") == 1
    assert hub.connected() == {"DIMSE1"}  # reached at once, so it hears GOING DOWN too


def test_event_reports_go_uncompressed_whatever_the_client_offers(http):
    # deflate cost the server's event loop CPU per event and per subscriber for a few kilobytes saved
    events = listen(http, GLOBAL, new_aet())
    try:
        assert events.socket.protocol.extensions == []
        assert "Sec-WebSocket-Extensions" not in events.socket.response.headers
    finally:
        events.close()


def test_a_burst_of_events_wakes_a_subscribers_loop_once_and_arrives_in_order():
    import asyncio
    import threading

    from app.server.notifications import EventHub

    hub, loop = EventHub(), asyncio.new_event_loop()
    wakes, busy, ready = [], threading.Event(), threading.Event()
    wake = loop.call_soon_threadsafe
    loop.call_soon_threadsafe = lambda *args: (wakes.append(args), wake(*args))[1]  # type: ignore[method-assign]

    async def subscriber() -> list[int]:
        channel = hub.connect("WS1")
        ready.set()
        busy.wait(10)  # the loop is busy while the burst is published
        return [json.loads(await channel.next())["00001002"]["Value"][0] for _ in range(50)]

    reader = threading.Thread(target=lambda: received.extend(loop.run_until_complete(subscriber())))
    received: list[int] = []
    reader.start()
    try:
        assert ready.wait(10)
        for n in range(50):
            hub.publish({"WS1"}, {"00001002": {"vr": "US", "Value": [n]}})
        busy.set()
        reader.join(10)
        assert received == list(range(50))
        assert len(wakes) == 1
    finally:
        busy.set()
        reader.join(10)
        loop.close()
