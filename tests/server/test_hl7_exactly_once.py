"""No HL7 message lost or doubled: a message's work and its ACK commit together, so a failure (or
a kill -9) between them leaves neither, and the resend lands once; 100 senders at once each get
their own answers."""

from __future__ import annotations

import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from embedded_server import start_hl7_server
from test_hl7_door import END, VT, connect, exchange, msa, new_placer, order, state, the_uid
from upsrs_client import DICOM_JSON, claim, listen, new_aet
from waiting import until

from app.server.audit import audit_path, read

SENDERS = 100


@pytest.fixture()
def door(tmp_path) -> Iterator:
    server = start_hl7_server(tmp_path / "ups.db", hl7_timeout=5.0)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def http(door) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=door.base_url, timeout=10.0, headers={"Accept": DICOM_JSON}) as client:
        yield client


def answer_or_nothing(door, raw: bytes) -> str | None:
    """MSA-1 of the answer, or None when the server closed the connection without one."""
    with connect(door) as peer:
        peer.sendall(VT + raw + END)
        data = b""
        while END not in data:
            chunk = peer.recv(65536)
            if not chunk:
                return None
            data += chunk
    return data[1:].split(b"\r")[1].split(b"|")[1].decode()


def test_a_failure_between_the_work_and_its_ack_keeps_neither_and_the_resend_lands_once(door, http, monkeypatch):
    """The cancellation of a procedure in progress is a request to the modality: done twice, the
    technologist is asked twice. It must be asked once, however the first attempt ended."""
    placer = new_placer()
    assert msa(exchange(door, order("orm_o01_new.hl7", placer)))[0] == "AA"
    uid = the_uid(placer)
    claim(http, uid)
    events = listen(http, uid, new_aet())
    try:
        cancel = order("orm_o01_cancel.hl7", placer, "CA-" + placer)
        calls = []

        def crash_at_the_ack(db, sender, control_id, ack, when):
            calls.append(control_id)
            failing_ack_store()

        monkeypatch.setattr(door.store, "put_hl7_ack", crash_at_the_ack)
        first = answer_or_nothing(door, cancel)
        assert calls == ["CA-" + placer]
        assert first in (None, "AR")  # not an AA: the sender must send it again
        monkeypatch.undo()

        code, text = msa(exchange(door, cancel))
        assert code == "AA" and "in progress" in text, text
        assert msa(exchange(door, cancel)) == (code, text)  # and again: the stored ACK
        events.wait_for(uid, 2)  # UPS Cancel Requested, once
        with pytest.raises(AssertionError):
            events.wait_for(uid, 2, timeout=0.5)
    finally:
        events.close()
    actions = [line["action"] for line in read(audit_path(door.store.path), uid)]
    assert actions.count("request-cancellation") == 1, actions
    assert state(http, uid) == "IN PROGRESS"


def test_a_failure_between_a_merge_and_its_ack_moves_once_and_answers_as_the_move(door, http, monkeypatch):
    placer, prior, survivor = new_placer(), "P" + new_placer(), "S" + new_placer()
    assert msa(exchange(door, order("orm_o01_new.hl7", placer).replace(b"PAT-1001", prior.encode())))[0] == "AA"
    merge = (Path(__file__).resolve().parents[2] / "resources" / "hl7" / "adt_a40_merge.hl7").read_bytes()
    merge = merge.replace(b"PAT-SURVIVOR^^^HOSPITAL", survivor.encode() + b"^^^RIS")
    merge = merge.replace(b"PAT-PRIOR^^^HOSPITAL", prior.encode() + b"^^^RIS").replace(b"MERGE0001", placer.encode())
    monkeypatch.setattr(door.store, "put_hl7_ack", failing_ack_store)
    assert answer_or_nothing(door, merge) in (None, "AR")
    monkeypatch.undo()
    code, text = msa(exchange(door, merge))
    assert code == "AA" and text.startswith(f"Moved 1 workitem to patient {survivor}"), text  # not "nothing moved"
    assert http.get(f"/workitems/{the_uid(placer)}").json()[0]["00100020"]["Value"] == [survivor]


