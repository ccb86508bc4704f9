"""A start made by mistake is put back on the worklist, over each protocol, against the real
embedded server: over UPS-RS the step is canceled as "Incorrect worklist entry selected" and a
replacement SCHEDULED takes its place; over MWL + MPPS (DIMSE or Supplement 246) the MPPS says
DISCONTINUED with that reason and the order is on the worklist again. Kept by the outbox like
any final report while the server is away."""

from __future__ import annotations

import json

from embedded_server import PINNED_DAY, start_server
from pydicom.uid import generate_uid

from app.backends import make_backend
from app.backends.outbox import Outbox
from app.backends.profiles import Profile
from app.domain import tags as t
from app.domain.search import parse_search
from app.domain.states import State
from app.domain.worklist_query import WorklistQuery
from app.server.demo import seed_demo_day

WRONG_ENTRY_CODE = '"110514"'


def profile(front, backend: str, ae: str) -> Profile:
    if backend == "dimse":
        return Profile(name=backend, backend="dimse", ae_title=ae, mwl_port=front.dimse.port, mwl_aet="WORKLIST")
    return Profile(name=backend, backend=backend, url=front.base_url, ae_title=ae, timeout=5)


def steps_of(server, accession: str) -> list[dict]:
    found = server.service.search_all(parse_search([("ReferencedRequestSequence.AccessionNumber", accession)]))
    return [json.loads(text) for text in found]


def state(ds: dict) -> str:
    return ds[t.PROCEDURE_STEP_STATE]["Value"][0]


def pinned(station: str) -> WorklistQuery:
    return WorklistQuery.today(station, day=PINNED_DAY)


def assert_put_back(server, accession: str, old_uid: str | None = None) -> dict:
    """The started step CANCELED as a wrong entry; one replacement SCHEDULED, naming it."""
    steps = steps_of(server, accession)
    canceled = [s for s in steps if state(s) == "CANCELED"]
    scheduled = [s for s in steps if state(s) == "SCHEDULED"]
    assert len(canceled) == 1 and len(scheduled) == 1, [state(s) for s in steps]
    old, new = canceled[0], scheduled[0]
    if old_uid is not None:
        assert old[t.SOP_INSTANCE_UID]["Value"] == [old_uid]
    assert WRONG_ENTRY_CODE in json.dumps(old[t.PROGRESS_INFORMATION_SEQ])
    reference = new[t.REPLACED_PROCEDURE_STEP_SEQ]["Value"][0]
    assert reference["00081155"]["Value"] == old[t.SOP_INSTANCE_UID]["Value"]
    assert reference["00081150"]["Value"] == [t.UPS_PUSH_SOP_CLASS]
    for tag in (t.PATIENT_NAME, t.PATIENT_ID, t.SPS_START_DATETIME, t.PROCEDURE_STEP_LABEL, t.STATION_NAME_CODE_SEQ):
        assert new.get(tag) == old.get(tag), tag
    return new


async def test_over_upsrs_the_step_is_canceled_and_its_replacement_is_scheduled(front):
    b = make_backend(profile(front, "upsrs", "CT1"))
    try:
        item = next(w for w in await b.search(pinned("CT1")) if w.state is State.SCHEDULED)
        tx, replacement = generate_uid(), generate_uid()
        await b.claim(item.uid, tx)
        await b.put_back(item.uid, tx, replacement, "wrong patient")
        await b.put_back(item.uid, tx, replacement, "wrong patient")  # a retry after a lost answer: nothing twice
        new = assert_put_back(front, item.accession_number, item.uid)
        assert new[t.SOP_INSTANCE_UID]["Value"] == [replacement]
        listed = {w.uid: w.state for w in await b.search(pinned("CT1"))}
        assert listed.get(replacement) is State.SCHEDULED and item.uid not in listed
    finally:
        await b.close()


async def test_over_dimse_the_mpps_is_discontinued_and_the_order_is_on_the_worklist_again(front):
    b = make_backend(profile(front, "dimse", "MR1"))
    try:
        item = (await b.search(pinned("MR1")))[0]
        mpps = generate_uid()
        await b.claim(item.uid, mpps)
        await b.put_back(item.uid, mpps, generate_uid(), "")
        await b.put_back(item.uid, mpps, generate_uid(), "")  # a retry: already discontinued counts as done
        assert_put_back(front, item.accession_number)
        again = [w for w in await b.search(pinned("MR1")) if w.accession_number == item.accession_number]
        assert State.SCHEDULED in {w.state for w in again}
        assert State.IN_PROGRESS not in {w.state for w in again}
    finally:
        await b.close()


async def test_over_sup_246_the_mpps_is_discontinued_and_the_order_is_on_the_worklist_again(front):
    b = make_backend(profile(front, "mpps-rs", "US1"))
    try:
        item = (await b.search(pinned("US1")))[0]
        mpps = generate_uid()
        await b.claim(item.uid, mpps)
        await b.put_back(item.uid, mpps, generate_uid(), "")
        await b.put_back(item.uid, mpps, generate_uid(), "")
        assert_put_back(front, item.accession_number)
        again = [w for w in await b.search(pinned("US1")) if w.accession_number == item.accession_number]
        assert State.SCHEDULED in {w.state for w in again}
    finally:
        await b.close()


async def test_a_put_back_made_while_the_server_is_away_waits_and_the_claim_is_kept(tmp_path):
    server = start_server(tmp_path / "ups.db")
    seed_demo_day(server.service, today=PINNED_DAY)
    port, url = server.port, server.base_url
    b = make_backend(Profile(name="upsrs", url=url, ae_title="CT1", timeout=3))
    box = Outbox(b, "test", tmp_path / "console.db")
    try:
        item = next(w for w in await b.search(pinned("CT1")) if w.state is State.SCHEDULED)
        assert (await box.claim(item)).sent
        server.stop()
        waiting = await box.put_back(item)
        assert not waiting.sent and "return to the worklist" in waiting.sentence
        assert box.final_pending(item.uid) == "put_back" and box.claim_of(item.uid) is not None
        box.close()
        box = Outbox(b, "test", tmp_path / "console.db")  # the console restarts meanwhile
        assert box.final_pending(item.uid) == "put_back"
        server = start_server(tmp_path / "ups.db", port=port)
        assert await box.flush() == 1 and box.pending() == 0
        assert box.claim_of(item.uid) is None  # done: no longer a procedure of this console
        assert_put_back(server, item.accession_number, item.uid)
    finally:
        box.close()
        await b.close()
        server.stop()
