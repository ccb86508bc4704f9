"""A technologist's day in the demo, by pressing the real buttons."""

from __future__ import annotations

import json

from conftest import answer_next_dialog, press_enter
from console_helpers import press_start
from PySide6.QtCore import Qt

from app.console import procedure_key
from app.domain.states import State
from app.ui.worklist_model import COLUMNS, WORKITEM_ROLE

STATE = COLUMNS.index("State")


def rows(window) -> list:
    return [window.proxy.index(r, 0).data(WORKITEM_ROLE) for r in range(window.proxy.rowCount())]


def state_shown(window, uid: str) -> str:
    for r in range(window.proxy.rowCount()):
        if window.proxy.index(r, 0).data(WORKITEM_ROLE).uid == uid:
            return window.proxy.index(r, STATE).data()
    return ""


def on_server(window, uid: str) -> dict:
    return json.loads(window.demo.server.service.retrieve(uid))


def loaded(qtbot, window) -> None:
    qtbot.waitUntil(lambda: window.model.rowCount() > 0 and window.selected() is not None, timeout=10000)


def test_demo_opens_on_todays_unfinished_work_for_this_station(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    items = rows(window)
    assert {w.station_names[0].value for w in items} == {"CT1"}
    assert all(w.state in (State.SCHEDULED, State.IN_PROGRESS) for w in items)
    assert window.status_count.text() == f"{len(items)} items"
    qtbot.waitUntil(lambda: window.live.text() == "● live", timeout=5000)
    assert window.procedure.start_button.isEnabled()


def test_start_progress_complete_by_buttons(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    item = window.selected()
    answer_next_dialog(press_enter)  # "is this the patient?", asked before a start
    qtbot.mouseClick(window.procedure.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: state_shown(window, item.uid) == "IN PROGRESS", timeout=5000)
    qtbot.waitUntil(lambda: window.procedure.progress_button.isEnabled(), timeout=5000)
    assert not window.procedure.start_button.isEnabled()

    window.procedure.percent.setValue(40)
    window.procedure.percent_text.setText("Contrast phase")
    qtbot.mouseClick(window.procedure.progress_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.proxy.index(0, COLUMNS.index("Progress")).data() == "40 %", timeout=5000)
    progress = on_server(window, item.uid)["00741002"]["Value"][0]
    assert progress["00741006"]["Value"] == ["Contrast phase"]

    window.procedure.technologist.setText("Becker^Anna")
    series_uid = window.procedure.add_output_series("Chest 1 mm", ("1.2.3.4.1", "1.2.3.4.2", "not-a-uid"))
    summary = answer_next_dialog(press_enter)  # the summary, confirmed with Enter
    qtbot.mouseClick(window.procedure.complete_button, Qt.MouseButton.LeftButton)
    assert summary and summary[0].summary["Series"].text() == "<b>1 series</b>"
    qtbot.waitUntil(lambda: state_shown(window, item.uid) == "COMPLETED", timeout=5000)
    stored = on_server(window, item.uid)
    performed = stored["00741216"]["Value"][0]
    output = performed["00404033"]["Value"][0]
    assert output["0020000E"]["Value"] == [series_uid]
    refs = output["00081199"]["Value"]
    assert [r["00081155"]["Value"][0] for r in refs] == ["1.2.3.4.1", "1.2.3.4.2"]
    assert refs[0]["00081150"]["Value"] == ["1.2.840.10008.5.1.4.1.1.2"]  # CT Image Storage
    assert performed["00404035"]["Value"][0]["00404037"]["Value"] == [{"Alphabetic": "Becker^Anna"}]
    assert performed["00404028"]["Value"][0]["00080100"]["Value"] == ["CT1"]
    assert window.status_pending.text() == "outbox empty"


def test_discontinue_asks_for_a_reason_and_cancels(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    item = window.selected()
    press_start(window)
    qtbot.waitUntil(lambda: window.procedure.discontinue_button.isEnabled(), timeout=5000)

    def choose(dialog):
        assert not dialog.confirm.isEnabled()  # no reason chosen yet: Enter alone does nothing
        dialog.reason.setCurrentIndex(dialog.reason.findText("Patient refused to continue procedure"))
        dialog.text.setText("Claustrophobia")
        dialog.confirm.click()

    answer_next_dialog(choose)
    window.procedure.discontinue_button.click()
    qtbot.waitUntil(lambda: state_shown(window, item.uid) == "CANCELED", timeout=5000)
    reason = on_server(window, item.uid)["00741002"]["Value"][0]["0074100E"]["Value"][0]
    assert reason["00080100"]["Value"] == ["110505"]


def test_another_stations_claim_shows_up_live(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    qtbot.waitUntil(lambda: window.live.text() == "● live", timeout=5000)
    uid = window.demo.other_claims("CT1")
    qtbot.waitUntil(lambda: state_shown(window, uid) == "IN PROGRESS", timeout=2000)
    window.select(uid)
    assert not window.procedure.start_button.isEnabled()
    assert window.procedure.cancel_button.isEnabled()  # someone else's: I may only ask


def test_a_cancellation_request_for_my_procedure_cannot_be_missed(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    qtbot.waitUntil(lambda: window.live.text() == "● live", timeout=5000)
    item = window.selected()
    press_start(window)
    qtbot.waitUntil(lambda: state_shown(window, item.uid) == "IN PROGRESS", timeout=5000)
    window.demo.request_cancellation("CT1")
    qtbot.waitUntil(lambda: window.messages.containing("Cancellation requested") is not None, timeout=3000)
    text = window.messages.containing("Cancellation requested").text.text()
    assert "RIS" in text and "Duplicate order" in text


def test_second_console_is_told_who_already_started(qtbot, open_console):
    first = open_console("demo")
    loaded(qtbot, first)
    second = first.demo.open_second_console(first)
    loaded(qtbot, second)
    item = first.selected()
    second.select(item.uid)
    press_start(second)
    qtbot.waitUntil(lambda: state_shown(second, item.uid) == "IN PROGRESS", timeout=5000)
    qtbot.waitUntil(lambda: state_shown(first, item.uid) == "IN PROGRESS", timeout=3000)
    first.select(item.uid)
    assert not first.procedure.start_button.isEnabled() and not first.procedure.complete_button.isEnabled()
    first.procedure.start.emit(item)  # a press that raced the event: the stale SCHEDULED item
    qtbot.waitUntil(lambda: first.messages.get(procedure_key(item.uid)) is not None, timeout=5000)
    assert (
        "Another station (CT1B) already started this procedure."
        in first.messages.get(procedure_key(item.uid)).text.text()
    )
    second.close_without_asking()


def test_unscheduled_patient_is_created_and_started(qtbot, open_console):
    from app.ui.dialogs import UnscheduledDialog

    window = open_console("demo")
    loaded(qtbot, window)
    dialog = UnscheduledDialog("CT1", "CT", window)
    dialog.family.setText("Unbekannt")
    dialog.given.setText("Männlich")
    task = window.create_unscheduled(dialog)
    qtbot.waitUntil(task.done, timeout=5000)
    created = task.result()
    qtbot.waitUntil(lambda: state_shown(window, created.uid) == "IN PROGRESS", timeout=5000)
    assert created.priority.value == "HIGH" and created.patient_name.alphabetic == "Unbekannt^Männlich"
    qtbot.waitUntil(lambda: window.selected().uid == created.uid, timeout=3000)


def test_quick_filter_and_inspector(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    total = window.proxy.rowCount()
    name = rows(window)[0].patient_name.display().split(",")[0]
    window.filter.setText(name)
    assert 0 < window.proxy.rowCount() <= total
    window.filter.clear()
    assert window.proxy.rowCount() == total
    assert window.inspector.list.count() >= 2  # the search request and its answer
    first = window.inspector.list.item(0)
    window.inspector.list.setCurrentItem(first)
    assert "GET " in window.inspector.detail.toPlainText()


def test_reports_wait_in_the_outbox_while_the_server_is_away(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    press_start(window)
    qtbot.waitUntil(lambda: window.procedure.progress_button.isEnabled(), timeout=5000)
    qtbot.waitUntil(lambda: window.status_pending.text() == "outbox empty", timeout=5000)
    window.demo.server.stop()
    window.procedure.percent.setValue(70)
    window.procedure.progress_button.click()
    item = window.selected()
    banner = lambda: window.messages.get(procedure_key(item.uid))  # noqa: E731
    qtbot.waitUntil(lambda: banner() is not None and "will be sent" in banner().text.text(), timeout=20000)
    assert item.patient_name.display() in banner().text.text()  # the banner names the patient
    assert window.status_pending.text() == "1 waiting to be sent"


def test_ten_thousand_rows_load_and_filter(qtbot, open_console):
    from datetime import date, timedelta

    from app.domain.workitem import Workitem
    from app.server.demo import demo_workitems

    window = open_console("demo")
    loaded(qtbot, window)
    distinct = [Workitem(w.to_json()) for d in range(10) for w in demo_workitems(date.today() + timedelta(d))]
    window.model.set_workitems((distinct * 34)[:10000])
    assert window.proxy.rowCount() == 10000
    window.filter.setText("Müller")
    assert 0 < window.proxy.rowCount() < 10000
    window.table.sortByColumn(COLUMNS.index("Patient"), Qt.SortOrder.DescendingOrder)
    names = [window.proxy.index(r, COLUMNS.index("Patient")).data() for r in range(window.proxy.rowCount())]
    assert names == sorted(names, key=str.upper, reverse=True)


def test_a_procedure_in_progress_when_the_console_stopped_is_offered_for_resuming(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    item = window.selected()
    press_start(window)
    qtbot.waitUntil(
        lambda: window.status_pending.text() == "outbox empty" and window.session.is_mine(item.uid), timeout=5000
    )
    window.close_without_asking()
    window.demo.stop()
    again = open_console("demo")  # same data folder: the claim store remembers
    qtbot.waitUntil(lambda: again.messages.get("resume") is not None, timeout=5000)
    resume = again.messages.get("resume")
    assert "Procedure in progress" in resume.text.text() and resume.action.text() == "Resume"
    resume.action.click()
    qtbot.waitUntil(lambda: again.selected() is not None and again.selected().uid == item.uid, timeout=5000)
    assert again.procedure.progress_button.isEnabled()  # still mine: the Transaction UID was kept