def test_a_merge_the_database_failed_is_answered_ar_and_its_resend_moves(door, http, monkeypatch):
    """A database failure in the merge itself: AR (send again), nothing kept — not an AE that the
    door would keep and answer to every resend."""
    placer, prior, survivor = new_placer(), "P" + new_placer(), "S" + new_placer()
    assert msa(exchange(door, order("orm_o01_new.hl7", placer).replace(b"PAT-1001", prior.encode())))[0] == "AA"
    merge = (Path(__file__).resolve().parents[2] / "resources" / "hl7" / "adt_a40_merge.hl7").read_bytes()
    merge = merge.replace(b"PAT-SURVIVOR^^^HOSPITAL", survivor.encode() + b"^^^RIS")
    merge = merge.replace(b"PAT-PRIOR^^^HOSPITAL", prior.encode() + b"^^^RIS").replace(b"MERGE0001", placer.encode())
    monkeypatch.setattr(door.store, "put_merge", failing_ack_store)
    code, text = msa(exchange(door, merge))
    assert code == "AR" and "nothing was changed" in text, text  # MSA-3 holds 80 characters
    monkeypatch.undo()
    code, text = msa(exchange(door, merge))
    assert code == "AA" and text.startswith(f"Moved 1 workitem to patient {survivor}"), text


def failing_ack_store(*_: object) -> None:
    raise sqlite3.OperationalError("disk I/O error (injected between the work and its ACK)")


