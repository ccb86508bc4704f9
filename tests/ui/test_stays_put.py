"""What the technologist's hands and eyes rely on stays where it is: after Complete or
Discontinue pressed from a field the keyboard goes back to the list, a field reached with Tab
is scrolled into view and the next patient's form starts at its top, and the buttons do not
move between a short and a long patient name."""

from __future__ import annotations

from datetime import date, datetime, time

from conftest import answer_next_dialog, press_enter
from console_helpers import laid_out, loaded, row_of, rows, start_selected, stored_state
from pydicom.uid import generate_uid
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.domain.build import NewWorkitem
from app.domain.workitem import PatientName


def tab_to(window, widget, presses: int = 20) -> None:
    """Tab from the list until `widget` has the keyboard, as a technologist does."""
    window.activateWindow()
    window.table.setFocus()
    for _ in range(presses):
        if QApplication.focusWidget() is widget:
            return
        QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is widget


def test_complete_from_the_technologist_field_gives_the_keyboard_back_to_the_list(qtbot, open_console):
    window = open_console("demo")
    window.show()
    loaded(qtbot, window)
    item = start_selected(qtbot, window)
    window.procedure.add_output_series("Axial")
    tab_to(window, window.procedure.technologist)
    QTest.keyClicks(window.procedure.technologist, "Novak, Anna")
    answer_next_dialog(press_enter)
    QTest.keyClick(window.procedure.technologist, Qt.Key.Key_F8)
    qtbot.waitUntil(lambda: stored_state(window.demo.server, item.uid) == "COMPLETED", timeout=5000)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.table, timeout=3000)
    at, listed = row_of(window, item.uid), rows(window)
    step, key = (1, Qt.Key.Key_Down) if at + 1 < len(listed) else (-1, Qt.Key.Key_Up)
    QTest.keyClick(window.table, key)  # the next patient, with the arrow
    assert window.selected().uid == listed[at + step].uid


def test_discontinue_from_the_progress_text_gives_the_keyboard_back_to_the_list(qtbot, open_console):
    window = open_console("demo")
    window.show()
    loaded(qtbot, window)
    item = start_selected(qtbot, window)
    tab_to(window, window.procedure.percent_text)
    QTest.keyClicks(window.procedure.percent_text, "contrast")

    def choose_a_reason(dialog) -> None:
        QTest.keyClick(dialog.reason, Qt.Key.Key_Down)
        press_enter(dialog)

    answer_next_dialog(choose_a_reason)
    QTest.keyClick(window.procedure.percent_text, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: stored_state(window.demo.server, item.uid) == "CANCELED", timeout=5000)
    qtbot.waitUntil(lambda: window.selected() is not None and window.selected().uid != item.uid, timeout=5000)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.table, timeout=3000)


def test_tab_scrolls_the_field_into_view_and_the_next_patient_starts_at_the_top(qtbot, open_console):
    window = open_console("demo")
    window.resize(1024, 600)
    window.show()
    loaded(qtbot, window)
    window._after_start()
    start_selected(qtbot, window)
    scroll = window.procedure.form_scroll
    bar = scroll.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=3000)
    bar.setValue(bar.maximum())  # the wheel left the form at its bottom
    technologist = window.procedure.technologist
    tab_to(window, technologist)
    top = technologist.mapTo(scroll.viewport(), QPoint(0, 0)).y()
    assert top >= 0 and top + technologist.height() <= scroll.viewport().height()
    bar.setValue(bar.maximum())
    QTest.keyClick(technologist, Qt.Key.Key_Tab, Qt.KeyboardModifier.ShiftModifier)
    window.table.setFocus()  # back on the list (Shift+Tab through the panel, or a click)
    QTest.keyClick(window.table, Qt.Key.Key_Down)  # another patient
    assert bar.value() == 0


def long_named_order(start: datetime) -> NewWorkitem:
    return NewWorkitem(
        uid=generate_uid(),
        label="CT thorax, abdomen and pelvis with contrast, arterial and venous",
        start=f"{start:%Y%m%d%H%M%S}",
        patient=PatientName("Wolfeschlegelsteinhausenbergerdorff-Schmidt^Maria Magdalena"),
        patient_id="LONG1",
        station="CT1",
        modality="CT",
        priority="MEDIUM",
        accession="LONG1",
        study_uid=generate_uid(),
    )


def test_the_buttons_stay_put_between_a_short_and_a_long_patient_name(qtbot, open_console):
    window = open_console("demo")
    window.resize(1024, 768)
    window.show()
    loaded(qtbot, window)
    window._after_start()
    order = long_named_order(datetime.combine(date.today(), time(12)))  # today, whatever the clock says
    window.demo.server.service.create(order.to_json())
    window.refresh()
    qtbot.waitUntil(lambda: row_of(window, order.uid) >= 0, timeout=5000)
    panel = window.procedure
    short = next(w for w in rows(window) if w.uid != order.uid)
    buttons = (panel.start_button, panel.complete_button, panel.progress_button)
    window.select(short.uid)
    laid_out(qtbot, panel)
    before = [b.mapTo(panel, QPoint(0, 0)) for b in buttons]
    window.select(order.uid)
    qtbot.waitUntil(lambda: "Wolfeschlegel" in panel.headline.text(), timeout=3000)
    laid_out(qtbot, panel)
    assert [b.mapTo(panel, QPoint(0, 0)) for b in buttons] == before
    # the state line is not cut off: a name too long for the headline gives way instead
    headline = panel.headline
    assert "SCHEDULED" in headline.text() and "Wolfeschlegel" in headline.toolTip()
    assert headline.heightForWidth(headline.width()) <= headline.height()
