"""A workflow's listener that records what a view would show, and one station's workflow on a
real server."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from datetime import datetime

from embedded_server import PINNED_DAY
from pydicom.uid import generate_uid

from app.backends.profiles import Profile
from app.backends.protocol import Exchange
from app.console import Workflow, WorkflowListener
from app.domain.build import NewWorkitem
from app.domain.events import WorkitemEvent
from app.domain.workitem import PatientName, Workitem
from app.domain.worklist_query import WorklistQuery
from app.server import UPSServer

_stations = itertools.count(1)


class Recorder(WorkflowListener):
    """Everything the workflow told, in order."""

    def __init__(self) -> None:
        self.lists: list[list[Workitem]] = []
        self.changed: list[Workitem] = []
        self.messages: list[tuple[str, str, str]] = []
        self.connections: list[tuple[bool, str]] = []
        self.events: list[tuple[WorkitemEvent, Workitem | None]] = []
        self.actions: list[str] = []
        self.exchanges: list[Exchange] = []
        self.pendings: list[int] = []
        self.cancels: list[WorkitemEvent] = []
        self.refreshes: list[datetime] = []
        self.progress: list[str] = []

    def worklist(self, items: list[Workitem]) -> None:
        self.lists.append(items)

    def workitem_changed(self, item: Workitem) -> None:
        self.changed.append(item)

    def message(self, level: str, sentence: str, key: str) -> None:
        self.messages.append((level, sentence, key))

    def connection(self, up: bool, sentence: str) -> None:
        self.connections.append((up, sentence))

    def workitem_event(self, event: WorkitemEvent, item: Workitem | None) -> None:
        self.events.append((event, item))

    def action(self, text: str) -> None:
        self.actions.append(text)

    def exchange(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)

    def pending(self, count: int) -> None:
        self.pendings.append(count)

    def cancel_requested(self, event: WorkitemEvent) -> None:
        self.cancels.append(event)

    def refreshed(self, when: datetime) -> None:
        self.refreshes.append(when)

    def progress_sent(self, uid: str) -> None:
        self.progress.append(uid)

    def said(self, level: str, key: str) -> list[str]:
        return [sentence for lv, sentence, k in self.messages if lv == level and k == key]


async def until(condition: Callable[[], object], timeout: float = 10.0) -> None:
    """Wait, letting the loop run, until `condition()` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"not within {timeout} s: {condition}")
        await asyncio.sleep(0.02)


class Console:
    """One station's workflow on a server, and what it told."""

    def __init__(self, server: UPSServer, path, station: str | None = None) -> None:
        self.server = server
        self.station = station or f"WF{next(_stations)}"
        self.heard = Recorder()
        self.profile = Profile(name="Test", url=server.base_url, ae_title=self.station, timeout=2)
        self.workflow = Workflow(self.profile, path, listeners=(self.heard,))

    def schedule(self, patient: str = "Weiß^Günther", station: str | None = None) -> str:
        """A procedure the RIS scheduled on the pinned day."""
        item = NewWorkitem(
            uid=generate_uid(),
            label="CT chest",
            start=f"{PINNED_DAY:%Y%m%d}101500",
            patient=PatientName(patient),
            patient_id=f"P{generate_uid()[-8:]}",
            station=station or self.station,
            modality="CT",
        )
        return self.server.service.create(item.to_json()).uid

    def query(self) -> WorklistQuery:
        """This station's list on the day its procedures are scheduled."""
        return WorklistQuery.today(self.station, PINNED_DAY)

    async def item(self, uid: str) -> Workitem:
        return await self.workflow.backend.retrieve(uid)