def test_a_hundred_senders_at_once_each_order_once_and_every_duplicate_answered_as_the_first(door, http):
    """Each sender has its own connection and its own orders, and sends its first message again at
    the end. Its first message is also sent, at the same moment, by its twin (the RIS resending on
    a second connection while the first is still being answered): both get the one same ACK."""
    per_sender = 3
    placers = [[new_placer() for _ in range(per_sender)] for _ in range(SENDERS)]
    shared = [order("orm_o01_new.hl7", new_placer(), f"TWIN-{k}") for k in range(SENDERS // 2)]
    answers: dict[int, list[bytes]] = {}
    failures: list[BaseException] = []
    ready = threading.Barrier(SENDERS)

    def sender(n: int) -> None:
        try:
            with connect(door) as peer:
                peer.settimeout(60)
                ready.wait(30)  # all connected before anyone sends
                mine = []
                messages = [order("orm_o01_new.hl7", p, f"S{n}-{i}") for i, p in enumerate(placers[n])]
                for raw in [shared[n // 2], *messages, messages[0]]:
                    peer.sendall(VT + raw + END)
                    mine.append(receive_raw(peer))
                answers[n] = mine
        except BaseException as exc:  # reported by the test's own thread below
            failures.append(exc)

    began = time.monotonic()
    threads = [threading.Thread(target=sender, args=(n,)) for n in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    took = time.monotonic() - began
    print(f"{SENDERS} senders, {SENDERS * (per_sender + 2)} messages in {took:.1f} s")
    assert not failures, failures[:3]
    assert len(answers) == SENDERS
    for n, mine in answers.items():
        assert [msa_code(a) for a in mine] == ["AA"] * (per_sender + 2)
        assert mine[-1] == mine[1]  # the duplicate got the first ACK, its own control ID included
        assert mine[0] == answers[n ^ 1][0]  # the twins' message: done once, one ACK for both
    assert took < 90
    uids = {the_uid(p) for row in placers for p in row}
    with sqlite3.connect(door.store.path) as db:
        stored = [uid for (uid,) in db.execute("SELECT uid FROM workitem")]
    assert sorted(u for u in stored if u in uids) == sorted(uids)  # every order, each once
    assert len(stored) == len(uids) + len(shared)
    creates = [line["uid"] for line in read(audit_path(door.store.path)) if line["action"] == "create"]
    assert sorted(creates) == sorted(stored)


def receive_raw(peer: socket.socket) -> bytes:
    data = b""
    while END not in data:
        chunk = peer.recv(65536)
        assert chunk, f"the server closed the connection; received {data!r}"
        data += chunk
    assert data.endswith(END), data  # one message at a time: nothing after the ACK
    return data[1:-2]


def msa_code(ack: bytes) -> str:
    return ack.split(b"\r")[1].split(b"|")[1].decode()


def control_of(ack: bytes) -> str:
    return ack.split(b"\r")[1].split(b"|")[2].decode()


# -- kill -9 ------------------------------------------------------------------------------------------------
def serve(db_path: Path, log_path: Path, *options: str) -> tuple[subprocess.Popen, int]:
    """`serve` with its HL7 door, logging to `log_path` (read, not piped: a full pipe would stall
    the server amid the stream); its HL7 port once it is ready."""
    pattern = r"HL7 v2 orders \(MLLP\) on port (\d+)"
    before = len(re.findall(pattern, log_path.read_text())) if log_path.exists() else 0
    with log_path.open("a") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--db", str(db_path), "--http-port", "0", "--dimse-port", "0"]
            + ["--hl7-port", "0", *options],
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def started() -> bool:
        assert process.poll() is None, log_path.read_text()
        return len(re.findall(pattern, log_path.read_text())) > before

    until(started, 60, "the server's start")
    return process, int(re.findall(pattern, log_path.read_text())[-1])


def test_kill_9_amid_the_stream_then_every_unanswered_message_resent_lands_once(tmp_path):
    """Senders pipeline orders without waiting for their ACKs; the server is killed with SIGKILL
    amid them, started again on the same database, and every message whose ACK was not read is
    sent again: each is answered AA, as the first time (never "already scheduled", which would be
    work done without its ACK), and every order is in the worklist once."""
    db_path, log_path = tmp_path / "w.db", tmp_path / "serve.log"
    connections, per_connection = 8, 60
    messages = {
        (c, i): order("orm_o01_new.hl7", f"K{c}X{i}P", f"K{c}-{i}")
        for c in range(connections)
        for i in range(per_connection)
    }
    acked: dict[str, bytes] = {}
    lock = threading.Lock()
    process, port = serve(db_path, log_path)
    try:

        def pipeline(c: int) -> None:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=30) as peer:
                    peer.sendall(b"".join(VT + messages[(c, i)] + END for i in range(per_connection)))
                    data = b""
                    while True:
                        chunk = peer.recv(65536)
                        if not chunk:
                            return
                        data += chunk
                        *frames, data = data.split(END)
                        with lock:
                            for frame in frames:
                                acked[control_of(frame[1:])] = frame[1:]
            except OSError:
                return

        threads = [threading.Thread(target=pipeline, args=(c,)) for c in range(connections)]
        for thread in threads:
            thread.start()
        until(lambda: len(acked) >= connections * per_connection // 4, 60, "a quarter of the ACKs")
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        for thread in threads:
            thread.join(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    unanswered = [key for key in messages if f"K{key[0]}-{key[1]}" not in acked]
    print(f"killed after {len(acked)} ACKs; {len(unanswered)} messages to send again")
    assert unanswered, "the kill came after the last ACK: nothing was tested"
    assert all(msa_code(ack) == "AA" for ack in acked.values())

    process, port = serve(db_path, log_path)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as peer:
            for key in unanswered:
                peer.sendall(VT + messages[key] + END)
                ack = receive_raw(peer)
                assert msa_code(ack) == "AA", ack
                assert b"already scheduled" not in ack, ack  # work had committed without its ACK
        with httpx.Client(timeout=10) as http:  # the restarted server answers searches for them all
            base = re.findall(r"ready at (http://\S+)", log_path.read_text())[-1]
            found = http.get(f"{base}/workitems", params={"limit": 1000, "includefield": "00080018"})
            assert len(found.json()) == len(messages)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    expected = {the_uid(f"K{c}X{i}P") for c, i in messages}
    with sqlite3.connect(db_path) as db:
        stored = [uid for (uid,) in db.execute("SELECT uid FROM workitem")]
        kept_acks = db.execute("SELECT count(*) FROM hl7_message").fetchone()[0]
    assert sorted(stored) == sorted(expected)
    assert kept_acks == len(messages)
