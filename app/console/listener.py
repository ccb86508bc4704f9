"""What a workflow tells whoever shows it. Every method does nothing by default, so a listener
overrides only what it shows; the window's adapter turns each into a Qt signal."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from app.backends.protocol import Exchange
from app.domain.events import WorkitemEvent
from app.domain.workitem import Workitem


class WorkflowListener:
    def worklist(self, items: list[Workitem]) -> None:
        """A search's result, this console's procedures in progress included."""

    def workitem_changed(self, item: Workitem) -> None:
        """One workitem as it is now, after an event or an action."""

    def busy(self, on: bool, text: str) -> None:
        """Work started (with what it is) or ended."""

    def message(self, level: str, sentence: str, key: str) -> None:
        """A sentence for the technologist; level is info, warning or error. The key groups news
        about one thing (the connection, one procedure), the newer replacing the older."""

    def connection(self, up: bool, sentence: str) -> None:
        """The server's reachability and how live the view is."""

    def workitem_event(self, event: WorkitemEvent, item: Workitem | None) -> None:
        """An event from the server, with its workitem where the console knows it."""

    def action(self, text: str) -> None:
        """What this console did, for the event log."""

    def exchange(self, exchange: Exchange) -> None:
        """One request and its answer, for the protocol inspector."""

    def pending(self, count: int) -> None:
        """How many reports wait to be sent."""

    def cancel_requested(self, event: WorkitemEvent) -> None:
        """Someone asks to stop a procedure this console performs."""

    def refreshed(self, when: datetime) -> None:
        """The list was searched again."""

    def progress_sent(self, uid: str) -> None:
        """A progress report was handed over (sent or kept to send)."""


class Listeners(WorkflowListener):
    """Tells every listener added, in the order they were added."""

    def __init__(self, listeners: Iterable[WorkflowListener] = ()) -> None:
        self._all = list(listeners)

    def worklist(self, items: list[Workitem]) -> None:
        for each in self._all:
            each.worklist(items)

    def workitem_changed(self, item: Workitem) -> None:
        for each in self._all:
            each.workitem_changed(item)

    def busy(self, on: bool, text: str) -> None:
        for each in self._all:
            each.busy(on, text)

    def message(self, level: str, sentence: str, key: str) -> None:
        for each in self._all:
            each.message(level, sentence, key)

    def connection(self, up: bool, sentence: str) -> None:
        for each in self._all:
            each.connection(up, sentence)

    def workitem_event(self, event: WorkitemEvent, item: Workitem | None) -> None:
        for each in self._all:
            each.workitem_event(event, item)

    def action(self, text: str) -> None:
        for each in self._all:
            each.action(text)

    def exchange(self, exchange: Exchange) -> None:
        for each in self._all:
            each.exchange(exchange)

    def pending(self, count: int) -> None:
        for each in self._all:
            each.pending(count)

    def cancel_requested(self, event: WorkitemEvent) -> None:
        for each in self._all:
            each.cancel_requested(event)

    def refreshed(self, when: datetime) -> None:
        for each in self._all:
            each.refreshed(when)

    def progress_sent(self, uid: str) -> None:
        for each in self._all:
            each.progress_sent(uid)
