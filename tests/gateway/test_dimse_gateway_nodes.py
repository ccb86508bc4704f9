"""Two Origin-Server / SCU gateway nodes (`serve --upstream dimse:…`) on one PostgreSQL database in
front of one RIS, each in a process of its own as a site runs them: a claim of a step has one
winner whichever node the claims come through, one node polls the RIS and another takes over when
it is killed, what the polling node finds reaches a subscriber connected to the other node, and a
procedure claimed through one node is completed through the other with its Transaction UID."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import httpx
import psycopg
import pytest
from benchmarks.served import Running, serve_process
from dimse_peers import MppsScp
from pydicom import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE, evt
from pynetdicom.sop_class import ModalityWorklistInformationFind, Verification
from upsrs_client import GLOBAL, Events, change_state, listen, new_aet, performed, update, value
from waiting import until

from app.domain import tags as t
from app.domain.dicomjson import from_dataset
from app.domain.mapping import mwl_to_ups
from app.gateway.dimse_polling import POLLING
from app.server.pg_store import duty_key

pytestmark = pytest.mark.interop

TODAY = datetime.now().strftime("%Y%m%d")


class CountingRis:
    """An MWL SCP answering with its items whatever the query, counting the C-FINDs of each
    calling AE title (each gateway node calls with its own)."""

    def __init__(self) -> None:
        self.items: list[Dataset] = []
        self.finds: Counter[str] = Counter()
        self.lock = threading.Lock()
        ae = AE("TESTRIS")
        ae.add_supported_context(ModalityWorklistInformationFind)
        ae.add_supported_context(Verification)
        self.server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_FIND, self._find)])
        self.port = self.server.server_address[1]

    def add(self, patient: str) -> str:
        """A new step on the worklist; its workitem UID as the gateway shows it."""
        item = Dataset()
        item.SpecificCharacterSet = "ISO_IR 100"
        item.PatientName = patient
        item.PatientID = "P" + generate_uid()[-8:]
        item.AccessionNumber = "A" + generate_uid()[-10:]
        item.StudyInstanceUID = generate_uid()
        step = Dataset()
        step.ScheduledStationAETitle = "CT1"
        step.Modality = "CT"
        step.ScheduledProcedureStepStartDate = TODAY
        step.ScheduledProcedureStepStartTime = "080000"
        step.ScheduledProcedureStepID = "S" + generate_uid()[-8:]
        item.ScheduledProcedureStepSequence = [step]
        with self.lock:
            self.items.append(item)
        return str(mwl_to_ups(from_dataset(item))[t.SOP_INSTANCE_UID]["Value"][0])

    def count(self, ae: str) -> int:
        with self.lock:
            return self.finds[ae]

    def _find(self, event):
        with self.lock:
            self.finds[str(event.assoc.requestor.ae_title).strip()] += 1
            items = list(self.items)
        for item in items:
            yield 0xFF00, item

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture()
def ris() -> Iterator[CountingRis]:
    scp = CountingRis()
    yield scp
    scp.stop()


@pytest.fixture()
def mpps() -> Iterator[MppsScp]:
    scp = MppsScp().start()
    yield scp
    scp.stop()


def node(pg_url: str, ris: CountingRis, mpps: MppsScp, ae: str) -> contextlib.AbstractContextManager[Running]:
    spec = f"dimse:MWL=127.0.0.1:{ris.port}:TESTRIS,MPPS=127.0.0.1:{mpps.port}:MPPSSCP,AE={ae},POLL=1,TIMEOUT=5"
    return serve_process("--db", pg_url, "--upstream", spec, "--dimse-port", "0")


def polling_held(pg_url: str) -> bool:
    """Whether a node holds the polling duty's advisory lock (pg_store.PgStore.holds)."""
    key = duty_key(POLLING) & 0xFFFF_FFFF_FFFF_FFFF
    with psycopg.connect(pg_url, autocommit=True) as db:
        found = db.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = %s AND objid = %s",
            (key >> 32, key & 0xFFFF_FFFF),
        ).fetchone()
    return bool(found and found[0])


