"""Where the console stands, always in view: the live indicator in the toolbar, and the status
bar's server, AE title, count, last refresh and what waits to be sent."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QStatusBar

from app.backends.claim_store import Waiting
from app.backends.profiles import Profile

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


class ConsoleStatus:
    """The status bar's permanent fields; each gives way (elides) on a narrow window."""

    def __init__(self, bar: QStatusBar, profile: Profile) -> None:
        p = profile
        self.server = ElidedLabel(p.url if p.backend != "dimse" else f"{p.mwl_aet}@{p.mwl_host}:{p.mwl_port}")
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

    def show_count(self, count: int) -> None:
        self.count.setText(f"{count} items")

    def show_refreshed(self, when: datetime) -> None:
        self.refresh.setText(f"refreshed {when:%H:%M:%S}")

    def show_pending(self, count: int, elsewhere: list[Waiting]) -> None:
        parts = [f"{count} waiting to be sent" if count else "outbox empty"]
        parts += [f"{w.count} waiting for {w.where()}" for w in elsewhere]
        self.pending.setText(" · ".join(parts))
        self.pending.setProperty("waiting", bool(count or elsewhere))
