"""The UPS store on PostgreSQL, for a site whose worklist service runs on several nodes.

The same interface and SQL as the SQLite store (store.py); what differs is here: a pool of
psycopg connections in place of a connection per thread and the group writer, `?` placeholders
turned into psycopg's, and row locks. A write transaction reads each workitem it may change
with SELECT ... FOR UPDATE, so of two nodes claiming one workitem at once the second waits for
the first's commit and then sees IN PROGRESS: exactly one winner, as BEGIN IMMEDIATE gives on
SQLite. Durability is PostgreSQL's: a commit returns once its WAL is flushed (and, with a
synchronous standby, received there), so an acknowledged write outlives the node that made it.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import tzinfo
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool, PoolTimeout

from .schema import SCHEMA_VERSION, SchemaRefused, postgres_ddl, upgrade_steps
from .store import Connection, Row, Store, StoreError, StoreUnavailable, _row

# pg_advisory_xact_lock keys: one start-up at a time creates or migrates the schema
SCHEMA_LOCK = 0x574B_0001


# A request waits this long for a connection: a database out of reach is said at once (503), not
# after the pool's default 30 s, by which time the client has given up.
POOL_WAIT_SECONDS = 5.0


def where_is(url: str) -> str:
    """USER@HOST:PORT/DB of a database URL, for sentences (never its password or options)."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    return f"{user}{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path or '/'}"


@lru_cache(maxsize=512)
def _placeholders(sql: str) -> str:
    """The store's SQL with psycopg's placeholders: `?` becomes %s, a literal % becomes %% (psycopg
    reads placeholders only where parameters are given: SQL without them is sent as it is)."""
    return sql.replace("%", "%%").replace("?", "%s")


