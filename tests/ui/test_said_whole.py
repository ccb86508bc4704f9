"""What the status bar says is read whole: at 1024 and 1280 px a key that does nothing on a
SCHEDULED procedure says why and what to do instead, and none of it is cut off by the
permanent fields (server, AE title, count, refresh, outbox). The server is named by host and
port; its whole URL is in the tooltip."""

from __future__ import annotations

import pytest
from console_helpers import laid_out, loaded
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel

from app.domain.states import State


def readable(window) -> bool:
    """The status bar's message can be read whole, where it is shown: painted by the bar in the
    room its permanent fields leave, or over them, on as many lines as it needs."""
    bar, message = window.statusBar(), window.statusBar().currentMessage()
    over = window.findChild(QLabel, "statusMessage")
    if over is not None and over.isVisible():
        inside = over.mapTo(window, QPoint(0, 0))
        return (
            over.text() == message
            and over.heightForWidth(over.width()) <= over.height()
            and inside.x() >= 0
            and inside.x() + over.width() <= window.width()
            and over.geometry().bottom() == bar.geometry().bottom()
        )
    fields = [f for f in bar.findChildren(QLabel) if f.isVisible() and f is not over and bar.isAncestorOf(f)]
    left = min(f.mapTo(bar, QPoint(0, 0)).x() for f in fields)
    return QFontMetrics(bar.font()).horizontalAdvance(message) + 12 <= left


@pytest.mark.parametrize("size", [(1280, 800), (1024, 768)], ids=["1280x800", "1024x768"])
def test_why_a_key_did_nothing_is_read_to_its_end(qtbot, open_console, size):
    window = open_console("demo")
    window.resize(*size)
    window.show()
    loaded(qtbot, window)
    window._after_start()
    assert window.selected().state is State.SCHEDULED
    bar = window.statusBar()
    for key, advice in ((Qt.Key.Key_F8, "after the fact."), (Qt.Key.Key_F9, "(Shift+F9)."), (Qt.Key.Key_F7, "(F6).")):
        QTest.keyClick(window.table, key)
        qtbot.waitUntil(lambda a=advice: bar.currentMessage().endswith(a), timeout=2000)
        laid_out(qtbot, window)
        assert readable(window), bar.currentMessage()
    # clicked away, the fields are in view again and nothing moved
    before = [f.geometry() for f in window.status.fields]
    QTest.keyClick(window.table, Qt.Key.Key_F8)
    qtbot.waitUntil(lambda: window.status.message.isVisible(), timeout=2000)
    qtbot.mouseClick(window.status.message, Qt.MouseButton.LeftButton)
    assert bar.currentMessage() == "" and not window.status.message.isVisible()
    assert [f.geometry() for f in window.status.fields] == before


def test_the_server_is_named_by_host_and_port(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    server = window.status.server
    url = window.session.profile.url
    assert server.text() == url.split("/")[2] and server.toolTip() == url
