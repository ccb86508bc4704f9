"""A gateway's own tables, in an SQLite file (one gateway process) or in the PostgreSQL database of a
`PgStore` shared by several gateway nodes, with what a read-check-write needs on either.

On SQLite a write is one BEGIN IMMEDIATE transaction on the one connection, under a lock of this
process. On PostgreSQL, `holding(key)` makes what this thread reads and writes of the tables in the
block one write transaction holding an advisory lock of the key until it commits (and its reads lock
their rows): of two nodes changing one step or MPPS at once, the second waits for the first's commit
and then sees what it did. A nested holding adds its key to the same transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from app import private_files
from app.server.schema import postgres_ddl
from app.server.store import Store


class SharedTables:
    """The tables of `schema` (SQLite DDL; its PostgreSQL form is derived), where `where` says."""

    def __init__(self, where: str | Store, schema: str, namespace: str) -> None:
        self.namespace = namespace  # of the advisory lock keys: another gateway's keys are not ours
        # key -> its lock and how many threads hold or wait for it: dropped when none does, so a
        # gateway serving for weeks keeps no lock per step it ever saw
        self._keys: dict[str, list] = {}
        self._keys_guard = threading.Lock()
        self._held = threading.local()  # on PostgreSQL: the transaction this thread holds (holding())
        if isinstance(where, Store):
            self.store: Store | None = where
            where.create_tables(postgres_ddl(schema))
            return
        self.store = None
        # a lost claim leaves a procedure nobody can finish: every write reaches the disk; the
        # records name patients: the file is the user's alone
        self._db = private_files.open_database(where, timeout=5.0)
        self._lock = threading.Lock()
        with self._lock:
            self._db.executescript(schema)

    @property
    def shared(self) -> bool:
        """Whether other nodes use these tables too (PostgreSQL)."""
        return self.store is not None

    # -- transactions ------------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[Any]:
        """A write transaction (on PostgreSQL the one this thread holds, if it holds one)."""
        if self.store is not None:
            held = getattr(self._held, "db", None)
            if held is not None:
                yield held
                return
            with self.store.write() as db:
                yield db
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[Any]:
        if self.store is not None:
            held = getattr(self._held, "db", None)
            if held is not None:
                yield held
                return
            with self.store.read() as db:
                yield db
            return
        with self._lock:
            yield self._db

    def writing(self) -> Any:
        """A write transaction to record events in (the held one, if this thread holds one)."""
        return self._write()

    def keys_held(self) -> list[str]:
        """The keys held or waited for now (see holding)."""
        with self._keys_guard:
            return sorted(self._keys)

    @contextmanager
    def _key_lock(self, key: str) -> Iterator[None]:
        """This process's lock of `key`, kept only while a thread holds or waits for it."""
        with self._keys_guard:
            entry = self._keys.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._keys_guard:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._keys[key]

    def _advisory_key(self, key: str) -> int:
        from app.server.pg_store import duty_key

        return duty_key(f"{self.namespace} {key}")

    @contextmanager
    def holding(self, key: str) -> Iterator[None]:
        """One read-check-write of `key` at a time, in this process and across the nodes (see the
        module's text): what the block writes commits when it ends."""
        with self._key_lock(key):
            if self.store is None:
                yield
                return
            held = getattr(self._held, "db", None)
            if held is not None:
                held.execute("SELECT pg_advisory_xact_lock(?)", (self._advisory_key(key),))
                yield
                return
            with self.store.write() as db:
                db.execute("SELECT pg_advisory_xact_lock(?)", (self._advisory_key(key),))
                self._held.db = db
                try:
                    yield
                finally:
                    self._held.db = None

    @contextmanager
    def exclusive(self, key: str) -> Iterator[None]:
        """One block of work on `key` at a time, in this process and across the nodes, whose writes
        each commit at once (a record that must be on disk before a request goes upstream): the
        lock is a transaction of its own, beside them, that ends with the block."""
        with self._key_lock(key):
            if self.store is None:
                yield
                return
            with self.store.write() as db:
                db.execute("SELECT pg_advisory_xact_lock(?)", (self._advisory_key(key),))
                yield

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """On PostgreSQL, what this thread does of the tables in the block is one write transaction;
        on SQLite each statement stands alone."""
        if self.store is None or getattr(self._held, "db", None) is not None:
            yield
            return
        with self.store.write() as db:
            self._held.db = db
            try:
                yield
            finally:
                self._held.db = None

    def holds(self, duty: str) -> bool:
        """Whether this node does `duty` (the polling of the RIS, say): on SQLite, the one process."""
        return self.store.holds(duty) if self.store is not None else True

    def _locking(self, db: Any) -> str:
        """What a read in a write transaction adds on PostgreSQL: its rows stay ours to the commit."""
        return " FOR UPDATE" if getattr(db, "writing", False) else ""

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            return
        with self._lock:
            self._db.close()
