"""A wrong start can be put back: Procedure → Put back on the worklist (Shift+F6) for a procedure
of this station without series. Over UPS-RS the order is listed again as a new scheduled step;
over MWL + MPPS the step is reported discontinued and the RIS keeps the order. Start itself asks
"is this the patient?" where the profile wants it (on by default)."""

from __future__ import annotations

import json

from conftest import answer_next_dialog, press_enter, press_escape
from console_helpers import loaded, press_start, rows, start_selected, state_shown, stored_state
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.domain.search import parse_search
from app.domain.states import State


def steps_of(server, accession: str) -> list[dict]:
    query = parse_search([("ReferencedRequestSequence.AccessionNumber", accession)])
    return [json.loads(text) for text in server.service.search_all(query)]


def states_of(server, accession: str) -> list[str]:
    return sorted(s["00741000"]["Value"][0] for s in steps_of(server, accession))


def listed_again(window, item) -> list:
    """The rows of the same order that are SCHEDULED, the started step's own row left out."""
    return [
        w
        for w in rows(window)
        if w.accession_number == item.accession_number and w.uid != item.uid and w.state is State.SCHEDULED
    ]


def test_put_back_lists_the_order_again_as_a_new_scheduled_step(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    server = window.demo.server
    item = start_selected(qtbot, window)
    action = window.put_back_action
    assert action.isEnabled() and window.procedure.put_back_button.isVisible()

    asked: list[tuple[str, str]] = []

    def confirm(dialog) -> None:
        asked.append((dialog.objectName(), dialog.findChild(object, "fieldHint").text()))
        press_enter(dialog)

    answer_next_dialog(confirm)
    action.trigger()  # Procedure → Put back on the worklist…
    qtbot.waitUntil(lambda: listed_again(window, item) != [], timeout=5000)
    [(name, hint)] = asked
    assert name == "putBackDialog" and "goes back on the worklist as a new scheduled step" in hint
    (again,) = listed_again(window, item)
    # the started step leaves the list (its CANCELED event may come after the replacement's)
    qtbot.waitUntil(lambda: item.uid not in {w.uid for w in rows(window)}, timeout=5000)
    assert states_of(server, item.accession_number) == ["CANCELED", "SCHEDULED"]
    assert stored_state(server, item.uid) == "CANCELED"
    qtbot.waitUntil(lambda: window.selected() is not None and window.selected().uid == again.uid, timeout=3000)
    assert window.procedure.start_button.isEnabled()  # the right patient's turn can come
    assert not window.session.is_mine(item.uid) and window.session.workflow.outbox.pending() == 0


def test_put_back_is_refused_with_a_reason_once_a_series_is_recorded(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    item = start_selected(qtbot, window)
    window.procedure.add_output_series("Axial")
    qtbot.waitUntil(lambda: not window.put_back_action.isEnabled(), timeout=2000)
    assert not window.procedure.put_back_button.isEnabled()
    assert "series" in window.put_back_action.toolTip()
    QTest.keyClick(window.table, Qt.Key.Key_F6, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: "discontinue it instead" in window.statusBar().currentMessage(), timeout=2000)
    assert window.session.is_mine(item.uid)  # nothing was sent

    other = next(w for w in rows(window) if w.uid != item.uid and w.state is State.SCHEDULED)
    window.select(other.uid)  # not started here: nothing to put back
    assert not window.put_back_action.isEnabled()
    QTest.keyClick(window.table, Qt.Key.Key_F6, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: "not started" in window.statusBar().currentMessage(), timeout=2000)


def test_over_dimse_put_back_reports_discontinued_and_the_ris_keeps_the_order(qtbot, open_console, front):
    window = open_console("--backend", "dimse", "--mwl", f"127.0.0.1:{front.dimse.port}:WORKLIST", "--ae-title", "CT2")
    qtbot.waitUntil(lambda: window.model.rowCount() == 5 and window.selected() is not None, timeout=10000)
    item = window.selected()
    press_start(window)
    qtbot.waitUntil(
        lambda: window.session.is_mine(item.uid) and window.status_pending.text() == "outbox empty", timeout=10000
    )
    hints: list[str] = []

    def confirm(dialog) -> None:
        hints.append(dialog.findChild(object, "fieldHint").text())
        press_enter(dialog)

    answer_next_dialog(confirm)
    QTest.keyClick(window.table, Qt.Key.Key_F6, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: listed_again(window, item) != [], timeout=10000)
    assert "The RIS keeps the order" in hints[0]
    assert states_of(front, item.accession_number) == ["CANCELED", "SCHEDULED"]
    canceled = next(s for s in steps_of(front, item.accession_number) if s["00741000"]["Value"] == ["CANCELED"])
    assert '"110514"' in json.dumps(canceled["00741002"])  # reported as DISCONTINUED for a wrong entry
    assert not window.session.is_mine(item.uid) and window.session.workflow.outbox.pending() == 0


def test_start_asks_for_the_patient_esc_keeps_it_scheduled_and_enter_starts(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    assert window.session.profile.confirm_start  # the demo shows the question
    server = window.demo.server
    item = window.selected()
    seen: list[str] = []

    def look_then_escape(dialog) -> None:
        seen.append(dialog.objectName())
        seen.extend(label.text() for label in dialog.summary.values())
        press_escape(dialog)

    answer_next_dialog(look_then_escape)
    QTest.keyClick(window.table, Qt.Key.Key_F6)
    qtbot.waitUntil(lambda: bool(seen) and QApplication.activeModalWidget() is None, timeout=3000)
    assert seen[0] == "startConfirmDialog"
    text = " ".join(seen)
    assert item.patient_name.display() in text and item.patient_id in text
    assert f"{item.birth_date[:4]}-{item.birth_date[4:6]}-{item.birth_date[6:]}" in text
    assert not window.session.is_mine(item.uid) and window.session.workflow.outbox.pending() == 0
    assert stored_state(server, item.uid) == "SCHEDULED" and state_shown(window, item.uid) == "SCHEDULED"

    press_start(window)  # Enter on the same question starts it
    qtbot.waitUntil(lambda: stored_state(server, item.uid) == "IN PROGRESS", timeout=5000)
    assert window.session.is_mine(item.uid)


def test_the_discontinue_dialog_says_what_becomes_of_the_order_for_each_reason(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    start_selected(qtbot, window)
    said: dict[str, str] = {}

    def choose_each(dialog) -> None:
        for reason in ("Equipment failure", "Duplicate order", "Incorrect worklist entry selected"):
            dialog.reason.setCurrentIndex(dialog.reason.findText(reason))
            said[reason] = dialog.outcome.text()
        press_escape(dialog)

    answer_next_dialog(choose_each)
    window.procedure.discontinue_button.click()
    qtbot.waitUntil(lambda: len(said) == 3, timeout=3000)
    assert "schedule it again" in said["Equipment failure"]
    assert "corrected order" in said["Duplicate order"]
    assert "Put back on the worklist instead" in said["Incorrect worklist entry selected"]
    assert len(set(said.values())) == 3
