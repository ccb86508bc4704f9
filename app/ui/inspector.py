"""The event log and the protocol inspector: every event received, every message exchanged,
so a trainer can show the message flow step by step."""

from __future__ import annotations

import json
import re

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.console import Exchange
from app.domain.events import EventType, WorkitemEvent
from app.domain.tags import keyword_of

EVENT_NAMES = {
    EventType.STATE_REPORT: "State",
    EventType.CANCEL_REQUESTED: "Cancel requested",
    EventType.PROGRESS_REPORT: "Progress",
    EventType.SCP_STATUS_CHANGE: "Server status",
    EventType.ASSIGNED: "Assigned",
}
MAX_ENTRIES = 5000


ORIGIN = re.compile(r"\b(?:https?|wss?)://[^/\s]+")


def describe(event: WorkitemEvent, what: str = "") -> str:
    name = EVENT_NAMES.get(event.event_type, str(event.event_type))
    detail = {
        EventType.STATE_REPORT: event.state,
        EventType.PROGRESS_REPORT: f"{event.progress:.0f} % {event.progress_description}"
        if event.progress is not None
        else event.progress_description,
        EventType.CANCEL_REQUESTED: f"by {event.requester}" + (f": {event.reason}" if event.reason else ""),
        EventType.SCP_STATUS_CHANGE: event.scp_status,
    }.get(event.event_type, "")
    return f"{name} {detail}".strip() + f" — {what or event.workitem_uid}"


def pretty(body: str) -> str:
    """A JSON body indented, each DICOM tag followed by its keyword (as the DIMSE view has them);
    any other body as it came."""
    try:
        text = json.dumps(json.loads(body), indent=2, ensure_ascii=False) if body.strip() else ""
    except ValueError:
        return body
    return "\n".join(_with_keyword(line) for line in text.splitlines())


# A key line of json.dumps; a string value cannot look like one, since its quotes are escaped.
_TAG_KEY = re.compile(r'\s*"([0-9A-Fa-f]{8})": ')


def _with_keyword(line: str) -> str:
    m = _TAG_KEY.match(line)
    if m is None:
        return line
    keyword = keyword_of(m.group(1))  # the tag itself when the dictionary has no name for it
    return line if keyword == m.group(1) else f"{line}  // {keyword}"


class FollowingList(QListWidget):
    """A list that keeps its newest entry in view as entries arrive, while it is shown and the
    reader is not reading an older one: scrolling up or selecting an older entry stops it,
    scrolling back to the end (or selecting the newest) resumes it."""

    def __init__(self) -> None:
        super().__init__()
        self._following = True
        self._scroll_pending = False
        self._scrolling = False
        self.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.currentItemChanged.connect(self._selected)

    def following(self) -> bool:
        return self._following

    def append(self, item: QListWidgetItem) -> None:
        self.addItem(item)
        if self.count() > MAX_ENTRIES:
            self.takeItem(0)
        self._follow()

    def clear(self) -> None:
        super().clear()
        self._following = True

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._follow()  # what arrived while hidden

    def _follow(self) -> None:
        # once per pass of the event loop: scrolling on every message of a busy server would stall the console
        if self._following and self.isVisible() and not self._scroll_pending:
            self._scroll_pending = True
            QTimer.singleShot(0, self, self._to_newest)  # with the list as context: never after it is gone

    def _to_newest(self) -> None:
        self._scroll_pending = False
        if self._following and self.isVisible():
            self._scrolling = True
            try:
                self.scrollToBottom()
            finally:
                self._scrolling = False

    def _scrolled(self, value: int) -> None:
        if not self._scrolling:
            self._following = value >= self.verticalScrollBar().maximum()

    def _selected(self, current: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if current is not None:
            self._following = self.row(current) == self.count() - 1


class EventLog(FollowingList):
    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("eventLog")
        self.setAccessibleName("Event log")

    def add(self, when: str, event: WorkitemEvent, what: str = "") -> None:
        """`what` names the workitem for people (patient and procedure) where the console knows it."""
        item = QListWidgetItem(f"{when}  {describe(event, what)}")
        item.setToolTip(event.workitem_uid)
        self.append(item)

    def add_line(self, when: str, text: str) -> None:
        """What this console itself did, beside what others did."""
        self.append(QListWidgetItem(f"{when}  {text}"))


class Inspector(QWidget):
    """A list of messages; the selected one's headers and pretty-printed body beside it."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("inspector")
        self.setAccessibleName("Protocol inspector")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        tools = QHBoxLayout()
        self.pause = QPushButton("Pause")
        self.pause.setCheckable(True)
        self.pause.setToolTip("Stop adding messages, to read the flow so far")
        self.pause.setAccessibleName("Pause")
        self.pause.setAccessibleDescription("Stop adding messages, to read the flow so far")
        self.clear_button = QPushButton("Clear")
        self.clear_button.setAccessibleName("Clear")
        self.clear_button.setAccessibleDescription("Remove every message shown")
        self.clear_button.clicked.connect(self.clear)
        tools.addWidget(self.pause)
        tools.addWidget(self.clear_button)
        tools.addStretch(1)
        layout.addLayout(tools)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.list = FollowingList()
        self.list.setAccessibleName("Messages")
        self.detail = QPlainTextEdit()
        self.detail.setAccessibleName("Selected message")
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
        # the server is named in the status bar and in the selected message: the line keeps the path,
        # which tells one transaction from another, in view on a narrow screen
        line = ORIGIN.sub("", exchange.summary)
        item = QListWidgetItem(f"{exchange.when:%H:%M:%S.%f}"[:-3] + f"  {exchange.direction} {line}{took}")
        item.setToolTip(exchange.summary)
        item.setData(Qt.ItemDataRole.UserRole, exchange)
        self.list.append(item)

    def clear(self) -> None:
        self.list.clear()
        self.detail.clear()

    def _show(self, item: QListWidgetItem | None) -> None:
        if item is None:
            return
        exchange: Exchange = item.data(Qt.ItemDataRole.UserRole)
        headers = "\n".join(f"{k}: {v}" for k, v in exchange.headers)
        self.detail.setPlainText(f"{exchange.direction} {exchange.summary}\n{headers}\n\n{pretty(exchange.body)}")
