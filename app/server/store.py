"""The UPS store: one SQLite file in WAL mode, one connection per thread.

A workitem is kept as DICOM JSON in two parts: everything but the performed procedure
data (`summary`, exactly what Search returns) and that data (`performed`, the UPS
Performed Procedure Sequence element), plus indexed columns. Keeping rows small keeps a
station's day of summaries on few pages. Writers take the
database lock up front (BEGIN IMMEDIATE), so a read-check-write such as a claim is one
atomic step across threads and processes: of two simultaneous claims exactly one sees
SCHEDULED.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any, Protocol

from app import private_files
from app.domain import compact_json
from app.domain import tags as t
from app.domain.dicomjson import JsonDataset
from app.domain.query import Query

from .group_commit import GroupWriter
from .schema import DDL, SCHEMA_VERSION, SchemaRefused, columns_of, item_keys_of, upgrade_steps
from .sqlquery import compile_query


class Cursor(Protocol):
    """What the store reads of a statement's result, on either engine."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """A connection inside one of the store's transactions (write() or read()): an sqlite3
    connection, or pg_store's PgConnection, both taking the store's SQL with `?` placeholders."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Any, /) -> Any: ...


class StoreError(Exception):
    """The database cannot be used; the message says why in a sentence."""


class StoreUnavailable(StoreError):
    """The database cannot be reached just now (a server database down or out of reach): nothing
    of the request was done, and the same request may succeed later."""


@dataclass
class Row:
    id: int
    uid: str
    state: str
    transaction_uid: str | None
    performer_ae: str | None
    final_at: float | None
    dataset: JsonDataset


@dataclass(frozen=True)
class Subscription:
    aet: str
    target: str
    kind: str  # item | global | filtered | excluded
    deletion_lock: bool
    filter: str | None
    suspended_after: int | None


_ROW = "id, uid, state, transaction_uid, performer_ae, final_at, summary, performed"


def _row(r: tuple) -> Row:
    dataset = json.loads(r[6])
    if r[7]:
        dataset[t.PERFORMED_PROCEDURE_SEQ] = json.loads(r[7])
    return Row(r[0], r[1], r[2], r[3], r[4], r[5], dataset)


def _full_text(summary: str, performed: str | None) -> str:
    """The whole dataset's JSON text, spliced without parsing (Retrieve is a hot path too)."""
    if not performed:
        return summary
    return f'{summary[:-1]}{"," if len(summary) > 2 else ""}"{t.PERFORMED_PROCEDURE_SEQ}":{performed}}}'


