"""A field never changes unless the technologist meant it: the wheel scrolls the panel and
leaves the times alone, a summary with an impossible time or a name that is not a name goes
back with Enter, nothing is typed into a procedure before it is started, a key that cannot
act says why, and after Discontinue the next patient is selected."""

from __future__ import annotations

from datetime import datetime, timedelta

from conftest import answer_next_dialog, press_enter
from console_helpers import laid_out, loaded, rows, start_selected, state_shown, stored_state
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.backends import profiles as profile_store
from app.backends.profiles import Profile, ProfileBook
from app.domain.states import State
from app.ui.qdates import qdatetime, to_datetime


def type_into(widget, text: str) -> None:
    widget.setFocus()
    widget.selectAll()
    QTest.keyClicks(widget, text)


def summary_of(qtbot, window, key=Qt.Key.Key_F8) -> dict:
    """Press `key`, read the completion summary, then press Enter in it."""
    seen: dict = {}

    def read_then_enter(dialog) -> None:
        problem = getattr(dialog, "problem", None)
        seen.update(
            problem=problem.text() if problem is not None and problem.isVisible() else "",
            confirm_enabled=dialog.confirm.isEnabled(),
            default=next((b.text() for b in dialog.buttons.buttons() if b.isDefault()), ""),
        )
        press_enter(dialog)

    answer_next_dialog(read_then_enter)
    QTest.keyClick(window.table, key)
    # the keys are the window's again once it is active again
    qtbot.waitUntil(lambda: bool(seen) and QApplication.activeWindow() is window, timeout=5000)
    return seen


