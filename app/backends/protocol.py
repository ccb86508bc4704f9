"""The one interface the console talks to, whatever the protocol behind it.

It speaks in domain objects: WorklistQuery in, Workitem and WorkitemEvent out. UPS-RS
(upsrs.py) and MWL + MPPS (dimse.py) implement it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from app.domain.build import NewWorkitem
from app.domain.events import WorkitemEvent
from app.domain.procedure import PerformedProcedure
from app.domain.workitem import Code, Workitem
from app.domain.worklist_query import WorklistQuery


@dataclass(frozen=True)
class Exchange:
    """One message as the protocol inspector shows it."""

    when: datetime
    direction: str  # "→" request, "←" response, "⇐" event
    summary: str  # e.g. "PUT …/workitems/1.2.3/state" or "200 OK"
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""
    elapsed_ms: float | None = None


Observer = Callable[[Exchange], None]
EventSink = Callable[[WorkitemEvent], None]
ConnectionSink = Callable[[bool, str], None]  # (connected, sentence)


@dataclass(frozen=True)
class PeerCheck:
    """What one configured peer does, in a sentence an installer can act on."""

    ok: bool
    sentence: str

    def line(self) -> str:
        return f"{'✓' if self.ok else '✗'} {self.sentence}"


@dataclass
class Capabilities:
    live_events: bool = True
    cancel_request: bool = True
    # a put-back creates the replacement step (UPS-RS); else the RIS keeps the order (MWL + MPPS)
    put_back_replaces: bool = True
    notes: list[str] = field(default_factory=list)


@runtime_checkable
class WorklistBackend(Protocol):
    capabilities: Capabilities

    async def search(self, query: WorklistQuery) -> list[Workitem]: ...

    async def retrieve(self, uid: str) -> Workitem: ...

    def claim_record(self, workitem: Workitem) -> dict:
        """What this backend needs to claim `workitem` later — after a restart, before any
        search (an MPPS copies the worklist entry as the peer sent it). JSON; kept with the claim."""
        ...

    async def claim(self, uid: str, transaction_uid: str, record: dict | None = None) -> None:
        """Claim `uid` with this Transaction UID (an MPPS SOP Instance UID over DIMSE)."""
        ...

    async def report_progress(
        self, uid: str, transaction_uid: str, percent: float | None, description: str
    ) -> None: ...

    async def set_performed(self, uid: str, transaction_uid: str, performed: PerformedProcedure) -> None: ...

    async def complete(self, uid: str, transaction_uid: str, performed: PerformedProcedure) -> None: ...

    async def discontinue(self, uid: str, transaction_uid: str, reason: Code, text: str) -> None: ...

    async def put_back(self, uid: str, transaction_uid: str, replacement_uid: str, text: str) -> None:
        """Undo a start made by mistake: the step ends with the reason "Incorrect worklist entry
        selected" and the order goes back on the worklist — over UPS-RS as a new SCHEDULED step
        `replacement_uid` that names the canceled one; over MWL + MPPS as a DISCONTINUED MPPS, the
        RIS keeping the order. Safe to repeat after an answer was lost."""
        ...

    async def request_cancellation(self, uid: str, reason: Code | None, text: str) -> None: ...

    async def create(self, item: NewWorkitem) -> Workitem: ...

    async def watch(self, on_event: EventSink, on_connection: ConnectionSink) -> Awaitable[None] | None: ...

    async def follow(self, station: str) -> None:
        """Ask for live events of this station's worklist ('' for every station's)."""
        ...

    async def check_peers(self) -> list[PeerCheck]:
        """Each configured peer checked on its own; never raises BackendError."""
        ...

    async def close(self) -> None: ...
