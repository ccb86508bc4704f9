"""What others do and what the console did, shown so it cannot be missed or misread: the
cancellation request, an urgent order, the event log, and what was performed."""

from __future__ import annotations

import time
from datetime import datetime

from conftest import answer_next_dialog, press_enter, press_escape
from console_helpers import cell, live, loaded, rows, start_selected, state_shown, stored
from PySide6.QtWidgets import QLabel

from app.domain.states import State


def cancellation_requested(qtbot, open_console):
    """A demo console with its procedure in progress, for which the RIS asked cancellation."""
    window = open_console("demo")
    loaded(qtbot, window)
    live(qtbot, window)
    item = start_selected(qtbot, window)
    window.demo.request_cancellation("CT1")
    qtbot.waitUntil(lambda: window.messages.get(f"cancel:{item.uid}") is not None, timeout=3000)
    return window, item


def test_a_cancellation_request_names_requester_reason_and_contact_and_stays_until_dealt_with(qtbot, open_console):
    window, item = cancellation_requested(qtbot, open_console)
    banner = window.messages.get(f"cancel:{item.uid}")
    assert banner.objectName() == "cancelRequestBanner"
    text = banner.text.text()
    assert "by <b>RIS</b>" in text and "Duplicate order (110510)" in text and "RIS front desk" in text
    assert item.patient_name.display() in text
    assert cell(window, item.uid, "Patient").startswith("⚠ ")  # the row is marked
    presets: list[str] = []
    answer_next_dialog(lambda dialog: (presets.append(dialog.reason.currentText()), press_escape(dialog)))
    banner.action.click()  # "Discontinue now…", then the technologist thinks again
    assert presets == ["Duplicate order"]  # the reason the request gave, preset
    assert window.messages.get(f"cancel:{item.uid}") is not None and cell(window, item.uid, "Patient").startswith("⚠ ")
    answer_next_dialog(lambda dialog: dialog.confirm.click())
    window.messages.get(f"cancel:{item.uid}").action.click()
    qtbot.waitUntil(lambda: state_shown(window, item.uid) == "CANCELED", timeout=5000)
    assert window.messages.get(f"cancel:{item.uid}") is None and not cell(window, item.uid, "Patient").startswith("⚠")
    reason = stored(window.demo.server, item.uid)["00741002"]["Value"][0]["0074100E"]["Value"][0]
    assert reason["00080100"]["Value"] == ["110510"]


def test_dismissing_a_cancellation_request_removes_its_mark(qtbot, open_console):
    window, item = cancellation_requested(qtbot, open_console)
    window.messages.get(f"cancel:{item.uid}").dismiss.click()
    assert not cell(window, item.uid, "Patient").startswith("⚠") and window.procedure.complete_button.isEnabled()


