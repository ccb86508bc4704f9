"""Why a key did nothing: F6 to F9 pressed for a procedure they cannot act on now (not
started, another station's, already ended) are answered with a sentence instead of silence."""

from __future__ import annotations

from app.domain.states import State
from app.domain.workitem import Workitem

from .sentences import named

NOTHING = {
    "start": "Nothing was started",
    "progress": "No progress was reported",
    "complete": "Nothing was completed",
    "discontinue": "Nothing was discontinued",
    "cancel": "No cancellation was requested",
}
ENDINGS = {"complete": "The completion", "discontinue": "The discontinuation"}
NOT_STARTED = {
    "progress": "Start it first (F6).",
    "complete": "Start it first (F6), or Procedure → Complete without starting… to document it after the fact.",
    "discontinue": "Start it first (F6); to take it off the worklist, Request cancellation (Shift+F9).",
}
ONLY_THE_HOLDER = {
    "progress": "only {who} reports its progress.",
    "complete": "only {who} can complete it.",
    "discontinue": "only {who} can discontinue it; Request cancellation (Shift+F9) asks it to stop.",
}


def why_not(
    action: str,
    w: Workitem | None,
    mine: bool = False,
    waiting: str | None = None,
    holder: str = "",
    can_request_cancellation: bool = True,
) -> str:
    """The sentence for `action` ("start", "progress", "complete", "discontinue", "cancel") that
    cannot act on `w`: `mine` this station holds its claim, `waiting` an end of it waits to be
    sent, `holder` the station performing it when another one does."""
    nothing = NOTHING[action]
    if w is None:
        return f"{nothing}: select a procedure first."
    what = named(w)
    if waiting:
        return f"{nothing}: {ENDINGS.get(waiting, 'The end')} of {what} is already waiting to be sent."
    if w.state is not None and w.state.is_final:
        return f"{nothing}: {what} is already {w.state.value}."
    if action == "cancel":
        if not can_request_cancellation:
            return f"{nothing}: MWL/MPPS has no cancellation request; ask the RIS to cancel the order."
        if mine:
            return f"{nothing}: {what} is performed on this station; Discontinue (F9) stops it."
    elif w.state is State.IN_PROGRESS and not mine:
        who = holder or "another station"
        if action == "start":
            return f"{nothing}: {what} is performed by {who}."
        return f"{nothing}: {what} is performed by {who}; " + ONLY_THE_HOLDER[action].format(who=who)
    elif mine and action == "start":
        return f"{nothing}: {what} is already started on this station."
    elif w.state is State.SCHEDULED and not mine and action in NOT_STARTED:
        return f"{nothing}: {what} has not been started. {NOT_STARTED[action]}"
    return f"{nothing}: that is not possible for {what} now."
