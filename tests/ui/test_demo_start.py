"""`worklist-console demo` opens its window first, saying the demo server is starting, and only
then starts the server (its imports and its demo day) on a thread of its own: the list comes when
the server serves. A server that cannot start is said in the window, which stays usable."""

from __future__ import annotations

import threading

from PySide6.QtCore import QEvent, QObject

from app.ui.demo import STARTING, DemoController


class Painted(QObject):
    """Counts the paint events of the widget it watches."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def test_the_window_is_painted_and_says_the_server_is_starting_before_it_starts_then_the_list_comes(
    qtbot, open_console, monkeypatch
):
    release = threading.Event()
    asked: list[str] = []
    start = DemoController._start_server

    def held(self):  # the server's start waits until the window has been seen
        asked.append(threading.current_thread().name)
        assert release.wait(20), "the test never let the server start"
        return start(self)

    monkeypatch.setattr(DemoController, "_start_server", held)
    window = open_console("demo")
    painted = Painted()
    window.installEventFilter(painted)
    window.update()
    qtbot.waitUntil(lambda: painted.count > 0 and bool(asked), timeout=5000)
    # painted, and the server asked to start on a thread of its own, not on the window's
    assert window.isVisible() and asked != [threading.current_thread().name]
    assert window.statusBar().currentMessage() == STARTING
    assert window.model.rowCount() == 0 and window.messages.texts() == []
    told: list[str] = []
    window.demo.started.done.connect(told.append)

    release.set()
    qtbot.waitUntil(lambda: window.model.rowCount() > 0, timeout=10000)  # the first search, answered
    qtbot.waitUntil(lambda: told == [""], timeout=5000)
    assert window.statusBar().currentMessage() != STARTING
    assert window.demo.server.base_url == window.session.profile.url
    window.removeEventFilter(painted)


def test_a_demo_server_that_cannot_start_is_said_in_the_window(qtbot, open_console, tmp_path):
    (tmp_path / "demo-worklist.db").mkdir()  # the demo's database cannot be opened
    window = open_console("demo")
    qtbot.waitUntil(lambda: window.messages.containing("The demo server could not start") is not None, timeout=10000)
    assert window.isVisible()
    assert window.statusBar().currentMessage() != STARTING
    qtbot.waitUntil(lambda: window.model.rowCount() == 0 and not window.session.connected, timeout=10000)
