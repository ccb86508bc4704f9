"""The console under pytest-qt: real windows on a real embedded demo server, offscreen."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Retired qasync loops stay referenced: their timer object still has Qt timers registered, and
# if the garbage collector freed it on another thread those timers would fire into freed memory.
RETIRED_LOOPS: list = []


@pytest.fixture(scope="session", autouse=True)
def collect_garbage_only_between_tests() -> Iterator[None]:
    """Python's cyclic collector may run inside any allocation, including inside a Qt callback,
    and freeing a Qt object there (a timer's owner, a widget being painted) crashes the
    process. In the GUI tests it runs only where a test ends, outside Qt (open_console)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.fixture()
def open_console(qtbot, tmp_path) -> Iterator:
    """open_console(*args) → the window `worklist-console ARGS` shows; everything is closed after."""
    from app.ui.launch import open_window

    windows = []

    def open_(*args: str):
        window = open_window(["--data-dir", str(tmp_path), *args])
        windows.append(window)  # closed here, not by qtbot: a closed window deletes itself
        return window

    yield open_
    # a welcome window (first run) hands over to the console it opened
    windows[:] = [getattr(w, "next_window", None) or w for w in windows]
    welcomes = [w for w in windows if not hasattr(w, "session")]
    windows[:] = [w for w in windows if hasattr(w, "session")]
    for welcome in welcomes:
        if shiboken_valid(welcome):
            welcome.close()
    demos = {id(w.demo): w.demo for w in windows if getattr(w, "demo", None)}
    everything = list(windows) + [o for d in demos.values() for o in d.windows if o not in windows]
    from PySide6.QtWidgets import QApplication

    # a console the test's console opened (another profile, a second console) is closed too
    everything += [
        w
        for w in QApplication.topLevelWidgets()
        if hasattr(w, "session") and w not in everything and not w.session.closed
    ]
    windows[:] = everything
    for window in everything:
        if shiboken_valid(window):
            window.close_without_asking()  # a test may leave a procedure in progress: no question
    loop = asyncio.get_event_loop()
    qtbot.waitUntil(lambda: all(w.session.closed and w.session.idle for w in windows), timeout=5000)
    for demo in demos.values():
        demo.stop()
    qtbot.wait(50)  # let queued Qt events of the closed windows drain while their loop still exists
    # The qasync loop rode on pytest-qt's Qt loop ("already running"); retire it so that later
    # asyncio tests can run loops of their own.
    asyncio.events._set_running_loop(None)
    loop._QEventLoop__is_running = False  # qasync keeps no public way to stop an adopted loop
    loop.close()
    asyncio.set_event_loop(None)
    RETIRED_LOOPS.append(loop)
    gc.collect()  # whatever Qt objects became garbage are freed here, on the GUI thread


def shiboken_valid(obj) -> bool:
    from shiboken6 import isValid

    return isValid(obj)


def answer_next_dialog(press, timeout: float = 5.0) -> list:
    """Act in the next modal dialog as soon as it opens — press its keys or buttons as a
    technologist would. Returns a list that receives the dialog, for assertions afterwards."""
    import time

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    seen: list = []
    deadline = time.monotonic() + timeout

    def attempt() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            if time.monotonic() < deadline:
                QTimer.singleShot(20, attempt)
            return
        seen.append(dialog)
        try:
            press(dialog)
        except Exception:  # a broken test step must fail the test, not leave a modal dialog open forever
            import traceback

            traceback.print_exc()
            dialog.reject()
            raise

    QTimer.singleShot(0, attempt)
    return seen


def press_enter(dialog) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    QTest.keyClick(dialog, Qt.Key.Key_Return)


def press_escape(dialog) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    QTest.keyClick(dialog, Qt.Key.Key_Escape)
