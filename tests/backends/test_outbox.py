"""Nothing lost: claims and reports survive outages and console restarts."""

from __future__ import annotations

from datetime import datetime

import pytest
from embedded_server import start_server
from pydicom.uid import generate_uid

from app.backends.errors import BackendError, Conflict
from app.backends.outbox import Outbox
from app.backends.profiles import Profile
from app.backends.upsrs import UpsRsBackend
from app.domain.build import NewWorkitem
from app.domain.procedure import OutputSeries, PerformedProcedure
from app.domain.states import State
from app.domain.workitem import Code, PatientName


def performed() -> PerformedProcedure:
    now = datetime.now().strftime("%Y%m%d%H%M%S")
    return PerformedProcedure(
        Code("CT1", "99WLSTATION", "CT1"),
        start=now,
        end=now,
        procedures=(Code("CTCHEST", "99WLPROC", "CT chest"),),
        technologist="Becker^Anna",
        series=(OutputSeries(generate_uid(), "Axial"),),
    )


async def scheduled(b: UpsRsBackend):
    new = NewWorkitem(
        uid=generate_uid(),
        label="CT chest",
        start=datetime.now().strftime("%Y%m%d%H%M%S"),
        patient=PatientName("Weiß^Günther"),
        patient_id="P9",
        station="CT1",
        modality="CT",
    )
    return await b.create(new)


def console(server_or_url, tmp_path, ae="CT1", name="console.db"):
    url = server_or_url if isinstance(server_or_url, str) else server_or_url.base_url
    backend = UpsRsBackend(Profile(url=url, ae_title=ae, timeout=2))
    return backend, Outbox(backend, "test", tmp_path / name)


async def test_claim_progress_complete_all_sent_and_the_claim_is_done(server, tmp_path):
    b, box = console(server, tmp_path)
    try:
        item = await scheduled(b)
        assert (await box.claim(item)).sent
        assert box.claim_of(item.uid).transaction_uid
        assert (await box.progress(item.uid, 50, "Scanning")).sent
        assert (await box.complete(item, performed())).sent
        assert box.pending() == 0 and box.active_claims() == []
        assert (await b.retrieve(item.uid)).state is State.COMPLETED
    finally:
        box.close()
        await b.close()


async def test_complete_acts_only_on_a_procedure_this_console_started(server, tmp_path):
    b, box = console(server, tmp_path)
    try:
        item = await scheduled(b)
        with pytest.raises(BackendError, match="Start the procedure"):
            await box.complete(item, performed())
        with pytest.raises(BackendError, match="Start the procedure"):
            await box.discontinue(item, Code("110513", "DCM", "Discontinued for unspecified reason"), "")
        assert box.pending() == 0 and (await b.retrieve(item.uid)).state is State.SCHEDULED
        assert (await box.complete_unstarted(item, performed())).sent  # documenting it after the fact, asked for
        assert (await b.retrieve(item.uid)).state is State.COMPLETED
    finally:
        box.close()
        await b.close()


async def test_reports_made_during_an_outage_are_sent_after_a_console_restart(tmp_path):
    server = start_server(tmp_path / "ups.db")
    port, url = server.port, server.base_url
    b, box = console(server, tmp_path)
    try:
        item = await scheduled(b)
        await box.claim(item)
        server.stop()
        progress = await box.progress(item.uid, 80, "Almost done")
        done = await box.complete(item, performed())
        assert not progress.sent and not done.sent
        assert "will be sent when the server is reachable" in done.sentence
        assert box.pending() == 2
    finally:
        box.close()
        await b.close()
    # the console crashed; it starts again and the server is back
    server = start_server(tmp_path / "ups.db", port=port)
    b, box = console(url, tmp_path)
    try:
        assert [c.uid for c in box.active_claims()] == [item.uid]
        assert await box.flush() == 2
        got = await b.retrieve(item.uid)
        assert got.state is State.COMPLETED and got.progress == 80
    finally:
        box.close()
        await b.close()
        server.stop()


