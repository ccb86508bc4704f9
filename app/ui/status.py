"""Where the console stands, always in view: the live indicator in the toolbar, and the status
bar's server, AE title, count, last refresh and what waits to be sent. A sentence the console
says there (why a key did nothing) is read whole: too long to fit beside those fields, it is
shown over them, on as many lines as it needs, until it times out or is clicked away."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from PySide6.QtCore import QEvent, QObject, QRect, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from app.console import Waiting
from app.console.profiles import Profile

from .labels import ElidedLabel

MODES = {
    "polling": "● polling",
    "up": "● live",
    "partial": "● not live for this view",
    "reconnecting": "● reconnecting",
    "down": "● offline",
    "refused": "● not allowed",  # the server refuses this profile's user or AE title: Settings, not waiting
}


class LiveIndicator(QLabel):
    """Live events, polling (DIMSE has no events: not an error), reconnecting, or offline."""

    changed = Signal(str)  # the text shown, each time it is set

    def __init__(self) -> None:
        super().__init__("● connecting")
        self.setObjectName("connectionStatus")
        self.setAccessibleName("Connection")
        self.setToolTip("Live events from the worklist server")

    def show_mode(self, mode: str, sentence: str) -> None:
        self.setText(MODES[mode])
        self.setProperty("mode", mode)
        self.style().unpolish(self)
        self.style().polish(self)
        self.setToolTip(sentence)
        self.setAccessibleDescription(sentence)
        self.changed.emit(self.text())


MESSAGE_MARGIN = 12  # the status bar's own room left and right of the message it paints


class StatusMessage(QLabel):
    """The status bar's message when it is too long for the room beside the permanent fields:
    it lies over them (and, if it needs more lines, over the window's bottom edge), so nothing
    moves; a click puts it away."""

    def __init__(self, bar: QStatusBar, parent: QWidget) -> None:
        super().__init__(parent)
        self.bar = bar
        self.setObjectName("statusMessage")
        self.setAccessibleName("Status message")
        self.setWordWrap(True)
        self.setAutoFillBackground(True)
        self.setStyleSheet("QLabel#statusMessage { border-top: 1px solid palette(mid); }")
        self.setContentsMargins(MESSAGE_MARGIN // 2, 2, MESSAGE_MARGIN // 2, 2)
        self.setToolTip("Click to put this message away")
        self.hide()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.bar.clearMessage()


class ConsoleStatus(QObject):
    """The status bar's permanent fields; each gives way (elides) on a narrow window, and all of
    them give way to a sentence too long to fit beside them."""

    def __init__(self, bar: QStatusBar, profile: Profile) -> None:
        super().__init__(bar)
        p = profile
        self.bar = bar
        self.server = ElidedLabel(server_name(p))
        self.ae = ElidedLabel(f"AE {p.ae_title}")
        self.count = ElidedLabel("0 items")
        self.refresh = ElidedLabel("never refreshed")
        self.pending = ElidedLabel("outbox empty", minimum=90)
        self.pending.setObjectName("outboxStatus")
        for label, name in (
            (self.server, "Worklist server"),
            (self.ae, "Our AE title"),
            (self.count, "Procedures listed"),
            (self.refresh, "Last refresh"),
            (self.pending, "Reports waiting to be sent"),
        ):
            label.setAccessibleName(name)
            bar.addPermanentWidget(label)
        self.server.setToolTip(p.url if p.backend != "dimse" else self.server.text())
        self.fields = (self.server, self.ae, self.count, self.refresh, self.pending)
        self.message = StatusMessage(bar, bar.parentWidget() or bar)
        bar.messageChanged.connect(self._show_message)
        bar.installEventFilter(self)

    def room(self) -> int:
        """How wide a message the status bar paints whole beside its permanent fields."""
        shown = [f.geometry().left() for f in self.fields if f.isVisible()]
        return min(shown, default=self.bar.width()) - MESSAGE_MARGIN

    def _show_message(self, text: str) -> None:
        if not text or self.bar.fontMetrics().horizontalAdvance(text) <= self.room():
            self.message.hide()
            return
        self.message.setText(text)
        self._place()
        self.message.show()
        self.message.raise_()

    def _place(self) -> None:
        bar = self.bar
        height = max(bar.height(), self.message.heightForWidth(bar.width()))
        self.message.setGeometry(QRect(bar.x(), bar.y() + bar.height() - height, bar.width(), height))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.bar and event.type() in (QEvent.Type.Resize, QEvent.Type.Move):
            self._show_message(self.bar.currentMessage())  # a wider window may paint it in the bar again
        return super().eventFilter(watched, event)

    def show_count(self, count: int) -> None:
        self.count.setText(f"{count} items")

    def show_refreshed(self, when: datetime) -> None:
        self.refresh.setText(f"refreshed {when:%H:%M:%S}")

    def show_pending(self, count: int, elsewhere: list[Waiting]) -> None:
        parts = [f"{count} waiting to be sent" if count else "outbox empty"]
        parts += [f"{w.count} waiting for {w.where()}" for w in elsewhere]
        self.pending.setText(" · ".join(parts))
        self.pending.setProperty("waiting", bool(count or elsewhere))


def server_name(p: Profile) -> str:
    """The server as the status bar names it: host and port (the whole URL is in the tooltip)."""
    if p.backend == "dimse":
        return f"{p.mwl_aet}@{p.mwl_host}:{p.mwl_port}"
    return urlsplit(p.url).netloc or p.url
