"""The asyncio loop the console's coroutines run on: qasync's, driven by the Qt event loop."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import qasync
from PySide6.QtWidgets import QApplication


def ensure_loop(app: QApplication) -> asyncio.AbstractEventLoop:
    """A qasync loop that the Qt event loop drives (already running): the app's, or pytest-qt's."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if not isinstance(loop, qasync.QEventLoop):
        loop = qasync.QEventLoop(app, already_running=True)
        # plain Python worker threads (DNS look-ups, parsing): qasync's QThread pool is left
        # running at exit, which Qt reports as an error
        loop.set_default_executor(ThreadPoolExecutor(max_workers=4, thread_name_prefix="console-worker"))
        asyncio.set_event_loop(loop)
    return loop
