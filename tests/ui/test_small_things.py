"""The small things a technologist meets every day."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from conftest import answer_next_dialog, press_escape
from console_helpers import cell, loaded, rows


def test_ctrl_n_offers_the_stations_modality(qtbot, open_console):
    window = open_console("demo")  # CT1
    loaded(qtbot, window)
    seen: list[str] = []
    answer_next_dialog(lambda dialog: (seen.append(dialog.modality.currentData()), press_escape(dialog)))
    QTest.keyClick(window.table, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: bool(seen), timeout=3000)
    assert seen == ["CT"]


def test_the_event_log_opens_tall_enough_to_read(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    QTest.keyClick(window.table, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.bottom.isVisible() and window.bottom.height() >= 200, timeout=3000)


def test_birth_dates_read_the_same_in_the_list_and_the_details(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    w = rows(window)[0]
    shown = f"{w.birth_date[:4]}-{w.birth_date[4:6]}-{w.birth_date[6:]}"
    assert cell(window, w.uid, "Born / Sex").startswith(shown)
    assert shown in window.details.summary.toPlainText()