class PgConnection:
    """A pooled connection speaking the store's SQL; `writing` tells the store to lock what it reads."""

    def __init__(self, connection: psycopg.Connection[Any], writing: bool) -> None:
        self.connection = connection
        self.writing = writing

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        if not params:
            return self.connection.execute(sql)
        return self.connection.execute(_placeholders(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self.connection.cursor() as cursor:
            cursor.executemany(_placeholders(sql), list(rows))


class PgStore(Store):
    dialect = "postgresql"
    summary_bytes = "convert_to(w.summary, 'UTF8')"
    errors: tuple[type[Exception], ...] = (psycopg.Error, PoolTimeout, StoreUnavailable)

    def __init__(self, url: str, local: tzinfo, *, password: str | None = None, pool_size: int = 16) -> None:
        # not Store.__init__: no file, no per-thread connections, no group writer
        self.path = url
        self.local = local
        self.where = where_is(url)
        if urlsplit(url).password:
            raise StoreError(
                "Give the database password with --db-password-file or PGPASSFILE/PGPASSWORD, "
                "never in the --db URL (command lines are visible to every user of the machine)."
            )
        options: dict[str, Any] = {"autocommit": True}
        if password is not None:
            options["password"] = password
        try:
            # fail now with a sentence, not at the first request: one connection must open
            with psycopg.connect(url, connect_timeout=10, **options) as first:
                self._create_schema(first)
        except psycopg.Error as exc:
            raise StoreError(f"Cannot use the PostgreSQL database {self.where}: {_reason(exc)}") from None
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs=options,
            open=True,
            name="worklist",
            timeout=POOL_WAIT_SECONDS,
            check=ConnectionPool.check_connection,  # a connection the database dropped is replaced
            configure=_bounded,
        )
        self._options = options
        self._duties: dict[str, psycopg.Connection[Any]] = {}
        self._duty_lock = threading.Lock()

    def _create_schema(self, db: psycopg.Connection[Any]) -> None:
        """The tables, made or checked by one starting node at a time (the others wait on the lock)."""
        with db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            found = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            try:
                steps = upgrade_steps(found[0] if found else None)
            except SchemaRefused as exc:
                raise StoreError(f"The worklist database {self.where} {exc}.") from None
            for statement in steps:
                db.execute(postgres_ddl(statement))
            db.execute(postgres_ddl())
            db.execute(
                "INSERT INTO meta VALUES ('schema_version', %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(SCHEMA_VERSION),),
            )
            db.execute("INSERT INTO meta VALUES ('subscriptions', '0') ON CONFLICT DO NOTHING")

    def create_tables(self, ddl: str) -> None:
        """More tables (the event log's, the audit's, the gateway's), made by one starting node at a
        time as the store's own are: nodes starting together must not race on CREATE ... IF NOT EXISTS."""
        with self.write() as db:
            db.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK,))
            db.execute(ddl)

    # -- connections and transactions -------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[PgConnection]:
        """A write transaction, committed (and durable) when the block returns."""
        with self._reachable(), self._pool.connection() as connection, connection.transaction():
            yield PgConnection(connection, writing=True)

    @contextmanager
    def read(self) -> Iterator[PgConnection]:
        with self._reachable(), self._pool.connection() as connection, connection.transaction():
            yield PgConnection(connection, writing=False)

    @contextmanager
    def _reachable(self) -> Iterator[None]:
        """A database out of reach as StoreUnavailable, in a sentence (the fronts answer 503)."""
        try:
            yield
        except PoolTimeout:
            raise StoreUnavailable(
                f"The worklist database {self.where} cannot be reached just now; nothing was changed. Try again shortly."
            ) from None
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(
                f"The worklist database {self.where} failed ({_reason(exc)}); nothing was changed. Try again shortly."
            ) from None

    def close(self) -> None:
        with self._duty_lock:
            for connection in self._duties.values():
                connection.close()  # the duties pass to another node at once
            self._duties.clear()
        self._pool.close()

    # -- what a write transaction reads, it locks ------------------------------------------
    def get(self, db: Connection, uid: str) -> Row | None:
        lock = " FOR UPDATE" if _writing(db) else ""
        r = db.execute(f"SELECT {self.row_columns} FROM workitem WHERE uid = ?{lock}", (uid,)).fetchone()
        return _row(r) if r else None

    def all_rows(self, db: Connection, where: str = "1 = 1", params: tuple = ()) -> Iterator[Row]:
        lock = " FOR UPDATE" if _writing(db) else ""
        for r in db.execute(f"SELECT {self.row_columns} FROM workitem WHERE {where} ORDER BY id{lock}", params):
            yield _row(r)

    def rows_of_patient(self, db: Connection, patient_id: str) -> Iterator[Row]:
        yield from self.all_rows(db, "patient_id = ?", (patient_id.rstrip(" "),))

    def connect(self) -> psycopg.Connection[Any]:
        """A connection of its own, outside the pool, in autocommit (a lock holder, a listener)."""
        return psycopg.connect(self.path, connect_timeout=10, **self._options)

    # -- one node at a time --------------------------------------------------------------------
    def holds(self, duty: str) -> bool:
        """Whether this node does `duty` (housekeeping, say) now: it holds the duty's advisory lock,
        on a connection of its own, for as long as it lives; when it dies, its session ends, the
        lock with it, and the next node to ask takes the duty over."""
        with self._duty_lock:
            held = self._duties.get(duty)
            if held is not None and not held.closed and held.info.transaction_status != TransactionStatus.UNKNOWN:
                try:
                    held.execute("SELECT 1")
                    return True
                except psycopg.Error:
                    held.close()
            self._duties.pop(duty, None)
            try:
                connection = self.connect()
            except psycopg.Error:
                return False
            got = connection.execute("SELECT pg_try_advisory_lock(%s)", (duty_key(duty),)).fetchone()
            if not (got and got[0]):
                connection.close()
                return False
            self._duties[duty] = connection
            return True

    # -- one HL7 message, once across the nodes ---------------------------------------------------
    def hl7_ack(self, db: Connection, sender: str, control_id: str) -> bytes | None:
        """As on SQLite, where the writer's lock does it: of one message sent to two nodes at once,
        the second waits (a lock of its sender and control ID) for the first's commit and finds its ACK."""
        db.execute("SELECT pg_advisory_xact_lock(?)", (duty_key(f"hl7 message {sender} {control_id}"),))
        return super().hl7_ack(db, sender, control_id)

    # -- the subscription index of every node follows the database --------------------------
    def subscriptions_version(self, db: Connection) -> str | None:
        return str(db.execute("SELECT value FROM meta WHERE key = 'subscriptions'").fetchone()[0])

    def subscriptions_changed(self, db: Connection) -> None:
        db.execute("UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'subscriptions'")


# No statement of a request runs, or waits for a lock, longer than this: a stuck one must give
# its connection back to the pool rather than hold it (and its row locks) for ever.
STATEMENT_SECONDS = 60


def _bounded(connection: psycopg.Connection[Any]) -> None:
    connection.execute(f"SET statement_timeout = '{STATEMENT_SECONDS}s'")
    # an acknowledgement means the commit is flushed, whatever the server's default says (a site's
    # synchronous_commit = off would trade that for speed behind our back); a synchronous standby
    # configured on the server is waited for as well
    connection.execute("SET synchronous_commit = on")


def _writing(db: Connection) -> bool:
    return isinstance(db, PgConnection) and db.writing


def duty_key(duty: str) -> int:
    """The advisory lock key of a duty: stable across nodes and versions (not Python's hash)."""
    return int.from_bytes(hashlib.sha256(f"worklist-console:{duty}".encode()).digest()[:8], "big", signed=True)


def _reason(exc: psycopg.Error) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
