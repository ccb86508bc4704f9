"""Nothing lost: the local claim store and the outbox of the console.

Every claim (its Transaction UID above all: without it an IN PROGRESS workitem is stuck
forever) and every update or state change is written to a local SQLite file *before* it
is sent. What the server has not acknowledged is retried, in order, with backoff —
across network outages and across a crash and restart of the console. A retry that meets
"already in that state" counts as done (the backends treat B304/B306 as success).
"""
from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from pydicom.uid import generate_uid

from app.domain.procedure import OutputSeries, PerformedProcedure
from app.domain.workitem import Code, Workitem

from .errors import BackendError, Unreachable
from .protocol import WorklistBackend

log = logging.getLogger(__name__)

BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)

_DDL = """
CREATE TABLE IF NOT EXISTS claim (
    profile TEXT NOT NULL,
    uid TEXT NOT NULL,
    transaction_uid TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active',
    claimed_at REAL NOT NULL,
    patient TEXT NOT NULL DEFAULT '',
    label TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (profile, uid)
);
CREATE TABLE IF NOT EXISTS operation (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    profile TEXT NOT NULL,
    uid TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'pending'
);
CREATE INDEX IF NOT EXISTS operation_pending ON operation (profile, status, id);
"""


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


@dataclass(frozen=True)
class Delivery:
    """What became of an operation: sent now, or kept to be sent when the server is back."""

    sent: bool
    sentence: str = ""


@dataclass(frozen=True)
class Failure:
    uid: str
    kind: str
    sentence: str


def _code(d: dict | None) -> Code | None:
    return Code(**d) if d else None


def performed_to_json(p: PerformedProcedure) -> str:
    return json.dumps(asdict(p), ensure_ascii=False)


def performed_from_json(text: str) -> PerformedProcedure:
    d = json.loads(text)
    return PerformedProcedure(
        station=Code(**d["station"]), start=d["start"], end=d["end"],
        procedures=tuple(Code(**c) for c in d["procedures"]), technologist=d["technologist"],
        technologist_code=_code(d.get("technologist_code")),
        series=tuple(OutputSeries(s["series_uid"], s["description"], s["study_uid"],
                                  tuple(tuple(i) for i in s["instances"]), s["retrieve_ae"]) for s in d["series"]),
        description=d.get("description", ""),
    )