class Store:
    dialect = "sqlite"  # of the SQL it speaks (sqlquery.compile_query); pg_store.PgStore's is "postgresql"
    summary_bytes = "CAST(w.summary AS BLOB)"  # the summary as the UTF-8 bytes the database holds
    row_columns = _ROW
    errors: tuple[type[Exception], ...] = (sqlite3.Error,)  # what a failing database raises

    def __init__(self, path: str | Path, local: tzinfo) -> None:
        self.path = str(path)
        self.local = local
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._writer = GroupWriter(self._open_writer)
        if self.path != ":memory:":
            # the day's patients: the user's alone (SQLite gives -wal and -shm the database's mode)
            private_files.create_file(Path(self.path))
        try:
            self._bring_up()
        except SchemaRefused as exc:
            self.close()
            raise StoreError(f"The worklist database {self.path} {exc}; start with another --db.") from None

    def _bring_up(self) -> None:
        """The schema made, or brought up from an older version, in one write transaction: the
        writer's lock keeps another process from doing it at the same time."""
        with self.write() as db:
            has_meta = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone()
            found = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() if has_meta else None
            for statement in upgrade_steps(found[0] if found else None):
                db.execute(statement)
            for statement in DDL.split(";"):  # executescript would commit first: one statement at a time
                if statement.strip():
                    db.execute(statement)
            db.execute(
                "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(SCHEMA_VERSION),),
            )

    # -- connections and transactions -------------------------------------------------
    def _open(self) -> sqlite3.Connection:
        if self.path == ":memory:" and self._connections:
            return self._connections[0]  # a private in-memory database exists once, on one connection
        # FULL sync (private_files.open_database): group commit pays for it (group_commit.py)
        db = private_files.open_database(self.path)
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA mmap_size=2147483648")  # pages straight from the OS cache, no copies
        db.execute("PRAGMA cache_size=-65536")  # 64 MiB per connection
        with self._lock:
            self._connections.append(db)
        return db

    def _open_writer(self) -> sqlite3.Connection:
        db = self._open()
        # Each write job runs in a savepoint (group_commit.py), whose sub-journal SQLite otherwise keeps
        # in a temporary file: in memory it costs about 0.4 ms less per write. Only what a rollback to
        # the savepoint needs lives there; the commit and its durability are the WAL's, unchanged.
        db.execute("PRAGMA temp_store=MEMORY")
        return db

    def _connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._open()
        return db

    def create_tables(self, ddl: str) -> None:
        """More tables beside the store's own (IF NOT EXISTS): executescript commits on its own."""
        self._connection().executescript(ddl)

    def write(self) -> AbstractContextManager[Connection]:
        """A write transaction: all of it or nothing, on disk once the block has returned.
        Writers take the database lock up front (BEGIN IMMEDIATE); queued writers share one
        commit, each in its own savepoint."""
        return self._writer.job()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        db = self._connection()
        db.execute("BEGIN")
        try:
            yield db
        finally:
            db.execute("COMMIT")

    def close(self) -> None:
        self._writer.close()
        with self._lock:
            for db in self._connections:
                try:
                    db.close()
                except sqlite3.Error:
                    pass
            self._connections.clear()
        self._local = threading.local()

    def meta_value(self, db: Connection, key: str, default: str) -> str:
        """The database's value of `key`, set to `default` by the first to ask (on any node)."""
        db.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT DO NOTHING", (key, default))
        return str(db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0])

    def holds(self, duty: str) -> bool:
        """Whether this process does `duty` (housekeeping, say), which one process at a time does:
        on SQLite, the one process that serves the file (pg_store.py decides among nodes)."""
        return True

    # -- workitems ---------------------------------------------------------------------
    def get(self, db: Connection, uid: str) -> Row | None:
        r = db.execute(f"SELECT {_ROW} FROM workitem WHERE uid = ?", (uid,)).fetchone()
        return _row(r) if r else None

    def was_deleted(self, db: Connection, uid: str) -> bool:
        return db.execute("SELECT 1 FROM deleted WHERE uid = ?", (uid,)).fetchone() is not None

    def dataset_text(self, db: Connection, uid: str) -> str | None:
        r = db.execute("SELECT summary, performed FROM workitem WHERE uid = ?", (uid,)).fetchone()
        return _full_text(r[0], r[1]) if r else None

    def insert(self, db: Connection, dataset: JsonDataset) -> int | None:
        """The new workitem's row id; None when a workitem of its UID exists already."""
        row = columns_of(dataset, self.local)
        row["summary"], row["performed"] = _texts(dataset)
        names = ", ".join(row)
        # a conditional insert: of two nodes creating one UID at once, the second gets no id
        # (the unique index decides, after the first has committed), never a second row
        added = db.execute(
            f"INSERT INTO workitem ({names}) VALUES ({', '.join('?' * len(row))}) "
            "ON CONFLICT (uid) DO NOTHING RETURNING id",
            tuple(row.values()),
        ).fetchone()
        if added is None:
            return None
        wid = int(added[0])
        self._index_items(db, wid, dataset)
        return wid

    def save(
        self,
        db: Connection,
        row: Row,
        *,
        transaction_uid: str | None = None,
        performer_ae: str | None = None,
        final_at: float | None = None,
    ) -> None:
        """Write back a changed workitem; the keyword fields are set only when given."""
        cols: dict[str, object] = dict(columns_of(row.dataset, self.local))
        cols["summary"], cols["performed"] = _texts(row.dataset)
        if transaction_uid is not None:
            cols["transaction_uid"] = transaction_uid
        if performer_ae is not None:
            cols["performer_ae"] = performer_ae
        if final_at is not None:
            cols["final_at"] = final_at
        assignments = ", ".join(f"{c} = ?" for c in cols)
        db.execute(f"UPDATE workitem SET {assignments} WHERE id = ?", (*cols.values(), row.id))
        db.execute("DELETE FROM item_key WHERE wid = ?", (row.id,))
        self._index_items(db, row.id, row.dataset)

    def _index_items(self, db: Connection, wid: int, dataset: JsonDataset) -> None:
        db.executemany(
            "INSERT INTO item_key (wid, seq, idx, path, value, start_dt) VALUES (?, ?, ?, ?, ?, ?)",
            ((wid, *key) for key in item_keys_of(dataset, self.local)),
        )

    def search(self, db: Connection, query: Query, offset: int, limit: int) -> tuple[list[bytes], int]:
        """Summaries of the matches, in scheduled order, and how many matches follow the page. They
        are read as the UTF-8 bytes SQLite holds (CAST AS BLOB): a page of them goes out as it is,
        where text would be decoded here and encoded again on the way out."""
        compiled = compile_query(query, self.local, self.dialect)
        order = "ORDER BY w.start_dt, w.id"
        if compiled.residual_query is None:
            rows = db.execute(
                f"SELECT {self.summary_bytes} FROM workitem w WHERE {compiled.sql} {order} LIMIT ? OFFSET ?",
                (*compiled.params, limit + 1, offset),
            ).fetchall()
            if len(rows) <= limit:  # the page holds the rest: no need to count
                return [r[0] for r in rows], 0
            total = db.execute(f"SELECT count(*) FROM workitem w WHERE {compiled.sql}", compiled.params).fetchone()[0]
            return [r[0] for r in rows[:limit]], max(0, total - offset - limit)
        residual = compiled.residual_query
        matched = [
            summary
            for summary, performed in db.execute(
                f"SELECT {self.summary_bytes}, w.performed FROM workitem w WHERE {compiled.sql} {order}",
                compiled.params,
            )
            if residual.matches(json.loads(_full_text(summary.decode(), performed)), self.local)
        ]
        page = matched[offset : offset + limit]
        return page, max(0, len(matched) - offset - len(page))

    def all_rows(self, db: Connection, where: str = "1 = 1", params: tuple = ()) -> Iterator[Row]:
        for r in db.execute(f"SELECT {_ROW} FROM workitem WHERE {where} ORDER BY id", params):
            yield _row(r)

    def max_id(self, db: Connection) -> int:
        return int(db.execute("SELECT coalesce(max(id), 0) FROM workitem").fetchone()[0])

    def delete(self, db: Connection, row: Row, when: float) -> None:
        db.execute("DELETE FROM item_key WHERE wid = ?", (row.id,))
        db.execute("DELETE FROM workitem WHERE id = ?", (row.id,))
        db.execute("DELETE FROM subscription WHERE target = ?", (row.uid,))
        db.execute(
            "INSERT INTO deleted (uid, deleted_at) VALUES (?, ?) "
            "ON CONFLICT (uid) DO UPDATE SET deleted_at = excluded.deleted_at",
            (row.uid, when),
        )

    def forget_deleted(self, db: Connection, before: float) -> None:
        db.execute("DELETE FROM deleted WHERE deleted_at < ?", (before,))

    def rows_of_patient(self, db: Connection, patient_id: str) -> Iterator[Row]:
        """Every workitem whose Patient ID is `patient_id`, whatever its state (from the column index)."""
        for r in db.execute(f"SELECT {_ROW} FROM workitem WHERE patient_id = ? ORDER BY id", (patient_id.rstrip(" "),)):
            yield _row(r)

    # -- patient merges --------------------------------------------------------------------
    def put_merge(self, db: Connection, prior: tuple[str, str], survivor: tuple[str, str], when: float) -> None:
        """Record that the patient (ID, issuer) `prior` is now `survivor`."""
        db.execute(
            "INSERT INTO patient_merge VALUES (?, ?, ?, ?, ?) ON CONFLICT (prior_id, prior_issuer) DO UPDATE SET "
            "survivor_id = excluded.survivor_id, survivor_issuer = excluded.survivor_issuer, "
            "merged_at = excluded.merged_at",
            (*prior, *survivor, when),
        )

    def survivor_of(self, db: Connection, patient_id: str) -> str | None:
        """The Patient ID that `patient_id` was merged into, following merges of merges; None if never merged."""
        seen = {patient_id}
        current = patient_id
        while True:
            r = db.execute(
                "SELECT survivor_id FROM patient_merge WHERE prior_id = ? ORDER BY merged_at DESC LIMIT 1", (current,)
            ).fetchone()
            if r is None or r[0] in seen:  # a merge back and forth must not loop
                return current if current != patient_id else None
            seen.add(r[0])
            current = r[0]

    # -- MPPS ----------------------------------------------------------------------------
    def get_mpps(self, db: Connection, uid: str) -> tuple[str, str, str, str, JsonDataset] | None:
        """(uid, UPS UID, Transaction UID, status, attributes) of an MPPS, if the server has it."""
        r = db.execute("SELECT ups_uid, transaction_uid, status, dataset FROM mpps WHERE uid = ?", (uid,)).fetchone()
        return (uid, r[0], r[1], r[2], json.loads(r[3])) if r else None

    def put_mpps(
        self, db: Connection, uid: str, ups_uid: str, transaction_uid: str, status: str, dataset: JsonDataset
    ) -> None:
        db.execute(
            "INSERT INTO mpps VALUES (?, ?, ?, ?, ?) ON CONFLICT (uid) DO UPDATE SET ups_uid = excluded.ups_uid, "
            "transaction_uid = excluded.transaction_uid, status = excluded.status, dataset = excluded.dataset",
            (uid, ups_uid, transaction_uid, status, compact_json.dumps(dataset)),
        )

    # -- the HL7 door's answers -------------------------------------------------------------
    def hl7_ack(self, db: Connection, sender: str, control_id: str) -> bytes | None:
        """The ACK given to this sender's message with this control ID, if any."""
        r = db.execute(
            "SELECT ack FROM hl7_message WHERE sender = ? AND control_id = ?", (sender, control_id)
        ).fetchone()
        return bytes(r[0]) if r else None

    def put_hl7_ack(self, db: Connection, sender: str, control_id: str, ack: bytes, when: float) -> None:
        db.execute(
            "INSERT INTO hl7_message VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", (sender, control_id, ack, when)
        )

    def forget_hl7_acks(self, db: Connection, before: float) -> None:
        db.execute("DELETE FROM hl7_message WHERE received_at < ?", (before,))

    # -- subscriptions -------------------------------------------------------------------
    def subscriptions_version(self, db: Connection) -> str | None:
        """A value that changes with every change of subscriptions, where other processes may make
        them (several nodes); None where this process makes every change (subscription_index.py)."""
        return None

    def subscriptions_changed(self, db: Connection) -> None:
        """Called in every transaction that changes subscriptions (see subscriptions_version)."""

    def subscriptions(self, db: Connection, aet: str | None = None) -> list[Subscription]:
        sql = "SELECT aet, target, kind, deletion_lock, filter, suspended_after FROM subscription"
        rows = db.execute(sql + (" WHERE aet = ?" if aet else ""), (aet,) if aet else ()).fetchall()
        return [Subscription(r[0], r[1], r[2], bool(r[3]), r[4], r[5]) for r in rows]

    def subscriptions_of(self, db: Connection, uid: str) -> list[Subscription]:
        """The rows of one workitem (item subscriptions and exclusions), from the target index."""
        rows = db.execute(
            "SELECT aet, target, kind, deletion_lock, filter, suspended_after FROM subscription WHERE target = ?",
            (uid,),
        ).fetchall()
        return [Subscription(r[0], r[1], r[2], bool(r[3]), r[4], r[5]) for r in rows]

    def count_subscriptions(self, db: Connection, aet: str) -> int:
        return db.execute("SELECT COUNT(*) FROM subscription WHERE aet = ?", (aet,)).fetchone()[0]

    def put_subscription(self, db: Connection, sub: Subscription) -> None:
        db.execute(
            "INSERT INTO subscription VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (aet, target) DO UPDATE SET "
            "kind = excluded.kind, deletion_lock = excluded.deletion_lock, filter = excluded.filter, "
            "suspended_after = excluded.suspended_after",
            (sub.aet, sub.target, sub.kind, int(sub.deletion_lock), sub.filter, sub.suspended_after),
        )

    def drop_subscriptions(self, db: Connection, aet: str, target: str | None = None) -> int:
        if target is None:
            return db.execute("DELETE FROM subscription WHERE aet = ?", (aet,)).rowcount
        return db.execute("DELETE FROM subscription WHERE aet = ? AND target = ?", (aet, target)).rowcount