def test_an_urgent_order_comes_to_the_top_with_a_notice(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    live(qtbot, window)
    # the RIS orders it for five minutes from now: tomorrow, just before midnight
    window.query_panel.when.setCurrentText("Today and tomorrow")
    with qtbot.waitSignal(window.session.refreshed, timeout=5000):
        window.query_panel.submit()
    selected = window.selected()
    uid = window.demo.add_urgent_order("CT1")
    qtbot.waitUntil(lambda: window.model.workitem(uid) is not None, timeout=3000)
    urgent_first = [
        w.uid for w in rows(window) if w.priority and w.priority.value == "HIGH" and w.state is State.SCHEDULED
    ]
    assert uid in urgent_first and rows(window)[: len(urgent_first)] == [window.model.workitem(u) for u in urgent_first]
    qtbot.waitUntil(lambda: window.messages.get("urgent") is not None, timeout=3000)  # with its assignment
    notice = window.messages.get("urgent")
    assert notice is not None and "Urgent order" in notice.text.text() and notice.action.text() == "Show"
    assert window.selected().uid == selected.uid  # announced, not selected behind the technologist's back
    notice.action.click()
    assert window.selected().uid == uid


def test_the_event_log_names_patients_and_what_this_console_did(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    live(qtbot, window)
    window.query_panel.station.setText("CT2")
    window.query_panel.submit()
    qtbot.waitUntil(lambda: rows(window) and rows(window)[0].station_names[0].value == "CT2", timeout=5000)
    qtbot.waitUntil(lambda: window.live.text() == "● live", timeout=5000)
    uid = window.demo.other_claims("CT2")
    qtbot.waitUntil(lambda: state_shown(window, uid) == "IN PROGRESS", timeout=3000)
    w = window.model.workitem(uid)
    log = [window.event_log.item(i).text() for i in range(window.event_log.count())]
    assert any(w.patient_name.display() in line and "State IN PROGRESS" in line for line in log), log
    window.select(uid)
    answer_next_dialog(
        lambda dialog: (
            dialog.reason.setCurrentIndex(dialog.reason.findText("Duplicate order")),
            dialog.confirm.click(),
        )
    )
    window.procedure.cancel_button.click()
    qtbot.waitUntil(
        lambda: any(
            "This console: Cancellation of" in window.event_log.item(i).text() for i in range(window.event_log.count())
        ),
        timeout=3000,
    )


def test_the_discontinue_and_cancel_request_dialogs_say_what_they_do_to_whom(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    item = start_selected(qtbot, window)
    seen: list[tuple[str, str]] = []

    def read(dialog) -> None:
        heading = dialog.findChild(QLabel, "dialogHeading").text()
        hints = " ".join(label.text() for label in dialog.findChildren(QLabel, "fieldHint"))
        seen.append((dialog.windowTitle(), heading + " " + hints))
        press_escape(dialog)

    answer_next_dialog(read)
    window.procedure.discontinue_button.click()
    qtbot.waitUntil(lambda: len(seen) == 1, timeout=3000)
    other = next(w for w in rows(window) if w.uid != item.uid and w.state is State.SCHEDULED)
    window.select(other.uid)
    answer_next_dialog(read)
    window.procedure.cancel_button.click()
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=3000)
    (title1, text1), (title2, text2) = seen
    assert title1 == "Discontinue the procedure" and item.patient_name.display() in text1 and "CANCELED" in text1
    assert (
        title2 == "Request cancellation" and other.patient_name.display() in text2 and "no station has started" in text2
    )


def test_performed_codes_and_series_can_be_added_and_removed(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    item = start_selected(qtbot, window)
    form = window.procedure.form
    scheduled = form.procedures.count()

    def add_code(dialog) -> None:
        dialog.value.setText("CTCHESTC")
        dialog.meaning.setText("CT chest with contrast")
        press_enter(dialog)

    answer_next_dialog(add_code)
    form.add_code.click()
    qtbot.waitUntil(lambda: form.procedures.count() == scheduled + 1, timeout=3000)
    form.procedures.setCurrentRow(0)
    form.remove_code.click()
    for name in ("Axial", "Coronal", "Sagittal"):
        window.procedure.add_output_series(name)
    assert form.series.height() >= 120  # several series in view, not one row
    form.series.setCurrentCell(1, 0)
    form.remove_series.click()
    assert [form.series.item(r, 0).text() for r in range(form.series.rowCount())] == ["Axial", "Sagittal"]
    before = datetime.now().replace(microsecond=0)
    answer_next_dialog(press_enter)
    window.procedure.complete_button.click()
    qtbot.waitUntil(lambda: state_shown(window, item.uid) == "COMPLETED", timeout=5000)
    performed = stored(window.demo.server, item.uid)["00741216"]["Value"][0]
    codes = [c["00080100"]["Value"][0] for c in performed["00404019"]["Value"]]
    assert codes[-1] == "CTCHESTC" and len(codes) == scheduled
    assert [o["0008103E"]["Value"][0] for o in performed["00404033"]["Value"]] == ["Axial", "Sagittal"]
    end = datetime.strptime(performed["00404051"]["Value"][0][:14], "%Y%m%d%H%M%S")
    assert end >= before  # the moment Complete was confirmed, not when the panel was loaded
    window.select(item.uid)
    assert window.procedure.form.ended.dateTime().toPython().replace(microsecond=0) == end


def test_the_polling_indicator_of_a_dimse_profile_is_not_an_error(qtbot, open_console, front):
    window = open_console("--backend", "dimse", "--mwl", f"127.0.0.1:{front.dimse.port}:WORKLIST", "--ae-title", "CR1")
    qtbot.waitUntil(lambda: window.model.rowCount() > 0, timeout=10000)
    assert window.live.text() == "● polling" and window.live.property("mode") == "polling"
    color = window.live.palette().color(window.live.foregroundRole())
    assert not (color.red() > 180 and color.green() < 80)  # not the offline red


def test_a_cancellation_request_is_still_there_after_a_restart(qtbot, open_console):
    window, item = cancellation_requested(qtbot, open_console)
    window.close_without_asking()
    window.demo.stop()
    again = open_console("demo")
    loaded(qtbot, again)
    qtbot.waitUntil(lambda: again.messages.get(f"cancel:{item.uid}") is not None, timeout=3000)
    assert "RIS" in again.messages.get(f"cancel:{item.uid}").text.text()
    qtbot.waitUntil(lambda: cell(again, item.uid, "Patient").startswith("⚠ "), timeout=3000)


def test_the_simulated_modality_completes_what_was_scheduled_from_its_claim(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    uid = window.demo.other_claims("CT1")
    scheduled = [c.value for c in window.model.workitem(uid).workitem_codes] if window.model.workitem(uid) else None
    claimed_by = int(time.time())
    qtbot.waitUntil(lambda: int(time.time()) > claimed_by, timeout=3000)  # completed in a later second
    window.demo.other_completes()
    performed = stored(window.demo.server, uid)["00741216"]["Value"][0]
    assert performed["00404050"]["Value"][0] < performed["00404051"]["Value"][0]  # claimed, then completed
    codes = [c["00080100"]["Value"][0] for c in performed["00404019"]["Value"]]
    assert scheduled is None or codes == scheduled
