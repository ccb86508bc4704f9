"""What the console tests read off a window: its rows, a row's state, the stored workitem."""

from __future__ import annotations

import json

from conftest import answer_next_dialog, press_enter
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from app.ui.worklist_model import COLUMNS, WORKITEM_ROLE

STATE = COLUMNS.index("State")


def rows(window) -> list:
    return [window.proxy.index(r, 0).data(WORKITEM_ROLE) for r in range(window.proxy.rowCount())]


def row_of(window, uid: str) -> int:
    return next((r for r, w in enumerate(rows(window)) if w.uid == uid), -1)


def state_shown(window, uid: str) -> str:
    r = row_of(window, uid)
    return window.proxy.index(r, STATE).data() if r >= 0 else ""


def cell(window, uid: str, column: str) -> str:
    r = row_of(window, uid)
    return window.proxy.index(r, COLUMNS.index(column)).data() if r >= 0 else ""


def stored(server, uid: str) -> dict:
    return json.loads(server.service.retrieve(uid))


def stored_state(server, uid: str) -> str:
    return stored(server, uid)["00741000"]["Value"][0]


def loaded(qtbot, window) -> None:
    qtbot.waitUntil(lambda: window.model.rowCount() > 0 and window.selected() is not None, timeout=10000)


def laid_out(qtbot, top: QWidget, timeout: int = 3000) -> None:
    """Until the layout of `top` has settled: every widget of it where it was and as visible as it
    was a turn of the event loop earlier (a layout request is a posted event, done on a later turn)."""
    last: list = []

    def geometry() -> list:
        return [(w.geometry(), w.isVisible()) for w in (top, *top.findChildren(QWidget))]

    def settled() -> bool:
        now = geometry()
        same = now == last
        last[:] = now
        return same

    qtbot.waitUntil(settled, timeout=timeout)


def live(qtbot, window) -> None:
    qtbot.waitUntil(lambda: window.live.text() == "● live", timeout=5000)


def press_start(window, key: bool = False) -> list:
    """Press Start (its button, or F6 on the list with `key`) and confirm the "is this the patient?"
    question it asks (the profile's confirm_start, on by default) with Enter, as a technologist
    does. Returns the list that receives the question, for assertions."""
    asked = answer_next_dialog(press_enter)
    if key:
        QTest.keyClick(window.table, Qt.Key.Key_F6)
    else:
        window.procedure.start_button.click()
    return asked


def activate(qtbot, window) -> None:
    """Bring `window` to the front, as a click into it does: its F-keys are the ones that act (a
    question answered in another console leaves that console in front)."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)


def start_selected(qtbot, window, sent: bool = True):
    """Press Start on the selected procedure; wait until it is ours (and, with `sent`, on the server)."""
    item = window.selected()
    press_start(window)
    qtbot.waitUntil(
        lambda: (
            window.procedure.complete_button.isEnabled() and (not sent or window.session.workflow.outbox.pending() == 0)
        ),
        timeout=5000,
    )
    return item
