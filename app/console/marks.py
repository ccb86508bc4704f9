"""What the worklist marks on a row of this console's procedures, and what it offers to resume
at start-up: worked out from the claim store's answers, without Qt, so that every view says
the same."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.backends.claim_store import Claim
from app.domain.events import WorkitemEvent
from app.domain.workitem import Workitem

# the state a procedure shows while its ending waits to be sent: the server still says IN PROGRESS
WAITING_STATE = {"complete": "COMPLETING", "discontinue": "STOPPING", "put_back": "PUTTING BACK"}


def row_marks(
    mine: set[str], ending: Mapping[str, str], cancel_requests: Mapping[str, WorkitemEvent]
) -> dict[str, tuple[str, str]]:
    """uid → (state shown, tooltip): an ending waiting to be sent outranks a cancellation request,
    which the technologist has seen in its banner already."""
    marks: dict[str, tuple[str, str]] = {}
    for uid in mine:
        kind = ending.get(uid)
        if kind:
            marks[uid] = (WAITING_STATE[kind], f"{WAITING_STATE[kind].title()}: waiting to be sent")
    for uid, request in cancel_requests.items():
        if uid not in marks:
            marks[uid] = (
                "",
                f"Cancellation requested by {request.requester}" + (f": {request.reason}" if request.reason else ""),
            )
    return marks


def merged_into(before: Workitem | None, now: Workitem) -> str | None:
    """The surviving Patient ID when a procedure changed patient (the RIS merged its patient), as
    the console holding it must say: the procedure goes on, under another ID. None otherwise."""
    if before is None or not before.patient_id or now.patient_id == before.patient_id:
        return None
    return now.patient_id or None


@dataclass(frozen=True)
class ResumeOffer:
    """What the console left behind when it last stopped: procedures still running here, and those
    whose ending waits to be sent (`waiting_kind` is the first one's)."""

    running: tuple[Claim, ...] = ()
    waiting: tuple[Claim, ...] = ()
    waiting_kind: str = "complete"


def resume_offer(claims: Sequence[Claim], ending: Mapping[str, str]) -> ResumeOffer:
    waiting = tuple(c for c in claims if ending.get(c.uid))
    running = tuple(c for c in claims if c not in waiting)
    return ResumeOffer(running, waiting, ending.get(waiting[0].uid, "complete") if waiting else "complete")


def outlived_offers(mine: set[str], ending: Mapping[str, str], resumable: set[str]) -> tuple[bool, bool]:
    """(the offer to resume, the notice of endings waiting) have nothing left to say: nothing
    offered is still running here, nothing of this console's waits to be sent."""
    running = {uid for uid in mine if not ending.get(uid)}
    return not running & resumable, not any(ending.get(uid) for uid in mine)
