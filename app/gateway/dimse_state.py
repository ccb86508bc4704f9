"""What the Origin-Server / SCU gateway must not forget, in tables of its own in the server's
database file: each scheduled step it has claimed or created (its workitem UID, the MWL item it
came from, the workitem as UPS-RS clients changed it, the Transaction UID, the MPPS UID), the
subscriptions of its UPS-RS clients, and the MPPS that Supplement 246 clients sent through it.

An MWL SCP keeps no UPS state, so a restart of the gateway must find all of it here: a claim
survives, and the procedure can still be completed with its Transaction UID.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from app import private_files
from app.domain.dicomjson import JsonDataset

SCHEMA = """
CREATE TABLE IF NOT EXISTS dimse_gateway_steps (
    uid TEXT PRIMARY KEY,
    mwl TEXT NOT NULL,
    dataset TEXT NOT NULL,
    state TEXT NOT NULL,
    transaction_uid TEXT,
    mpps_uid TEXT UNIQUE,
    performer_ae TEXT,
    unscheduled INTEGER NOT NULL DEFAULT 0,
    changed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS dimse_gateway_subscriptions (
    aet TEXT NOT NULL,
    target TEXT NOT NULL,
    kind TEXT NOT NULL,
    deletion_lock INTEGER NOT NULL DEFAULT 0,
    filter TEXT,
    suspended INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (aet, target)
);
CREATE TABLE IF NOT EXISTS dimse_gateway_mpps (
    uid TEXT PRIMARY KEY,
    workitem_uid TEXT,
    status TEXT NOT NULL,
    dataset TEXT NOT NULL
);
"""


@dataclass
class Step:
    """A scheduled step the gateway holds state for (claimed through it, or created by a client)."""

    uid: str
    mwl: JsonDataset  # the MWL item, as the RIS sent it (or made from a created workitem)
    dataset: JsonDataset  # the workitem as UPS-RS clients see it, with what they added
    state: str
    transaction_uid: str | None = None
    mpps_uid: str | None = None
    performer_ae: str | None = None
    unscheduled: bool = False
    changed_at: float = 0.0


@dataclass(frozen=True)
class Subscription:
    aet: str
    target: str
    kind: str  # global, filtered, item, excluded
    deletion_lock: bool = False
    filter: str | None = None
    suspended: bool = False


@dataclass(frozen=True)
class PassedMpps:
    """An MPPS a Supplement 246 client created through the gateway, as created and since set."""

    uid: str
    workitem_uid: str | None
    status: str
    dataset: JsonDataset


def _dumps(dataset: JsonDataset) -> str:
    return json.dumps(dataset, ensure_ascii=False, separators=(",", ":"))


class GatewayState:
    """The gateway's tables. One connection, used under a lock: the fronts call from many threads."""

    def __init__(self, path: str) -> None:
        # a lost claim leaves a procedure nobody can finish: every write reaches the disk; the
        # steps name patients: the file is the user's alone
        self._db = private_files.open_database(path, timeout=5.0)
        self._lock = threading.Lock()
        with self._lock:
            self._db.executescript(SCHEMA)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- steps ------------------------------------------------------------------------------
    def step(self, uid: str) -> Step | None:
        with self._lock:
            row = self._db.execute(
                "SELECT uid, mwl, dataset, state, transaction_uid, mpps_uid, performer_ae, unscheduled, changed_at "
                "FROM dimse_gateway_steps WHERE uid = ?",
                (uid,),
            ).fetchone()
        return _step(row) if row else None

    def step_of_mpps(self, mpps_uid: str) -> Step | None:
        with self._lock:
            row = self._db.execute("SELECT uid FROM dimse_gateway_steps WHERE mpps_uid = ?", (mpps_uid,)).fetchone()
        return self.step(row[0]) if row else None

    def steps(self) -> list[Step]:
        with self._lock:
            rows = self._db.execute(
                "SELECT uid, mwl, dataset, state, transaction_uid, mpps_uid, performer_ae, unscheduled, changed_at "
                "FROM dimse_gateway_steps"
            ).fetchall()
        return [_step(row) for row in rows]

    def save(self, step: Step) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO dimse_gateway_steps "
                "(uid, mwl, dataset, state, transaction_uid, mpps_uid, performer_ae, unscheduled, changed_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    step.uid,
                    _dumps(step.mwl),
                    _dumps(step.dataset),
                    step.state,
                    step.transaction_uid,
                    step.mpps_uid,
                    step.performer_ae,
                    int(step.unscheduled),
                    step.changed_at,
                ),
            )

    def forget_steps(self, before: float, states: tuple[str, ...]) -> int:
        """Drop steps in `states` unchanged since `before` (final ones the RIS has long been told of)."""
        marks = ",".join("?" * len(states))
        with self._write() as db:
            cursor = db.execute(
                f"DELETE FROM dimse_gateway_steps WHERE changed_at < ? AND state IN ({marks})", (before, *states)
            )
            return cursor.rowcount

    # -- subscriptions --------------------------------------------------------------------------
    def subscriptions(self) -> list[Subscription]:
        with self._lock:
            rows = self._db.execute(
                "SELECT aet, target, kind, deletion_lock, filter, suspended FROM dimse_gateway_subscriptions"
            ).fetchall()
        return [Subscription(a, t, k, bool(lock), f, bool(s)) for a, t, k, lock, f, s in rows]

    def put_subscriptions(self, subscriptions: list[Subscription]) -> None:
        with self._write() as db:
            db.executemany(
                "INSERT OR REPLACE INTO dimse_gateway_subscriptions "
                "(aet, target, kind, deletion_lock, filter, suspended) VALUES (?, ?, ?, ?, ?, ?)",
                [(s.aet, s.target, s.kind, int(s.deletion_lock), s.filter, int(s.suspended)) for s in subscriptions],
            )

    def drop_subscriptions(self, aet: str, target: str | None = None) -> int:
        with self._write() as db:
            if target is None:
                cursor = db.execute("DELETE FROM dimse_gateway_subscriptions WHERE aet = ?", (aet,))
            else:
                cursor = db.execute(
                    "DELETE FROM dimse_gateway_subscriptions WHERE aet = ? AND target = ?", (aet, target)
                )
            return cursor.rowcount

    # -- MPPS passed through ---------------------------------------------------------------------
    def mpps(self, uid: str) -> PassedMpps | None:
        with self._lock:
            row = self._db.execute(
                "SELECT uid, workitem_uid, status, dataset FROM dimse_gateway_mpps WHERE uid = ?", (uid,)
            ).fetchone()
        return PassedMpps(row[0], row[1], row[2], json.loads(row[3])) if row else None

    def put_mpps(self, record: PassedMpps) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO dimse_gateway_mpps (uid, workitem_uid, status, dataset) VALUES (?, ?, ?, ?)",
                (record.uid, record.workitem_uid, record.status, _dumps(record.dataset)),
            )


def _step(row: tuple) -> Step:
    uid, mwl, dataset, state, transaction_uid, mpps_uid, performer, unscheduled, changed_at = row
    return Step(
        uid,
        json.loads(mwl),
        json.loads(dataset),
        state,
        transaction_uid,
        mpps_uid,
        performer,
        bool(unscheduled),
        changed_at,
    )
