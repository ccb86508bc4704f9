"""The console under pytest-qt: real windows on a real embedded demo server, offscreen."""
from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture()
def open_console(qtbot, tmp_path) -> Iterator:
    """open_console(*args) → the window `worklist-console ARGS` shows; everything is closed after."""
    from app.ui.main_window import open_window

    windows = []

    def open_(*args: str):
        window = open_window(["--data-dir", str(tmp_path), *args])
        qtbot.addWidget(window)
        windows.append(window)
        return window

    yield open_
    demos = {id(w.demo): w.demo for w in windows if getattr(w, "demo", None)}
    for window in windows:
        for other in getattr(window.demo, "windows", []) if window.demo else []:
            if other not in windows:
                other.close()
        window.close()
    loop = asyncio.get_event_loop()
    qtbot.waitUntil(lambda: all(w.session._closed and not w.session._tasks for w in windows), timeout=5000)
    for demo in demos.values():
        demo.stop()
    # The qasync loop rode on pytest-qt's Qt loop ("already running"); retire it so that later
    # asyncio tests can run loops of their own.
    asyncio.events._set_running_loop(None)
    loop._QEventLoop__is_running = False  # qasync keeps no public way to stop an adopted loop
    loop.close()
    asyncio.set_event_loop(None)
