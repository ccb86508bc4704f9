"""The event log and the protocol inspector: every event received, every message exchanged,
so a trainer can show the message flow step by step."""
from __future__ import annotations

import json

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QHBoxLayout, QListWidget, QListWidgetItem, QPlainTextEdit, QPushButton, QSplitter, QVBoxLayout, QWidget,
)

from app.backends.protocol import Exchange
from app.domain.events import EventType, WorkitemEvent

EVENT_NAMES = {EventType.STATE_REPORT: "State", EventType.CANCEL_REQUESTED: "Cancel requested",
               EventType.PROGRESS_REPORT: "Progress", EventType.SCP_STATUS_CHANGE: "Server status",
               EventType.ASSIGNED: "Assigned"}
MAX_ENTRIES = 5000


def describe(event: WorkitemEvent, what: str = "") -> str:
    name = EVENT_NAMES.get(event.event_type, str(event.event_type))
    detail = {
        EventType.STATE_REPORT: event.state,
        EventType.PROGRESS_REPORT: f"{event.progress:.0f} % {event.progress_description}" if event.progress is not None
        else event.progress_description,
        EventType.CANCEL_REQUESTED: f"by {event.requesting_ae}" + (f": {event.reason}" if event.reason else ""),
        EventType.SCP_STATUS_CHANGE: event.scp_status,
    }.get(event.event_type, "")
    return f"{name} {detail}".strip() + f" — {what or event.workitem_uid}"


def pretty(body: str) -> str:
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False) if body.strip() else ""
    except ValueError:
        return body


def follow(view) -> None:
    """Scroll a list to its newest entry once per pass of the event loop, and only when shown:
    scrolling on every message of a busy server would stall the console."""
    if view.isVisible() and not getattr(view, "_follow_pending", False):
        view._follow_pending = True

        def scroll() -> None:
            view._follow_pending = False
            view.scrollToBottom()

        QTimer.singleShot(0, scroll)


class EventLog(QListWidget):
    def add(self, when: str, event: WorkitemEvent, what: str = "") -> None:
        """`what` names the workitem for people (patient and procedure) where the console knows it."""
        self.addItem(f"{when}  {describe(event, what)}")
        self.item(self.count() - 1).setToolTip(event.workitem_uid)
        if self.count() > MAX_ENTRIES:
            self.takeItem(0)
        follow(self)


class Inspector(QWidget):
    """A list of messages; the selected one's headers and pretty-printed body beside it."""

    def __init__(self) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        tools = QHBoxLayout()
        self.pause = QPushButton("Pause")
        self.pause.setCheckable(True)
        self.pause.setToolTip("Stop adding messages, to read the flow so far")
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.clear)
        tools.addWidget(self.pause)
        tools.addWidget(self.clear_button)
        tools.addStretch(1)
        layout.addLayout(tools)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.list = QListWidget()
        self.detail = QPlainTextEdit()
        self.detail.setReadOnly(True)
        self.detail.setObjectName("inspectorDetail")
        split.addWidget(self.list)
        split.addWidget(self.detail)
        split.setSizes([420, 600])
        layout.addWidget(split)
        self.list.currentItemChanged.connect(self._show)

    def add(self, exchange: Exchange) -> None:
        if self.pause.isChecked():
            return
        took = f" {exchange.elapsed_ms:.0f} ms" if exchange.elapsed_ms is not None else ""
        item = QListWidgetItem(f"{exchange.when:%H:%M:%S.%f}"[:-3] + f"  {exchange.direction} {exchange.summary}{took}")
        item.setData(Qt.ItemDataRole.UserRole, exchange)
        self.list.addItem(item)
        if self.list.count() > MAX_ENTRIES:
            self.list.takeItem(0)
        follow(self.list)

    def clear(self) -> None:
        self.list.clear()
        self.detail.clear()

    def _show(self, item: QListWidgetItem | None) -> None:
        if item is None:
            return
        exchange: Exchange = item.data(Qt.ItemDataRole.UserRole)
        headers = "\n".join(f"{k}: {v}" for k, v in exchange.headers)
        self.detail.setPlainText(f"{exchange.direction} {exchange.summary}\n{headers}\n\n{pretty(exchange.body)}")
