"""A console left open across midnight: "Today" moves on to the new day without F5, an order
for 00:02 appears, and the procedure in progress stays pinned on top and selected."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import httpx
import time_machine
from console_helpers import cell, live, loaded, row_of, rows, start_selected
from pydicom.uid import generate_uid

from app.domain.build import NewWorkitem
from app.domain.workitem import PatientName

STATION = "NS1"
EVE = datetime(2027, 12, 31)  # the evening this test lives through, whatever the day it runs on
NEW_YEAR = EVE + timedelta(days=1)


def order(start: datetime, name: str, priority: str = "MEDIUM") -> NewWorkitem:
    return NewWorkitem(
        uid=generate_uid(),
        label="CT head",
        start=f"{start:%Y%m%d%H%M%S}",
        patient=PatientName(name),
        patient_id=f"NS{start:%d%H%M}",
        station=STATION,
        modality="CT",
        priority=priority,
        accession=f"NS{start:%m%d%H%M}",
        study_uid=generate_uid(),
    )


def test_today_moves_on_at_midnight_with_my_procedure_pinned_and_selected(qtbot, open_console, fresh_server):
    mine = order(EVE.replace(hour=23, minute=30), "Evening^Eva")
    evening = order(EVE.replace(hour=22), "Late^Lars")
    for item in (mine, evening):
        fresh_server.service.create(item.to_json())
    with time_machine.travel(EVE.replace(hour=23, minute=59, second=40).astimezone(), tick=True):
        window = open_console("--url", fresh_server.base_url, "--ae-title", STATION)
        loaded(qtbot, window)
        live(qtbot, window)
        assert window.query_panel.when.currentText() == "Today"
        assert {w.uid for w in rows(window)} == {mine.uid, evening.uid}
        window.select(mine.uid)
        start_selected(qtbot, window)

        stat = order(NEW_YEAR.replace(minute=2), "Early^Emil", priority="HIGH")
        created = httpx.post(
            f"{fresh_server.base_url}/workitems?{stat.uid}",
            content=json.dumps([stat.to_json()]),
            headers={"Content-Type": "application/dicom+json"},
        )
        assert created.status_code == 201, created.headers.get("Warning")

        # no F5: midnight passes, the list is the new day's
        qtbot.waitUntil(lambda: datetime.now() >= NEW_YEAR, timeout=40000)
        qtbot.waitUntil(lambda: row_of(window, evening.uid) < 0, timeout=15000)
        assert row_of(window, stat.uid) >= 0
        assert row_of(window, mine.uid) == 0  # pinned on top, above the urgent order
        assert window.selected().uid == mine.uid
        assert window.procedure.complete_button.isEnabled()
        # yesterday's procedure now says which day it was scheduled, its time whole
        assert cell(window, mine.uid, "Time") == f"31 {EVE:%b} 23:30"
        assert cell(window, stat.uid, "Time") == "00:02"


def test_another_days_time_shows_its_date_whole_at_1024_pixels_and_moves_no_column(qtbot, open_console, fresh_server):
    from datetime import date

    from PySide6.QtCore import Qt

    from app.ui.worklist_model import TIME

    today = datetime.combine(date.today(), datetime.min.time())
    later = order(today.replace(hour=12), "Today^Tim")
    tomorrow = order(today + timedelta(days=1, hours=8, minutes=5), "Tomorrow^Tea")
    for item in (later, tomorrow):
        fresh_server.service.create(item.to_json())
    window = open_console("--url", fresh_server.base_url, "--ae-title", STATION)
    window.resize(1024, 768)
    loaded(qtbot, window)
    narrow = window.table.columnWidth(TIME)
    window.query_panel.when.setCurrentText("Today and tomorrow")
    qtbot.mouseClick(window.query_panel.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: row_of(window, tomorrow.uid) >= 0, timeout=5000)
    day = today + timedelta(days=1)
    assert cell(window, tomorrow.uid, "Time") == f"{day.day} {day:%b} 08:05"
    assert cell(window, later.uid, "Time") == "12:00"
    # sized once for another day's date: the column did not widen under the pointer as it came
    assert window.table.columnWidth(TIME) == narrow >= window.table.sizeHintForColumn(TIME)


def test_a_night_shift_profile_opens_on_today_and_the_next_12_hours(qtbot, open_console, fresh_server, tmp_path):
    from PySide6.QtWidgets import QPushButton

    from app.backends import profiles as profile_store
    from app.backends.profiles import ProfileBook
    from app.ui.settings_dialog import SettingsDialog

    book = ProfileBook()
    dialog = SettingsDialog(book)
    qtbot.addWidget(dialog)
    dialog.name.setText("Night CT")
    dialog.url.setText(fresh_server.base_url)
    dialog.ae.setText(STATION)
    dialog.opening_dates.setCurrentText("Today and the next 12 hours")
    [save] = [b for b in dialog.findChildren(QPushButton) if b.text() == "Save"]
    save.click()
    config = tmp_path / "profiles.toml"
    profile_store.save(book, config)
    assert profile_store.load(config).get("Night CT").opening_dates == "Today and the next 12 hours"

    morning, early, late = (
        order(EVE.replace(hour=8), "Morning^Mia"),
        order(NEW_YEAR.replace(hour=7), "Early^Emil"),  # 21:00 + 12 h: to 09:59
        order(NEW_YEAR.replace(hour=11), "Late^Lars"),
    )
    for item in (morning, early, late):
        fresh_server.service.create(item.to_json())
    with time_machine.travel(EVE.replace(hour=21).astimezone(), tick=True):
        window = open_console("--config", str(config))
        loaded(qtbot, window)
        assert window.query_panel.when.currentText() == "Today and the next 12 hours"
        assert {w.uid for w in rows(window)} == {morning.uid, early.uid}