async def test_a_claim_made_while_the_server_is_down_is_kept_and_sent_later(tmp_path):
    server = start_server(tmp_path / "ups.db")
    port = server.port
    b, box = console(server, tmp_path)
    try:
        item = await scheduled(b)
        server.stop()
        delivery = await box.claim(item)
        assert not delivery.sent and box.claim_of(item.uid) is not None
        server = start_server(tmp_path / "ups.db", port=port)
        assert await box.flush() == 1
        assert (await b.retrieve(item.uid)).state is State.IN_PROGRESS
        assert (await box.progress(item.uid, 10, "Positioning")).sent  # the kept Transaction UID works
    finally:
        box.close()
        await b.close()
        server.stop()


async def test_a_refused_claim_raises_at_once_and_keeps_nothing(server, tmp_path):
    b1, first = console(server, tmp_path, "CT1", "one.db")
    b2, second = console(server, tmp_path, "CT2", "two.db")
    try:
        item = await scheduled(b1)
        await first.claim(item)
        with pytest.raises(Conflict) as refused:
            await second.claim(item)
        assert "already started" in refused.value.sentence
        assert second.active_claims() == [] and second.pending() == 0
    finally:
        first.close()
        second.close()
        await b1.close()
        await b2.close()


async def test_a_completion_whose_answer_was_lost_counts_as_done_on_retry(server, tmp_path):
    b, box = console(server, tmp_path)
    try:
        item = await scheduled(b)
        await box.claim(item)
        await box.complete(item, performed())
        # the console crashed after the server completed it but before it recorded the answer
        box.db.execute("UPDATE operation SET status='pending' WHERE kind='complete'")
        box.db.execute("UPDATE claim SET status='active'")
        assert await box.flush() == 1
        assert box.pending() == 0 and box.active_claims() == []
    finally:
        box.close()
        await b.close()


def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_server_that_stays_away_is_tried_with_growing_pauses_never_in_a_loop(server, tmp_path):
    import asyncio

    b, box = console(server, tmp_path)
    item = await scheduled(b)
    await box.claim(item)
    await b.close()
    box.close()
    b, box = console(f"http://127.0.0.1:{closed_port()}/dicom-web", tmp_path)  # restarted; the server is gone
    try:
        await box.progress(item.uid, 20, "Scout")
        await box.progress(item.uid, 60, "Contrast")  # two waiting: once, the second one made the loop spin
        box.attempts = 0
        runner = asyncio.ensure_future(box.run())
        await asyncio.sleep(4)
        runner.cancel()
        assert 1 <= box.attempts <= 4  # about 1 s, then 2 s, …: not hundreds a second
        assert box.pending() == 2
    finally:
        box.close()
        await b.close()


async def test_the_outbox_tries_at_once_when_the_connection_comes_back(tmp_path):
    import asyncio

    server = start_server(tmp_path / "ups.db")
    port = server.port
    b, box = console(server, tmp_path)
    runner = None
    try:
        item = await scheduled(b)
        await box.claim(item)
        server.stop()
        await box.progress(item.uid, 50, "Half way")
        for _ in range(5):  # a long outage: the next attempt is half a minute away
            box.backoff.next_delay()
        await box.flush()
        assert box.next_attempt_in() > 10
        runner = asyncio.ensure_future(box.run())
        server = start_server(tmp_path / "ups.db", port=port)
        box.kick()  # the event channel came back
        for _ in range(40):
            if box.pending() == 0:
                break
            await asyncio.sleep(0.1)
        assert box.pending() == 0 and (await b.retrieve(item.uid)).progress == 50
    finally:
        if runner:
            runner.cancel()
        box.close()
        await b.close()
        server.stop()


async def test_two_consoles_of_one_ae_title_never_send_at_once(server, tmp_path):
    b, first = console(server, tmp_path)
    b2, second = console(server, tmp_path)  # the same AE title and file: a second window or process
    try:
        item = await scheduled(b)
        assert second.send_lock.acquire()  # the second one is in the middle of sending
        delivery = await first.claim(item)
        assert not delivery.sent and "another console of this station" in delivery.sentence
        assert (await b.retrieve(item.uid)).state is State.SCHEDULED
        second.send_lock.release()
        assert await first.flush() == 1
        assert (await b.retrieve(item.uid)).state is State.IN_PROGRESS
        assert second.claim_of(item.uid) is not None  # one station: both windows know the claim
    finally:
        first.close()
        second.close()
        await b.close()
        await b2.close()


