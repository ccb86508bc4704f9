"""The sentences of the banners that must not be missed: an urgent order, a cancellation
request, what the console left in progress or waiting when it last stopped. HTML, each
naming the patient and the procedure."""

from __future__ import annotations

from datetime import date

from app.console import Claim, Waiting, named, plural
from app.domain.events import WorkitemEvent
from app.domain.workitem import Workitem

from .rich_text import plain
from .worklist_model import scheduled_time


def urgent_order(w: Workitem) -> str:
    start = w.scheduled_start()
    # another day's order names its day: at 23:59, "scheduled 00:03" read as tonight's
    when = f", scheduled {scheduled_time(start, date.today())}" if start else ""
    stations = ", ".join(c.value for c in w.station_names)
    priority = w.priority.value if w.priority else "HIGH"
    return f"<b>Urgent order</b>: {plain(named(w))} ({priority}{when}{', ' + plain(stations) if stations else ''})."


def urgent_orders(orders: list[Workitem]) -> str:
    """One line for every urgent order announced and not shown yet."""
    if len(orders) == 1:
        return urgent_order(orders[0])
    patients = "; ".join(plain(w.patient_name.display()) for w in orders)
    return f"<b>{len(orders)} urgent orders</b>: {patients}."


def cancellation_request(event: WorkitemEvent, w: Workitem | None) -> str:
    """Who asked, why (the coded reason and the requester's words), and whom to call."""
    what = plain(named(w)) if w else plain(event.workitem_uid)
    code = f"{plain(event.reason_code.meaning)} ({plain(event.reason_code.value)})" if event.reason_code else ""
    reasons = " — ".join(p for p in (code, plain(event.reason_text)) if p)
    contact = " ".join(p for p in (plain(event.contact), plain(event.contact_uri)) if p)
    return (
        f"<b>Cancellation requested</b> by <b>{plain(event.requester)}</b> for your procedure {what}."
        + (f"<br>Reason: {reasons}." if reasons else "")
        + (f" Contact: {contact}." if contact else "")
    )


def patient_merged(w: Workitem, survivor: str) -> str:
    """A procedure held here now belongs to another Patient ID: whatever the technologist labels
    from now on (images, reports) must carry the new one."""
    return (
        f"<b>Patient merged</b> — {plain(named(w))}. The RIS merged this patient into <b>{plain(survivor)}</b>: "
        "the procedure continues under the new patient ID."
    )


def more(items: list) -> str:
    return f" and {len(items) - 1} more" if len(items) > 1 else ""


def ending_waits(first: Claim, kind: str, waiting: list[Claim]) -> str:
    what = {"complete": "completion", "put_back": "return to the worklist"}.get(kind, "discontinuation")
    return (
        f"The {what} of {plain(first.what())}{more(waiting)} is waiting to be sent; it is sent as soon as the "
        "server answers."
    )


def in_progress_at_last_stop(running: list[Claim]) -> str:
    return f"<b>Procedure in progress</b> when the console last stopped: {plain(running[0].what())}{more(running)}."


def waiting_elsewhere(other: Waiting) -> str:
    verb = "waits" if other.count == 1 else "wait"
    return (
        f"{plural(other.count, 'report')} of {plain(other.where())} {verb} to be sent; they are sent while that "
        "profile is open."
    )
