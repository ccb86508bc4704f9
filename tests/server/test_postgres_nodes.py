"""Several `serve` nodes on one PostgreSQL database, each in a process of its own as a site runs
them: one winner per claim whichever door and node the claims come through, every event on every
node, a subscriber's backlog shared, no acknowledged write lost when a node is killed, and the
housekeeping duty handed over when its node goes."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import psycopg
import pytest
from benchmarks.served import Running, serve_process
from dimse_peers import free_port
from pydicom import Dataset
from pydicom.uid import generate_uid
from pynetdicom.sop_class import ModalityPerformedProcedureStep, ModalityWorklistInformationFind
from test_hl7_door import END, VT, new_placer, order
from test_mpps_front import TODAY, in_progress, worklist
from test_mpps_front import associate as mwl_associate
from test_ups_dimse import PUSH, Listener, ds
from test_ups_dimse import associate as ups_associate
from upsrs_client import (
    DICOM_JSON,
    GLOBAL,
    Events,
    change_state,
    create,
    item,
    listen,
    new_aet,
    performed,
    progress,
    subscribe,
    uid_of,
    update,
)
from waiting import until

from app.domain.dicomjson import from_dataset
from app.server.pg_store import PgStore

pytestmark = pytest.mark.interop


@contextlib.contextmanager
def nodes(pg_url: str, count: int, *options: str, until: str = "ready at ") -> Iterator[list[Running]]:
    with contextlib.ExitStack() as stack:
        yield [
            stack.enter_context(serve_process("--db", pg_url, "--dimse-port", str(free_port()), *options, until=until))
            for _ in range(count)
        ]


def dimse_port(node: Running) -> int:
    ready = next(line for line in node.lines if "ready at " in line)
    return int(re.search(r"DIMSE \(MWL, MPPS, UPS\) on port (\d+)", ready).group(1))


@pytest.mark.parametrize("claims", [32, 100])
def test_of_many_claims_over_three_nodes_and_four_doors_exactly_one_wins(pg_url, claims):
    """UPS-RS, DIMSE UPS N-ACTION, Sup 246 MPPS and DIMSE MPPS N-CREATE, spread over three nodes."""
    with nodes(pg_url, 3) as running, contextlib.ExitStack() as stack:
        clients = [stack.enter_context(httpx.Client(base_url=n.base_url, timeout=30)) for n in running]
        accession = "R" + generate_uid()[-12:]
        noon = datetime.strptime(TODAY, "%Y%m%d").replace(hour=12)  # on the day the worklist query asks for
        uid = create(clients[0], item(station="CT1", accession=accession, start=noon))
        mwl = mwl_associate(dimse_port(running[1]), "CT1")
        try:
            scheduled = next(i for i in worklist(mwl, "CT1") if i.AccessionNumber == accession)
        finally:
            mwl.release()
        start = threading.Barrier(claims)

        def claim(n: int) -> str:
            node = running[n % 3]
            door = n % 4
            if door in (1, 3):  # the DIMSE doors: the association is made before the race starts
                assoc = ups_associate(dimse_port(node)) if door == 1 else mwl_associate(dimse_port(node), "CT1")
                try:
                    start.wait()
                    if door == 1:
                        status, _ = assoc.send_n_action(
                            ds(TransactionUID=generate_uid(), ProcedureStepState="IN PROGRESS"), 1, PUSH, uid
                        )
                    else:
                        status, _ = assoc.send_n_create(
                            in_progress(scheduled, "CT1", "CT"), ModalityPerformedProcedureStep, generate_uid()
                        )
                    return "won" if status and status.Status == 0 else f"dimse {status.Status:04X}"
                finally:
                    assoc.release()
            start.wait()
            if door == 0:
                answer = change_state(clients[n % 3], uid, "IN PROGRESS", generate_uid())
                return "won" if answer.status_code == 200 else f"ups-rs {answer.status_code}"
            answer = clients[n % 3].post(
                f"/modality-performed-procedure-steps/{generate_uid()}",
                content=json.dumps([from_dataset(in_progress(scheduled, "CT1", "CT"))]),
                headers={"Content-Type": DICOM_JSON},
            )
            return "won" if answer.status_code == 201 else f"sup 246 {answer.status_code}"

        with ThreadPoolExecutor(claims) as pool:
            outcomes = list(pool.map(claim, range(claims)))
        assert outcomes.count("won") == 1, outcomes
        for client in clients:  # every node tells the one state
            assert client.get(f"/workitems/{uid}").json()[0]["00741000"]["Value"] == ["IN PROGRESS"]


def test_one_uid_created_on_two_nodes_at_once_is_created_once(pg_url):
    with nodes(pg_url, 2) as running, contextlib.ExitStack() as stack:
        clients = [stack.enter_context(httpx.Client(base_url=n.base_url, timeout=30)) for n in running]
        dataset = item()

        def create_on(n: int) -> int:
            return (
                clients[n % 2]
                .post("/workitems", json=[dataset], headers={"Content-Type": "application/dicom+json"})
                .status_code
            )

        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(create_on, range(16)))
        assert answers.count(201) == 1, answers
        assert set(answers) <= {201, 409}, answers


def test_a_claim_made_on_one_node_reaches_a_subscriber_of_the_other(pg_url):
    with (
        nodes(pg_url, 2) as (a, b),
        httpx.Client(base_url=a.base_url, timeout=30) as on_a,
        httpx.Client(base_url=b.base_url, timeout=30) as on_b,
    ):
        aet = new_aet()
        events = listen(on_a, GLOBAL, aet)
        try:
            uid = create(on_b, item())
            tx = generate_uid()
            assert change_state(on_b, uid, "IN PROGRESS", tx).status_code == 200
            assert change_state(on_b, uid, "COMPLETED", tx).status_code in (200, 409)
            states = []
            while "IN PROGRESS" not in states:
                event = events.wait_for(uid, 1, timeout=10)
                states.append(event["00741000"]["Value"][0])
            assert states[0] == "SCHEDULED", states  # in the order they happened
        finally:
            events.close()


def test_a_subscriber_that_reconnects_to_the_other_node_gets_what_it_missed(pg_url):
    with (
        nodes(pg_url, 2) as (a, b),
        httpx.Client(base_url=a.base_url, timeout=30) as on_a,
        httpx.Client(base_url=b.base_url, timeout=30) as on_b,
    ):
        aet = new_aet()
        first = listen(on_a, GLOBAL, aet)
        uid = create(on_a, item())
        first.wait_for(uid, 1, timeout=10)
        first.close()
        # its node has kept where it stopped (the closed channel's cursor), as it does within ms
        until(lambda: cursor_of(pg_url, aet) is not None, 10, "the subscriber's cursor kept")
        missed = [create(on_a, item()) for _ in range(3)]  # while it is away
        again = listen(on_b, GLOBAL, aet)  # on the other node
        try:
            seen = [again.wait_for(u, 1, timeout=10) for u in missed]
            assert [uid_of_event(e) for e in seen] == missed
            assert uid not in [uid_of_event(e) for e in again.drain(0.5)]  # what it saw is not sent again
        finally:
            again.close()


def cursor_of(pg_url: str, aet: str) -> int | None:
    with psycopg.connect(pg_url) as db:
        found = db.execute("SELECT seq FROM event_cursor WHERE aet = %s", (aet,)).fetchone()
    return found[0] if found else None


def uid_of_event(event: dict) -> str:
    return event["00001000"]["Value"][0]


def test_a_node_killed_under_load_loses_no_acknowledged_write_and_the_other_serves_on(pg_url):
    with nodes(pg_url, 2) as (a, b):
        acknowledged: list[str] = []
        stop = threading.Event()

        def writer() -> None:
            with httpx.Client(base_url=a.base_url, timeout=5) as http:
                while not stop.is_set():
                    dataset = item()
                    try:
                        answer = http.post(
                            "/workitems", json=[dataset], headers={"Content-Type": "application/dicom+json"}
                        )
                    except httpx.HTTPError:
                        return  # the node is gone: what it had not answered is not acknowledged
                    if answer.status_code == 201:
                        acknowledged.append(uid_of(dataset))

        threads = [threading.Thread(target=writer) for _ in range(4)]
        for thread in threads:
            thread.start()
        until(lambda: len(acknowledged) >= 40, 60, "40 acknowledged creates")
        os.kill(a.pid, signal.SIGKILL)
        stop.set()
        for thread in threads:
            thread.join(30)
        with httpx.Client(base_url=b.base_url, timeout=30) as on_b:
            lost = [uid for uid in acknowledged if on_b.get(f"/workitems/{uid}").status_code != 200]
            assert not lost, f"{len(lost)} of {len(acknowledged)} acknowledged workitems are gone"
            assert (
                on_b.post("/workitems", json=[item()], headers={"Content-Type": "application/dicom+json"}).status_code
                == 201
            )


def test_the_housekeeping_duty_passes_to_another_node_when_its_node_goes(pg_url):
    first = PgStore(pg_url, UTC, pool_size=1)
    second = PgStore(pg_url, UTC, pool_size=1)
    try:
        assert first.holds("housekeeping")
        assert first.holds("housekeeping")  # kept, not taken again
        assert not second.holds("housekeeping")
        first.close()  # the node goes: its session, and the lock, with it
        until(lambda: second.holds("housekeeping"), 10, "the duty taken over")
    finally:
        second.close()


def test_a_subscription_made_on_one_node_is_heeded_by_the_other(pg_url):
    """Each node keeps the global subscriptions in memory: a change on another node must reach it."""
    with (
        nodes(pg_url, 2) as (a, b),
        httpx.Client(base_url=a.base_url, timeout=30) as on_a,
        httpx.Client(base_url=b.base_url, timeout=30) as on_b,
    ):
        create(on_b, item())  # b has built its index, with no subscriber
        aet = new_aet()
        events = listen(on_a, GLOBAL, aet)
        try:
            uid = create(on_b, item())
            events.wait_for(uid, 1, timeout=10)
        finally:
            events.close()
        assert subscribe(on_b, GLOBAL, aet).status_code == 201


def test_a_dimse_event_peer_of_one_node_hears_a_change_made_on_the_other(pg_url):
    listener = Listener()
    try:
        with (
            nodes(pg_url, 1) as (a,),
            nodes(pg_url, 1, "--event-peer", f"WATCHER=127.0.0.1:{listener.port}") as (b,),
            httpx.Client(base_url=a.base_url, timeout=30) as on_a,
        ):
            assert subscribe(on_a, GLOBAL, "WATCHER").status_code == 201  # a subscription of the peer's AE
            uid = create(on_a, item())
            assert change_state(on_a, uid, "IN PROGRESS", generate_uid()).status_code == 200
            listener.wait_for(uid, 1, timeout=10, ProcedureStepState="SCHEDULED")
            listener.wait_for(uid, 1, timeout=10, ProcedureStepState="IN PROGRESS")
            assert b.pid != a.pid
    finally:
        listener.stop()


def test_a_node_restarted_finds_the_worklist_as_the_other_left_it(pg_url):
    with nodes(pg_url, 1) as (b,), httpx.Client(base_url=b.base_url, timeout=30) as on_b:
        aet = new_aet()
        events = listen(on_b, GLOBAL, aet)
        try:
            with nodes(pg_url, 1) as (a,), httpx.Client(base_url=a.base_url, timeout=30) as on_a:
                uid = create(on_a, item())
                tx = generate_uid()
                assert change_state(on_a, uid, "IN PROGRESS", tx).status_code == 200
            # a stopped; it starts again on the same database (the schema is there: not made twice)
            with nodes(pg_url, 1) as (again,), httpx.Client(base_url=again.base_url, timeout=30) as on_again:
                assert update(on_again, uid, tx, performed()).status_code == 200
                assert change_state(on_again, uid, "COMPLETED", tx).status_code == 200
            states = [events.wait_for(uid, 1, timeout=10)["00741000"]["Value"][0] for _ in range(3)]
            assert states == ["SCHEDULED", "IN PROGRESS", "COMPLETED"]
        finally:
            events.close()


def test_claims_in_flight_when_a_node_is_killed_leave_each_workitem_claimed_once_or_not(pg_url):
    with nodes(pg_url, 2) as (a, b), httpx.Client(base_url=b.base_url, timeout=30) as on_b:
        uids = [create(on_b, item()) for _ in range(60)]
        won: dict[str, str] = {}

        def claim(uid: str) -> None:
            tx = generate_uid()
            with contextlib.suppress(httpx.HTTPError), httpx.Client(base_url=a.base_url, timeout=10) as on_a:
                if change_state(on_a, uid, "IN PROGRESS", tx).status_code == 200:
                    won[uid] = tx

        threads = [threading.Thread(target=claim, args=(uid,)) for uid in uids]
        for thread in threads:
            thread.start()
        until(lambda: len(won) >= 5, 30, "some claims acknowledged")
        os.kill(a.pid, signal.SIGKILL)
        for thread in threads:
            thread.join(30)
        for uid in uids:
            state = on_b.get(f"/workitems/{uid}").json()[0]["00741000"]["Value"][0]
            if uid in won:  # an acknowledged claim holds, with its Transaction UID
                assert state == "IN PROGRESS", uid
                assert update(on_b, uid, won[uid], progress(50, "halfway")).status_code == 200
            else:  # one not acknowledged happened wholly or not at all; if not, another may claim it
                assert state in ("SCHEDULED", "IN PROGRESS"), (uid, state)
                if state == "SCHEDULED":
                    assert change_state(on_b, uid, "IN PROGRESS", generate_uid()).status_code == 200


def test_a_database_out_of_reach_is_said_with_503_and_the_node_recovers(postgres, pg_url):
    database = pg_url.rpartition("/")[2]
    with nodes(pg_url, 1) as (a,), httpx.Client(base_url=a.base_url, timeout=30) as on_a:
        uid = create(on_a, item())
        events = listen(on_a, GLOBAL, new_aet())  # open through the outage
        postgres.run_sql(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS false')
        postgres.run_sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'")
        try:
            answer = on_a.get(f"/workitems/{uid}")
            assert answer.status_code == 503, answer.status_code
            assert "cannot be reached just now" in answer.headers["Warning"] or "failed" in answer.headers["Warning"]
            mwl = mwl_associate(dimse_port(a), "CT1")  # and a modality's worklist query says why it failed
            try:
                query = Dataset()
                query.PatientID = ""
                *_, (final, _) = mwl.send_c_find(query, ModalityWorklistInformationFind)
            finally:
                mwl.release()
            assert final.Status == 0xC000 and "cannot be reached" in final.ErrorComment
        finally:
            postgres.run_sql(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true')
        until(lambda: on_a.get(f"/workitems/{uid}").status_code == 200, 30, "the node serving again")
        try:  # and its listener of the event log is back: events flow again
            after = create(on_a, item())
            events.wait_for(after, 1, timeout=30)
        finally:
            events.close()


def test_a_subscriber_connecting_while_the_database_is_out_of_reach_stalls_nothing(postgres, pg_url):
    """A WebSocket's backlog is read off the node's event loop: with the database refusing, the
    connection opens at once, other requests are answered at once, and what it missed comes once
    the database is back, on its next connection."""
    database = pg_url.rpartition("/")[2]
    with nodes(pg_url, 1) as (a,), httpx.Client(base_url=a.base_url, timeout=30) as on_a:
        aet = new_aet()
        url = subscribe(on_a, GLOBAL, aet).headers["Content-Location"]  # subscribed, not yet connected
        missed = create(on_a, item())
        postgres.run_sql(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS false')
        postgres.run_sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'")
        try:
            started = time.monotonic()
            events = Events(url)
            try:
                answer = on_a.options("/")  # the node's loop is free: answered without the database
                assert answer.status_code == 200
                assert time.monotonic() - started < 2.0, time.monotonic() - started
            finally:
                events.close()
        finally:
            postgres.run_sql(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true')
        until(lambda: on_a.get(f"/workitems/{missed}").status_code == 200, 30, "the node serving again")
        again = Events(url)
        try:
            again.wait_for(missed, 1, timeout=10)
        finally:
            again.close()


def test_the_audit_of_every_node_is_one_table_the_command_reads(pg_url):
    with (
        nodes(pg_url, 2) as (a, b),
        httpx.Client(base_url=a.base_url, timeout=30) as on_a,
        httpx.Client(base_url=b.base_url, timeout=30) as on_b,
    ):
        uid = create(on_a, item())
        assert change_state(on_b, uid, "IN PROGRESS", generate_uid()).status_code == 200
    printed = subprocess.run(
        [sys.executable, "-m", "app", "audit", "--db", pg_url, "--uid", uid],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert printed.returncode == 0, printed.stderr
    lines = printed.stdout.splitlines()
    assert len(lines) == 2 and "created" in lines[0] and "started" in lines[1], printed.stdout
    nothing = subprocess.run(
        [sys.executable, "-m", "app", "audit", "--db", pg_url, "--uid", generate_uid()],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert nothing.returncode == 1 and "records no change of workitem" in nothing.stderr


def test_one_hl7_message_sent_to_two_nodes_at_once_is_done_once_and_answered_alike(pg_url):
    with (
        nodes(pg_url, 2, "--hl7-port", "0", until="HL7 v2 orders") as running,
        httpx.Client(base_url=running[0].base_url) as http,
    ):
        ports = [int(re.search(r"HL7 v2 orders \(MLLP\) on port (\d+)", "".join(n.lines)).group(1)) for n in running]
        placer = new_placer()
        raw = order("orm_o01_new.hl7", placer, "TWICE-" + placer)
        start = threading.Barrier(8)

        def send(n: int) -> bytes:
            with socket.create_connection(("127.0.0.1", ports[n % 2]), timeout=30) as peer:
                start.wait()
                peer.sendall(VT + raw + END)
                data = b""
                while END not in data:
                    chunk = peer.recv(65536)
                    assert chunk, data
                    data += chunk
            return data

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(send, range(8)))
        assert len(set(answers)) == 1, answers  # the first ACK, stored, given to every resend
        assert b"|AA|" in answers[0], answers[0]
        found = http.get(
            "/workitems", params={"ReferencedRequestSequence.PlacerOrderNumberImagingServiceRequest": placer}
        )
        assert len(found.json()) == 1, found.json()