async def test_a_claim_belongs_to_the_ae_title_and_server_not_to_the_profile_name(server, tmp_path):
    from app.backends.claim_store import owner_description, owner_key

    ct1 = Profile(name="Command line", url=server.base_url, ae_title="CT1")
    ct2 = Profile(name="Command line", url=server.base_url, ae_title="CT2")
    assert owner_key(ct1) != owner_key(ct2)
    b1, b2 = UpsRsBackend(ct1), UpsRsBackend(ct2)
    one = Outbox(b1, owner_key(ct1), tmp_path / "console.db", profile_name=ct1.name, description=owner_description(ct1))
    two = Outbox(b2, owner_key(ct2), tmp_path / "console.db", profile_name=ct2.name, description=owner_description(ct2))
    try:
        item = await scheduled(b1)
        assert (await one.claim(item)).sent
        assert two.claim_of(item.uid) is None and two.active_claims() == []
        with pytest.raises(BackendError):
            await two.complete(item, performed())  # never completes CT1's procedure
        assert (await b1.retrieve(item.uid)).state is State.IN_PROGRESS
        server_was = server.base_url
        one.store.enqueue(item.uid, "progress", {"percent": 5, "description": ""})
        [waiting] = two.store.waiting_elsewhere()
        assert waiting.count == 1 and waiting.where() == f"profile 'Command line' (CT1 at {server_was})"
    finally:
        one.close()
        two.close()
        await b1.close()
        await b2.close()


def test_a_claim_store_of_the_first_version_keeps_its_claims(tmp_path):
    import sqlite3

    from app.backends.claim_store import ClaimStore

    path = tmp_path / "console.db"
    with sqlite3.connect(path) as old:  # the first version's tables, keyed by profile name
        old.executescript("""
            CREATE TABLE claim (profile TEXT NOT NULL, uid TEXT NOT NULL, transaction_uid TEXT NOT NULL,
                status TEXT NOT NULL DEFAULT 'active', claimed_at REAL NOT NULL, patient TEXT NOT NULL DEFAULT '',
                label TEXT NOT NULL DEFAULT '', PRIMARY KEY (profile, uid));
            CREATE TABLE operation (id INTEGER PRIMARY KEY AUTOINCREMENT, profile TEXT NOT NULL, uid TEXT NOT NULL,
                kind TEXT NOT NULL, payload TEXT NOT NULL, created_at REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
                next_at REAL NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '', status TEXT NOT NULL DEFAULT 'pending');
            INSERT INTO claim VALUES ('Site RIS', '1.2.3', '9.8.7', 'active', 1, 'Weiß, Günther', 'CT chest');
            INSERT INTO operation (profile, uid, kind, payload, created_at) VALUES ('Site RIS', '1.2.3', 'progress', '{}', 1);
        """)
    other = ClaimStore(path, "upsrs|http://elsewhere/dicom-web|CT9")
    assert [w.where() for w in other.waiting_elsewhere()] == ["profile 'Site RIS'"]
    other.close()
    store = ClaimStore(path, "upsrs|http://ris/dicom-web|CT1", "Site RIS")
    assert store.claim_of("1.2.3") is None
    assert store.adopt_legacy("Site RIS") == 1
    assert store.claim_of("1.2.3").transaction_uid == "9.8.7" and store.pending() == 1
    store.close()


async def test_a_second_completion_is_refused_while_the_first_waits(tmp_path):
    server = start_server(tmp_path / "ups.db")
    b, box = console(server, tmp_path)
    try:
        item = await scheduled(b)
        await box.claim(item)
        server.stop()
        assert not (await box.complete(item, performed())).sent
        assert box.final_pending(item.uid) == "complete"
        with pytest.raises(BackendError, match="The completion of CT chest for Weiß, Günther is already waiting"):
            await box.complete(item, performed())
        with pytest.raises(BackendError, match="already waiting"):
            await box.progress(item.uid, 90, "")
        assert box.pending() == 1
    finally:
        box.close()
        await b.close()
        server.stop()


