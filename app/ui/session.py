"""The console's workflow as Qt signals: a thin QObject around `app.console.Workflow`.

The workflow runs its coroutines on the qasync loop and tells its outcomes to listeners; this
adapter is one of them and re-emits each as a signal the widgets connect to. Blocking its
signals (a window being deleted) silences the workflow for that window.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.console import Capabilities, Exchange, Waiting, Workflow, WorkflowListener
from app.console.marks import ResumeOffer, outlived_offers
from app.console.profiles import Profile
from app.domain.build import NewWorkitem
from app.domain.draft import ProcedureDraft
from app.domain.events import WorkitemEvent
from app.domain.procedure import PerformedProcedure
from app.domain.workitem import Code, Workitem
from app.domain.worklist_query import WorklistQuery


class Session(QObject):
    worklist = Signal(list)  # list[Workitem], after a search (this console's procedures in progress included)
    workitem_changed = Signal(object)  # Workitem, after an event or an action
    busy = Signal(bool, str)
    message = Signal(str, str, str)  # (level: info|warning|error, sentence, key)
    connection = Signal(bool, str)
    workitem_event = Signal(object, object)  # WorkitemEvent, and its Workitem where the console knows it
    action = Signal(str)  # what this console did, for the event log
    exchange = Signal(object)  # Exchange
    pending = Signal(int)
    cancel_requested = Signal(object)  # WorkitemEvent for a procedure this console performs
    refreshed = Signal(object)  # datetime
    progress_sent = Signal(str)  # uid

    def __init__(self, profile: Profile, outbox_path: Path | None = None, owner: str | None = None) -> None:
        super().__init__()
        self.workflow = Workflow(profile, outbox_path, owner, listeners=(_Relay(self),))

    # -- what the window reads ------------------------------------------------------------------
    @property
    def profile(self) -> Profile:
        return self.workflow.profile

    @property
    def capabilities(self) -> Capabilities:
        return self.workflow.capabilities

    @property
    def outbox_path(self) -> Path:
        return self.workflow.outbox_path

    @property
    def query(self) -> WorklistQuery:
        return self.workflow.query

    @property
    def searched(self) -> WorklistQuery:
        """The query as the last search asked it: relative dates worked out at that moment."""
        return self.workflow.searched

    @property
    def listed_query(self) -> WorklistQuery | None:
        return self.workflow.listed_query

    @property
    def connected(self) -> bool:
        return self.workflow.connected

    @property
    def refused(self) -> str | None:
        """The server's refusal of who we are (HTTP 403), until asked again."""
        return self.workflow.refused

    @property
    def closed(self) -> bool:
        return self.workflow.closed

    @property
    def idle(self) -> bool:
        return self.workflow.idle

    def live_sentence(self) -> str:
        return self.workflow.live_sentence()

    def is_live(self) -> bool:
        return self.workflow.is_live()

    def is_mine(self, uid: str) -> bool:
        return self.workflow.is_mine(uid)

    def mine_in_progress(self) -> set[str]:
        return self.workflow.mine_in_progress()

    def procedure_state(self, w: Workitem) -> tuple[bool, float | None, str | None]:
        return self.workflow.procedure_state(w)

    def draft(self, uid: str) -> ProcedureDraft | None:
        return self.workflow.draft(uid)

    def waiting_elsewhere(self) -> list[Waiting]:
        return self.workflow.waiting_elsewhere()

    def kept_cancel_requests(self) -> list[WorkitemEvent]:
        return self.workflow.kept_cancel_requests()

    def pending_count(self) -> int:
        return self.workflow.pending_count()

    def ending_waits(self, uid: str) -> str | None:
        return self.workflow.ending_waits(uid)

    def row_marks(self, cancel_requests: dict[str, WorkitemEvent]) -> dict[str, tuple[str, str]]:
        return self.workflow.row_marks(cancel_requests)

    def outlived_offers(self, resumable: set[str]) -> tuple[bool, bool]:
        mine = self.workflow.mine_in_progress()
        return outlived_offers(mine, self.workflow.endings_waiting(mine), resumable)

    def resume_offer(self) -> ResumeOffer:
        return self.workflow.resume_offer()

    def waiting_to_send(self) -> list[tuple[str, str]]:
        return self.workflow.waiting_to_send()

    # -- what the window asks for (slots) -----------------------------------------------------------
    def start(self) -> None:
        self.workflow.start()

    async def close(self) -> None:
        await self.workflow.close()

    def spawn(self, work: Callable[[], Coroutine[Any, Any, Any]], busy: str = "", key: str = "error") -> asyncio.Future:
        return self.workflow.spawn(work, busy, key)

    def refresh(self, query: WorklistQuery | None = None) -> asyncio.Future:
        return self.workflow.refresh(query)

    def retry(self) -> None:
        self.workflow.retry()

    async def reload(self, uid: str) -> Workitem:
        return await self.workflow.reload(uid)

    async def retrieve(self, uid: str) -> Workitem:
        return await self.workflow.retrieve(uid)

    def claim(self, workitem: Workitem) -> asyncio.Future:
        return self.workflow.claim(workitem)

    def report_progress(self, workitem: Workitem, percent: float | None, description: str) -> asyncio.Future:
        return self.workflow.report_progress(workitem, percent, description)

    def complete(self, workitem: Workitem, performed: PerformedProcedure) -> asyncio.Future:
        return self.workflow.complete(workitem, performed)

    def complete_unstarted(self, workitem: Workitem, performed: PerformedProcedure) -> asyncio.Future:
        return self.workflow.complete_unstarted(workitem, performed)

    def discontinue(self, workitem: Workitem, reason: Code, text: str) -> asyncio.Future:
        return self.workflow.discontinue(workitem, reason, text)

    def put_back(self, workitem: Workitem, text: str = "") -> asyncio.Future:
        return self.workflow.put_back(workitem, text)

    def request_cancellation(self, workitem: Workitem, reason: Code | None, text: str) -> asyncio.Future:
        return self.workflow.request_cancellation(workitem, reason, text)

    def create_unscheduled(self, item: NewWorkitem, start: bool = True) -> asyncio.Future:
        return self.workflow.create_unscheduled(item, start)

    def save_draft(self, uid: str, draft: ProcedureDraft) -> None:
        self.workflow.save_draft(uid, draft)

    def forget_cancel_request(self, uid: str) -> None:
        self.workflow.forget_cancel_request(uid)


class _Relay(WorkflowListener):
    """The workflow's news, emitted as the session's signals."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def worklist(self, items: list[Workitem]) -> None:
        self.session.worklist.emit(items)

    def workitem_changed(self, item: Workitem) -> None:
        self.session.workitem_changed.emit(item)

    def busy(self, on: bool, text: str) -> None:
        self.session.busy.emit(on, text)

    def message(self, level: str, sentence: str, key: str) -> None:
        self.session.message.emit(level, sentence, key)

    def connection(self, up: bool, sentence: str) -> None:
        self.session.connection.emit(up, sentence)

    def workitem_event(self, event: WorkitemEvent, item: Workitem | None) -> None:
        self.session.workitem_event.emit(event, item)

    def action(self, text: str) -> None:
        self.session.action.emit(text)

    def exchange(self, exchange: Exchange) -> None:
        self.session.exchange.emit(exchange)

    def pending(self, count: int) -> None:
        self.session.pending.emit(count)

    def cancel_requested(self, event: WorkitemEvent) -> None:
        self.session.cancel_requested.emit(event)

    def refreshed(self, when: datetime) -> None:
        self.session.refreshed.emit(when)

    def progress_sent(self, uid: str) -> None:
        self.session.progress_sent.emit(uid)
