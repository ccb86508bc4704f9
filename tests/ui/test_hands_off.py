"""Nothing selects or moves under the technologist's hand: a new search does not announce the
urgent orders it holds, new ones come in one banner line, Show brings an order of another day
into the list, a wanted selection expires with its search, and after a banner the keyboard is
back on the list."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from console_helpers import live, loaded, rows, start_selected
from pydicom.uid import generate_uid
from pydicom.valuerep import PersonName
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.domain import tags as t
from app.domain.build import NewWorkitem
from app.domain.workitem import Code
from app.ui.qdates import qdate, to_date
from app.ui.urgent_orders import KEY as URGENT
from app.ui.worklist_model import is_urgent


def urgent_order(window, day: date, patient: str = "Urgent^Ursula", server=None) -> str:
    """The RIS orders a STAT exam for CT1 on `day`, on the demo's server or `server`."""
    start = datetime.combine(day, datetime.now().time()).replace(microsecond=0) + timedelta(minutes=5)
    if start.date() != day:  # just before midnight: the order is for that day still
        start = datetime.combine(day, datetime.min.time()).replace(hour=23, minute=59)
    item = NewWorkitem(
        uid=generate_uid(),
        label="STAT CT — trauma",
        start=start.strftime("%Y%m%d%H%M%S"),
        patient=PersonName(patient),
        patient_id=f"STAT{start:%H%M%S}",
        station="CT1",
        modality="CT",
        priority="HIGH",
        birth_date="19700101",
        sex="F",
        accession=f"STAT{generate_uid()[-8:]}",
        requested_procedure_id="RPSTAT",
        study_uid=generate_uid(),
        requested_procedure=Code("STAT", "99WLPROC", "STAT CT trauma"),
    )
    return (server or window.demo.server).service.create(item.to_json()).uid


def refreshed(qtbot, window) -> None:
    """F5, and wait for its answer."""
    with qtbot.waitSignal(window.session.refreshed, timeout=5000):
        QTest.keyClick(window.table, Qt.Key.Key_F5)


def press(widget, key: Qt.Key) -> None:
    widget.setFocus(Qt.FocusReason.TabFocusReason)
    assert QApplication.focusWidget() is widget
    QTest.keyClick(widget, key)


def test_a_new_search_does_not_announce_the_urgent_orders_it_holds(qtbot, open_console, front):
    day = date.today() + timedelta(days=3)
    uid = urgent_order(None, day, server=front)  # ordered before this console was there
    window = open_console("--url", front.base_url, "--ae-title", "CT1")
    loaded(qtbot, window)
    live(qtbot, window)
    window.query_panel.when.setCurrentText("Range")  # a search that holds it
    window.query_panel.date_to.setDate(qdate(day))
    QTest.keyClick(window.query_panel.button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: window.model.workitem(uid) is not None, timeout=5000)
    assert is_urgent(window.model.workitem(uid))
    refreshed(qtbot, window)
    assert window.messages.get(URGENT) is None and not window.messages.containing("rgent"), window.messages.texts()


def test_several_new_urgent_orders_are_one_line_and_each_is_announced_once(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    live(qtbot, window)
    selected = window.selected()
    new = [window.demo.add_urgent_order("CT1") for _ in range(3)]
    qtbot.waitUntil(lambda: "3 urgent orders" in "".join(window.messages.texts()), timeout=5000)
    assert window.messages.texts() == [window.messages.get(URGENT).text.text()]  # one banner, one line
    assert window.selected().uid == selected.uid  # announced, not selected
    window.messages.get(URGENT).action.click()  # Show: the first of them
    qtbot.waitUntil(lambda: window.selected() is not None and window.selected().uid in new, timeout=5000)
    assert "2 urgent orders" in window.messages.get(URGENT).text.text()
    refreshed(qtbot, window)  # a search holding them announces none again
    assert "2 urgent orders" in window.messages.get(URGENT).text.text()


def test_show_on_an_order_of_another_day_widens_the_dates_and_selects_it(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    live(qtbot, window)
    mine = start_selected(qtbot, window)
    day = date.today() + timedelta(days=2)
    uid = urgent_order(window, day)
    qtbot.waitUntil(lambda: window.messages.get(URGENT) is not None, timeout=5000)
    assert window.selected().uid == mine.uid  # my procedure in progress stays selected
    refreshed(qtbot, window)  # today's list: without that order
    assert window.model.workitem(uid) is None
    press(window.messages.get(URGENT).action, Qt.Key.Key_Return)  # Show, from the keyboard
    qtbot.waitUntil(lambda: window.selected() is not None and window.selected().uid == uid, timeout=5000)
    assert to_date(window.query_panel.date_from.date()) <= day <= to_date(window.query_panel.date_to.date())
    assert window.model.workitem(mine.uid) is not None  # still pinned in the list
    assert QApplication.focusWidget() is window.table
    assert window.messages.get(URGENT) is None


def test_a_wanted_selection_expires_with_its_search(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    live(qtbot, window)
    mine = start_selected(qtbot, window)
    day = date.today() + timedelta(days=2)
    uid = urgent_order(window, day)
    qtbot.waitUntil(lambda: window.messages.get(URGENT) is not None, timeout=5000)
    # the RIS moves it to another day, which no event reports: the notice still says the first
    later = f"{day + timedelta(days=3):%Y%m%d}100000"
    window.demo.server.service.update(uid, None, {t.SPS_START_DATETIME: {"vr": "DT", "Value": [later]}})
    refreshed(qtbot, window)
    assert window.model.workitem(uid) is None
    said: list[str] = []
    window.statusBar().messageChanged.connect(lambda sentence: said.append(sentence))
    window.messages.get(URGENT).action.click()
    qtbot.waitUntil(lambda: any("could not be shown" in sentence for sentence in said), timeout=5000)
    assert window.selected().uid == mine.uid
    window.query_panel.date_to.setDate(window.query_panel.date_to.date().addDays(5))
    refreshed(qtbot, window)
    assert window.model.workitem(uid) is not None
    assert window.selected().uid == mine.uid  # listed now, and still not selected on its own


def test_show_says_why_an_order_the_filters_leave_out_cannot_be_shown(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    live(qtbot, window)
    window.query_panel.patient.setText("NOBODY*")
    QTest.keyClick(window.query_panel.patient, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.model.rowCount() == 0, timeout=5000)
    uid = urgent_order(window, date.today())
    qtbot.waitUntil(lambda: window.messages.get(URGENT) is not None, timeout=5000)
    refreshed(qtbot, window)
    assert window.model.workitem(uid) is None
    window.messages.get(URGENT).action.click()
    assert "filtered by the patient name" in window.statusBar().currentMessage()


def test_after_dismiss_the_keyboard_is_back_on_the_list(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    window.select(rows(window)[0].uid)
    window.messages.show_message("note", "Something the technologist must read.", "warning")
    profile = window.profile_box.currentText()
    press(window.messages.get("note").dismiss, Qt.Key.Key_Space)
    assert window.messages.get("note") is None
    assert QApplication.focusWidget() is window.table
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Down)
    assert window.table.currentIndex().row() == 1 and window.profile_box.currentText() == profile
