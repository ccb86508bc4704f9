"""The Qt binding must not drop references to None: PySide6 6.12.0 did, on every call of a
method that returns nothing, and under Python 3.11 a console busy enough (an outbox retrying,
a stream of events) then died within seconds or hours with "Fatal Python error: none_dealloc"."""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication


def test_qt_calls_that_return_nothing_leave_none_alone(qtbot):
    timer = QTimer()
    before = sys.getrefcount(None)
    for _ in range(2000):
        timer.start(10)
        timer.stop()
        QApplication.processEvents()
    assert before - sys.getrefcount(None) < 200  # 6.12.0: 6000 fewer