def test_the_wheel_over_an_unfocused_started_field_scrolls_the_panel_and_leaves_the_time(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    item = start_selected(qtbot, window)
    form, scroll = window.procedure.form, window.procedure.form_scroll
    window.resize(1024, 560)  # short enough that what was performed scrolls beneath the actions
    bar = scroll.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=3000)
    bar.setValue(bar.maximum() // 2)
    scroll.ensureWidgetVisible(form.started, 0, 0)
    window.table.setFocus()
    before, position = form.started.dateTime(), bar.value()
    down = position < bar.maximum()
    over = form.started.mapTo(window, form.started.rect().center())
    for _ in range(3):
        QTest.wheelEvent(window.windowHandle(), over, QPoint(0, -120 if down else 120))
    qtbot.waitUntil(lambda: bar.value() != position, timeout=3000)  # the panel scrolled
    assert form.started.dateTime() == before and not form.started.hasFocus()
    qtbot.waitUntil(lambda: not window.procedure._draft_timer.isActive(), timeout=3000)  # any draft is written
    window.procedure.save_draft()
    draft = window.session.draft(item.uid)
    assert draft is None or draft.started == ""  # nothing moved, nothing kept as moved


def test_a_summary_with_an_impossible_time_goes_back_with_enter_and_sends_nothing(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    item = start_selected(qtbot, window)
    started = window.procedure.form.started
    claimed = started.dateTime()
    started.setDateTime(qdatetime(to_datetime(claimed) + timedelta(days=4 * 365)))  # the wheel's four years
    seen = summary_of(qtbot, window)
    assert "starts in the future" in seen["problem"] and "ends before it starts" in seen["problem"]
    assert not seen["confirm_enabled"] and seen["default"] == "Go back and fix it"
    qtbot.waitUntil(started.hasFocus, timeout=3000)  # back, at the field to fix
    qtbot.wait(300)
    assert stored_state(window.demo.server, item.uid) == "IN PROGRESS" and window.session.workflow.outbox.pending() == 0
    started.setDateTime(claimed)
    seen = summary_of(qtbot, window)
    assert seen["problem"] == "" and seen["default"] == "Complete"
    qtbot.waitUntil(lambda: stored_state(window.demo.server, item.uid) == "COMPLETED", timeout=5000)


def test_a_scheduled_procedures_form_takes_no_typing_and_started_is_the_claim_time(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    panel, form = window.procedure, window.procedure.form
    item = window.selected()
    assert item.state is State.SCHEDULED
    shown = panel.technologist.text()
    QTest.mouseClick(panel.technologist, Qt.MouseButton.LeftButton)
    QTest.keyClicks(panel.technologist, "4")
    qtbot.waitUntil(lambda: not panel._draft_timer.isActive(), timeout=3000)  # any draft is written
    other = next(w for w in rows(window) if w.uid != item.uid)
    window.select(other.uid)
    window.select(item.uid)
    assert window.session.draft(item.uid) is None and panel.technologist.text() == shown
    assert form.before_start.isVisible() and "when you start" in form.before_start.text()
    assert form.started.text() == "not started yet"
    start_selected(qtbot, window)
    assert not form.before_start.isVisible() and panel.technologist.isEnabled()
    assert panel.technologist.text() == shown  # the scheduled technologist, if any: never the stray "4"
    claimed_at = datetime.fromtimestamp(window.session.workflow.outbox.claim_of(item.uid).claimed_at)
    assert abs((to_datetime(form.started.dateTime()) - claimed_at).total_seconds()) < 1
    window.select(other.uid)
    # more than a second later, the start of the procedure is still when it was claimed
    qtbot.waitUntil(lambda: (datetime.now() - claimed_at).total_seconds() > 1.05, timeout=3000)
    window.select(item.uid)
    assert abs((to_datetime(form.started.dateTime()) - claimed_at).total_seconds()) < 1


def test_a_technologist_that_is_not_a_name_stops_complete_and_says_what_is_expected(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    item = start_selected(qtbot, window)
    type_into(window.procedure.technologist, "4")
    seen = summary_of(qtbot, window)
    assert "Family, Given" in seen["problem"] and not seen["confirm_enabled"]
    qtbot.waitUntil(window.procedure.technologist.hasFocus, timeout=3000)
    qtbot.wait(300)
    assert stored_state(window.demo.server, item.uid) == "IN PROGRESS"
    type_into(window.procedure.technologist, "O'Brien, Mary Ann")
    assert summary_of(qtbot, window)["problem"] == ""
    qtbot.waitUntil(lambda: stored_state(window.demo.server, item.uid) == "COMPLETED", timeout=5000)


def test_with_a_staff_list_only_its_names_complete(qtbot, open_console, front, tmp_path):
    config = tmp_path / "profiles.toml"
    site = Profile(name="CT room", url=front.base_url, ae_title="CT1", staff=["Becker, Anna", "García, Luis"])
    profile_store.save(ProfileBook([site], active="CT room"), config)
    window = open_console("--config", str(config))
    loaded(qtbot, window)
    window.select(next(w for w in rows(window) if w.state is State.SCHEDULED).uid)
    item = start_selected(qtbot, window)
    type_into(window.procedure.technologist, "Tanaka, Yui")
    seen = summary_of(qtbot, window)
    assert "staff list" in seen["problem"] and "Becker, Anna; García, Luis" in seen["problem"]
    assert not seen["confirm_enabled"]
    type_into(window.procedure.technologist, "becker, anna")
    assert summary_of(qtbot, window)["problem"] == ""
    qtbot.waitUntil(lambda: stored_state(front, item.uid) == "COMPLETED", timeout=5000)


def test_f7_f8_and_f9_that_cannot_act_say_why_in_the_status_bar(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    item = window.selected()
    assert item.state is State.SCHEDULED
    said = window.statusBar().currentMessage
    QTest.keyClick(window.table, Qt.Key.Key_F8)
    assert "Start it first (F6), or Procedure → Complete without starting…" in said()
    assert item.patient_name.display() in said()
    QTest.keyClick(window.table, Qt.Key.Key_F7)
    assert said().startswith("No progress was reported") and "Start it first (F6)" in said()
    QTest.keyClick(window.table, Qt.Key.Key_F9)
    assert said().startswith("Nothing was discontinued") and "Start it first (F6)" in said()
    uid = window.demo.other_claims("CT1")
    qtbot.waitUntil(lambda: state_shown(window, uid) == "IN PROGRESS", timeout=5000)
    window.select(uid)
    qtbot.waitUntil(lambda: window.procedure.holder() == "CT2", timeout=5000)
    QTest.keyClick(window.table, Qt.Key.Key_F8)
    assert "is performed by CT2" in said() and "only CT2 can complete it" in said()
    assert QApplication.activeModalWidget() is None and stored_state(window.demo.server, item.uid) == "SCHEDULED"


def test_after_discontinue_the_next_patient_is_selected(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    item = start_selected(qtbot, window)
    listed = [w.uid for w in rows(window)]
    following = rows(window)[listed.index(item.uid) + 1]

    def choose_a_reason(dialog) -> None:
        QTest.keyClick(dialog.reason, Qt.Key.Key_Down)
        press_enter(dialog)

    answer_next_dialog(choose_a_reason)
    QTest.keyClick(window.table, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: stored_state(window.demo.server, item.uid) == "CANCELED", timeout=5000)
    qtbot.waitUntil(lambda: window.selected() is not None and window.selected().uid == following.uid, timeout=5000)
    assert following.patient_name.display() in window.procedure.headline.text()
    window.refresh()  # the canceled procedure leaves the list; the selection stays where it went
    qtbot.waitUntil(lambda: item.uid not in [w.uid for w in rows(window)], timeout=5000)
    assert window.selected().uid == following.uid


def test_the_wheel_over_the_date_box_or_the_profile_box_changes_nothing_and_takes_no_focus(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    window.table.setFocus()
    qtbot.waitUntil(lambda: window.table.hasFocus(), timeout=3000)
    for box in (window.query_panel.when, window.profile_box):
        before = box.currentText()
        over = box.mapTo(window, box.rect().center())
        for delta in (-120, 120, -120):
            QTest.wheelEvent(window.windowHandle(), over, QPoint(0, delta))
        laid_out(qtbot, window)
        assert box.currentText() == before and not box.hasFocus()
        assert window.table.hasFocus()  # Down still moves the row, not the dates or the profile
