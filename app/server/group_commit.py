"""Durable writes without paying one disk flush each: group commit.

The store commits with `synchronous=FULL`, so an acknowledged write survives a power cut; each
commit then waits for the disk. When writers queue up, they share one transaction: each runs
inside its own savepoint (a failure rolls back only its own work), and the last of the queue
commits for all of them. Nobody returns before the commit that holds its work is on disk, so
an acknowledgement still means durable. A lone writer commits at once, as before.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from types import TracebackType

# A batch closes at this many jobs or this age, so that a steady stream of writers still sees
# its commits promptly.
MAX_JOBS = 64
MAX_AGE_SECONDS = 0.02


class CommitFailed(sqlite3.OperationalError):
    """The shared commit failed: the work of every job in the batch is lost, none acknowledged."""


class _Batch:
    def __init__(self) -> None:
        self.began = time.monotonic()
        self.jobs = 0
        self.done = threading.Event()
        self.error: BaseException | None = None


class GroupWriter:
    """One writer connection and the batches of jobs that share its transactions."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # one job on the connection at a time
        self._state = threading.Lock()  # guards _waiting
        self._waiting = 0
        self._batch: _Batch | None = None

    def job(self) -> _Job:
        return _Job(self)

    def close(self) -> None:
        with self._lock:
            if self._batch is not None:
                self._commit(self._batch)
            if self._db is not None:
                try:
                    self._db.close()
                except sqlite3.Error:
                    pass
                self._db = None

    # -- used by _Job -------------------------------------------------------------------
    def _enter(self) -> tuple[sqlite3.Connection, _Batch]:
        with self._state:
            self._waiting += 1
        self._lock.acquire()
        with self._state:
            self._waiting -= 1
        try:
            if self._db is None:
                self._db = self._connect()
            if self._batch is None:
                self._db.execute("BEGIN IMMEDIATE")
                self._batch = _Batch()
            self._batch.jobs += 1
            self._db.execute("SAVEPOINT job")
        except BaseException:
            if self._batch is not None:  # the others of the batch must not wait for a job that never ran
                self._commit(self._batch)
            self._lock.release()
            raise
        return self._db, self._batch

    def _leave(self, db: sqlite3.Connection, batch: _Batch, failed: bool) -> None:
        try:
            if failed:
                db.execute("ROLLBACK TO job")
            db.execute("RELEASE job")
        finally:
            with self._state:
                last = self._waiting == 0
            full = batch.jobs >= MAX_JOBS or time.monotonic() - batch.began >= MAX_AGE_SECONDS
            if last or full:
                self._commit(batch)
            self._lock.release()
        while not batch.done.wait(0.5):
            # the writer expected to commit this batch is gone or slow: commit it here
            with self._lock:
                if self._batch is batch:
                    self._commit(batch)
        if batch.error is not None and not failed:
            raise CommitFailed(f"The database could not commit: {batch.error}") from batch.error

    def _commit(self, batch: _Batch) -> None:
        assert self._db is not None
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:  # a full disk, an I/O error: every job of the batch fails
            batch.error = exc
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
        finally:
            self._batch = None
            batch.done.set()


class _Job:
    def __init__(self, writer: GroupWriter) -> None:
        self.writer = writer

    def __enter__(self) -> sqlite3.Connection:
        self.db, self.batch = self.writer._enter()
        return self.db

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.writer._leave(self.db, self.batch, failed=kind is not None)
