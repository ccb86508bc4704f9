"""The small things a technologist meets every day."""

from __future__ import annotations

from conftest import answer_next_dialog, press_escape
from console_helpers import cell, loaded, rows
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest


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


def test_a_console_started_while_its_server_is_down_says_why_the_list_is_empty(qtbot, open_console):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    window = open_console("--url", f"http://127.0.0.1:{port}/dicom-web", "--ae-title", "CT1")
    qtbot.waitUntil(lambda: window.empty_note.isVisible(), timeout=10000)
    assert "does not answer" in window.empty_note.text() and window.model.rowCount() == 0
    banner = window.messages.get("connection")
    assert banner is not None and banner.kind == "warning" and "kept on this console" in banner.text.text()
    assert window.procedure.form.started.text() == "not known"  # nothing selected: no invented time


def test_the_window_fits_the_screen(qtbot, open_console):
    window = open_console("demo")
    screen = window.screen().availableGeometry()
    assert window.width() <= screen.width() and window.height() <= screen.height()
    second = window.demo.open_second_console(window)
    assert second.width() <= screen.width() and second.x() + second.width() <= screen.x() + screen.width()


def test_a_name_with_an_apostrophe_is_shown_and_spoken_as_written(qtbot, open_console, front):
    from datetime import date

    from pydicom.uid import generate_uid

    from app.domain.build import NewWorkitem
    from app.domain.workitem import PatientName

    item = NewWorkitem(
        uid=generate_uid(),
        label="CT abdomen",
        start=f"{date.today():%Y%m%d}120000",
        patient=PatientName("O'Neill^Patrick"),
        patient_id="APOS1",
        station="AP1",
        modality="CT",
    )
    front.service.create(item.to_json())
    window = open_console("--url", front.base_url, "--ae-title", "AP1")
    loaded(qtbot, window)
    assert window.selected().uid == item.uid
    assert "<b>O'Neill, Patrick</b> — CT abdomen" in window.procedure.headline.text()
    assert "O'Neill, Patrick" in window.procedure.accessibleDescription()


def test_an_urgent_order_of_another_day_names_its_day_and_todays_only_its_time():
    from datetime import datetime, timedelta

    from app.domain.build import NewWorkitem
    from app.domain.workitem import PatientName, Workitem
    from app.ui.notices import urgent_order

    def order(start: datetime) -> Workitem:
        return Workitem(
            NewWorkitem(
                uid="1.2.3.4",
                label="STAT CT",
                start=start.strftime("%Y%m%d%H%M%S"),
                patient=PatientName("Ito^Ken"),
                patient_id="P9",
                station="CT1",
                modality="CT",
                priority="STAT",
            ).to_json()
        )

    tomorrow = datetime.now().replace(hour=0, minute=3, second=0, microsecond=0) + timedelta(days=1)
    assert f"scheduled {tomorrow.day} {tomorrow:%b} 00:03" in urgent_order(order(tomorrow))
    today = datetime.now().replace(hour=12, minute=0, second=0, microsecond=0)
    assert "scheduled 12:00," in urgent_order(order(today))