def polled(pg_url: str) -> bool:
    """Whether the polling node has taken its first look for a subscriber (its baseline is kept)."""
    with psycopg.connect(pg_url, autocommit=True) as db:
        return db.execute("SELECT 1 FROM dimse_gateway_polled").fetchone() is not None


def state_report(events: Events, uid: str, state: str, seconds: float = 15.0) -> dict:
    return events.wait_for(uid, 1, timeout=seconds, **{"00741000": state})


def test_two_gateway_nodes_share_claims_polling_and_events(pg_url, ris, mpps):
    with contextlib.ExitStack() as stack:
        a = stack.enter_context(node(pg_url, ris, mpps, "GWA"))
        # A alone takes the polling duty at its first tick; B, started after, finds it held
        until(lambda: polling_held(pg_url), 15, "node A taking the polling duty")
        b = stack.enter_context(node(pg_url, ris, mpps, "GWB"))
        at_a = stack.enter_context(httpx.Client(base_url=a.base_url, timeout=30))
        at_b = stack.enter_context(httpx.Client(base_url=b.base_url, timeout=30))

        # (b) a subscriber connected to B hears of what A's poll finds
        events = listen(at_b, GLOBAL, new_aet())
        stack.callback(events.close)
        until(lambda: polled(pg_url), 15, "the first poll for the subscriber")
        added = ris.add("ADDED^ONE")
        state_report(events, added, "SCHEDULED")
        # (c) only A polls the RIS
        until(lambda: ris.count("GWA") >= 3, 15, "three polls by node A")
        assert ris.count("GWB") == 0

        # (a) 16 claims of one step at once, over both nodes: exactly one wins, one N-CREATE reaches the RIS
        start = threading.Barrier(16)
        transactions = [generate_uid() for _ in range(16)]

        def claim(n: int) -> int:
            client = (at_a, at_b)[n % 2]
            start.wait()
            return change_state(client, added, "IN PROGRESS", transactions[n]).status_code

        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(claim, range(16)))
        assert statuses.count(200) == 1, statuses
        assert all(status in (400, 409) for status in statuses if status != 200), statuses
        assert len(mpps.created) == 1
        winner = transactions[statuses.index(200)]
        # every node's subscriber hears of the claim once, from whichever node made it
        state_report(events, added, "IN PROGRESS")

        # (d) claimed through A, completed through B with its Transaction UID
        second = ris.add("ADDED^TWO")
        state_report(events, second, "SCHEDULED")
        transaction = generate_uid()
        assert change_state(at_a, second, "IN PROGRESS", transaction).status_code == 200
        assert update(at_b, second, transaction, performed()).status_code == 200
        done = change_state(at_b, second, "COMPLETED", transaction)
        assert done.status_code == 200, done.headers.get("Warning")
        state_report(events, second, "COMPLETED")
        [mpps_uid] = [uid for uid in mpps.created if mpps.created[uid].PatientName == "ADDED^TWO"]
        assert mpps.status(mpps_uid) == "COMPLETED"
        # what passed through either node is audited in the shared database
        with psycopg.connect(pg_url, autocommit=True) as db:
            audited = db.execute("SELECT count(*) FROM audit WHERE uid = %s", (second,)).fetchone()
        assert audited is not None and audited[0] >= 2
        # the first claim's winner holds its step on the other node too: the losers' Transaction UIDs do not
        loser = transactions[(statuses.index(200) + 1) % 16]
        assert update(at_a, added, loser, performed()).status_code in (400, 409)
        assert update(at_b, added, winner, performed()).status_code == 200

        # (c) A dies: B takes the polling over, from the baseline A left (what A last told the subscribers)
        os.kill(a.pid, signal.SIGKILL)
        third = ris.add("ADDED^THREE")
        before = ris.count("GWB")
        state_report(events, third, "SCHEDULED", 30)
        assert ris.count("GWB") > before
        # nothing A had reported already is reported again by B
        repeated = [e for e in events.drain() if value(e, "00001000") in (added, second)]
        assert repeated == []
