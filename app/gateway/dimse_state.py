"""What the Origin-Server / SCU gateway must not forget, in tables of its own in the server's
database: each scheduled step it has claimed or created (its workitem UID, the MWL item it
came from, the workitem as UPS-RS clients changed it, the Transaction UID, the MPPS UID), the
subscriptions of its UPS-RS clients, the MPPS that Supplement 246 clients sent through it, and
the worklist as its last poll of the RIS told the subscribers (the baseline of the next poll).

An MWL SCP keeps no UPS state, so a restart of the gateway must find all of it here: a claim
survives, and the procedure can still be completed with its Transaction UID.

The tables live in an SQLite file (one gateway process), or in a PostgreSQL database shared by
several gateway nodes (a `PgStore`, pg_store.py, whose pool and connections are used here). The
SQL is the same for both; what differs is how a read-check-write holds: `holding(key)` is, on
SQLite, a lock of this process, and on PostgreSQL a write transaction holding an advisory lock of
the key (and its reads locking their rows) until it commits — so of two nodes claiming one step
at once, the second waits for the first's commit and then sees it claimed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from app.domain.dicomjson import JsonDataset
from app.server.store import Store

from .shared_tables import SharedTables

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
CREATE TABLE IF NOT EXISTS dimse_gateway_baseline (
    uid TEXT PRIMARY KEY,
    dataset TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dimse_gateway_polled (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    at REAL NOT NULL
);
"""

_STEP = "uid, mwl, dataset, state, transaction_uid, mpps_uid, performer_ae, unscheduled, changed_at"


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


class GatewayState(SharedTables):
    """The gateway's tables, in an SQLite file (one connection, used under a lock: the fronts call
    from many threads) or in the PostgreSQL database of a `PgStore` shared by several nodes."""

    def __init__(self, where: str | Store) -> None:
        super().__init__(where, SCHEMA, "dimse gateway")

    # -- steps ------------------------------------------------------------------------------
    def step(self, uid: str) -> Step | None:
        with self._read() as db:
            row = db.execute(
                f"SELECT {_STEP} FROM dimse_gateway_steps WHERE uid = ?{self._locking(db)}", (uid,)
            ).fetchone()
        return _step(row) if row else None

    def step_of_mpps(self, mpps_uid: str) -> Step | None:
        with self._read() as db:
            row = db.execute("SELECT uid FROM dimse_gateway_steps WHERE mpps_uid = ?", (mpps_uid,)).fetchone()
        return self.step(row[0]) if row else None

    def steps(self) -> list[Step]:
        with self._read() as db:
            rows = db.execute(f"SELECT {_STEP} FROM dimse_gateway_steps").fetchall()
        return [_step(row) for row in rows]

    def save(self, step: Step) -> None:
        """The step, and (once a poll has looked) the poll's baseline of it: a change the gateway
        made and told its subscribers of is no news to the next poll, on whichever node it runs."""
        dataset = _dumps(step.dataset)
        with self._write() as db:
            db.execute(
                f"INSERT INTO dimse_gateway_steps ({_STEP}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (uid) DO UPDATE SET mwl = excluded.mwl, dataset = excluded.dataset, "
                "state = excluded.state, transaction_uid = excluded.transaction_uid, mpps_uid = excluded.mpps_uid, "
                "performer_ae = excluded.performer_ae, unscheduled = excluded.unscheduled, "
                "changed_at = excluded.changed_at",
                (
                    step.uid,
                    _dumps(step.mwl),
                    dataset,
                    step.state,
                    step.transaction_uid,
                    step.mpps_uid,
                    step.performer_ae,
                    int(step.unscheduled),
                    step.changed_at,
                ),
            )
            db.execute(
                "INSERT INTO dimse_gateway_baseline (uid, dataset) SELECT ?, ? "
                "WHERE EXISTS (SELECT 1 FROM dimse_gateway_polled) "
                "ON CONFLICT (uid) DO UPDATE SET dataset = excluded.dataset",
                (step.uid, dataset),
            )

    def forget_steps(self, before: float, states: tuple[str, ...]) -> int:
        """Drop steps in `states` unchanged since `before` (final ones the RIS has long been told of)."""
        marks = ",".join("?" * len(states))
        with self._write() as db:
            cursor = db.execute(
                f"DELETE FROM dimse_gateway_steps WHERE changed_at < ? AND state IN ({marks})", (before, *states)
            )
            return cursor.rowcount

    # -- the poll's baseline: the worklist as the subscribers were last told it --------------------
    def polled(self) -> bool:
        """Whether a poll has looked since somebody subscribed."""
        with self._read() as db:
            return db.execute("SELECT 1 FROM dimse_gateway_polled").fetchone() is not None

    def baseline(self) -> dict[str, JsonDataset] | None:
        """None until a poll has looked (or since nobody subscribes)."""
        with self._read() as db:
            if db.execute("SELECT 1 FROM dimse_gateway_polled").fetchone() is None:
                return None
            rows = db.execute(f"SELECT uid, dataset FROM dimse_gateway_baseline{self._locking(db)}").fetchall()
        return {uid: json.loads(dataset) for uid, dataset in rows}

    def put_baseline(self, now: dict[str, JsonDataset], before: dict[str, JsonDataset] | None, at: float) -> None:
        """What the last poll found, written as what changed since `before`."""
        before = before or {}
        changed = [(uid, _dumps(ds)) for uid, ds in now.items() if before.get(uid) != ds]
        gone = [(uid,) for uid in before if uid not in now]
        with self._write() as db:
            db.execute(
                "INSERT INTO dimse_gateway_polled (one, at) VALUES (1, ?) ON CONFLICT (one) DO UPDATE SET at = excluded.at",
                (at,),
            )
            if changed:
                db.executemany(
                    "INSERT INTO dimse_gateway_baseline (uid, dataset) VALUES (?, ?) "
                    "ON CONFLICT (uid) DO UPDATE SET dataset = excluded.dataset",
                    changed,
                )
            if gone:
                db.executemany("DELETE FROM dimse_gateway_baseline WHERE uid = ?", gone)

    def drop_baseline(self) -> None:
        with self._write() as db:
            db.execute("DELETE FROM dimse_gateway_polled")
            db.execute("DELETE FROM dimse_gateway_baseline")

    # -- subscriptions --------------------------------------------------------------------------
    def subscriptions(self) -> list[Subscription]:
        with self._read() as db:
            rows = db.execute(
                "SELECT aet, target, kind, deletion_lock, filter, suspended FROM dimse_gateway_subscriptions"
            ).fetchall()
        return [Subscription(a, t, k, bool(lock), f, bool(s)) for a, t, k, lock, f, s in rows]

    def put_subscriptions(self, subscriptions: list[Subscription]) -> None:
        with self._write() as db:
            db.executemany(
                "INSERT INTO dimse_gateway_subscriptions (aet, target, kind, deletion_lock, filter, suspended) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (aet, target) DO UPDATE SET kind = excluded.kind, "
                "deletion_lock = excluded.deletion_lock, filter = excluded.filter, suspended = excluded.suspended",
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
        with self._read() as db:
            row = db.execute(
                f"SELECT uid, workitem_uid, status, dataset FROM dimse_gateway_mpps WHERE uid = ?{self._locking(db)}",
                (uid,),
            ).fetchone()
        return PassedMpps(row[0], row[1], row[2], json.loads(row[3])) if row else None

    def put_mpps(self, record: PassedMpps) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO dimse_gateway_mpps (uid, workitem_uid, status, dataset) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (uid) DO UPDATE SET workitem_uid = excluded.workitem_uid, status = excluded.status, "
                "dataset = excluded.dataset",
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
