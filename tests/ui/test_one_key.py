"""One key never harms a record: F8 and F9 act only on a procedure this station started,
Complete shows what it will send and waits for Enter, and documenting a procedure after the
fact is its own explicit action that asks once, naming patient, procedure and station."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from conftest import answer_next_dialog, press_enter, press_escape
from console_helpers import live, loaded, press_start, rows, start_selected, state_shown, stored, stored_state
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel

from app.domain.states import State


def scheduled_row(window, station: str = "CT1"):
    return next(w for w in rows(window) if w.state is State.SCHEDULED and w.station_names[0].value == station)


def test_f8_and_f9_on_a_scheduled_procedure_do_nothing(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    item = window.selected()
    assert item.state is State.SCHEDULED
    window.table.setFocus()
    for key in (Qt.Key.Key_F8, Qt.Key.Key_F9, Qt.Key.Key_F7):
        QTest.keyClick(window.table, key)
        qtbot.wait(100)
        assert QApplication.activeModalWidget() is None
    qtbot.wait(300)
    assert stored_state(window.demo.server, item.uid) == "SCHEDULED" and window.session.workflow.outbox.pending() == 0
    assert not window.procedure.complete_button.isEnabled() and not window.procedure.discontinue_button.isEnabled()


def test_f8_shows_a_summary_escape_keeps_the_procedure_and_enter_completes(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    item = window.selected()
    press_start(window, key=True)
    qtbot.waitUntil(lambda: window.procedure.complete_button.isEnabled(), timeout=5000)
    window.procedure.add_output_series("Axial")
    window.procedure.add_output_series("Coronal")
    summary: dict[str, str] = {}

    def read_then_escape(dialog) -> None:
        summary.update({label: shown.text() for label, shown in dialog.summary.items()})
        press_escape(dialog)

    answer_next_dialog(read_then_escape)
    QTest.keyClick(window.table, Qt.Key.Key_F8)
    qtbot.waitUntil(lambda: bool(summary), timeout=3000)
    assert item.patient_name.display() in summary["Patient"]
    assert summary["Series"] == "<b>2 series</b>" and re.search(r"\(\d+ (s|min)", summary["Time"])
    qtbot.wait(300)
    assert stored_state(window.demo.server, item.uid) == "IN PROGRESS"  # Escape: nothing sent
    answer_next_dialog(press_enter)
    QTest.keyClick(window.table, Qt.Key.Key_F8)
    qtbot.waitUntil(lambda: stored_state(window.demo.server, item.uid) == "COMPLETED", timeout=5000)


def read_then_escape(qtbot, act) -> str:
    """What the dialog `act` opens says, read before Escape closes it."""
    texts: list[str] = []
    answer_next_dialog(
        lambda dialog: (texts.extend(label.text() for label in dialog.findChildren(QLabel)), press_escape(dialog))
    )
    act()
    qtbot.waitUntil(lambda: bool(texts), timeout=3000)
    return " ".join(texts)


def test_complete_without_starting_asks_once_naming_patient_procedure_and_station(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    item = window.selected()
    text = read_then_escape(qtbot, window.complete_unstarted_action.trigger)
    assert item.patient_name.display() in text and item.label in text and "CT1" in text
    qtbot.wait(200)
    assert stored_state(window.demo.server, item.uid) == "SCHEDULED"
    answer_next_dialog(press_enter)
    window.complete_unstarted_action.trigger()
    qtbot.waitUntil(lambda: stored_state(window.demo.server, item.uid) == "COMPLETED", timeout=5000)
    performed = stored(window.demo.server, item.uid)["00741216"]["Value"][0]
    assert performed["00404028"]["Value"][0]["00080100"]["Value"] == ["CT1"]


def test_complete_without_starting_on_another_stations_item_names_that_station(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    window.query_panel.station.setText("MR1")
    QTest.keyClick(window.query_panel.station, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: rows(window) and all(w.station_names[0].value == "MR1" for w in rows(window)), timeout=5000)
    window.select(scheduled_row(window, "MR1").uid)
    text = read_then_escape(qtbot, window.complete_unstarted_action.trigger)
    assert "scheduled for <b>MR1</b>, another station" in text


def test_tab_leaves_the_list_and_only_arrows_change_the_patient(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    qtbot.waitUntil(window.table.hasFocus, timeout=3000)  # the window starts with the list in hand
    first = window.selected()
    QTest.keyClick(window.table, Qt.Key.Key_Tab)
    assert not window.table.hasFocus() and window.selected().uid == first.uid
    window.table.setFocus()
    QTest.keyClick(window.table, Qt.Key.Key_Down)
    second = window.selected()
    assert second.uid == rows(window)[1].uid
    assert second.patient_name.display() in window.procedure.headline.text()


def test_a_refresh_never_moves_the_selection_to_another_patient(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    live(qtbot, window)
    chosen = rows(window)[2]
    window.select(chosen.uid)
    window.demo.add_urgent_order("CT1")  # a new row arrives above it
    qtbot.waitUntil(
        lambda: (
            window.model.rowCount() == len(rows(window))
            and any(w.priority and w.priority.value == "HIGH" and w.patient_id.startswith("STAT") for w in rows(window))
        ),
        timeout=5000,
    )
    searching = window.refresh()
    qtbot.waitUntil(searching.done, timeout=5000)  # its answer is shown
    assert window.selected().uid == chosen.uid
    assert chosen.patient_name.display() in window.procedure.headline.text()


def test_an_offline_completion_says_it_waits_and_cannot_be_sent_twice(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    item = start_selected(qtbot, window, sent=True)
    window.demo.server.stop()
    answer_next_dialog(press_enter)
    QTest.keyClick(window.table, Qt.Key.Key_F8)
    qtbot.waitUntil(lambda: window.session.workflow.outbox.final_pending(item.uid) == "complete", timeout=20000)
    qtbot.waitUntil(lambda: "the completion is waiting to be sent" in window.procedure.headline.text(), timeout=5000)
    panel = window.procedure
    assert not any(
        b.isEnabled()
        for b in (
            panel.complete_button,
            panel.discontinue_button,
            panel.progress_button,
            panel.start_button,
            panel.cancel_button,
        )
    )
    assert state_shown(window, item.uid) == "COMPLETING"
    QTest.keyClick(window.table, Qt.Key.Key_F8)
    qtbot.wait(200)
    assert QApplication.activeModalWidget() is None and window.session.workflow.outbox.pending() == 1
    assert all("()" not in text for text in window.messages.texts())
    assert any(item.patient_name.display() in text and "will be sent" in text for text in window.messages.texts())


def test_the_resume_offer_says_a_queued_completion_waits_rather_than_in_progress(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    item = start_selected(qtbot, window, sent=True)
    window.demo.server.stop()
    answer_next_dialog(press_enter)
    window.procedure.complete_button.click()
    qtbot.waitUntil(lambda: window.session.workflow.outbox.final_pending(item.uid) == "complete", timeout=20000)
    window.close_without_asking()
    again = open_console("demo")
    qtbot.waitUntil(lambda: again.messages.get("resume-waiting") is not None, timeout=5000)
    assert again.messages.get("resume") is None
    text = again.messages.get("resume-waiting").text.text()
    assert "completion" in text and item.patient_name.display() in text and "waiting to be sent" in text


def test_complete_without_starting_is_only_for_scheduled_work_and_asks_for_the_times(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    uid = window.demo.other_claims("CT1")
    qtbot.waitUntil(lambda: state_shown(window, uid) == "IN PROGRESS", timeout=5000)
    window.select(uid)
    assert not window.complete_unstarted_action.isEnabled()
    item = next(w for w in rows(window) if w.state is State.SCHEDULED)
    window.select(item.uid)
    assert window.complete_unstarted_action.isEnabled()

    def set_times(dialog) -> None:
        yesterday = datetime.now() - timedelta(days=1)  # at any hour of the clock, a time already past
        dialog.started.setDateTime(yesterday.replace(hour=6, minute=30, second=0))
        dialog.ended.setDateTime(yesterday.replace(hour=6, minute=52, second=0))
        press_enter(dialog)

    answer_next_dialog(set_times)
    window.complete_unstarted_action.trigger()
    qtbot.waitUntil(lambda: stored_state(window.demo.server, item.uid) == "COMPLETED", timeout=5000)
    performed = stored(window.demo.server, item.uid)["00741216"]["Value"][0]
    assert performed["00404050"]["Value"][0][8:12] == "0630" and performed["00404051"]["Value"][0][8:12] == "0652"


def test_a_completion_that_waits_shows_what_was_recorded_and_says_sent_when_it_went(qtbot, open_console, tmp_path):
    from embedded_server import start_server

    window = open_console("demo")
    loaded(qtbot, window)
    item = start_selected(qtbot, window, sent=True)
    window.procedure.technologist.setText("Becker, Anna")
    window.procedure.add_output_series("Axial")
    server = window.demo.server
    port, db = server.port, server.store.path
    server.stop()
    answer_next_dialog(press_enter)
    window.procedure.complete_button.click()
    qtbot.waitUntil(lambda: window.session.workflow.outbox.final_pending(item.uid) == "complete", timeout=20000)
    qtbot.waitUntil(lambda: "the completion is waiting to be sent" in window.procedure.headline.text(), timeout=5000)
    assert window.procedure.technologist.text() == "Becker, Anna" and window.procedure.series.rowCount() == 1
    quit_text: list[str] = []
    answer_next_dialog(lambda box: (quit_text.append(box.text()), press_escape(box)))
    window.quit_action.trigger()
    qtbot.waitUntil(lambda: bool(quit_text), timeout=3000)
    assert f"the completion of {item.label} for {item.patient_name.display()}" in quit_text[0]
    back = start_server(db, port=port)
    try:
        window.session.workflow.outbox.kick()
        qtbot.waitUntil(lambda: window.session.workflow.outbox.pending() == 0, timeout=20000)
        qtbot.waitUntil(lambda: window.messages.get(f"procedure:{item.uid}") is None, timeout=5000)
        assert stored_state(back, item.uid) == "COMPLETED"
        assert window.statusBar().currentMessage().startswith("Sent: the completion of")
    finally:
        back.stop()


def test_the_filter_keeps_my_procedure_and_is_driven_by_keys(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    mine = window.selected()
    press_start(window)
    qtbot.waitUntil(lambda: window.procedure.complete_button.isEnabled(), timeout=5000)
    other = next(w for w in rows(window) if w.uid != mine.uid)
    QTest.keyClick(window.table, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.filter.hasFocus()
    QTest.keyClicks(window.filter, other.accession_number)
    assert [w.uid for w in rows(window)] == [mine.uid, other.uid]  # mine stays in view, pinned
    assert window.selected().uid == mine.uid
    QTest.keyClick(window.filter, Qt.Key.Key_Down)
    assert window.table.hasFocus()
    window.filter.setFocus()
    QTest.keyClick(window.filter, Qt.Key.Key_Escape)
    assert window.filter.text() == "" and len(rows(window)) > 2
