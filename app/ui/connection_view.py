"""The connection to the worklist server as the technologist sees it: the live indicator in
the toolbar, the one banner under the key CONNECTION, and the sentence in an empty list.

Calm first: a live channel that drops and comes back within OUTAGE_BANNER_AFTER_S shows only
in the indicator ("● reconnecting"); a banner comes only when the server stays away that long,
and goes when it is back. A console that has never reached its server since it started says
so at once: there is nothing to wait for. A polled console (MWL/MPPS, Sup 246) has no channel
to drop: a search that cannot reach the server is said at once. While the server refuses who
we are (HTTP 403: the window says so in red under the key CONFIGURATION), nothing here speaks:
that is no outage, and "sent when the server is back" would be a false promise.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

from app.console import CONNECTION

from .messages import MessageStack
from .rich_text import plain
from .session import Session
from .status import LiveIndicator

KEPT = "Reports are kept on this console and sent when the server is back."
# the live channel reconnects within a few seconds after a server restart or a dropped
# connection (backoff 0.5, 1, 2, 3, then every 5 s): only an absence longer than this is an outage
OUTAGE_BANNER_AFTER_S = 10.0


class ConnectionView(QObject):
    def __init__(
        self, session: Session, live: LiveIndicator, messages: MessageStack, show_empty: Callable[[str], None]
    ) -> None:
        super().__init__(live)
        self.session = session
        self.live = live
        self.messages = messages
        self.show_empty = show_empty
        self._been_up = False  # the live channel was up once since the console started
        self._outage_said = False
        self._sentence = ""  # why the server is away, for the banner
        self.outage = QTimer(self)
        self.outage.setSingleShot(True)
        self.outage.setInterval(int(OUTAGE_BANNER_AFTER_S * 1000))
        self.outage.timeout.connect(self._outage_lasted)

    @property
    def polled(self) -> bool:
        """No events (MWL/MPPS, Sup 246): the list is polled, which is not an outage."""
        return not self.session.capabilities.live_events

    def polling_sentence(self) -> str:
        return " ".join(self.session.capabilities.notes)

    @property
    def refused(self) -> bool:
        return self.session.refused is not None

    def channel(self, up: bool, sentence: str) -> None:
        """What the session says of its channel (live events) or of its polling."""
        if self.refused:
            return
        if self.polled:
            # a polled backend is never "up" by events; it is away when a search could not reach it
            away = not up and sentence != self.polling_sentence()
            self.live.show_mode("down" if away else "polling", sentence)
            if away:
                self._show_outage(sentence)
            else:
                self.messages.dismiss(CONNECTION)
        elif up:
            self._back(sentence)
        else:
            self._away(sentence)

    def unreachable(self, sentence: str) -> None:
        """A search or a report could not reach the server: nothing is lost, so a warning."""
        if self.refused:
            return
        if self.polled:
            self.live.show_mode("down", sentence)
            self._show_outage(sentence)
        else:
            self._away(sentence)
        self.show_empty(
            "The list is empty because the worklist server does not answer; it fills as soon as the server does."
        )

    def search_refused(self, sentence: str) -> None:
        """The server answered and refused the search: waiting will not mend it."""
        self.messages.show_message(CONNECTION, f"<b>{plain(sentence)}</b>", "error")
        self.show_empty("The list is empty because the worklist server refused the search (see above).")

    def searched(self) -> None:
        """A search was asked for: the indicator says whether what it shows will stay live (the
        answer, not the question, says whether the server is there)."""
        if not self.polled and self.session.connected and not self.refused:
            self._back(self.session.live_sentence())

    def answered(self) -> None:
        """A search was answered: a polled server is back; a live one is there, its channel too."""
        if self.refused:
            return
        if self.polled:
            self.channel(False, self.polling_sentence())
        elif self.session.connected:
            self._back(self.session.live_sentence())

    @property
    def reconnecting(self) -> bool:
        """Away for less than OUTAGE_BANNER_AFTER_S, not said yet."""
        return self.outage.isActive()

    def _back(self, sentence: str) -> None:
        self._been_up = True
        self._outage_said = False
        self.outage.stop()
        self.live.show_mode("up" if self.session.is_live() else "partial", sentence)
        self.messages.dismiss(CONNECTION)

    def _away(self, sentence: str) -> None:
        self._sentence = sentence or self._sentence
        if not self._been_up or self._outage_said:  # nothing to wait for, or said already
            self._outage_lasted()
            return
        self.live.show_mode("reconnecting", self._sentence)
        if not self.outage.isActive():
            self.outage.start()

    def _outage_lasted(self) -> None:
        self.outage.stop()
        if self.refused:
            return
        self._outage_said = True
        self.live.show_mode("down", self._sentence)
        if self._sentence:
            self._show_outage(self._sentence)

    def _show_outage(self, sentence: str) -> None:
        self.messages.show_message(CONNECTION, plain(sentence.rstrip(". ")) + ". " + KEPT, "warning")
