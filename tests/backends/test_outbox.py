"""Nothing lost: claims and reports survive outages and console restarts."""
from __future__ import annotations

from datetime import datetime

import pytest
from pydicom.uid import generate_uid

from app.backends.errors import Conflict
from app.backends.outbox import Outbox
from app.backends.profiles import Profile
from app.backends.upsrs import UpsRsBackend
from app.domain.build import NewWorkitem
from app.domain.procedure import OutputSeries, PerformedProcedure
from app.domain.states import State
from app.domain.workitem import Code, PatientName
from embedded_server import start_server


def performed() -> PerformedProcedure:
    now = datetime.now().strftime("%Y%m%d%H%M%S")
    return PerformedProcedure(Code("CT1", "99WLSTATION", "CT1"), start=now, end=now,
                              procedures=(Code("CTCHEST", "99WLPROC", "CT chest"),), technologist="Becker^Anna",
                              series=(OutputSeries(generate_uid(), "Axial"),))


async def scheduled(b: UpsRsBackend):
    new = NewWorkitem(uid=generate_uid(), label="CT chest", start=datetime.now().strftime("%Y%m%d%H%M%S"),
                      patient=PatientName("Weiß^Günther"), patient_id="P9", station="CT1", modality="CT")
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


async def test_complete_on_a_scheduled_item_claims_it_first(server, tmp_path):
    b, box = console(server, tmp_path)
    try:
        item = await scheduled(b)
        assert (await box.complete(item, performed())).sent
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