async def test_a_report_refused_later_names_the_patient(tmp_path):
    from app.backends.outbox import Failure

    server = start_server(tmp_path / "ups.db")
    port = server.port
    failures: list[Failure] = []
    backend = UpsRsBackend(Profile(url=server.base_url, ae_title="CT1", timeout=2))
    box = Outbox(backend, "test", tmp_path / "console.db", on_failure=failures.append)
    try:
        item = await scheduled(backend)
        await box.claim(item)
        server.stop()
        await box.progress(item.uid, 30, "Scout")
        server = start_server(tmp_path / "ups.db", port=port)
        server.service.change_state(item.uid, "CANCELED", box.claim_of(item.uid).transaction_uid)  # the RIS ended it
        await box.flush()
        [failure] = failures
        assert failure.kind == "progress" and failure.sentence.startswith("CT chest for Weiß, Günther: ")
    finally:
        box.close()
        await backend.close()
        server.stop()


async def test_a_draft_is_kept_until_the_procedure_is_sent_complete(server, tmp_path):
    from app.domain.draft import ProcedureDraft, SeriesDraft

    b, box = console(server, tmp_path)
    try:
        item = await scheduled(b)
        await box.claim(item)
        draft = ProcedureDraft(
            technologist="Becker^Anna",
            series=(SeriesDraft("1.2.3.4", "Axial", "1.2.3.4.1"),),
            percent=40,
            progress_text="Contrast",
        )
        box.store.save_draft(item.uid, draft)
        box.close()
        await b.close()
        b, box = console(server, tmp_path)  # restarted
        assert box.store.draft(item.uid) == draft
        await box.complete(item, performed())
        assert box.store.draft(item.uid) is None
    finally:
        box.close()
        await b.close()


def test_a_draft_is_kept_only_for_a_procedure_started_here_and_a_start_drops_an_older_one(tmp_path):
    from app.backends.claim_store import ClaimStore
    from app.domain.draft import ProcedureDraft

    store = ClaimStore(tmp_path / "console.db", "upsrs|http://ris|CT1")
    uid = "1.2.826.0.1.3680043.8.498.21"
    assert not store.save_draft(uid, ProcedureDraft(technologist="4"))  # typed before Start: not kept
    assert store.draft(uid) is None
    # a draft an earlier version kept for a SCHEDULED procedure is not carried into its start
    store.db.execute(
        "INSERT INTO draft (owner, uid, payload, updated_at) VALUES (?, ?, ?, 0)",
        (store.owner, uid, '{"technologist": "4"}'),
    )
    store.add_claim(uid, "1.2.826.0.1.3680043.8.498.22", "Weiß, Günther", "CT chest")
    assert store.draft(uid) is None
    assert store.save_draft(uid, ProcedureDraft(technologist="Becker, Anna"))
    assert store.draft(uid) == ProcedureDraft(technologist="Becker, Anna")
    store.close()


async def test_a_completion_queued_behind_a_waiting_report_is_announced_when_it_goes(tmp_path):
    """It was never tried on its own (the report before it failed first), yet the technologist
    was told it is saved: its going is said, not only the report's."""
    server = start_server(tmp_path / "ups.db")
    port = server.port
    said: list[tuple[str, str]] = []
    b, _ = console(server, tmp_path)
    box = Outbox(
        b, "test", tmp_path / "announced.db", on_sent=lambda uid, kind, sentence: said.append((kind, sentence))
    )
    try:
        item = await scheduled(b)
        await box.claim(item)
        server.stop()
        assert not (await box.progress(item.uid, 50, "Halfway")).sent
        assert not (await box.complete(item, performed())).sent
        server = start_server(tmp_path / "ups.db", port=port)
        assert await box.flush() == 2
    finally:
        box.close()
        await b.close()
        server.stop()
    assert [kind for kind, _ in said] == ["progress", "complete"]
    assert said[-1][1].startswith("Sent: ") and item.patient_name.display() in said[-1][1]
