"""The console's session with one worklist provider, as Qt signals.

It owns the backend, the outbox and the event channel, runs their coroutines on the
qasync loop, and turns every outcome into a signal the widgets listen to. A
BackendError becomes a sentence on `message`; the detail goes to the log.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.backends import make_backend
from app.backends.errors import BackendError
from app.backends.outbox import Delivery, Failure, Outbox
from app.backends.profiles import Profile
from app.backends.protocol import Exchange
from app.domain.build import NewWorkitem
from app.domain.events import EventType, WorkitemEvent
from app.domain.procedure import PerformedProcedure
from app.domain.workitem import Code, Workitem
from app.domain.worklist_query import WorklistQuery

log = logging.getLogger(__name__)


class Session(QObject):
    worklist = Signal(list)  # list[Workitem], after a search
    workitem_changed = Signal(object)  # Workitem, after an event or an action
    busy = Signal(bool, str)
    message = Signal(str, str)  # (level: info|warning|error, sentence)
    connection = Signal(bool, str)
    event = Signal(object)  # WorkitemEvent
    exchange = Signal(object)  # Exchange
    pending = Signal(int)
    cancel_requested = Signal(object)  # WorkitemEvent for a procedure this console performs
    refreshed = Signal(object)  # datetime

    def __init__(self, profile: Profile, outbox_path: Path | None = None) -> None:
        super().__init__()
        self.profile = profile
        self.query = WorklistQuery.today(profile.station_code)
        self.backend = make_backend(profile, self._observe)
        self.outbox = Outbox(self.backend, profile.name, outbox_path, on_failure=self._on_failure,
                             on_change=self.pending.emit)
        self.connected = False
        self._tasks: set[asyncio.Task] = set()
        self._closed = False

    # -- running coroutines ----------------------------------------------------------------
    def spawn(self, coro: Coroutine[Any, Any, Any], busy: str = "") -> asyncio.Task:
        task = asyncio.ensure_future(self._guard(coro, busy))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _guard(self, coro: Coroutine[Any, Any, Any], busy: str) -> Any:
        if busy:
            self.busy.emit(True, busy)
        try:
            return await coro
        except BackendError as exc:
            log.warning("%s (%s)", exc.sentence, exc.detail)
            self.message.emit("error", exc.sentence)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("Unexpected failure")
            self.message.emit("error", "Something went wrong; the details are in the log.")
        finally:
            if busy:
                self.busy.emit(False, "")
        return None

    def start(self) -> None:
        """Query, listen for events, keep the outbox flowing."""
        self.refresh()
        if self.backend.capabilities.live_events:
            self._tasks.add(asyncio.ensure_future(self.backend.watch(self._on_event, self._on_connection)))
        else:  # no events (MWL/MPPS): poll, and say so
            self.connection.emit(False, " ".join(self.backend.capabilities.notes))
            self._tasks.add(asyncio.ensure_future(self._poll()))
        self._tasks.add(asyncio.ensure_future(self._outbox_loop()))
        self.pending.emit(self.outbox.pending())

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(max(2.0, self.profile.poll_seconds))
            await self._guard(self._refresh(), "")

    async def _outbox_loop(self) -> None:
        while True:
            try:
                await self.outbox.run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Outbox loop failed; restarting it")
                await asyncio.sleep(1)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.backend.close()
        self.outbox.close()

    # -- the worklist -------------------------------------------------------------------------
    def refresh(self, query: WorklistQuery | None = None) -> asyncio.Task:
        if query is not None:
            self.query = query
        return self.spawn(self._refresh(), "Searching the worklist…")

    async def _refresh(self) -> None:
        items = await self.backend.search(self.query)
        self.worklist.emit(items)
        self.refreshed.emit(datetime.now())

    async def _reload(self, uid: str) -> Workitem:
        item = await self.backend.retrieve(uid)
        self.workitem_changed.emit(item)
        return item

    # -- what the technologist does -------------------------------------------------------------
    def _report(self, delivery: Delivery, done: str) -> None:
        if delivery.sent:
            self.message.emit("info", done)
        else:
            self.message.emit("warning", delivery.sentence)

    def _deliver(self, uid: str, operation: Coroutine[Any, Any, Delivery], done: str, busy: str) -> asyncio.Task:
        """Run an outbox operation; say whether it was sent or kept, and show the result."""
        async def run() -> None:
            delivery = await operation
            self._report(delivery, done)
            if delivery.sent:
                await self._reload(uid)
        return self.spawn(run(), busy)

    def claim(self, workitem: Workitem) -> asyncio.Task:
        return self._deliver(workitem.uid, self.outbox.claim(workitem),
                             f"Started: {workitem.label} for {workitem.patient_name.display()}.", "Starting the procedure…")

    def report_progress(self, workitem: Workitem, percent: float | None, description: str) -> asyncio.Task:
        done = f"Progress reported: {percent:.0f} %." if percent is not None else "Progress reported."
        return self._deliver(workitem.uid, self.outbox.progress(workitem.uid, percent, description), done,
                             "Reporting progress…")

    def complete(self, workitem: Workitem, performed: PerformedProcedure) -> asyncio.Task:
        return self._deliver(workitem.uid, self.outbox.complete(workitem, performed),
                             f"Completed: {workitem.label} for {workitem.patient_name.display()}.", "Completing…")

    def discontinue(self, workitem: Workitem, reason: Code, text: str) -> asyncio.Task:
        return self._deliver(workitem.uid, self.outbox.discontinue(workitem, reason, text),
                             f"Discontinued: {reason.meaning}.", "Discontinuing…")

    def request_cancellation(self, workitem: Workitem, reason: Code | None, text: str) -> asyncio.Task:
        async def run() -> None:
            await self.backend.request_cancellation(workitem.uid, reason, text)
            self.message.emit("info", "Cancellation requested; the performing station has been notified.")
            await self._reload(workitem.uid)
        return self.spawn(run(), "Requesting cancellation…")

    def create_unscheduled(self, item: NewWorkitem, start: bool = True) -> asyncio.Task:
        async def run() -> Workitem:
            created = await self.backend.create(item)
            self.workitem_changed.emit(created)
            if start:
                delivery = await self.outbox.claim(created)
                self._report(delivery, f"Unscheduled procedure started for {created.patient_name.display()}.")
                if delivery.sent:
                    created = await self._reload(created.uid)
            return created
        return self.spawn(run(), "Creating the unscheduled procedure…")

    def is_mine(self, uid: str) -> bool:
        return self.outbox.claim_of(uid) is not None

    # -- from the backend ---------------------------------------------------------------------
    def _observe(self, exchange: Exchange) -> None:
        self.exchange.emit(exchange)

    def _on_failure(self, failure: Failure) -> None:
        self.message.emit("error", failure.sentence)

    def _on_connection(self, up: bool, sentence: str) -> None:
        was = self.connected
        self.connected = up
        self.connection.emit(up, sentence)
        if up and not was:
            self.refresh()  # re-query so nothing missed while away stays missed
            self.spawn(self.outbox.flush())

    def _on_event(self, event: WorkitemEvent) -> None:
        self.event.emit(event)
        if event.event_type is EventType.CANCEL_REQUESTED and self.is_mine(event.workitem_uid):
            self.cancel_requested.emit(event)
        if event.event_type in (EventType.STATE_REPORT, EventType.PROGRESS_REPORT, EventType.ASSIGNED,
                                EventType.CANCEL_REQUESTED):
            self.spawn(self._reload(event.workitem_uid))
        elif event.event_type is EventType.SCP_STATUS_CHANGE and event.scp_status == "RESTARTED":
            self.refresh()
