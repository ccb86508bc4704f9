"""What must not be missed, as a stack of banners lying over the worklist.

Each banner has a key: a newer message with the same key replaces the older one in place
(the connection's state, the fate of one procedure's report), while messages with other
keys stack — so a background "cannot reach the server" never hides "saved on this
console". Nothing fades by itself: a banner goes when it is dismissed or when what it
announces is over.

The stack is in no layout: it floats over the bottom of the list (`float_over`), so a banner
that comes or goes moves no row, no field and no button under the technologist's hand, and
can neither grow the window nor squeeze the procedure panel. The bottom, not the top: the top
rows are the technologist's own procedure in progress and the urgent orders (pinned first),
and a short list leaves its bottom empty. Banners wrap their text and never widen the window.
After Dismiss or an action, the keyboard focus goes back to the list (`focus_left`), never on
to the next control of the window.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QPoint, Signal
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

MAX_BANNERS = 5
_RANK = {"info": 0, "warning": 1, "error": 2, "alert": 3}


class Banner(QFrame):
    """One message: a sentence and up to one action, and Dismiss."""

    def __init__(self, key: str, on_dismiss: Callable[[str], None], on_done: Callable[[], None]) -> None:
        super().__init__()
        self.key = key
        self.kind = "info"
        self.setObjectName("banner")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(self.text.textFormat().RichText)
        # Ignored: a long sentence wraps instead of widening the window past the screen
        self.text.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.text.setMinimumWidth(120)
        self.action = QPushButton()
        self.dismiss = QPushButton("Dismiss")
        self.dismiss.setAccessibleName("Dismiss this message")
        for button in (self.action, self.dismiss):
            button.setAutoDefault(True)  # Enter presses it too, as Space does, once Tab reached it
        layout.addWidget(self.text, 1)
        layout.addWidget(self.action)
        layout.addWidget(self.dismiss)
        self._callback: Callable[[], None] | None = None
        self._keep_after_action = False
        self.action.clicked.connect(self._run)
        self.dismiss.clicked.connect(lambda: on_dismiss(self.key))
        self._on_dismiss = on_dismiss
        self._on_done = on_done

    def set(self, html: str, kind: str, action: str, callback: Callable[[], None] | None, keep: bool) -> None:
        self.kind = kind
        self.setProperty("kind", kind)
        self.style().unpolish(self)
        self.style().polish(self)
        self.text.setText(html)
        self.setAccessibleName(self.text.text())
        self.action.setText(action)
        self.action.setAccessibleName(action)
        self.action.setVisible(bool(action))
        self._callback = callback
        self._keep_after_action = keep

    def has_focus(self) -> bool:
        focused = QApplication.focusWidget()
        return focused is not None and self.isAncestorOf(focused)

    def _run(self) -> None:
        callback, by_keyboard = self._callback, self.has_focus()
        if not self._keep_after_action:
            self._on_dismiss(self.key)
        if callback:
            callback()
        if by_keyboard and self._keep_after_action:  # else its dismissal gave the focus back
            self._on_done()


class MessageStack(QWidget):
    changed = Signal()  # a banner came, changed or went
    focus_left = Signal()  # the banner that had the keyboard focus was dismissed or acted upon

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("messages")
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.setSpacing(3)
        self.banners: dict[str, Banner] = {}
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Maximum)
        self._anchor: QWidget | None = None
        self.hide()

    def float_over(self, anchor: QWidget) -> None:
        """Lie over the bottom of `anchor` (a descendant of this stack's parent), as wide as it,
        taking no room in any layout."""
        self._anchor = anchor
        anchor.installEventFilter(self)
        self.place()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._anchor and event.type() in (QEvent.Type.Resize, QEvent.Type.Move, QEvent.Type.Show):
            self.place()
        return super().eventFilter(watched, event)

    def place(self) -> None:
        anchor, parent = self._anchor, self.parentWidget()
        if anchor is None or parent is None or not parent.isAncestorOf(anchor):
            return
        if not self.banners:
            self.hide()
            return
        width = anchor.width()
        wanted = self.layout_.heightForWidth(width) if self.layout_.hasHeightForWidth() else -1
        height = min(wanted if wanted > 0 else self.layout_.sizeHint().height(), anchor.height())
        bottom_left = anchor.mapTo(parent, QPoint(0, anchor.height()))
        self.setGeometry(bottom_left.x(), bottom_left.y() - height, width, height)
        self.show()
        self.raise_()

    def show_message(
        self,
        key: str,
        html: str,
        kind: str = "info",
        action: str = "",
        callback: Callable[[], None] | None = None,
        *,
        keep: bool = False,
        object_name: str = "",
    ) -> Banner:
        """Show (or replace) the message `key`. `keep`: the action does not close it (the
        technologist may still cancel what the action opens)."""
        banner = self.banners.get(key)
        if banner is None:
            banner = Banner(key, self.dismiss, self.focus_left.emit)
            self.banners[key] = banner
            self.layout_.insertWidget(0, banner)  # the newest on top
        banner.setObjectName(object_name or "banner")
        banner.set(html, kind, action, callback, keep)
        banner.show()
        self._trim()
        self.place()
        self.changed.emit()
        return banner

    def _trim(self) -> None:
        """Too many at once: the least important, oldest first, make room."""
        while len(self.banners) > MAX_BANNERS:
            order = [item.widget() for item in map(self.layout_.itemAt, range(self.layout_.count())) if item]
            oldest_first = [b for b in reversed(order) if isinstance(b, Banner)]
            victim = min(oldest_first, key=lambda b: _RANK.get(b.kind, 0))
            self.dismiss(victim.key)

    def dismiss(self, key: str) -> None:
        banner = self.banners.pop(key, None)
        if banner is not None:
            had_focus = banner.has_focus()
            banner.hide()
            self.layout_.removeWidget(banner)
            banner.deleteLater()
            self.place()
            self.changed.emit()
            if had_focus:
                self.focus_left.emit()

    # -- reading, for tests and accessibility tools ---------------------------------------------
    def get(self, key: str) -> Banner | None:
        return self.banners.get(key)

    def texts(self) -> list[str]:
        return [b.text.text() for b in self.banners.values()]

    def containing(self, needle: str) -> Banner | None:
        return next((b for b in self.banners.values() if needle in b.text.text()), None)
