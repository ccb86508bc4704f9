"""Urgent orders that newly reach this station, said once, all in one banner line.

An order is announced when it appears by an event (created, assigned here, its priority
raised) or, on a polled server, when it appears between two answers to the same search — never
because a new day's list or another search holds it (it was there before: the technologist
sees it at the top of the list). Several waiting notices are one line ("3 urgent orders"),
and Show takes them one at a time; an order that stops being urgent (started, canceled)
leaves the line by itself.
"""

from __future__ import annotations

from collections.abc import Callable

from app.domain.states import State
from app.domain.workitem import Workitem
from app.domain.worklist_query import WorklistQuery

from . import notices
from .messages import MessageStack
from .worklist_model import is_urgent

KEY = "urgent"


class UrgentOrders:
    def __init__(self, messages: MessageStack, show: Callable[[Workitem], None]) -> None:
        self.messages = messages
        self.show = show
        self.waiting: dict[str, Workitem] = {}  # announced, not shown yet, in the order they came
        self.announced: set[str] = set()  # each order is announced once in a console's life

    def announce(self, w: Workitem) -> None:
        if w.uid in self.announced:
            return
        if KEY not in self.messages.banners:  # dismissed, by the technologist or to make room
            self.waiting.clear()
        self.announced.add(w.uid)
        self.waiting[w.uid] = w
        self._say()

    def changed(self, w: Workitem) -> None:
        """A waiting order as it now is: no longer urgent (started, canceled), it leaves the line."""
        if w.uid in self.waiting:
            if is_urgent(w):
                self.waiting[w.uid] = w
            else:
                del self.waiting[w.uid]
            self._say()

    def _say(self) -> None:
        if not self.waiting:
            self.messages.dismiss(KEY)
            return
        orders = list(self.waiting.values())
        self.messages.show_message(
            KEY,
            notices.urgent_orders(orders),
            "warning",
            "Show",
            self._show_next,
            keep=True,
            object_name="urgentBanner",
        )

    def _show_next(self) -> None:
        uid = next(iter(self.waiting), None)
        if uid is None:
            return
        w = self.waiting.pop(uid)
        self._say()
        self.show(w)


def newly_urgent(before: Workitem | None, now: Workitem) -> bool:
    """Urgent now and not before: created, or its priority raised."""
    return is_urgent(now) and (before is None or not is_urgent(before))


def filters_leaving_out(query: WorklistQuery) -> str:
    """The filters of a search, other than its station and dates, that may leave an order out."""
    named = [
        ("the patient name", query.patient_name),
        ("the patient ID", query.patient_id),
        ("the accession number", query.accession),
        ("the modality", query.modality),
    ]
    used = [name for name, value in named if value]
    if query.states and State.SCHEDULED not in query.states:  # an urgent order is one nobody started
        used.append("the state")
    return ", ".join(used)
