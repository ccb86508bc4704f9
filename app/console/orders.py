"""What becomes of the order when a started procedure stops, in the technologist's words, and
when a start made by mistake may be put back on the worklist.

Over UPS-RS the console owns the step: canceling it ends it for good, and only a replacement it
creates brings the order back. Over MWL + MPPS the console only reports the step (the MPPS): the
RIS owns the order and decides, so the sentences say what is reported and what the RIS does.
"""

from __future__ import annotations

from app.domain.replacement import is_wrong_entry
from app.domain.states import State
from app.domain.workitem import Code, Workitem

# CID 9300 reasons saying the order itself is void or wrong: nothing is left to perform
ORDER_VOID = frozenset({"110500", "110502", "110504", "110509", "110510", "110511", "110512"})

PUT_BACK_REPLACES = "The order goes back on the worklist as a new scheduled step; the started step is canceled."
PUT_BACK_REPORTS = "The RIS keeps the order; this procedure step is reported discontinued."


def put_back_outcome(replaces: bool) -> str:
    """What Put back does, by protocol: `replaces` when the console creates the replacement (UPS-RS)."""
    return PUT_BACK_REPLACES if replaces else PUT_BACK_REPORTS


def discontinue_outcome(reason: Code | None, replaces: bool) -> str:
    """What discontinuing with `reason` makes of the order, by protocol."""
    if reason is None:
        return "Choose a reason: it says what becomes of the order."
    if replaces:  # UPS-RS: the step is the order's only entry on the worklist
        if is_wrong_entry(reason):
            return (
                "The order is canceled and leaves the worklist. To keep it on the worklist for the right "
                "patient's turn, use Procedure → Put back on the worklist instead (only before any series)."
            )
        if reason.value in ORDER_VOID:
            return "The order is canceled and leaves the worklist; the RIS may send a corrected order."
        return (
            "The order is canceled and leaves the worklist; if the exam is still to be done, "
            "the RIS must schedule it again."
        )
    if is_wrong_entry(reason):
        return PUT_BACK_REPORTS
    if reason.value in ORDER_VOID:
        return "This procedure step is reported discontinued; the RIS ends or corrects the order."
    return "This procedure step is reported discontinued; the RIS decides whether the order is scheduled again."


def put_back_refusal(w: Workitem | None, mine: bool, waiting: str | None, series: int) -> str | None:
    """Why the shown procedure cannot be put back on the worklist; None when it can. `mine`: this
    console holds its claim; `waiting`: its end waits to be sent; `series`: the output series
    recorded for it (on the server or typed here)."""
    if w is None:
        return "Select the procedure to put back on the worklist."
    if w.state in (State.COMPLETED, State.CANCELED):
        return f"{w.label or 'This procedure'} is already {w.state.value}: it cannot go back on the worklist."
    if not mine:
        if w.state is State.SCHEDULED:
            return "This procedure is not started: it is on the worklist already."
        return "Only the station that started this procedure can put it back on the worklist."
    if waiting is not None:
        return "The end of this procedure is already waiting to be sent."
    if series:
        return (
            f"{series} series {'is' if series == 1 else 'are'} recorded for this procedure: images were made, "
            "so it cannot be put back — discontinue it instead (F9)."
        )
    return None


def series_recorded(w: Workitem) -> int:
    """The output series the server holds for `w`."""
    performed = w.performed
    return len(performed.series_uids) if performed else 0
