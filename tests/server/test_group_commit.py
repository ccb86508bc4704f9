"""Writers that queue up share one durable commit: each keeps its own all-or-nothing, and nothing
acknowledged is lost when the server is killed."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC

import httpx
import pytest
from upsrs_client import item, post, uid_of
from waiting import until

from app.server.store import Store


def test_queued_writers_keep_their_own_all_or_nothing(tmp_path):
    store = Store(tmp_path / "w.db", UTC)
    with store.write() as db:
        db.execute("CREATE TABLE probe (n INTEGER PRIMARY KEY)")
    barrier = threading.Barrier(16)
    failures: list[int] = []

    def writer(n: int) -> None:
        barrier.wait()
        try:
            with store.write() as db:
                db.execute("INSERT INTO probe VALUES (?)", (n,))
                time.sleep(0.002)  # hold the connection so that the others queue behind
                if n % 4 == 0:
                    raise ValueError("this job fails after its insert")
        except ValueError:
            failures.append(n)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    store.close()
    kept = {n for (n,) in sqlite3.connect(tmp_path / "w.db").execute("SELECT n FROM probe")}
    assert sorted(failures) == [0, 4, 8, 12]
    assert kept == {n for n in range(16) if n % 4}


def test_a_failed_commit_fails_every_job_of_its_batch_and_the_next_batch_works(tmp_path):
    store = Store(tmp_path / "w.db", UTC)
    with store.write() as db:
        db.execute(
            "CREATE TABLE probe (n INTEGER PRIMARY KEY, m INTEGER REFERENCES probe(n) DEFERRABLE INITIALLY DEFERRED)"
        )
    with pytest.raises(sqlite3.Error), store.write() as db:
        db.execute("INSERT INTO probe VALUES (1, 99)")  # the deferred foreign key fails at COMMIT
    with store.write() as db:
        db.execute("INSERT INTO probe VALUES (2, NULL)")
    with store.read() as db:
        assert [n for (n,) in db.execute("SELECT n FROM probe")] == [2]


@pytest.mark.timeout(120)
def test_no_acknowledged_create_is_lost_when_the_server_is_killed(tmp_path):
    """Eight clients create workitems as fast as they can; the server is killed with SIGKILL in
    the middle; every workitem it answered 201 for is in the database afterwards."""
    db_path = tmp_path / "w.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--http-port", "0", "--dimse-port", "0", "--db", str(db_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = ""
        for line in process.stdout:  # type: ignore[union-attr]
            if "ready at http://" in line:
                base = line.split("ready at ")[1].split()[0]
                break
        assert base, "the server did not start"
        acknowledged: list[str] = []
        stop = threading.Event()

        def client(n: int) -> None:
            with httpx.Client(base_url=base, timeout=10) as http:
                while not stop.is_set():
                    dataset = item()
                    try:
                        answer = post(http, "/workitems", [dataset])
                    except httpx.HTTPError:
                        return
                    if answer.status_code == 201:
                        acknowledged.append(uid_of(dataset))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        # killed amid the writes, once enough are acknowledged to tell
        until(lambda: len(acknowledged) > 50, 60, "fifty acknowledged writes")
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        stop.set()
        for thread in threads:
            thread.join(15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    stored = {uid for (uid,) in sqlite3.connect(db_path).execute("SELECT uid FROM workitem")}
    assert len(acknowledged) > 50
    assert set(acknowledged) <= stored


def test_every_connection_of_the_store_commits_with_full_sync(tmp_path):
    """NORMAL in WAL mode can lose the last acknowledged commits on a power cut (SQLite's own
    documentation); FULL waits for the disk before the server answers."""
    store = Store(tmp_path / "w.db", UTC)
    with store.write() as db:
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 2
    with store.read() as db:
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 2
    store.close()
