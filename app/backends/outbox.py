"""Nothing lost: the outbox of the console.

Every claim (its Transaction UID above all: without it an IN PROGRESS workitem is stuck
forever) and every update or state change is written to the local claim store *before*
it is sent. What the server has not acknowledged is retried, in order, one flush at a
time, with exponential backoff while the server is away — across network outages and
across a crash and restart of the console — and at once when the connection comes back
(`kick`). A retry that meets "already in that state" counts as done (the backends treat
B304/B306 as success).

A refusal of who we are (NotPermitted, HTTP 403) is a configuration error, not an outage: the
report is kept, never dropped, and nothing more is sent until the technologist asks again
(`release`) or the console opens on a changed profile — retrying on a timer would only be
refused again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from app.domain.identifiers import new_uid
from app.domain.procedure import OutputSeries, PerformedProcedure
from app.domain.workitem import Code, Workitem

from .claim_store import Claim, ClaimStore, Operation, default_path
from .errors import BackendError, NotPermitted
from .protocol import WorklistBackend
from .retry import Backoff, SendLock

log = logging.getLogger(__name__)

IDLE_CHECK = 5.0  # with nothing waiting, how often to look for work another console of this AE left
BUSY_RETRY = 2.0  # how soon to try again when another console of this AE is sending

KIND_NAMES = {
    "claim": "The start",
    "progress": "The progress report",
    "performed": "The performed data",
    "complete": "The completion",
    "discontinue": "The discontinuation",
    "put_back": "The return to the worklist",
}

__all__ = ["Claim", "Delivery", "Failure", "Outbox", "default_path"]


@dataclass(frozen=True)
class Delivery:
    """What became of an operation: sent now, or kept to be sent when the server is back."""

    sent: bool
    sentence: str = ""
    held: bool = False  # kept because the server refuses who we are: the profile must change


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
        station=Code(**d["station"]),
        start=d["start"],
        end=d["end"],
        procedures=tuple(Code(**c) for c in d["procedures"]),
        technologist=d["technologist"],
        technologist_code=_code(d.get("technologist_code")),
        series=tuple(
            OutputSeries(
                s["series_uid"],
                s["description"],
                s["study_uid"],
                tuple(tuple(i) for i in s["instances"]),
                s["retrieve_ae"],
            )
            for s in d["series"]
        ),
        description=d.get("description", ""),
    )


class Outbox:
    def __init__(
        self,
        backend: WorklistBackend,
        owner: str,
        path: Path | str | None = None,
        on_failure: Callable[[Failure], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[int], None] | None = None,
        profile_name: str = "",
        description: str = "",
        backoff: Backoff | None = None,
        on_sent: Callable[[str, str, str], None] | None = None,
        on_held: Callable[[str], None] | None = None,
    ) -> None:
        self.backend = backend
        self.store = ClaimStore(path, owner, profile_name, description)
        self.send_lock = SendLock(self.store.path, owner)
        self.on_failure = on_failure
        self.on_change = on_change  # told the number of waiting operations whenever it changes
        self.on_sent = on_sent  # told (uid, kind, sentence) when an operation that had waited is sent
        self.on_held = on_held  # told the server's refusal when sending stops for it
        self.held: str | None = None  # why nothing is sent until `release` (a refusal of who we are)
        self.clock = clock  # monotonic: when the next attempt is due
        self.backoff = backoff or Backoff()
        self.attempts = 0  # attempts that found the server away, since this outbox opened
        self._lock = asyncio.Lock()
        # procedures whose reports the technologist was told are saved (or that waited across a
        # restart): each report of theirs is announced when it goes, in place of "saved"
        self._waited: set[str] = self.store.pending_uids()
        self._due = 0.0
        self._busy_elsewhere = False
        self._wake: asyncio.Event | None = None

    @property
    def path(self) -> Path:
        return self.store.path

    @property
    def db(self):  # the tests simulate crashes on the file itself
        return self.store.db

    def close(self) -> None:
        self.send_lock.release()
        self.store.close()

    # -- what is kept --------------------------------------------------------------------------
    def claim_of(self, uid: str) -> Claim | None:
        return self.store.claim_of(uid)

    def active_claims(self) -> list[Claim]:
        """Procedures this console had in progress: what start-up offers to resume."""
        return self.store.active_claims()

    def pending(self, uid: str | None = None) -> int:
        return self.store.pending(uid)

    def final_pending(self, uid: str) -> str | None:
        return self.store.final_pending(uid)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self.store.pending())

    # -- what the technologist does ------------------------------------------------------------------
    async def claim(self, workitem: Workitem) -> Delivery:
        """Start a procedure. A refusal (someone else has it) raises at once and keeps nothing."""
        if self.store.claim_of(workitem.uid) is None:
            self.store.add_claim(
                workitem.uid,
                new_uid(),
                workitem.patient_name.display(),
                workitem.label,
                self.backend.claim_record(workitem),
            )
            self._changed()
        return await self.flush_for(workitem.uid)

    async def progress(self, uid: str, percent: float | None, description: str) -> Delivery:
        self._require_open(uid)
        self.store.enqueue(uid, "progress", {"percent": percent, "description": description})
        self._changed()
        return await self.flush_for(uid)

    async def performed(self, uid: str, performed: PerformedProcedure) -> Delivery:
        self._require_open(uid)
        self.store.enqueue(uid, "performed", {"performed": performed_to_json(performed)})
        self._changed()
        return await self.flush_for(uid)

    async def complete(self, workitem: Workitem, performed: PerformedProcedure) -> Delivery:
        """Complete a procedure this console started."""
        self._require_open(workitem.uid)
        self.store.enqueue(workitem.uid, "complete", {"performed": performed_to_json(performed)})
        self._changed()
        return await self.flush_for(workitem.uid)

    async def complete_unstarted(self, workitem: Workitem, performed: PerformedProcedure) -> Delivery:
        """Document a procedure after the fact: claim it, then complete it — asked for explicitly."""
        if self.store.claim_of(workitem.uid) is None:
            await self.claim(workitem)  # a refusal raises here and nothing is completed
        return await self.complete(workitem, performed)

    async def discontinue(self, workitem: Workitem, reason: Code, text: str) -> Delivery:
        self._require_open(workitem.uid)
        self.store.enqueue(workitem.uid, "discontinue", {"reason": asdict(reason), "text": text})
        self._changed()
        return await self.flush_for(workitem.uid)

    async def put_back(self, workitem: Workitem, text: str = "", replacement: str | None = None) -> Delivery:
        """Undo a start made by mistake. The replacement's UID is chosen now and kept with the
        operation, so that a retry after a lost answer never puts the order back twice."""
        self._require_open(workitem.uid)
        self.store.enqueue(workitem.uid, "put_back", {"replacement": replacement or new_uid(), "text": text})
        self._changed()
        return await self.flush_for(workitem.uid)

    def _require_open(self, uid: str) -> Claim:
        """Only a procedure this console started, and has not already ended, takes reports."""
        claim = self.store.claim_of(uid)
        if claim is None:
            raise BackendError("Start the procedure before reporting on it.")
        final = self.store.final_pending(uid)
        if final is not None:
            raise BackendError(f"{KIND_NAMES[final]} of {claim.what()} is already waiting to be sent.")
        return claim

    # -- sending -------------------------------------------------------------------------------
    async def flush_for(self, uid: str) -> Delivery:
        """Send what waits (in order, everything before it too); report on `uid`'s operations."""
        await self.flush(raise_for=uid)
        waiting = self.store.last_error(uid)
        if waiting is None:
            return Delivery(True)
        self._waited.add(uid)
        claim = self.store.known_claim(uid)
        what = (
            f"{KIND_NAMES.get(self.store.last_kind(uid) or '', 'The report')} of "
            f"{claim.what() if claim else 'this procedure'}"
        )
        if self.held is not None:
            return Delivery(
                False,
                f"{what} is kept on this console: the worklist server does not accept this profile (see the "
                "red message). It is sent when the profile is changed in Settings, or when you press Try again.",
                held=True,
            )
        if self._busy_elsewhere:
            return Delivery(
                False,
                f"{what} is saved on this console; another console of this station on this "
                "computer is sending the reports.",
            )
        reason = f" ({waiting.rstrip('.')})" if waiting else ""
        return Delivery(
            False, f"{what} is saved on this console; it will be sent when the server is reachable{reason}."
        )

    async def flush(self, raise_for: str | None = None) -> int:
        """Send pending operations in order until one cannot be delivered; returns how many were sent.

        A refusal of an operation on `raise_for` is raised to the caller; other refusals are
        reported through `on_failure`.
        """
        async with self._lock:
            if self.held is not None:
                return 0
            self._busy_elsewhere = not self.send_lock.acquire()
            if self._busy_elsewhere:
                self._due = self.clock() + BUSY_RETRY
                log.info("Outbox: another console of this station is sending; trying again in %.0f s", BUSY_RETRY)
                return 0
            try:
                return await self._send_all(raise_for)
            finally:
                self.send_lock.release()

    async def _send_all(self, raise_for: str | None) -> int:
        sent = 0
        while (op := self.store.next_operation()) is not None:
            claim = self.store.claim_of(op.uid)
            try:
                if claim is None:
                    known = self.store.known_claim(op.uid)
                    what = known.what() if known else op.uid
                    raise BackendError(f"The claim on {what} is no longer held by this console.")
                await self._send(op, claim.transaction_uid)
            except NotPermitted as exc:
                if op.kind == "claim" and op.uid == raise_for and not op.attempts and op.uid not in self._waited:
                    # a start refused as it is made: nothing was started, and the technologist sees why
                    log.warning("Outbox: the start of %s refused: %s", op.uid, exc.detail or exc.sentence)
                    self.store.failed(op, exc.sentence)
                    self._changed()
                    raise
                self._hold(op, exc)
                return sent
            except BackendError as exc:
                if exc.retryable:  # by the error's class, never by its sentence
                    self._retry_later(op, exc)
                    return sent
                self._fail(op, exc)
                if op.uid == raise_for:
                    raise
                continue
            self.store.sent(op)
            sent += 1
            self._changed()
            waited = op.attempts or op.uid in self._waited
            if not self.store.pending(op.uid):
                self._waited.discard(op.uid)
            if waited and self.on_sent is not None:  # it had waited: say it went, in place of "saved"
                known = self.store.known_claim(op.uid)
                self.on_sent(
                    op.uid,
                    op.kind,
                    f"Sent: {KIND_NAMES[op.kind].lower()} of {known.what() if known else 'the procedure'}.",
                )
        self.backoff.reset()
        return sent

    def _retry_later(self, op: Operation, exc: BackendError) -> None:
        self.store.waits(op, exc.sentence)
        self.attempts += 1
        delay = self.backoff.next_delay()
        self._due = self.clock() + delay
        log.info(
            "Outbox: %s of %s waits; next attempt in %.1f s (%s)", op.kind, op.uid, delay, exc.detail or exc.sentence
        )
        self._changed()

    def _hold(self, op: Operation, exc: NotPermitted) -> None:
        self.store.waits(op, exc.sentence)
        self.held = exc.sentence
        log.warning(
            "Outbox: %s of %s kept, sending stopped until the profile changes: %s",
            op.kind,
            op.uid,
            exc.detail or exc.sentence,
        )
        self._changed()
        if self.on_held is not None:
            self.on_held(exc.sentence)

    def release(self) -> None:
        """The technologist asks to send again what a refusal of who we are holds."""
        self.held = None
        self.kick()

    def _fail(self, op: Operation, exc: BackendError) -> None:
        log.warning("Outbox: %s of %s refused: %s", op.kind, op.uid, exc.detail or exc.sentence)
        self.store.failed(op, exc.sentence)
        self._changed()
        if self.on_failure:
            claim = self.store.known_claim(op.uid)
            what = claim.what() if claim else ""
            sentence = exc.sentence if not what or what in exc.sentence else f"{what}: {exc.sentence}"
            self.on_failure(Failure(op.uid, op.kind, sentence))

    async def _send(self, op: Operation, transaction_uid: str) -> None:
        b, uid, payload = self.backend, op.uid, op.payload
        if op.kind == "claim":
            await b.claim(uid, transaction_uid, payload.get("record"))
        elif op.kind == "progress":
            await b.report_progress(uid, transaction_uid, payload["percent"], payload["description"])
        elif op.kind == "performed":
            await b.set_performed(uid, transaction_uid, performed_from_json(payload["performed"]))
        elif op.kind == "complete":
            await b.complete(uid, transaction_uid, performed_from_json(payload["performed"]))
        elif op.kind == "discontinue":
            await b.discontinue(uid, transaction_uid, Code(**payload["reason"]), payload["text"])
        elif op.kind == "put_back":
            await b.put_back(uid, transaction_uid, payload["replacement"], payload["text"])
        else:
            raise BackendError(f"Unknown outbox operation {op.kind!r}.")

    # -- in the background ---------------------------------------------------------------------------
    def next_attempt_in(self) -> float | None:
        """Seconds until the next attempt; None when nothing waits."""
        if not self.store.pending():
            return None
        return max(0.0, self._due - self.clock())

    def kick(self) -> None:
        """The server is back: try at once, and start the backoff again from its shortest step.
        What a refusal holds stays held (`release`)."""
        self.backoff.reset()
        self._due = 0.0
        if self._wake is not None:
            self._wake.set()

    async def run(self) -> None:
        """Retry in the background, forever (cancel to stop): one attempt when due, never a loop
        that spins while the server is away."""
        self._wake = asyncio.Event()
        while True:
            wait = self.next_attempt_in()
            if self.held is not None or wait is None or wait > 0:
                self._wake.clear()
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation that
                # meets its timeout, and the console then never finishes closing
                with contextlib.suppress(TimeoutError):
                    held_or_idle = wait is None or self.held is not None
                    async with asyncio.timeout(IDLE_CHECK if held_or_idle else min(wait or 0.0, IDLE_CHECK)):
                        await self._wake.wait()
                continue
            with contextlib.suppress(BackendError):  # refusals were reported through on_failure
                await self.flush()
            if self.store.pending() and self._due <= self.clock():
                self._due = self.clock() + self.backoff.next_delay()  # never spin, whatever happened
