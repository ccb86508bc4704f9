"""The audit on PostgreSQL: the same records as the audit file (audit.py), as rows of a table in
the worklist's database, so that every node writes to one audit and `worklist-console audit`
reads it from anywhere the database is reachable."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

from app.domain import compact_json

from .audit import AuditLog, Record
from .pg_store import PgStore

log = logging.getLogger(__name__)

DDL = """
CREATE TABLE IF NOT EXISTS audit (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uid TEXT COLLATE "C",
    line TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_uid ON audit (uid, seq);
"""


class AuditTable(AuditLog):
    """Appends audit records to the `audit` table of the store's database."""

    def __init__(self, store: PgStore, *, phi: bool = False) -> None:  # no file: not AuditLog.__init__
        self.store = store
        self.phi = phi
        self._closed = False
        store.create_tables(DDL)

    def write(self, records: list[Record]) -> None:
        if self._closed or not records:
            return
        try:
            with self.store.write() as db:
                db.executemany(
                    "INSERT INTO audit (uid, line) VALUES (?, ?)",
                    [(line.get("uid"), compact_json.dumps(line, non_finite=False)) for line in records],
                )
        except self.store.errors:
            # the change is committed: a database that fails now must not turn it into a failure
            log.exception("Could not write %d audit records to the audit table", len(records))

    def close(self) -> None:
        self._closed = True


def read_table(store: PgStore, uid: str | None = None) -> Iterator[Record]:
    """The records of the audit table, oldest first; those of `uid` only when given."""
    where, params = ("WHERE uid = ?", (uid,)) if uid else ("", ())
    with store.read() as db:
        db.execute(DDL.split(";")[0])  # an audit never written yet reads as empty, not as an error
        rows = db.execute(f"SELECT line FROM audit {where} ORDER BY seq", params).fetchall()
    for (text,) in rows:
        yield json.loads(text)
