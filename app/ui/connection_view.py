"""The connection to the worklist server as the technologist sees it: the live indicator in
the toolbar, the one banner under the key CONNECTION, and the sentence in an empty list."""

from __future__ import annotations

from collections.abc import Callable

from app.console import CONNECTION

from .messages import MessageStack
from .rich_text import plain
from .session import Session
from .status import LiveIndicator

KEPT = "Reports are kept on this console and sent when the server is back."


class ConnectionView:
    def __init__(
        self, session: Session, live: LiveIndicator, messages: MessageStack, show_empty: Callable[[str], None]
    ) -> None:
        self.session = session
        self.live = live
        self.messages = messages
        self.show_empty = show_empty

    @property
    def polled(self) -> bool:
        """No events (MWL/MPPS, Sup 246): the list is polled, which is not an outage."""
        return not self.session.backend.capabilities.live_events

    def polling_sentence(self) -> str:
        return " ".join(self.session.backend.capabilities.notes)

    def channel(self, up: bool, sentence: str) -> None:
        """What the session says of its channel (live events) or of its polling."""
        # a polled backend is never "up" by events; it is away when a search could not reach it
        away = not up and (not self.polled or sentence != self.polling_sentence())
        if self.polled:
            mode = "down" if away else "polling"
        else:
            mode = "up" if self.session.is_live() else "partial" if up else "down"
        self.live.show_mode(mode, sentence)
        if not away:
            self.messages.dismiss(CONNECTION)
        elif sentence:
            self._show_outage(sentence)

    def unreachable(self, sentence: str) -> None:
        """A search or a report could not reach the server: nothing is lost, so a warning."""
        self._show_outage(sentence)
        self.show_empty(
            "The list is empty because the worklist server does not answer; it fills as soon as the server does."
        )

    def refused(self, sentence: str) -> None:
        """The server answered and refused the search: waiting will not mend it."""
        self.messages.show_message(CONNECTION, f"<b>{plain(sentence)}</b>", "error")
        self.show_empty("The list is empty because the worklist server refused the search (see above).")

    def searched(self) -> None:
        """A search was asked for: the indicator says whether what it shows will stay live."""
        self.channel(self.session.connected, self.session.live_sentence())

    def answered(self) -> None:
        """A search was answered."""
        if self.polled:  # a polled server that answers is back
            self.channel(False, self.polling_sentence())

    def _show_outage(self, sentence: str) -> None:
        self.messages.show_message(CONNECTION, plain(sentence.rstrip(". ")) + ". " + KEPT, "warning")