def is_postgres(db: str | None) -> bool:
    """Whether `db` names a PostgreSQL database (a URL) rather than an SQLite file."""
    return bool(db) and str(db).startswith(("postgresql://", "postgres://"))


def open_store(db: str, local: tzinfo, *, password_file: str | None = None, pool_size: int = 16) -> Store:
    """The store `db` names: a postgresql:// URL (pg_store.py) or an SQLite file."""
    if is_postgres(db):
        try:
            from .pg_store import PgStore
        except ImportError:
            raise StoreError(
                "This installation has no PostgreSQL support (psycopg): install it with "
                "pip install 'worklist-console[postgres]' on the server nodes (the packaged console leaves it out)."
            ) from None

        return PgStore(db, local, password=_password(password_file), pool_size=pool_size)
    if password_file is not None:
        raise StoreError("--db-password-file goes with a PostgreSQL database (--db postgresql://USER@HOST:PORT/DB).")
    return Store(db, local)


def _password(path: str | None) -> str | None:
    """The password alone in the file's first line; None: libpq's own PGPASSFILE or PGPASSWORD."""
    if path is None:
        return None
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise StoreError(f"Cannot read the database password file {path}: {exc.strerror or exc}.") from None
    if not lines or not lines[0]:
        raise StoreError(f"The database password file {path} is empty: put the password alone on its first line.")
    return lines[0]


def _texts(dataset: JsonDataset) -> tuple[str, str | None]:
    summary = {k: v for k, v in dataset.items() if k != t.PERFORMED_PROCEDURE_SEQ}
    performed = dataset.get(t.PERFORMED_PROCEDURE_SEQ)
    return (
        compact_json.dumps(summary),
        compact_json.dumps(performed) if performed is not None else None,
    )
