"""The console's local SQLite file: claims, the operations waiting to be sent, and drafts.

One file may serve every profile and AE title of a user. Each row belongs to an *owner*:
the server and the AE title that made the claim. A Transaction UID is what a server handed
to one AE title, so two consoles with different AE titles never share a claim, whichever
profile (or none) they were started with.

Written before anything is sent, with synchronous=FULL: a claim the console said it saved
must survive a power cut.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app import private_files
from app.domain.draft import ProcedureDraft

from .profiles import Profile

SCHEMA_VERSION = 3
FINAL_KINDS = ("complete", "discontinue", "put_back")

_DDL = """
CREATE TABLE IF NOT EXISTS claim (
    owner TEXT NOT NULL,
    uid TEXT NOT NULL,
    transaction_uid TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active',
    claimed_at REAL NOT NULL,
    patient TEXT NOT NULL DEFAULT '',
    label TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (owner, uid)
);
CREATE TABLE IF NOT EXISTS operation (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner TEXT NOT NULL,
    uid TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'pending'
);
CREATE INDEX IF NOT EXISTS operation_pending ON operation (owner, status, id);
CREATE TABLE IF NOT EXISTS owner (
    owner TEXT PRIMARY KEY,
    profile TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    seen_at REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS cancel_request (
    owner TEXT NOT NULL,
    uid TEXT NOT NULL,
    event TEXT NOT NULL,
    received_at REAL NOT NULL,
    PRIMARY KEY (owner, uid)
);
CREATE TABLE IF NOT EXISTS draft (
    owner TEXT NOT NULL,
    uid TEXT NOT NULL,
    payload TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (owner, uid)
);
"""
# Files of the first version keyed rows by profile name, which two consoles of one user
# could share; those rows are kept under this prefix until a console of that profile adopts them.
LEGACY_PREFIX = "profile:"


def owner_key(profile: Profile) -> str:
    """Who a claim belongs to: the protocol, the server that holds it, and our AE title."""
    if profile.backend == "dimse":
        host, port, aet = profile.mpps_peer
        server = f"{host}:{port}:{aet}"
    else:
        server = profile.url.rstrip("/")
    return f"{profile.backend}|{server}|{profile.ae_title}"


def owner_description(profile: Profile) -> str:
    """The owner in words, for the status bar of another profile's console."""
    if profile.backend == "dimse":
        host, port, aet = profile.mpps_peer
        return f"{profile.ae_title} at {aet}@{host}:{port}"
    return f"{profile.ae_title} at {profile.url.rstrip('/')}"


def default_path() -> Path:
    from platformdirs import user_data_path

    return user_data_path("worklist-console", appauthor=False) / "console.db"


@dataclass(frozen=True)
class Claim:
    uid: str
    transaction_uid: str
    claimed_at: float
    patient: str = ""
    label: str = ""

    def what(self) -> str:
        """The procedure and patient, as every sentence about it names them."""
        return f"{self.label or 'the procedure'} for {self.patient}" if self.patient else (self.label or self.uid)


@dataclass(frozen=True)
class Operation:
    id: int
    uid: str
    kind: str
    payload: dict
    attempts: int


@dataclass(frozen=True)
class Waiting:
    """Reports that wait under another owner (another profile or AE title) of this file."""

    owner: str
    profile: str
    description: str
    count: int

    def where(self) -> str:
        name = f"profile {self.profile!r}" if self.profile else "another profile"
        return f"{name} ({self.description})" if self.description else name


class ClaimStore:
    def __init__(
        self,
        path: Path | str | None,
        owner: str,
        profile_name: str = "",
        description: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path) if path else default_path()
        self.owner = owner
        self.clock = clock
        # claims, patients' names and reports waiting to be sent: the user's alone (-wal and -shm follow)
        self.db = private_files.open_database(self.path, timeout=10)
        self._migrate()
        self.db.execute(
            "INSERT INTO owner (owner, profile, description, seen_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (owner) DO UPDATE SET profile=excluded.profile, "
            "description=excluded.description, seen_at=excluded.seen_at",
            (owner, profile_name, description, clock()),
        )

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version >= SCHEMA_VERSION:
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            columns = {row[1] for row in self.db.execute("PRAGMA table_info(claim)")}
            if "profile" in columns:  # version 1: rows keyed by profile name
                for table in ("claim", "operation"):
                    self.db.execute(f"ALTER TABLE {table} RENAME COLUMN profile TO owner")
                    self.db.execute(f"UPDATE {table} SET owner = ? || owner", (LEGACY_PREFIX,))
            for statement in filter(str.strip, _DDL.split(";")):
                self.db.execute(statement)
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def adopt_legacy(self, profile_name: str) -> int:
        """Take over the rows an earlier version kept under this profile's name; how many claims."""
        legacy = LEGACY_PREFIX + profile_name
        self.db.execute("BEGIN IMMEDIATE")
        moved = self.db.execute("UPDATE OR IGNORE claim SET owner=? WHERE owner=?", (self.owner, legacy)).rowcount
        self.db.execute("UPDATE operation SET owner=? WHERE owner=?", (self.owner, legacy))
        self.db.execute("COMMIT")
        return moved

    def close(self) -> None:
        self.db.close()

    # -- claims ----------------------------------------------------------------------------------
    def claim_of(self, uid: str) -> Claim | None:
        r = self.db.execute(
            "SELECT uid, transaction_uid, claimed_at, patient, label FROM claim "
            "WHERE owner=? AND uid=? AND status='active'",
            (self.owner, uid),
        ).fetchone()
        return Claim(*r) if r else None

    def active_claims(self) -> list[Claim]:
        rows = self.db.execute(
            "SELECT uid, transaction_uid, claimed_at, patient, label FROM claim "
            "WHERE owner=? AND status='active' ORDER BY claimed_at",
            (self.owner,),
        ).fetchall()
        return [Claim(*r) for r in rows]

    def known_claim(self, uid: str) -> Claim | None:
        """The claim on `uid` whatever became of it (names the patient in a late refusal)."""
        r = self.db.execute(
            "SELECT uid, transaction_uid, claimed_at, patient, label FROM claim WHERE owner=? AND uid=?",
            (self.owner, uid),
        ).fetchone()
        return Claim(*r) if r else None

    def add_claim(self, uid: str, transaction_uid: str, patient: str, label: str, record: dict | None = None) -> None:
        """The claim and its operation, in one transaction: never one without the other. The
        backend's record of the workitem travels with it (an MPPS copies the worklist entry)."""
        now = self.clock()
        payload = json.dumps({"record": record} if record else {}, ensure_ascii=False)
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute(
            "INSERT OR REPLACE INTO claim (owner, uid, transaction_uid, status, claimed_at, patient, label) "
            "VALUES (?, ?, ?, 'active', ?, ?, ?)",
            (self.owner, uid, transaction_uid, now, patient, label),
        )
        self.db.execute(
            "INSERT INTO operation (owner, uid, kind, payload, created_at) VALUES (?, ?, 'claim', ?, ?)",
            (self.owner, uid, payload, now),
        )
        # a draft kept from before the start (earlier versions let a SCHEDULED procedure's form be
        # typed into) is not what this technologist performs: the claim starts clean
        self.db.execute("DELETE FROM draft WHERE owner=? AND uid=?", (self.owner, uid))
        self.db.execute("COMMIT")

    def finish_claim(self, uid: str, status: str) -> None:
        self.db.execute("UPDATE claim SET status=? WHERE owner=? AND uid=?", (status, self.owner, uid))

    # -- operations ----------------------------------------------------------------------------
    def enqueue(self, uid: str, kind: str, payload: dict) -> None:
        self.db.execute(
            "INSERT INTO operation (owner, uid, kind, payload, created_at) VALUES (?, ?, ?, ?, ?)",
            (self.owner, uid, kind, json.dumps(payload, ensure_ascii=False), self.clock()),
        )

    def next_operation(self) -> Operation | None:
        r = self.db.execute(
            "SELECT id, uid, kind, payload, attempts FROM operation WHERE owner=? AND status='pending' "
            "ORDER BY id LIMIT 1",
            (self.owner,),
        ).fetchone()
        return Operation(r[0], r[1], r[2], json.loads(r[3]), r[4]) if r else None

    def sent(self, op: Operation) -> None:
        self.db.execute("UPDATE operation SET status='sent' WHERE id=?", (op.id,))
        if op.kind in FINAL_KINDS:
            self.finish_claim(op.uid, "done")
            self.drop_draft(op.uid)

    def waits(self, op: Operation, error: str) -> None:
        self.db.execute(
            "UPDATE operation SET attempts=attempts+1, next_at=?, last_error=? WHERE id=?", (self.clock(), error, op.id)
        )

    def failed(self, op: Operation, error: str) -> None:
        """A refusal is final: drop the operation, and with a refused claim everything after it."""
        self.db.execute("UPDATE operation SET status='failed', last_error=? WHERE id=?", (error, op.id))
        if op.kind == "claim":
            self.db.execute(
                "UPDATE operation SET status='failed', last_error=? WHERE owner=? AND uid=? AND status='pending'",
                (error, self.owner, op.uid),
            )
            self.finish_claim(op.uid, "refused")

    def pending_uids(self) -> set[str]:
        """The procedures with reports still to send."""
        rows = self.db.execute("SELECT DISTINCT uid FROM operation WHERE owner=? AND status='pending'", (self.owner,))
        return {r[0] for r in rows}

    def pending(self, uid: str | None = None) -> int:
        if uid is None:
            query, args = "SELECT count(*) FROM operation WHERE owner=? AND status='pending'", (self.owner,)
        else:
            query = "SELECT count(*) FROM operation WHERE owner=? AND uid=? AND status='pending'"
            args = (self.owner, uid)  # type: ignore[assignment]
        return int(self.db.execute(query, args).fetchone()[0])

    def last_error(self, uid: str) -> str | None:
        """Why `uid`'s newest waiting operation waits ("" when not tried yet); None when none waits."""
        r = self.db.execute(
            "SELECT last_error FROM operation WHERE owner=? AND uid=? AND status='pending' ORDER BY id DESC LIMIT 1",
            (self.owner, uid),
        ).fetchone()
        return None if r is None else r[0]

    def last_kind(self, uid: str) -> str | None:
        """The kind of `uid`'s newest waiting operation; None when none waits."""
        r = self.db.execute(
            "SELECT kind FROM operation WHERE owner=? AND uid=? AND status='pending' ORDER BY id DESC LIMIT 1",
            (self.owner, uid),
        ).fetchone()
        return r[0] if r else None

    def waiting_list(self) -> list[tuple[str, str, str]]:
        """(uid, kind, what) of every waiting operation of this owner, oldest first."""
        rows = self.db.execute(
            "SELECT o.uid, o.kind, c.patient, c.label FROM operation o LEFT JOIN claim c "
            "ON c.owner = o.owner AND c.uid = o.uid WHERE o.owner=? AND o.status='pending' "
            "ORDER BY o.id",
            (self.owner,),
        ).fetchall()
        return [(uid, kind, Claim(uid, "", 0, patient or "", label or "").what()) for uid, kind, patient, label in rows]

    def final_pending(self, uid: str) -> str | None:
        """ "complete", "discontinue" or "put_back" when that end of `uid` waits to be sent."""
        r = self.db.execute(
            "SELECT kind FROM operation WHERE owner=? AND uid=? AND status='pending' AND kind IN "
            f"({', '.join('?' * len(FINAL_KINDS))}) ORDER BY id DESC LIMIT 1",
            (self.owner, uid, *FINAL_KINDS),
        ).fetchone()
        return r[0] if r else None

    def waiting_elsewhere(self) -> list[Waiting]:
        """What waits under the other owners of this file: another profile, server or AE title."""
        rows = self.db.execute(
            "SELECT o.owner, coalesce(w.profile, ''), coalesce(w.description, ''), count(*) FROM operation o "
            "LEFT JOIN owner w ON w.owner = o.owner WHERE o.status='pending' AND o.owner != ? "
            "GROUP BY o.owner ORDER BY o.owner",
            (self.owner,),
        ).fetchall()
        waiting = []
        for owner, profile, description, count in rows:
            if owner.startswith(LEGACY_PREFIX) and not profile:
                profile = owner[len(LEGACY_PREFIX) :]
            waiting.append(Waiting(owner, profile, description, int(count)))
        return waiting

    # -- cancellation requests, until the technologist deals with them --------------------------------
    def save_cancel_request(self, uid: str, event: dict) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO cancel_request (owner, uid, event, received_at) VALUES (?, ?, ?, ?)",
            (self.owner, uid, json.dumps(event, ensure_ascii=False), self.clock()),
        )

    def cancel_requests(self) -> dict[str, dict]:
        rows = self.db.execute(
            "SELECT uid, event FROM cancel_request WHERE owner=? ORDER BY received_at", (self.owner,)
        ).fetchall()
        return {uid: json.loads(event) for uid, event in rows}

    def drop_cancel_request(self, uid: str) -> None:
        self.db.execute("DELETE FROM cancel_request WHERE owner=? AND uid=?", (self.owner, uid))

    # -- drafts: what was typed for a procedure and not sent yet --------------------------------------
    def draft(self, uid: str) -> ProcedureDraft | None:
        r = self.db.execute("SELECT payload FROM draft WHERE owner=? AND uid=?", (self.owner, uid)).fetchone()
        if r is None:
            return None
        try:
            return ProcedureDraft.from_dict(json.loads(r[0]))
        except (ValueError, TypeError, KeyError):
            return None  # a draft of another version: what is on the server is shown instead

    def save_draft(self, uid: str, draft: ProcedureDraft) -> bool:
        """Keep what was typed for a procedure this owner has started; anything else is not kept
        (False): typed before Start, it would become the record of whoever starts it."""
        if draft.is_empty() or self.claim_of(uid) is None:
            self.drop_draft(uid)
            return False
        self.db.execute(
            "INSERT INTO draft (owner, uid, payload, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (owner, uid) DO UPDATE SET payload=excluded.payload, updated_at=excluded.updated_at",
            (self.owner, uid, json.dumps(draft.to_dict(), ensure_ascii=False), self.clock()),
        )
        return True

    def drop_draft(self, uid: str) -> None:
        self.db.execute("DELETE FROM draft WHERE owner=? AND uid=?", (self.owner, uid))