class Outbox:
    def __init__(self, backend: WorklistBackend, profile: str, path: Path | str | None = None,
                 on_failure: Callable[[Failure], None] | None = None, clock: Callable[[], float] = time.time,
                 on_change: Callable[[int], None] | None = None) -> None:
        self.backend = backend
        self.profile = profile
        self.path = Path(path) if path else default_path()
        self.on_failure = on_failure
        self.on_change = on_change  # told the number of waiting operations whenever it changes
        self.clock = clock
        self._lock = asyncio.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")  # a claim that was "saved" must survive a power cut
        self.db.executescript(_DDL)

    def close(self) -> None:
        self.db.close()

    # -- what is kept --------------------------------------------------------------------------
    def claim_of(self, uid: str) -> Claim | None:
        r = self.db.execute(
            "SELECT uid, transaction_uid, claimed_at, patient, label FROM claim WHERE profile=? AND uid=? AND status='active'",
            (self.profile, uid),
        ).fetchone()
        return Claim(*r) if r else None

    def active_claims(self) -> list[Claim]:
        """Procedures this console had in progress: what start-up offers to resume."""
        rows = self.db.execute(
            "SELECT uid, transaction_uid, claimed_at, patient, label FROM claim WHERE profile=? AND status='active' "
            "ORDER BY claimed_at", (self.profile,),
        ).fetchall()
        return [Claim(*r) for r in rows]

    def pending(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM operation WHERE profile=? AND status='pending'",
                                   (self.profile,)).fetchone()[0])

    def _enqueue(self, uid: str, kind: str, payload: dict) -> None:
        self.db.execute("INSERT INTO operation (profile, uid, kind, payload, created_at) VALUES (?, ?, ?, ?, ?)",
                        (self.profile, uid, kind, json.dumps(payload, ensure_ascii=False), self.clock()))
        self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self.pending())

    def _finish_claim(self, uid: str, status: str) -> None:
        self.db.execute("UPDATE claim SET status=? WHERE profile=? AND uid=?", (status, self.profile, uid))

    # -- what the technologist does ------------------------------------------------------------------
    async def claim(self, workitem: Workitem) -> Delivery:
        """Start a procedure. A refusal (someone else has it) raises at once and keeps nothing."""
        existing = self.claim_of(workitem.uid)
        if existing:
            return await self.flush_for(workitem.uid)
        transaction_uid = generate_uid()
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute(
            "INSERT OR REPLACE INTO claim (profile, uid, transaction_uid, status, claimed_at, patient, label) "
            "VALUES (?, ?, ?, 'active', ?, ?, ?)",
            (self.profile, workitem.uid, transaction_uid, self.clock(), workitem.patient_name.display(), workitem.label),
        )
        self.db.execute("INSERT INTO operation (profile, uid, kind, payload, created_at) VALUES (?, ?, ?, '{}', ?)",
                        (self.profile, workitem.uid, "claim", self.clock()))
        self.db.execute("COMMIT")
        self._changed()
        return await self.flush_for(workitem.uid)

    async def progress(self, uid: str, percent: float | None, description: str) -> Delivery:
        self._require_claim(uid)
        self._enqueue(uid, "progress", {"percent": percent, "description": description})
        return await self.flush_for(uid)

    async def performed(self, uid: str, performed: PerformedProcedure) -> Delivery:
        self._require_claim(uid)
        self._enqueue(uid, "performed", {"performed": performed_to_json(performed)})
        return await self.flush_for(uid)

    async def complete(self, workitem: Workitem, performed: PerformedProcedure) -> Delivery:
        """Complete; a SCHEDULED item is claimed first, silently."""
        if not self.claim_of(workitem.uid):
            await self.claim(workitem)
        self._enqueue(workitem.uid, "complete", {"performed": performed_to_json(performed)})
        return await self.flush_for(workitem.uid)

    async def discontinue(self, workitem: Workitem, reason: Code, text: str) -> Delivery:
        if not self.claim_of(workitem.uid):
            await self.claim(workitem)
        self._enqueue(workitem.uid, "discontinue", {"reason": asdict(reason), "text": text})
        return await self.flush_for(workitem.uid)

    def abandon(self, uid: str) -> None:
        """Forget a claim and what waits for it (the technologist chose not to resume)."""
        self.db.execute("UPDATE operation SET status='abandoned' WHERE profile=? AND uid=? AND status='pending'",
                        (self.profile, uid))
        self._finish_claim(uid, "abandoned")
        self._changed()

    def _require_claim(self, uid: str) -> Claim:
        claim = self.claim_of(uid)
        if claim is None:
            raise BackendError("Start the procedure before reporting on it.")
        return claim

    # -- sending -------------------------------------------------------------------------------
    async def flush_for(self, uid: str) -> Delivery:
        """Send what waits (in order, everything before it too); report on `uid`'s operations."""
        await self.flush(raise_for=uid)
        waiting = self.db.execute(
            "SELECT last_error FROM operation WHERE profile=? AND uid=? AND status='pending' ORDER BY id DESC LIMIT 1",
            (self.profile, uid),
        ).fetchone()
        if waiting:
            return Delivery(False, f"Saved on this console; it will be sent when the server is reachable. ({waiting[0]})")
        return Delivery(True)

    async def flush(self, raise_for: str | None = None) -> int:
        """Send pending operations in order until one cannot be delivered; returns how many were sent.

        A refusal of an operation on `raise_for` is raised to the caller; other refusals are
        reported through `on_failure`.
        """
        sent = 0
        async with self._lock:
            while True:
                row = self.db.execute(
                    "SELECT id, uid, kind, payload, attempts FROM operation WHERE profile=? AND status='pending' "
                    "ORDER BY id LIMIT 1", (self.profile,),
                ).fetchone()
                if row is None:
                    return sent
                op_id, uid, kind, payload, attempts = row
                claim = self.claim_of(uid)
                try:
                    if claim is None:
                        raise BackendError("The claim on this procedure is no longer held by this console.")
                    await self._send(kind, uid, claim.transaction_uid, json.loads(payload))
                except Unreachable as exc:
                    delay = BACKOFF[min(attempts, len(BACKOFF) - 1)]
                    self.db.execute("UPDATE operation SET attempts=attempts+1, next_at=?, last_error=? WHERE id=?",
                                    (self.clock() + delay, exc.sentence, op_id))
                    log.info("Outbox: %s of %s waits (%s)", kind, uid, exc.detail or exc.sentence)
                    return sent
                except BackendError as exc:
                    self._fail(op_id, uid, kind, exc)
                    if uid == raise_for:
                        raise
                    continue
                self.db.execute("UPDATE operation SET status='sent' WHERE id=?", (op_id,))
                if kind in ("complete", "discontinue"):
                    self._finish_claim(uid, "done")
                sent += 1
                self._changed()

    def _fail(self, op_id: int, uid: str, kind: str, exc: BackendError) -> None:
        """A refusal is final: drop the operation, and with a refused claim, everything after it."""
        log.warning("Outbox: %s of %s refused: %s", kind, uid, exc.detail or exc.sentence)
        self.db.execute("UPDATE operation SET status='failed', last_error=? WHERE id=?", (exc.sentence, op_id))
        if kind == "claim":
            self.db.execute("UPDATE operation SET status='failed', last_error=? WHERE profile=? AND uid=? AND "
                            "status='pending'", (exc.sentence, self.profile, uid))
            self._finish_claim(uid, "refused")
        self._changed()
        if self.on_failure:
            self.on_failure(Failure(uid, kind, exc.sentence))

    async def _send(self, kind: str, uid: str, transaction_uid: str, payload: dict) -> None:
        b = self.backend
        if kind == "claim":
            await b.claim(uid, transaction_uid)
        elif kind == "progress":
            await b.report_progress(uid, transaction_uid, payload["percent"], payload["description"])
        elif kind == "performed":
            await b.set_performed(uid, transaction_uid, performed_from_json(payload["performed"]))
        elif kind == "complete":
            await b.complete(uid, transaction_uid, performed_from_json(payload["performed"]))
        elif kind == "discontinue":
            await b.discontinue(uid, transaction_uid, Code(**payload["reason"]), payload["text"])
        else:
            raise BackendError(f"Unknown outbox operation {kind!r}.")

    def next_attempt_in(self) -> float | None:
        """Seconds until the first waiting operation is due again; None when nothing waits."""
        r = self.db.execute("SELECT min(next_at) FROM operation WHERE profile=? AND status='pending'",
                            (self.profile,)).fetchone()
        return None if r[0] is None else max(0.0, r[0] - self.clock())

    async def run(self) -> None:
        """Retry in the background, forever (cancel to stop)."""
        while True:
            wait = self.next_attempt_in()
            if wait is None:
                await asyncio.sleep(1.0)
                continue
            await asyncio.sleep(min(wait, 5.0))
            if (self.next_attempt_in() or 0) <= 0:
                try:
                    await self.flush()
                except BackendError:
                    pass
