"""The console's workflow driven without a window, against a real embedded server: what a
view is told is what the technologist would see."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from embedded_server import start_server
from pydicom.uid import generate_uid
from workflow_recorder import Console, until

from app.console import procedure_key
from app.domain.procedure import OutputSeries, PerformedProcedure, reason_attributes
from app.domain.states import State
from app.domain.workitem import Code


@pytest.fixture()
async def console(server, tmp_path) -> AsyncIterator[Console]:
    """A station's workflow on the module's server, with an outbox file of its own."""
    made = Console(server, tmp_path / "console.db")
    try:
        yield made
    finally:
        await made.workflow.close()


def performed(station: str) -> PerformedProcedure:
    now = datetime.now().strftime("%Y%m%d%H%M%S")
    return PerformedProcedure(
        Code(station, "99WLSTATION", station),
        start=now,
        end=now,
        procedures=(Code("CTCHEST", "99WLPROC", "CT chest"),),
        technologist="Becker^Anna",
        series=(OutputSeries(generate_uid(), "Axial"),),
    )


async def test_a_search_lists_this_stations_procedures_and_no_others(console: Console):
    mine = {console.schedule("Núñez^Lucía"), console.schedule("Jensen^Søren")}
    console.schedule("Dupont^Marie", station="ELSEWHERE")
    await console.workflow.refresh(console.query())
    assert {w.uid for w in console.heard.lists[-1]} == mine
    assert {w.patient_name.display() for w in console.heard.lists[-1]} == {"Núñez, Lucía", "Jensen, Søren"}
    assert console.heard.refreshes and console.heard.exchanges  # the inspector saw the search


async def test_start_progress_and_complete_reach_the_server_and_say_so(console: Console):
    uid = console.schedule()
    await console.workflow.refresh(console.query())
    (item,) = console.heard.lists[-1]

    await console.workflow.claim(item)
    assert console.heard.said("info", procedure_key(uid)) == ["Started: CT chest for Weiß, Günther."]
    assert console.workflow.mine_in_progress() == {uid}
    assert (await console.item(uid)).state is State.IN_PROGRESS
    assert console.heard.changed[-1].state is State.IN_PROGRESS  # the view shows the claim

    await console.workflow.report_progress(item, 40, "Scanning")
    assert console.heard.progress == [uid]
    assert (await console.item(uid)).progress == 40
    assert "Progress reported for CT chest for Weiß, Günther: 40 %." in console.heard.said("info", procedure_key(uid))

    await console.workflow.complete(item, performed(console.station))
    assert console.heard.said("info", procedure_key(uid))[-1] == "Completed: CT chest for Weiß, Günther."
    assert (await console.item(uid)).state is State.COMPLETED
    assert console.workflow.mine_in_progress() == set() and console.workflow.outbox.pending() == 0


async def test_a_completion_that_ends_before_it_starts_is_refused_before_anything_is_sent(console: Console):
    uid = console.schedule()
    await console.workflow.refresh(console.query())
    (item,) = console.heard.lists[-1]
    await console.workflow.claim(item)
    now = datetime.now()
    backwards = replace(
        performed(console.station),
        start=(now - timedelta(minutes=5)).strftime("%Y%m%d%H%M%S"),
        end=(now - timedelta(minutes=20)).strftime("%Y%m%d%H%M%S"),
    )

    await console.workflow.complete(item, backwards)
    (refusal,) = console.heard.said("error", procedure_key(uid))
    assert refusal.startswith("Not completed: CT chest for Weiß, Günther.") and "ends before it starts" in refusal
    await console.workflow.complete(item, replace(performed(console.station), technologist="4"))
    assert "Family, Given" in console.heard.said("error", procedure_key(uid))[-1]
    assert console.workflow.outbox.pending() == 0 and console.workflow.outbox.final_pending(uid) is None
    assert (await console.item(uid)).state is State.IN_PROGRESS


async def test_discontinue_cancels_only_what_this_station_started(console: Console):
    uid = console.schedule()
    await console.workflow.refresh(console.query())
    (item,) = console.heard.lists[-1]
    reason = Code("110514", "DCM", "Incorrect worklist entry selected")

    await console.workflow.discontinue(item, reason, "")  # never started here: refused, in words
    (refusal,) = console.heard.said("error", procedure_key(uid))
    assert "Start the procedure" in refusal
    assert (await console.item(uid)).state is State.SCHEDULED

    await console.workflow.claim(item)
    await console.workflow.discontinue(item, reason, "Wrong patient called")
    assert console.heard.said("info", procedure_key(uid))[-1] == (
        "Discontinued: CT chest for Weiß, Günther (Incorrect worklist entry selected); it shows as CANCELED."
    )
    assert (await console.item(uid)).state is State.CANCELED


async def test_a_cancellation_request_arrives_as_an_event_and_is_kept(console: Console, tmp_path):
    uid = console.schedule()
    console.workflow.refresh(console.query())
    console.workflow.start()
    await until(lambda: console.heard.lists and any(up for up, _ in console.heard.connections))
    (item,) = console.heard.lists[-1]
    await console.workflow.claim(item)

    request = reason_attributes(Code("110510", "DCM", "Duplicate order"), contact_name="RIS front desk")
    console.server.service.request_cancellation(uid, "RIS", request)
    await until(lambda: console.heard.cancels)
    (event,) = console.heard.cancels
    assert (event.workitem_uid, event.requester, event.reason) == (uid, "RIS", "Duplicate order")
    await until(lambda: any(e.workitem_uid == uid and w is not None for e, w in console.heard.events))

    # kept across a restart of the console until it is dealt with
    await console.workflow.close()
    again = Console(console.server, tmp_path / "console.db", station=console.station)
    try:
        assert [e.workitem_uid for e in again.workflow.kept_cancel_requests()] == [uid]
        again.workflow.forget_cancel_request(uid)
        assert again.workflow.kept_cancel_requests() == []
    finally:
        await again.workflow.close()


async def test_a_completion_made_while_the_server_is_down_is_kept_and_sent_when_it_is_back(tmp_path):
    server = start_server(tmp_path / "ups.db")
    port = server.port
    console = Console(server, tmp_path / "console.db")
    try:
        uid = console.schedule()
        console.workflow.refresh(console.query())
        console.workflow.start()
        await until(lambda: console.heard.lists and any(up for up, _ in console.heard.connections))
        (item,) = console.heard.lists[-1]
        await console.workflow.claim(item)

        server.stop()
        await console.workflow.complete(item, performed(console.station))
        (kept,) = console.heard.said("warning", procedure_key(uid))
        assert "will be sent when the server is reachable" in kept
        assert console.workflow.outbox.pending() == 1 and console.heard.pendings[-1] == 1
        await console.workflow.complete(item, performed(console.station))  # a second press sends nothing twice
        assert console.workflow.outbox.pending() == 1

        server = start_server(tmp_path / "ups.db", port=port)
        await until(lambda: console.workflow.outbox.pending() == 0, timeout=30)
        assert console.heard.said("info", procedure_key(uid))  # the console says it was sent
        assert (await console.item(uid)).state is State.COMPLETED
        assert console.heard.pendings[-1] == 0
    finally:
        await console.workflow.close()
        server.stop()


async def test_put_back_cancels_the_start_and_lists_its_replacement_scheduled(console: Console):
    uid = console.schedule("Wrong^Patient")
    await console.workflow.refresh(console.query())
    (item,) = console.heard.lists[-1]
    await console.workflow.claim(item)

    replacement = await console.workflow.put_back(item, "the patient in the next room")
    (said,) = console.heard.said("info", procedure_key(uid))[-1:]
    assert said == (
        "Put back on the worklist: CT chest for Wrong, Patient. "
        "The order goes back on the worklist as a new scheduled step; the started step is canceled."
    )
    assert (await console.item(uid)).state is State.CANCELED
    assert [(w.uid, w.state) for w in console.heard.lists[-1]] == [(replacement, State.SCHEDULED)]
    assert console.heard.lists[-1][0].patient_name.display() == "Wrong, Patient"
    assert console.workflow.mine_in_progress() == set() and console.workflow.outbox.pending() == 0


async def test_an_answer_overtaken_by_a_newer_search_is_never_shown_after_it(console: Console):
    """A filter typed while the list is being refreshed: the slower, older answer must not land
    after the newer one and put back what the filter left out."""
    import asyncio

    wanted = console.schedule("Núñez^Lucía")
    console.schedule("Jensen^Søren")
    backend = console.workflow.backend
    search = backend.search
    first, release = asyncio.Event(), asyncio.Event()

    async def slow_first(query):
        if not first.is_set():
            first.set()
            found = await search(query)
            await release.wait()  # the whole list comes back only after the filtered one
            return found
        return await search(query)

    backend.search = slow_first  # type: ignore[method-assign]
    older = console.workflow.refresh(console.query())
    await first.wait()
    await console.workflow.refresh(replace(console.query(), patient_name="Núñez*"))
    release.set()
    await older
    assert [w.uid for w in console.heard.lists[-1]] == [wanted]


async def test_what_waits_and_what_runs_is_told_from_the_workflow_for_every_view(tmp_path):
    """The marks, the offer to resume and what waits to be sent come from the workflow, not
    from a view reading the claim store."""
    server = start_server(tmp_path / "ups.db")
    console = Console(server, tmp_path / "console.db")
    try:
        ended, running = console.schedule("Núñez^Lucía"), console.schedule("Jensen^Søren")
        await console.workflow.refresh(console.query())
        items = {w.uid: w for w in console.heard.lists[-1]}
        await console.workflow.claim(items[ended])
        await console.workflow.claim(items[running])

        server.stop()
        await console.workflow.complete(items[ended], performed(console.station))
        offer = console.workflow.resume_offer()
        assert [c.uid for c in offer.running] == [running]
        assert [c.uid for c in offer.waiting] == [ended] and offer.waiting_kind == "complete"
        assert console.workflow.ending_waits(ended) == "complete" and console.workflow.ending_waits(running) is None
        assert console.workflow.row_marks({}) == {ended: ("COMPLETING", "Completing: waiting to be sent")}
        assert [report for report, _ in console.workflow.waiting_to_send()] == ["The completion"]
        assert console.workflow.pending_count() == 1
    finally:
        await console.workflow.close()
        server.stop()
